"""Login lockout (django-axes): too many wrong passwords for one account, or from one address, lock them out
for a while; every failure and lockout is logged (axes' AccessAttempt and AccessFailureLog, in the admin)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check before the password is tried. A login always comes through a request (the login page, the
    admin's); a call of ``authenticate`` without one (Django's test client, a script) has no address to count
    and is left to the password backend."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None,
                     *args: Any, **kwargs: Any) -> Any:
    """The page a locked-out user sees (AXES_LOCKOUT_CALLABLE): in Chinese, with how long to wait."""
    from django.conf import settings
    from django.shortcuts import render
    from django.utils.translation import gettext as _

    minutes = int(settings.CITYLOOP_LOGIN_COOLOFF_MINUTES)
    message = _("密码错误次数过多，该账号或本机地址已被暂时锁定，请 %(minutes)d 分钟后再试；如忘记密码，请联系管理员。") % {
        "minutes": minutes}
    return render(request, "web/locked_out.html", {"title": _("登录已暂时锁定"), "message": message}, status=429)


def client_ip(request: HttpRequest) -> str | None:
    """The address a failed login counts against (AXES_CLIENT_IP_CALLABLE): the one the rate limits use, or
    None when the request has none (axes stores addresses in an address column: "unknown" is not one)."""
    import ipaddress

    from cityloop.core.clientip import client_ip as address

    found = address(request)
    try:
        ipaddress.ip_address(found)
    except ValueError:
        return None
    return found
