"""In-process snapshot of the catalogue's configuration: routing rules, time limits and stage limits.

``route_case`` runs for every report (≥1000/s), so the selectors read an immutable in-memory
snapshot instead of querying. How it stays fresh:

* **This process.** Every catalogue write service (and the admin) calls :func:`invalidate`. It
  registers a ``transaction.on_commit`` callback that drops the snapshot when the write commits, so
  other threads never cache (or lose) uncommitted rows. Until then the *writing* thread, inside its
  still-open transaction, reads a private snapshot that is rebuilt after each of its writes and
  thrown away with the transaction (so a rolled-back write never leaks into the shared snapshot).
* **Other processes** (other web/worker processes) cannot see those callbacks. Their snapshot
  expires after a short TTL, ``settings.CITYLOOP_CATALOG_CACHE_TTL`` seconds (default 30): a
  change made in the admin reaches every worker within that time, at the cost of one rebuild (a few
  queries, milliseconds) per worker per TTL. A TTL was preferred to a per-call version check because a
  version check needs a query (or a shared cache server) per call or per interval anyway, and
  routing configuration changes rarely and tolerates half a minute of delay.
* Region parent chains are cached by region id inside the snapshot (regions rarely move; a change is
  picked up at the next expiry or invalidation).

Tests that create catalogue rows with the ORM directly (not through the services) must call
:func:`clear` between tests; ``cityloop/catalog/tests/conftest.py`` does that for this app.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

DEFAULT_TTL_SECONDS = 30.0
#: The clock of the TTL (a module attribute so tests can move it).
clock = time.monotonic


class Snapshot:
    """One consistent view of the configuration; its parts are built lazily on first use.

    ``parts`` maps a part name (``"routing"``, ``"limits"``, ``"stages"``) to whatever the selector's
    builder returned; ``memo`` holds per-call results the selectors computed from those parts.
    """

    __slots__ = ("expires_at", "memo", "parts", "region_chains")

    def __init__(self) -> None:
        self.expires_at = clock() + _ttl()
        self.parts: dict[str, Any] = {}
        self.memo: dict[Any, Any] = {}
        self.region_chains: dict[int, tuple[tuple[int, int], ...]] = {}

    def part(self, name: str, build: Callable[[], Any]) -> Any:
        try:
            return self.parts[name]
        except KeyError:
            value = self.parts[name] = build()
            return value


#: Bound on the memo dict so odd traffic (many categories × many regions) cannot grow it without limit.
MEMO_LIMIT = 200_000

_shared: Snapshot | None = None
_lock = threading.Lock()


class _Invalidation:
    """The on-commit callback of one write of catalogue configuration, with the snapshot private to the writing
    transaction. Django holds the callback until the transaction commits (then runs it) or until the savepoint
    it was registered in rolls back (then drops it); this module keeps only weak references, so the callback
    is alive exactly while the write is pending — Django's documented on_commit behaviour, no private state."""

    __slots__ = ("__weakref__", "snapshot")

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def __call__(self) -> None:
        global _shared
        with _lock:
            _shared = None


class _ThreadState(threading.local):
    #: This thread's pending invalidations, oldest first (weak references; see _Invalidation).
    pending: list[weakref.ref[_Invalidation]]

    def __init__(self) -> None:
        self.pending = []


_local = _ThreadState()


def _ttl() -> float:
    return float(getattr(settings, "CITYLOOP_CATALOG_CACHE_TTL", DEFAULT_TTL_SECONDS))


def _pending() -> _Invalidation | None:
    """The latest invalidation this thread's open transaction registered that is still pending."""
    while _local.pending:
        invalidation = _local.pending[-1]()
        if invalidation is not None:
            return invalidation
        _local.pending.pop()  # committed (it ran) or rolled back (Django dropped it)
    return None


def current() -> Snapshot:
    """The snapshot to read from: the shared one, or this thread's private one inside a writing transaction."""
    if _local.pending:
        pending = _pending()
        if pending is not None:
            return pending.snapshot
    snapshot = _shared
    if snapshot is not None and clock() < snapshot.expires_at:
        return snapshot
    return _renew(snapshot)


def _renew(expired: Snapshot | None) -> Snapshot:
    global _shared
    with _lock:
        if _shared is not expired and _shared is not None:
            return _shared  # another thread renewed it meanwhile
        _shared = Snapshot()
        return _shared


def clear() -> None:
    """Drop every cached snapshot of this process now (tests; after bulk changes outside the services)."""
    global _shared
    with _lock:
        _shared = None
    _local.pending.clear()


def invalidate() -> None:
    """Call after writing catalogue configuration: drops the shared snapshot once the write commits.

    Inside a transaction, this thread reads a private snapshot (reflecting its own uncommitted writes)
    until the transaction ends; outside one, the callback runs at once.
    """
    invalidation = _Invalidation()
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        _local.pending.append(weakref.ref(invalidation))
    transaction.on_commit(invalidation, using=DEFAULT_DB_ALIAS)


def remember(snapshot: Snapshot, key: Any, value: Any) -> Any:
    """Store ``value`` in the snapshot's memo (bounded) and return it."""
    memo = snapshot.memo
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value
