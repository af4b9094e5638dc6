from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from cityloop.geo.lookup import reset_grid_index


@pytest.fixture(autouse=True)
def _fresh_grid_index() -> Iterator[None]:
    """Each test starts and ends without a cached grid index (test transactions roll back)."""
    reset_grid_index()
    yield
    reset_grid_index()


@pytest.fixture
def jinan_districts() -> Path:
    """The real 济南 districts (GCJ-02, properties adcode/name), shipped with the repository."""
    return Path(settings.REFERENCE_DATA_DIR) / "geo" / "jinan-370100-districts.gcj02.json"
