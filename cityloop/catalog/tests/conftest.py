from __future__ import annotations

from collections.abc import Iterator

import pytest

from cityloop.catalog import cache


@pytest.fixture(autouse=True)
def _fresh_catalog_cache() -> Iterator[None]:
    """Each test starts and ends with an empty routing/limit snapshot (test transactions roll back)."""
    cache.clear()
    yield
    cache.clear()
