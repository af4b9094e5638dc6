"""One error shape for every failure of ``/api/v1``: ``{"code", "message", "details": {field: [messages]}}``.

``CityLoopError`` subclasses carry their HTTP status (``http_status``, cityloop/core/errors.py); Ninja's own errors,
Django's request-size errors and anything unexpected are turned into the same shape, so no request ever
ends in Django's HTML error page.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import OperationalError
from django.http import Http404, HttpResponse
from django.http.multipartparser import MultiPartParserError

from cityloop.core.errors import CityLoopError

logger = logging.getLogger("cityloop.api")

#: Default Chinese messages per HTTP status when nothing more specific is known.
MESSAGES = {
    400: "请求格式不正确",
    401: "需要登录或提供有效的 API 令牌",
    403: "无权进行此操作",
    404: "资源不存在",
    405: "不支持该请求方法",
    409: "操作冲突，请刷新后重试",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "提交的数据未通过校验",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误",
    503: "服务繁忙，请稍后重试",
}
CODES = {
    400: "malformed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
    500: "internal_error",
    503: "busy",
}


class ApiError(Exception):
    """An error raised by the API layer itself (not by a service)."""

    def __init__(self, status: int, message: str | None = None, *, code: str | None = None,
                 details: dict[str, list[str]] | None = None) -> None:
        self.status = status
        self.message = message or MESSAGES.get(status, "请求失败")
        self.code = code or CODES.get(status, "error")
        self.details = details or {}
        super().__init__(self.message)


def _details_of(exc: CityLoopError) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    if exc.field:
        details[exc.field] = [exc.message]
    return details


def body(code: str, message: str, details: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def error_response(status: int, code: str | None = None, message: str | None = None,
                   details: dict[str, list[str]] | None = None, *, headers: dict[str, str] | None = None) -> HttpResponse:
    payload = body(code or CODES.get(status, "error"), message or MESSAGES.get(status, "请求失败"), details)
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def response_for(exc: BaseException) -> HttpResponse:
    """The JSON error response for any exception."""
    from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError

    if isinstance(exc, CityLoopError):
        return error_response(exc.http_status, exc.code, exc.message, _details_of(exc))
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, ValidationError):
        return error_response(422, "invalid", MESSAGES[422], validation_details(exc.errors))
    if isinstance(exc, Throttled):
        headers = {"Retry-After": str(max(1, int(exc.wait or 1)))}
        return error_response(429, headers=headers)
    if isinstance(exc, AuthenticationError):
        return error_response(401, headers={"WWW-Authenticate": 'Bearer realm="cityloop"'})
    if isinstance(exc, AuthorizationError):
        return error_response(403)
    if isinstance(exc, HttpError):
        status = exc.status_code if exc.status_code in MESSAGES else 400
        return error_response(status)
    if isinstance(exc, RequestDataTooBig):
        return error_response(413)
    if isinstance(exc, TooManyFieldsSent | SuspiciousOperation | MultiPartParserError | UnicodeDecodeError):
        return error_response(400)
    if isinstance(exc, Http404):
        return error_response(404)
    if isinstance(exc, OperationalError):  # the database is locked, overloaded or unreachable: retry later
        logger.warning("API 请求遇到数据库繁忙：%s", exc)
        return error_response(503, headers={"Retry-After": "1"})
    logger.exception("API 请求出错", exc_info=exc)
    return error_response(500)


_PYDANTIC_MESSAGES = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为字符串",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "literal_error": "不是允许的取值",
    "enum": "不是允许的取值",
    "greater_than_equal": "过小",
    "greater_than": "过小",
    "less_than_equal": "过大",
    "less_than": "过大",
    "datetime_parsing": "应为 ISO 8601 日期时间",
    "datetime_from_date_parsing": "应为 ISO 8601 日期时间",
    "datetime_type": "应为 ISO 8601 日期时间",
    "list_type": "应为数组",
    "too_long": "元素过多",
    "model_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "extra_forbidden": "不支持的字段",
}
_LOCATION_ROOTS = {"body", "query", "path", "form", "file", "header", "cookie"}


def validation_details(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``{field: [Chinese messages]}`` from Pydantic/Ninja error dicts."""
    details: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if len(loc) > 2 and loc[0] == "body":
            loc = loc[2:]  # ("body", <parameter name>, field, ...)
        elif loc and loc[0] in _LOCATION_ROOTS:
            loc = loc[1:]
        field = ".".join(loc) or "__all__"
        kind = str(error.get("type", ""))
        message = _PYDANTIC_MESSAGES.get(kind)
        if message is None:
            ctx = error.get("ctx") or {}
            message = str(ctx.get("error") or error.get("msg") or "取值无效")
        details.setdefault(field, []).append(message)
    return details


def ErrorResponses(*statuses: int) -> dict[int, Any]:  # noqa: N802 - reads like a type in response={...}
    """``{status: ErrorOut}`` for the OpenAPI ``responses`` of an operation (503 always: database busy)."""
    from cityloop.api.schemas import ErrorOut

    return dict.fromkeys((*statuses, 503), ErrorOut)
