"""Each kind of error answers with one HTTP status on every interface (pages, API, portal, work plans)."""

from __future__ import annotations

import pytest

from cityloop.cases.photos import PhotoRejected
from cityloop.core.errors import (
    CityLoopError,
    Conflict,
    ImportFailed,
    NotFound,
    OutsideCity,
    PermissionDenied,
    ValidationFailed,
)


@pytest.mark.parametrize(("error", "status"), [
    (CityLoopError("x"), 400),
    (ValidationFailed("x"), 422),
    (OutsideCity("x"), 422),
    (ImportFailed("x"), 422),
    (NotFound("x"), 404),
    (PermissionDenied("x"), 403),
    (Conflict("x"), 409),
    (PhotoRejected("x", details={"reason": "not_an_image"}), 422),
    (PhotoRejected("x", details={"reason": "too_large"}), 413),
])
def test_an_error_carries_its_http_status(error, status):
    assert error.http_status == status


def test_no_interface_keeps_its_own_table_of_statuses():
    """The four copies (api, web, portal, work plans) are gone: each reads ``http_status``."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert not ("isinstance(exc, NotFound)" in text and "return 404" in text), path
