"""GET /api/v1/evaluation/{level}: the evaluation's numbers and access rules through the API.

The cases are the evaluation tests' hand-built fortnight (``evaluation/tests/scenario.py``), played through
the real case services; the expected numbers are the ones worked out there. The API takes the figures at
the moment of the request; every stage of the scenario that was still open on its "统计截至" (20 Oct 2026)
is either suspended or already past its deadline, so the numbers are the same at any later moment.
"""

from __future__ import annotations

from types import SimpleNamespace

import jsonschema_rs  # comes with schemathesis (the test extra)
import pytest
from django.test import Client

from cityloop.api.tests.test_cases_api import assert_error
from cityloop.cases.tests.conftest import City, Personas
from cityloop.evaluation.tests.scenario import PERIOD, PREVIOUS, build

pytestmark = pytest.mark.django_db

URL = "/api/v1/evaluation/{}"


@pytest.fixture
def scenario(city: City, people: Personas, jpeg_bytes: bytes) -> SimpleNamespace:
    return build(city, people, jpeg_bytes)


def schema_errors(body: dict) -> list[str]:
    """Where the answer differs from the OpenAPI document's ``EvaluationOut`` (empty when it matches)."""
    doc = Client().get("/api/v1/openapi.json").json()
    schema = {"$ref": "#/components/schemas/EvaluationOut", "components": doc["components"]}
    validator = jsonschema_rs.Draft202012Validator(schema)
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(body)]


def by_name(body: dict) -> dict[str, dict]:
    return {row["unit"]["name"]: row for row in body["rows"]}


def test_a_leader_gets_every_department_ranked_with_the_scenario_numbers(scenario, people, api_for):
    response = api_for(people.leader).get(URL.format("department"), {"period": PERIOD.key})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert schema_errors(body) == []
    assert (body["level"], body["level_label"]) == ("department", "处置单位")
    assert body["period"] == {"key": "2026-09-28~2026-10-11", "label": "2026年09月28日至2026年10月11日",
                              "start": "2026-09-28", "end": "2026-10-11"}
    assert body["previous_period"] == PREVIOUS.key
    assert [(r["rank"], r["unit"]["name"]) for r in body["rows"]] == [(1, "环卫中心"), (2, "市政中心")]
    assert body["peers"] == 2
    rows = by_name(body)
    municipal, sanitation = rows["市政中心"], rows["环卫中心"]
    assert {code: municipal["values"][code] for code in ("due", "handled", "handled_on_time", "handled_late",
                                                          "overdue_open", "pending", "rework", "registered",
                                                          "closed")} == {
        "due": 8, "handled": 6, "handled_on_time": 4, "handled_late": 2, "overdue_open": 1, "pending": 1,
        "rework": 1, "registered": 7, "closed": 4}
    assert municipal["values"]["handle_on_time_rate"] == pytest.approx(0.5)
    assert municipal["values"]["satisfaction_rate"] is None  # nobody rated: no rate, not 0 %
    assert (municipal["composite"], municipal["grade"], municipal["active"]) == (67.14, "C", True)
    assert (municipal["previous"], municipal["change"], municipal["previous_rank"]) == (70.0, -2.86, 1)
    assert (sanitation["composite"], sanitation["grade"], sanitation["previous"]) == (87.14, "B", None)
    assert sanitation["values"]["rated"] == 2 and sanitation["values"]["satisfaction_rate"] == pytest.approx(0.5)
    total = body["total"]
    assert total["unit"] is None and (total["composite"], total["grade"]) == (76.79, "B")
    assert total["values"]["due"] == 15
    assert {c["code"] for c in body["columns"]} <= set(municipal["values"])  # every column has its value
    assert sum(w["weight"] for w in body["scheme"]["weights"]) == pytest.approx(100)
    assert "按时处置率×30%" in body["scheme"]["formula"]


