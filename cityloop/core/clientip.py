"""The client's address behind trusted proxies, for the rate limits and the login lockout.

The client is ``REMOTE_ADDR``. Behind a reverse proxy, list the proxy's addresses (or networks) in
``CITYLOOP_TRUSTED_PROXIES``: then ``X-Forwarded-For`` is read from the right, skipping trusted hops, and
the first untrusted address is the client. Without that setting ``X-Forwarded-For`` is ignored, since any
client can send it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _trusted(address: str) -> bool:
    entries = getattr(settings, "CITYLOOP_TRUSTED_PROXIES", None) or ()
    if isinstance(entries, str):
        entries = entries.split(",")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(entries)))


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For's nearest untrusted hop behind trusted proxies."""
    remote = (request.META.get("REMOTE_ADDR") or "").strip()
    if not remote or not _trusted(remote):
        return remote or "unknown"
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed header: do not trust any of it
        if not _trusted(hop):
            return hop
    return forwarded[0] if forwarded else remote
