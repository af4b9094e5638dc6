"""Per-client rate limits for the citizen portal's POSTs: a fixed-window counter in Django's cache.

Every attempt counts (a failed validation too: each POST may decode photos). The limits come from
settings, ``CITYLOOP_RATE_LIMITS = {"report": (10, 3600), "track": (30, 3600), "rate": (10, 3600)}``
(attempts, window in seconds); scopes missing there use ``DEFAULT_LIMITS``.

The client is ``REMOTE_ADDR``. Behind a reverse proxy, list the proxy's addresses (or networks) in
``CITYLOOP_TRUSTED_PROXIES``: then ``X-Forwarded-For`` is read from the right, skipping trusted hops, and
the first untrusted address is the client. Without that setting ``X-Forwarded-For`` is ignored, since any
client can send it.

The counters live in the configured cache: the default local-memory cache counts per process, so a
deployment with several web processes should configure a shared cache (Redis, database cache).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from cityloop.core.clientip import client_ip

__all__ = ["RateLimitResult", "client_ip", "hit", "limit_for"]

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "report": (10, 3600),  # citizen reports per hour
    "track": (30, 3600),  # tracking attempts per hour
    "rate": (10, 3600),  # ratings per hour
}
KEY_PREFIX = "cityloop:portal:rl"


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends


def limit_for(scope: str) -> tuple[int, int]:
    configured = getattr(settings, "CITYLOOP_RATE_LIMITS", None) or {}
    limit, window = configured.get(scope, DEFAULT_LIMITS.get(scope, (60, 3600)))
    return int(limit), max(1, int(window))


def hit(request: HttpRequest, scope: str) -> RateLimitResult:
    """Count one attempt of ``scope`` by this client; ``allowed`` is False once the window's limit is passed."""
    limit, window = limit_for(scope)
    now = int(time.time())
    start = now - now % window
    key = f"{KEY_PREFIX}:{scope}:{client_ip(request)}:{start}"
    retry_after = start + window - now
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add() and incr()
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return RateLimitResult(allowed=count <= limit, count=count, limit=limit, retry_after=max(1, retry_after))
