"""Serves the public variants of case photos (``photos/public/…`` under MEDIA_ROOT), and nothing else.

Originals keep their EXIF (GPS included) and are never served; the public variants have no metadata and
are named by content hash, so they may be cached for ever.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from cityloop.cases.photos import PUBLIC_DIR

ALLOWED_SUFFIXES = {".jpg": "image/jpeg", ".png": "image/png"}


@require_GET
def public_photo(request: HttpRequest, path: str) -> FileResponse:
    normalized = posixpath.normpath(path)
    if normalized != path or normalized.startswith(("/", "..")) or "\\" in path or "\x00" in path:
        raise Http404
    suffix = posixpath.splitext(normalized)[1].lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise Http404
    root = (Path(settings.MEDIA_ROOT) / PUBLIC_DIR).resolve()
    full = (root / normalized).resolve()
    if root not in full.parents or not full.is_file():
        raise Http404
    response = FileResponse(full.open("rb"), content_type=ALLOWED_SUFFIXES[suffix])
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Content-Disposition"] = "inline"
    return response



