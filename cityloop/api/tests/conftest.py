"""Fixtures of the API tests: the small city of the case tests, personas with API tokens, helpers."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from cityloop.accounts.models import User
from cityloop.api.services import token_create
from cityloop.cases.tests.conftest import City, Personas, at, city, jpeg_bytes, people  # noqa: F401

__all__ = ["Api", "City", "Personas", "at"]


@dataclass
class Api:
    """A test client that sends one user's API token (or none)."""

    client: Client
    key: str | None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**headers, **(extra or {})}

    def get(self, url: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(url, params or {}, headers=self.headers(headers))

    def post(self, url: str, data: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.post(url, json.dumps(data or {}), content_type="application/json", headers=self.headers(headers))

    def multipart(self, url: str, data: dict[str, Any], **headers: str) -> Any:
        return self.client.post(url, data, headers=self.headers(headers))

    def delete(self, url: str, **headers: str) -> Any:
        return self.client.delete(url, headers=self.headers(headers))


@pytest.fixture(autouse=True)
def _fresh_reference_names():
    """Ids are reused between rolled-back tests: the API's reference-name cache starts empty each time."""
    from cityloop.api.present import reset_reference_names

    reset_reference_names()
    yield
    reset_reference_names()


@pytest.fixture
def api_for(db):
    """``api_for(user)`` → an :class:`Api` with a fresh token of ``user``."""

    def make(user: User | None) -> Api:
        key = token_create(user=user, name="测试")[1] if user is not None else None
        return Api(Client(), key)

    return make


@pytest.fixture
def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def report_body(town: City, index: int = 0, **extra: Any) -> dict[str, Any]:
    lon, lat = town.point(index)
    return {"category": "01001", "description": "井盖缺失", "lon": lon, "lat": lat, "address": "甲路 1 号", **extra}