def test_region_and_position_levels_for_a_dispatcher_through_the_session(scenario, people, client):
    client.force_login(people.dispatcher)  # the browser session works as well as a token
    body = client.get(URL.format("district"), {"period": PERIOD.key}).json()
    assert schema_errors(body) == []
    rows = by_name(body)
    assert (rows["历下区"]["composite"], rows["历下区"]["grade"], rows["历下区"]["rank"]) == (55.14, "D", 1)
    assert rows["历下区"]["unit"]["area_km2"] == pytest.approx(0.04)
    assert rows["历下区"]["unit"]["region_class"] == "1"
    body = client.get(URL.format("inspector"), {"period": PERIOD.key}).json()
    assert schema_errors(body) == []
    rows = by_name(body)
    assert (rows["王建国"]["composite"], rows["王建国"]["rank"]) == (88.0, 1)
    assert (rows["钱进"]["composite"], rows["钱进"]["rank"]) == (28.57, 2)
    assert rows["王建国"]["values"]["reported"] == 15 and body["total"]["values"]["missed"] is None


def test_a_handler_sees_only_their_department_ranked_among_all(scenario, people, api_for):
    api = api_for(people.handler_a)
    body = api.get(URL.format("department"), {"period": PERIOD.key}).json()
    assert schema_errors(body) == []
    assert [(r["unit"]["name"], r["rank"], r["composite"]) for r in body["rows"]] == [("市政中心", 2, 67.14)]
    assert body["total"] is None and body["peers"] == 2
    for level in ("district", "inspector", "grid"):
        assert_error(api.get(URL.format(level), {"period": PERIOD.key}), 403, "forbidden")


def test_an_inspector_sees_their_own_row_only(scenario, people, api_for):
    api = api_for(people.inspector)
    body = api.get(URL.format("inspector"), {"period": PERIOD.key}).json()
    assert [(r["unit"]["name"], r["composite"], r["grade"], r["rank"]) for r in body["rows"]] == [
        ("王建国", 88.0, "B", 1)]
    assert body["total"] is None
    assert_error(api.get(URL.format("department"), {"period": PERIOD.key}), 403, "forbidden")


@pytest.mark.parametrize("level", ["department", "district", "inspector", "operator"])
def test_citizens_get_403(scenario, people, api_for, level):
    body = assert_error(api_for(people.citizen).get(URL.format(level), {"period": PERIOD.key}), 403, "forbidden")
    assert "无权" in body["message"]


@pytest.mark.parametrize("period", ["2026Q5", "2026-13", "Q3", "2026-10-11~2026-09-28", "2025-01-01~2026-06-30",
                                    "0001", "1969Q4", "2201", " "])
def test_a_bad_period_is_422_with_the_field(people, api_for, period):
    body = assert_error(api_for(people.leader).get(URL.format("department"), {"period": period}), 422, "invalid")
    assert set(body["details"]) == {"period"}


def test_missing_period_and_unknown_level_are_422(people, api_for):
    api = api_for(people.leader)
    body = assert_error(api.get(URL.format("department")), 422, "invalid")
    assert set(body["details"]) == {"period"}
    body = assert_error(api.get(URL.format("mayor"), {"period": "2026Q3"}), 422, "invalid")
    assert set(body["details"]) == {"level"}


def test_without_a_token_or_session_it_is_401(db):
    response = Client().get(URL.format("department"), {"period": "2026Q3"})
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_document_describes_the_operation(db):
    doc = Client().get("/api/v1/openapi.json").json()
    operation = doc["paths"]["/api/v1/evaluation/{level}"]["get"]
    assert operation["operationId"] == "evaluation_get"
    assert set(operation["responses"]) == {"200", "401", "403", "422", "429", "503"}
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["period"]["required"] and parameters["period"]["in"] == "query"
    assert set(parameters["level"]["schema"]["enum"]) == {
        "inspector", "operator", "shift_leader", "dispatcher", "department", "district", "street", "community", "grid"}
