"""Fixtures of the evaluation tests: the small city and personas of the case tests, and the scenario."""
# ruff: noqa: F811  (the imported fixtures are used as arguments of the ones below)

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cityloop.cases.tests.conftest import City, Personas, at, city, jpeg_bytes, people  # noqa: F401
from cityloop.evaluation.tests.scenario import build


@pytest.fixture
def scenario(city: City, people: Personas, jpeg_bytes: bytes) -> SimpleNamespace:
    return build(city, people, jpeg_bytes)
