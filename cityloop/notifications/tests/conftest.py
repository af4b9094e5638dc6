"""Fixtures of the notification tests: a real HTTP server that records webhook posts, and a closed port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class HookServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0  # seconds the server takes before it answers


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    """A real HTTP server on 127.0.0.1 that records every POST (path, headers, body)."""
    hook = HookServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(hook.delay)
            length = int(self.headers.get("Content-Length", "0"))
            hook.requests.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": self.rfile.read(length),
                }
            )
            self.send_response(hook.status)
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"answer!")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cityloop"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more: connection refused
    return f"http://127.0.0.1:{port}/hook"


