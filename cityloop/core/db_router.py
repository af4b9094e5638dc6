"""Reads from a streaming replica, writes (and everything that must see them) on the primary.

Active only when ``settings.DATABASES`` has a ``replica`` alias (``DATABASE_REPLICA_URL``); otherwise the
router has no opinion and the middleware does nothing, so one database behaves exactly as before.

Where a read goes, in order (``read_alias``):

1. no replica configured → no opinion (Django uses ``default``);
2. inside a transaction on ``default`` (``transaction.atomic``, ``select_for_update``) → ``default``:
   a read there must see the transaction's own writes and take its locks on the primary;
3. the current request (or code block) is pinned to the primary → ``default``;
4. the current request is a replica-eligible one (``PrimaryPinMiddleware``: a GET/HEAD/OPTIONS that is
   not pinned) or code runs inside ``replica_reads()`` → ``replica``;
5. anything else → ``default``: management commands (``sweep``, ``simulate``, imports), shells and
   scripts read what they are about to change, so they never see a lagging copy unless they ask to.

A request is pinned when it uses an unsafe method (POST, PUT, PATCH, DELETE: the whole request, reads
included, runs on the primary), from its first write on (the rest of the request), and for
``DATABASE_REPLICA_PIN_SECONDS`` after an unsafe request of the same client: the response sets a short-lived
cookie, and for API clients that send ``Authorization`` a cache entry keyed by a hash of that header
(shared by every worker when ``REDIS_URL`` is set). So whoever just reported a case sees it in the next
list, even if the replica is a second behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PIN_COOKIE = "cityloop_primary"
_PIN_CACHE_PREFIX = "dbpin:"


@dataclass
class _Routing:
    """What the current request (or ``replica_reads`` block) allows."""

    replica_ok: bool
    pinned: bool = False


_current: ContextVar[_Routing | None] = ContextVar("cityloop_db_routing", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def pin_seconds() -> int:
    return int(getattr(settings, "DATABASE_REPLICA_PIN_SECONDS", 10))


def read_alias(*, replica: bool, in_atomic_on_primary: bool, pinned: bool, replica_ok: bool) -> str | None:
    """The decision itself (see the module's docstring); ``None`` means "no opinion" (→ ``default``)."""
    if not replica:
        return None
    if in_atomic_on_primary or pinned or not replica_ok:
        return PRIMARY
    return REPLICA


def _in_atomic_on_primary() -> bool:
    # Reading the flag does not open a connection.
    return bool(connections[PRIMARY].in_atomic_block)


class PrimaryReplicaRouter:
    """``DATABASE_ROUTERS`` entry: reads to ``replica`` when allowed, writes and migrations to ``default``."""

    def __init__(self) -> None:
        self.enabled = replica_configured()

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not self.enabled:
            return None
        state = _current.get()
        return read_alias(
            replica=True,
            in_atomic_on_primary=_in_atomic_on_primary(),
            pinned=state is not None and state.pinned,
            replica_ok=state is not None and state.replica_ok,
        )

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        if not self.enabled:
            return None
        state = _current.get()
        if state is not None:
            # Whatever the request reads after its first write comes from the primary too.
            state.pinned = True
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        if not self.enabled:
            return None
        # The replica is a copy of the primary: an object read from one may point to one from the other.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if not self.enabled:
            return None
        # The replica is read-only and receives the schema through replication.
        return db == PRIMARY


@contextmanager
def pinned_to_primary() -> Iterator[None]:
    """Read from the primary inside this block (e.g. a page that must show what another process just wrote)."""
    state = _current.get()
    token = _current.set(_Routing(replica_ok=state.replica_ok if state else False, pinned=True))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Let reads outside a request use the replica (long reports, exports run from a command)."""
    token = _current.set(_Routing(replica_ok=True))
    try:
        yield
    finally:
        _current.reset(token)


def _credential_key(request: HttpRequest) -> str | None:
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if not authorization:
        return None
    return _PIN_CACHE_PREFIX + hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()[:40]


def _recently_wrote(request: HttpRequest) -> bool:
    if request.COOKIES.get(PIN_COOKIE):
        return True
    key = _credential_key(request)
    if key is None:
        return False
    try:
        return bool(cache.get(key))
    except Exception:  # the shared cache is down: the primary is always right, if slower
        return True


class PrimaryPinMiddleware:
    """Marks each request replica-eligible or pinned to the primary; remembers a client's writes for a while.

    Put it before the session and authentication middleware so that loading the session and the user is
    routed as well. Does nothing when no replica is configured.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.enabled = replica_configured()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.enabled:
            return self.get_response(request)
        unsafe = request.method not in SAFE_METHODS
        state = _Routing(replica_ok=not unsafe, pinned=unsafe or _recently_wrote(request))
        token = _current.set(state)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        if unsafe:
            seconds = pin_seconds()
            if seconds > 0:
                response.set_cookie(PIN_COOKIE, "1", max_age=seconds, httponly=True, samesite="Lax",
                                    secure=request.is_secure())
                key = _credential_key(request)
                if key is not None:
                    with suppress(Exception):  # the shared cache is down: the cookie still pins browsers
                        cache.set(key, 1, timeout=seconds)
        return response
