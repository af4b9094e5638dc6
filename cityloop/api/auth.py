"""Authentication (API tokens and the browser session) and throttling of ``/api/v1``."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth
from ninja.throttling import BaseThrottle
from ninja.utils import check_csrf

from cityloop.accounts.models import User
from cityloop.api.errors import ApiError
from cityloop.api.services import token_authenticate

#: Default request rates per client; override with the setting ``CITYLOOP_API_THROTTLE_RATES``
#: (``{"user": "…", "anon": "…"}``, each ``N/s``, ``N/min``, ``N/h`` or ``None`` for no limit).
DEFAULT_RATES: dict[str, str | None] = {"user": "6000/min", "anon": "600/min"}
_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer cl_…``: acts as the token's user, with the user's role and scope."""

    openapi_description = "API 令牌：在“API 令牌”页面或用 `cityloop create_token 用户名` 创建，放在 `Authorization: Bearer <令牌>` 中。"

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = token_authenticate(key=token.strip())
        if found is None:
            return None
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


class SessionCookieAuth(SessionAuth):
    """The browser's login session (cookie ``sessionid``); unsafe methods also need the CSRF token.

    Without a logged-in session this returns None (so the request gets 401, not a CSRF 403).
    """

    openapi_description = "浏览器登录会话；POST 等请求还需 `X-CSRFToken` 头。"

    def __call__(self, request: HttpRequest) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise ApiError(403, "CSRF 校验失败：请带上 X-CSRFToken 头，或改用 API 令牌", code="csrf_failed")
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:  # pragma: no cover - unused
        return self(request)


token_auth = ApiTokenAuth()
session_auth = SessionCookieAuth(csrf=True)
AUTH: list[Any] = [token_auth, session_auth]


def _parse_rate(rate: str | None) -> tuple[int, int] | None:
    if not rate:
        return None
    count, _, period = str(rate).partition("/")
    digits = "".join(ch for ch in period if ch.isdigit())
    unit = period[len(digits):] if period[: len(digits)] == digits else period
    seconds = _PERIODS.get(unit.strip().lower())
    if seconds is None:
        raise ValueError(f"无效的限流速率：{rate}")
    return int(count), seconds * (int(digits) if digits else 1)


class FixedWindowThrottle(BaseThrottle):
    """At most N requests per window per client: per user when authenticated, else per IP address.

    O(1) per request (one cache ``incr``), unlike a sliding log. The rate is read from settings on each
    request, so tests and deployments can change it. With the default per-process cache each server
    worker counts on its own; configure a shared cache (Redis, database) for a strict global limit.
    """

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self._wait: float | None = None

    def rate(self) -> tuple[int, int] | None:
        rates = {**DEFAULT_RATES, **getattr(settings, "CITYLOOP_API_THROTTLE_RATES", {})}
        return _parse_rate(rates.get(self.scope))

    def ident(self, request: HttpRequest) -> str | None:
        user = getattr(request, "auth", None)
        if self.scope == "user":
            return f"u{user.pk}" if isinstance(user, User) else None
        if isinstance(user, User):
            return None
        return str(self.get_ident(request) or "unknown")

    def allow_request(self, request: HttpRequest) -> bool:
        rate = self.rate()
        ident = self.ident(request)
        if rate is None or ident is None:
            return True
        limit, window = rate
        now = time.time()
        slot = int(now // window)
        key = f"cl-throttle:{self.scope}:{ident}:{window}:{slot}"
        if cache.add(key, 1, timeout=window + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window + 1)
                count = 1
        if count > limit:
            self._wait = (slot + 1) * window - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


THROTTLE: list[BaseThrottle] = [FixedWindowThrottle("user"), FixedWindowThrottle("anon")]
