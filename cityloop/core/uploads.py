"""One limit on request bodies for every channel (``CITYLOOP_MAX_UPLOAD_BYTES``), checked before reading.

- ``UploadLimitMiddleware`` refuses a body whose Content-Length is over the limit with 413 before any view or
  the CSRF check reads it (so a 300 MiB anonymous upload never reaches memory or the temporary folder).
  Views that answer oversized bodies in their own format (``/api/v1`` and ``/open311/v2``, marked with
  ``answers_oversized``) are left to do so, with the same limit.
- ``UploadLimitHandler`` (first of ``FILE_UPLOAD_HANDLERS``) counts the bytes of a multipart body as they are
  streamed and stops at the limit, whatever the Content-Length said; Django answers ``RequestDataTooBig``.
  Under WSGI a body is never read past its Content-Length; under ASGI Django reads the whole body before any
  middleware, so there the web server's limit (nginx ``client_max_body_size``) is the guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

View = TypeVar("View", bound=Callable[..., Any])
MARK = "answers_oversized_body"


def max_upload_bytes() -> int:
    """The largest request body accepted on any channel (photos and form fields together)."""
    return int(settings.CITYLOOP_MAX_UPLOAD_BYTES)


def declared_length(request: HttpRequest) -> int:
    """The Content-Length the client declared (0 when missing or malformed)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def too_large(request: HttpRequest) -> bool:
    return declared_length(request) > max_upload_bytes()


def answers_oversized(view: View) -> View:
    """Mark a view that checks ``too_large`` itself and answers in its own format."""
    setattr(view, MARK, True)
    return view


def limit_message() -> str:
    return _("上传的内容过大（最多 %(mib)s MiB），请减少或压缩照片后重试") % {
        "mib": f"{max_upload_bytes() / (1024 * 1024):.0f}"
    }


class UploadLimitMiddleware:
    """413 for a body declared over the limit, before the CSRF check or the view reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> HttpResponse | None:
        if getattr(view, MARK, False) or not too_large(request):
            return None
        message = limit_message()
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"ok": False, "code": "too_large", "message": message}, status=413)
        return render(request, "413.html", {"title": _("上传的内容过大"), "message": message}, status=413)


class UploadLimitHandler(FileUploadHandler):
    """Stops a multipart body at the limit while it is streamed (and refuses one declared over it)."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0

    def handle_raw_input(self, input_data: IO[bytes], META: dict[str, str], content_length: int,  # noqa: N803
                         boundary: str, encoding: str | None = None) -> None:
        if content_length > max_upload_bytes():
            raise RequestDataTooBig(limit_message())

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > max_upload_bytes():
            raise RequestDataTooBig(limit_message())
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
