"""Deployed static files carry a hash of their content in their names, so a browser never keeps old JavaScript
after an upgrade: ``collectstatic`` writes them and the pages name them."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = pytest.mark.slow

MANIFEST = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}


def test_the_deployed_storage_hashes_names():
    from config import settings as deployed  # the module itself: the tests run with plain names (conftest.py)

    assert deployed.STORAGES["staticfiles"] == MANIFEST


@pytest.mark.django_db
def test_after_collectstatic_pages_name_hashed_files_and_they_are_served(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path, STORAGES={**settings.STORAGES, "staticfiles": MANIFEST},
                           WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", "--no-input", verbosity=0)
        page = Client().get("/login/")
        names = re.findall(r'/static/([\w/.-]+\.(?:css|js))"', page.content.decode())

        assert names, page.content.decode()[:500]
        for name in names:
            assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", name), name
            served = Client().get(f"/static/{name}")
            assert served.status_code == 200, name
            assert "max-age=315360000" in served.headers["Cache-Control"]  # immutable: cached for ever
