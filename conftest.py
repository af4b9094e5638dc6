"""Project-wide test isolation: uploads go to a temporary folder, and in-process caches start empty."""

import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Tests change cases between two reports within seconds: count afresh unless a test turns reuse on.
    settings.CITYLOOP_EVALUATION_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Rolled-back test data must not survive in the routing, limits, calendar or grid caches."""
    from django.core.cache import cache

    from cityloop.catalog import cache as catalog_cache
    from cityloop.core.workcal import reset_calendar_cache
    from cityloop.geo.lookup import reset_grid_index

    cache.clear()  # the Django cache (Redis in CI's PostgreSQL run): rate-limit counters, cached layers
    catalog_cache.clear()
    reset_calendar_cache()
    reset_grid_index()
    yield
    catalog_cache.clear()
    reset_calendar_cache()
    reset_grid_index()


def _factories() -> list[type]:
    import factory

    found, todo = [], [factory.base.Factory]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


@pytest.fixture(autouse=True)
def _factory_sequences_from_the_start():
    """Every test numbers its factory rows from the start, whatever ran before it: codes, names and the default
    grid squares come from the sequences, so a test must not pass or fail by the order the suite runs in."""
    for factory_class in _factories():
        factory_class.reset_sequence(force=True)


@pytest.fixture(autouse=True, scope="session")
def _static_files_where_they_are():
    """Pages in tests name static files by their plain names, read where they are (no ``collectstatic``); the
    deployed storage with hashed names has its own test (tests/test_static_files.py)."""
    from django.conf import settings
    from django.test import override_settings

    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}}
    with override_settings(STORAGES=plain):
        yield
