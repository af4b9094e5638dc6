"""The upload limit while a multipart body streams: a body longer than its Content-Length said (possible
behind an ASGI server) is cut off at CITYLOOP_MAX_UPLOAD_BYTES instead of being copied to temporary disk."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from cityloop.core.uploads import UploadLimitHandler


def parse(body: bytes, declared: int, *handlers):
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(declared)}
    return MultiPartParser(meta, io.BytesIO(body), list(handlers)).parse()


def test_a_body_longer_than_declared_is_stopped_at_the_limit(settings):
    settings.CITYLOOP_MAX_UPLOAD_BYTES = 10_000
    body = encode_multipart(BOUNDARY, {"photos": SimpleUploadedFile("big.jpg", b"x" * 50_000), "note": "a"})
    with pytest.raises(RequestDataTooBig):
        parse(body, 1_000, UploadLimitHandler(), TemporaryFileUploadHandler())


def test_a_body_declared_over_the_limit_is_refused_before_parsing(settings):
    settings.CITYLOOP_MAX_UPLOAD_BYTES = 10_000
    with pytest.raises(RequestDataTooBig):
        parse(b"", 10_001, UploadLimitHandler(), TemporaryFileUploadHandler())


def test_bodies_within_the_limit_are_parsed_as_usual(settings):
    settings.CITYLOOP_MAX_UPLOAD_BYTES = 10_000
    body = encode_multipart(BOUNDARY, {"photos": SimpleUploadedFile("a.jpg", b"x" * 5_000), "note": "井盖"})
    post, files = parse(body, len(body), UploadLimitHandler(), TemporaryFileUploadHandler())
    assert post["note"] == "井盖" and files["photos"].size == 5_000
