"""Schemathesis against ``/api/v1/openapi.json`` on a live server: generated requests for every operation
(a bounded number each), authenticated with an API token; no 5xx, and every response (status code,
content type, headers, body) must match the document.

Reproducible: the test command runs Hypothesis with a fixed seed (``--hypothesis-seed`` in ``pyproject.toml``),
so one commit always sends the same requests; a failure is kept in Hypothesis's example database
(``.hypothesis/``) and replayed first on the next run. ``bash scripts/fuzz`` runs it with a fresh seed and more
examples (docs/testing.md); every failure it has found stays as a plain test in ``test_fuzz_regressions.py``."""

from __future__ import annotations

import os

import pytest
import schemathesis  # the test extra
from hypothesis import HealthCheck, settings
from schemathesis.config import PositiveDataAcceptanceConfig

from cityloop.api.services import token_create
from cityloop.cases.services import case_dispatch, case_register, case_report

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

#: Examples per operation; 34 operations × this stays well under a minute on 2 cores (``scripts/fuzz`` raises it).
MAX_EXAMPLES = int(os.environ.get("CITYLOOP_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def fuzz_user(city, people):
    """A dispatcher (city-wide) with a token, and a few cases so that ids 1–3 exist."""
    lon, lat = city.point(0)
    first = case_report(source="inspector", category="01001", description="井盖", lon=lon, lat=lat,
                        reporter=people.inspector).case
    case_register(case=first, actor=people.operator)
    case_dispatch(case=first, actor=people.dispatcher)
    for index in (1, 2):
        lon, lat = city.point(index)
        case_report(source="public", category="06010", description="垃圾", lon=lon, lat=lat)
    return token_create(user=people.dispatcher, name="fuzz")[1]


@pytest.fixture
def served(live_server, fuzz_user, settings):
    settings.CITYLOOP_API_THROTTLE_RATES = {"user": None, "anon": None}
    return live_server.url, fuzz_user


def _document() -> dict:
    """The document as JSON has it (string status codes)."""
    import json

    from ninja.responses import NinjaJSONEncoder

    from cityloop.api.v1 import api

    return json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))


# The document the live server serves at /api/v1/openapi.json (checked below to be the same); loaded at
# collection so that every operation becomes its own test.
schema = schemathesis.openapi.from_dict(_document())
# The token is set on every request (below), so no Authorization or session cookie is generated: a generated
# (possibly schema-violating) header that the real token then replaces would make Schemathesis believe it
# sent invalid headers, and judge a valid request as "schema-violating request accepted".
schema.config.generation.update(with_security_parameters=False)
# Schema-valid requests may still be refused with 422 for what a schema cannot say (an unknown category
# code, a point outside every unit grid, a note the action requires): accept 422 for positive data too.
# Every other check runs as shipped (no 5xx, status codes, content types, headers and bodies as
# documented, schema-violating requests rejected, unsupported methods, missing auth).
schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
)


def test_live_document_is_the_fuzzed_document(served):
    import requests

    url, _key = served
    assert requests.get(f"{url}/api/v1/openapi.json", timeout=30).json() == _document()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_openapi_document(case, served):
    url, key = served
    case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {key}"})
