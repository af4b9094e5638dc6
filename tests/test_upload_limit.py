"""One upload limit for every channel (CITYLOOP_MAX_UPLOAD_BYTES): a body declared larger is refused with 413
in the channel's own format, before a byte of it is read (nothing written to memory or temporary disk)."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from cityloop.cases.models import Case
from cityloop.cases.tests.conftest import city, people  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

HUGE = 300 * 1024 * 1024  # an anonymous 300 MiB "photo"


class UnreadBody(io.BytesIO):
    """A request body that fails the test when anything reads it."""

    def read(self, *args, **kwargs):  # type: ignore[override]
        raise AssertionError("the body was read before the upload limit was checked")

    readline = read


def declared(length: int, **extra: str) -> dict[str, object]:
    return {"CONTENT_LENGTH": str(length), "wsgi.input": UnreadBody(), **extra}


MULTIPART = "multipart/form-data; boundary=BoUnDaRy"


def test_the_public_page_refuses_a_300_mib_upload_without_reading_it(client):
    page = client.post("/public/", content_type=MULTIPART, **declared(HUGE))
    assert page.status_code == 413
    assert "上传的内容过大" in page.content.decode()
    fetched = client.post("/public/", content_type=MULTIPART, **declared(HUGE, HTTP_ACCEPT="application/json"))
    assert fetched.status_code == 413
    assert fetched.json()["ok"] is False and fetched.json()["code"] == "too_large"
    english = client.post("/public/", content_type=MULTIPART, **declared(HUGE, HTTP_ACCEPT_LANGUAGE="en"))
    assert "The upload is too large (at most 91 MiB)" in english.content.decode()
    assert Case.objects.count() == 0


def test_csrf_protected_pages_refuse_before_the_csrf_check_reads_the_form(people):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.inspector)
    assert client.post("/m/report/", content_type=MULTIPART, **declared(HUGE)).status_code == 413


def test_one_setting_limits_every_channel(client, settings):
    settings.CITYLOOP_MAX_UPLOAD_BYTES = 4096
    just_over = 4097
    api = client.post("/api/v1/cases", content_type="application/json", **declared(just_over))
    assert api.status_code == 413 and api.json()["code"] == "too_large"
    open311 = client.post("/open311/v2/requests.xml", content_type=MULTIPART, **declared(just_over))
    assert open311.status_code == 413 and open311.content.startswith(b"<?xml")
    assert client.post("/public/", content_type=MULTIPART, **declared(just_over)).status_code == 413
    assert client.post("/public/track/", content_type=MULTIPART, **declared(just_over)).status_code == 413


def test_the_default_limit_is_nine_photos_and_a_form(settings):
    from cityloop.core.uploads import max_upload_bytes

    assert settings.CITYLOOP_MAX_UPLOAD_BYTES == 9 * settings.CITYLOOP_MAX_PHOTO_BYTES + 1024 * 1024
    assert max_upload_bytes() == settings.CITYLOOP_MAX_UPLOAD_BYTES < HUGE
