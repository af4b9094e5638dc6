"""Mounted at /api/v1/ and /open311/v2/ (see config/urls.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from cityloop.api import views
from cityloop.api.errors import error_response
from cityloop.api.open311 import views as open311
from cityloop.api.v1 import api
from cityloop.core.uploads import answers_oversized, too_large

logger = logging.getLogger("cityloop.api")


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse bodies over ``CITYLOOP_MAX_UPLOAD_BYTES`` before reading them (413), give 405s the error shape,
    and turn anything that escaped Ninja's handlers into the JSON error shape instead of Django's HTML 500 page."""

    @answers_oversized
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if too_large(request):  # the one limit of every channel (CITYLOOP_MAX_UPLOAD_BYTES)
            return error_response(413)
        try:
            response = view(request, *args, **kwargs)
        except Exception:
            logger.exception("API 请求出错：%s", request.path)
            return error_response(500)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            response = error_response(405, headers={"Allow": allowed} if allowed else None)
        return response

    return wrapped


def _guard_all(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = guarded(pattern.callback)
        else:
            _guard_all(pattern.url_patterns)
    return patterns


@csrf_exempt  # it reads no body: a form the CSRF check cannot parse must not turn into Django's HTML 400
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(404, message="没有这个接口，见 /api/v1/openapi.json")


_ninja_patterns, _app_name, _namespace = api.urls

api_urlpatterns: list = [
    path("ui/tokens/", views.tokens_page, name="api-tokens"),
    path("docs/", views.api_docs, name="api-docs"),
    path("docs/redoc.js", views.api_docs_script, name="api-docs-script"),
    path("", include((_guard_all(_ninja_patterns), _app_name), namespace=_namespace)),
    re_path(r"^(?P<rest>(?s:.*))$", guarded(api_not_found)),  # (?s): paths with a line break too
]

_FMT = r"(?P<fmt>json|xml)"
open311_urlpatterns: list = [
    re_path(rf"^discovery\.{_FMT}$", open311.discovery, name="open311-discovery"),
    re_path(rf"^services\.{_FMT}$", open311.service_list, name="open311-services"),
    re_path(rf"^services/(?P<code>[^/]+)\.{_FMT}$", open311.service_definition, name="open311-service"),
    re_path(rf"^requests\.{_FMT}$", open311.requests_view, name="open311-requests"),
    re_path(rf"^requests/(?P<request_id>[^/]+)\.{_FMT}$", open311.request_detail, name="open311-request"),
    re_path(rf"^tokens/(?P<token>[^/]+)\.{_FMT}$", open311.token_detail, name="open311-token"),
    re_path(r"^(?P<path>(?s:.*))$", open311.not_found),  # (?s): paths with a line break too
]
