"""Cases through /api/v1: reporting, listing with the workbench's FilterSet, detail, scope, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.http import QueryDict
from django.test import Client

from cityloop.api.tests.conftest import report_body
from cityloop.cases.filters import filter_cases
from cityloop.cases.models import Attachment, Case
from cityloop.cases.selectors import cases_visible_to
from cityloop.cases.services import case_dispatch, case_register, case_report
from cityloop.core.tests.pages import external_assets

ERROR_KEYS = {"code", "message", "details"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code
    return body


# --- reporting ---------------------------------------------------------------------------------


def test_report_creates_a_case_and_returns_201(city, people, api_for):
    api = api_for(people.inspector)
    response = api.post("/api/v1/cases", report_body(city))
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    case = Case.objects.get(pk=body["case"]["id"])
    assert case.source == "inspector" and case.reporter == people.inspector
    assert body["case"]["number"] == case.number
    assert body["case"]["grid"] == city.grids[0].code
    assert body["case"]["stage_due_at"].endswith("+08:00")


def test_same_idempotency_key_twice_makes_one_case(city, people, api_for):
    api = api_for(people.operator)
    first = api.post("/api/v1/cases", report_body(city), **{"Idempotency-Key": "k-1"})
    second = api.post("/api/v1/cases", report_body(city, description="重发"), **{"Idempotency-Key": "k-1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["created"] is False
    assert first.json()["case"]["id"] == second.json()["case"]["id"]
    in_body = api.post("/api/v1/cases", report_body(city, idempotency_key="k-1"))
    assert in_body.json()["case"]["id"] == first.json()["case"]["id"]
    assert Case.objects.count() == 1
    # Keys are per user: another user's "k-1" is another case (and never returns the first user's case).
    other = api_for(people.dispatcher).post("/api/v1/cases", report_body(city), **{"Idempotency-Key": "k-1"})
    assert other.status_code == 201 and other.json()["case"]["id"] != first.json()["case"]["id"]


def test_multipart_report_with_photos(city, people, api_for, jpeg_bytes, png_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_for(people.citizen)
    data = {k: str(v) for k, v in report_body(city).items()}
    data["photos"] = [SimpleUploadedFile("a.jpg", jpeg_bytes, "image/jpeg"), SimpleUploadedFile("b.png", png_bytes)]
    response = api.multipart("/api/v1/cases", data)
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["case"]["id"])
    assert case.source == "public"
    assert case.attachments.count() == 2
    detail = api.get(f"/api/v1/cases/{case.pk}").json()
    assert len(detail["photos"]) == 2
    assert all("/photos/public/" in p["url"] and p["url"].startswith("http") for p in detail["photos"])


def test_fake_image_is_rejected_and_nothing_written(city, people, api_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_for(people.inspector)
    data = {**report_body(city), "photos": SimpleUploadedFile("x.jpg", b"this is not a photo", "image/jpeg")}
    body = assert_error(api.multipart("/api/v1/cases", data), 422, "photo_rejected")
    assert "photo" in body["details"]
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_oversized_photo_and_oversized_body_get_413(city, people, api_for, jpeg_bytes, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_for(people.inspector)
    settings.CITYLOOP_MAX_PHOTO_BYTES = 100
    data = {**report_body(city), "photos": SimpleUploadedFile("a.jpg", jpeg_bytes, "image/jpeg")}
    assert_error(api.multipart("/api/v1/cases", data), 413, "photo_rejected")
    settings.CITYLOOP_MAX_UPLOAD_BYTES = 1000
    big = report_body(city, description="很长" * 2000)
    assert_error(api.post("/api/v1/cases", big), 413, "too_large")
    assert Case.objects.count() == 0


def test_json_body_over_django_memory_limit_gets_413(city, people, api_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    api = api_for(people.inspector)
    assert_error(api.post("/api/v1/cases", report_body(city, description="长" * 600)), 413)


def test_point_outside_the_city_is_422_outside_city(city, people, api_for):
    api = api_for(people.inspector)
    body = assert_error(api.post("/api/v1/cases", report_body(city) | {"lon": 120.0, "lat": 30.0}), 422, "outside_city")
    assert body["message"]
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lon": "东经"}, "lon"),
        ({"lat": 95}, "lat"),
        ({"lon": 200}, "lon"),
        ({"category": None}, "category"),
        ({"urgency": "very"}, "urgency"),
        ({"crs": "mars"}, "crs"),
        ({"description": ""}, "description"),
        ({"surprise": 1}, "surprise"),
        ({"description": "坏\x00字符"}, "description"),
    ],
)
def test_wrong_types_and_values_are_422_with_field_details(city, people, api_for, change, field):
    api = api_for(people.inspector)
    body = {k: v for k, v in (report_body(city) | change).items() if v is not None}
    error = assert_error(api.post("/api/v1/cases", body), 422, "invalid")
    assert field in error["details"]
    assert Case.objects.count() == 0


def test_missing_fields_unknown_category_malformed_json_and_content_type(city, people, api_for):
    api = api_for(people.inspector)
    missing = assert_error(api.post("/api/v1/cases", {}), 422, "invalid")
    assert {"category", "description", "lon", "lat"} <= set(missing["details"])
    unknown = assert_error(api.post("/api/v1/cases", report_body(city, category="99999")), 422, "invalid")
    assert "category" in unknown["details"]
    client = Client()
    headers = api.headers()
    assert_error(client.post("/api/v1/cases", "{not json", content_type="application/json", headers=headers), 400, "malformed")
    assert_error(client.post("/api/v1/cases", "[1, 2]", content_type="application/json", headers=headers), 422)
    assert_error(client.post("/api/v1/cases", "a=b", content_type="text/plain", headers=headers), 415)
    assert Case.objects.count() == 0


def test_citizen_may_only_report_as_public(city, people, api_for):
    api = api_for(people.citizen)
    assert_error(api.post("/api/v1/cases", report_body(city, source="hotline")), 403, "forbidden")
    assert api.post("/api/v1/cases", report_body(city)).json()["case"]["source"] == "public"


def test_inspector_self_handling_with_after_photos(city, people, api_for, jpeg_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_for(people.inspector)
    data = {**report_body(city), "self_handled": "true",
            "after_photos": SimpleUploadedFile("after.jpg", jpeg_bytes, "image/jpeg")}
    response = api.multipart("/api/v1/cases", data)
    assert response.status_code == 201, response.content
    case_id = response.json()["case"]["id"]
    operator = api_for(people.operator)
    assert "approve_self_handling" in operator.get(f"/api/v1/cases/{case_id}").json()["allowed_actions"]
    done = operator.post(f"/api/v1/cases/{case_id}/actions/review_self_handling", {"approve": True})
    assert done.status_code == 200 and done.json()["status"] == "closed"


# --- listing -----------------------------------------------------------------------------------


@pytest.fixture
def several(city, people):
    """Five cases: three manhole in 历下 (one dispatched to 市政), one garbage, one in 市中区."""
    made = []
    for index, category in [(0, "01001"), (1, "01001"), (2, "06010"), (3, "01001"), (4, "06010")]:
        lon, lat = city.point(index)
        made.append(case_report(source="inspector" if index < 4 else "hotline", category=category,
                                description=f"问题 {index}", lon=lon, lat=lat, address=f"路{index}",
                                reporter=people.inspector if index < 4 else None).case)
    case_register(case=made[0], actor=people.operator)
    case_dispatch(case=made[0], actor=people.dispatcher)
    Case.objects.filter(pk=made[1].pk).update(reported_at=made[1].reported_at - timedelta(days=3))
    return made


FILTERS = [
    {},
    {"status": ["reported"]},
    {"status": ["reported", "dispatched"]},
    {"category": "01"},
    {"category": "06010"},
    {"region": "370102"},
    {"region": "370100"},
    {"source": ["hotline"]},
    {"is_open": "true"},
    {"supervised": "false"},
    {"q": "问题 2"},
    {"ordering": "number"},
    {"ordering": "-number"},
]


@pytest.mark.parametrize("params", FILTERS)
def test_list_filtering_equals_the_filterset(city, people, api_for, several, params):
    for user in (people.operator, people.handler_a, people.outsider):
        api = api_for(user)
        response = api.get("/api/v1/cases", params)
        assert response.status_code == 200, response.content
        query = QueryDict(mutable=True)
        for key, value in params.items():
            query.setlist(key, value if isinstance(value, list) else [value])
        expected, _ = filter_cases(cases_visible_to(user), query)
        assert [row["id"] for row in response.json()["results"]] == list(expected.values_list("id", flat=True))
        assert response.json()["count"] == expected.count()


def test_list_date_filters_and_pagination(city, people, api_for, several):
    api = api_for(people.operator)
    since = (several[0].reported_at - timedelta(days=1)).isoformat()
    recent = api.get("/api/v1/cases", {"reported_from": since}).json()
    assert several[1].pk not in [r["id"] for r in recent["results"]] and recent["count"] == 4
    page = api.get("/api/v1/cases", {"page_size": 2, "page": 2}).json()
    assert (page["count"], page["page"], page["pages"], len(page["results"])) == (5, 2, 3, 2)
    assert api.get("/api/v1/cases", {"page": 9}).json()["results"] == []
    assert_error(api.get("/api/v1/cases", {"page_size": 101}), 422)
    assert_error(api.get("/api/v1/cases", {"status": "bogus"}), 422)
    assert_error(api.get("/api/v1/cases", {"reported_from": "yesterday"}), 422)
    assert_error(api.get("/api/v1/cases", {"reported_from": "0001-01-01T00:00:00+14:00"}), 422)


def test_handler_sees_only_own_department_and_gets_403_outside(city, people, api_for, several):
    handler_b = api_for(people.handler_b)
    assert handler_b.get("/api/v1/cases").json()["count"] == 0
    assert_error(handler_b.get(f"/api/v1/cases/{several[0].pk}"), 403, "forbidden")
    refused = handler_b.post(f"/api/v1/cases/{several[0].pk}/actions/handle", {"note": "已修"})
    assert_error(refused, 403, "forbidden")
    assert Case.objects.get(pk=several[0].pk).status == "dispatched"
    assert_error(handler_b.get("/api/v1/cases/999999"), 404, "not_found")
    assert_error(handler_b.get("/api/v1/cases/99999999999999999999999"), 404)
    assert_error(handler_b.get("/api/v1/cases/abc"), 422, "invalid")


def test_operator_of_another_district_cannot_act(city, people, api_for, several):
    outsider = api_for(people.outsider)
    assert_error(outsider.post(f"/api/v1/cases/{several[2].pk}/actions/register", {}), 403, "forbidden")
    assert outsider.post(f"/api/v1/cases/{several[4].pk}/actions/register", {}).status_code == 200


def test_citizen_sees_only_own_reports_and_the_public_timeline(city, people, api_for):
    citizen = api_for(people.citizen)
    own = citizen.post("/api/v1/cases", report_body(city)).json()["case"]["id"]
    other = case_report(source="inspector", category="06010", description="别人的", lon=city.point(1)[0],
                        lat=city.point(1)[1], reporter=people.inspector).case
    assert [r["id"] for r in citizen.get("/api/v1/cases").json()["results"]] == [own]
    assert_error(citizen.get(f"/api/v1/cases/{other.pk}"), 403)
    operator = api_for(people.operator)
    operator.post(f"/api/v1/cases/{own}/actions/send_verify", {"inspector_id": people.inspector.pk, "note": "内部意见"})
    staff_view = operator.get(f"/api/v1/cases/{own}").json()["timeline"]
    citizen_view = citizen.get(f"/api/v1/cases/{own}").json()["timeline"]
    assert all(e["is_public"] for e in citizen_view)
    assert len(citizen_view) <= len(staff_view)
    assert_error(citizen.get(f"/api/v1/cases/{own}/inspectors"), 403)


def test_detail_has_timeline_stages_and_allowed_actions(city, people, api_for, several):
    api = api_for(people.handler_a)
    detail = api.get(f"/api/v1/cases/{several[0].pk}").json()
    assert [e["action"] for e in detail["timeline"]] == ["report", "register", "dispatch"]
    assert detail["department"]["name"] == "市政中心"
    assert detail["stages"][-1]["stage"] == "handle" and detail["stages"][-1]["light"] in ("green", "yellow", "red")
    assert set(detail["allowed_actions"]) >= {"handle", "request_return"}
    assert "reporter_phone" not in detail and "reporter_name" not in detail


# --- errors, throttling, method, schema --------------------------------------------------------


def test_throttling_gives_429_with_retry_after(city, people, api_for, settings):
    cache.clear()
    settings.CITYLOOP_API_THROTTLE_RATES = {"user": "3/min", "anon": "2/min"}
    api = api_for(people.operator)
    statuses = [api.get("/api/v1/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/me")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1
    anonymous = [Client().get("/api/v1/me").status_code for _ in range(3)]
    assert anonymous == [401, 401, 401]  # unauthenticated requests are refused before counting
    cache.clear()


def test_unknown_path_and_method_have_the_error_shape(db, people, api_for):
    api = api_for(people.operator)
    assert_error(api.get("/api/v1/nowhere"), 404, "not_found")
    response = Client().put("/api/v1/cases", headers=api.headers())
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_unexpected_errors_are_json_500_not_html(city, people, api_for, monkeypatch):
    from cityloop.api import present

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(present, "case_row", boom)
    case_report(source="inspector", category="01001", description="x", lon=city.point(0)[0], lat=city.point(0)[1],
                reporter=people.inspector)
    assert_error(api_for(people.operator).get("/api/v1/cases"), 500, "internal_error")


def test_database_busy_is_503_with_retry_after(city, people, api_for, monkeypatch):
    from django.db import OperationalError

    from cityloop.api import v1

    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(v1, "case_report", locked)
    response = api_for(people.inspector).post("/api/v1/cases", report_body(city))
    assert_error(response, 503, "busy")
    assert response["Retry-After"] == "1"


def test_openapi_document_lists_every_endpoint_with_error_responses(db):
    from cityloop.api.v1 import api as ninja_api

    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    operations = {(path, method) for path, item in doc["paths"].items() for method in item}
    routed = {
        ("/api/v1/" + path.lstrip("/"), method.lower())
        for router in ninja_api._get_bound_routers()
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    routed = {(p.replace("<int:", "{").replace(">", "}"), m) for p, m in routed}
    assert routed == operations
    assert len(operations) == 34
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if path != "/api/v1/health":
                assert "401" in responses and "429" in responses, (path, method)
                assert responses["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
            if method == "post" and path != "/api/v1/tokens":
                assert "requestBody" in operation, path
    report = doc["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]
    assert set(report) == {"application/json", "multipart/form-data"}
    photos = report["multipart/form-data"]["schema"]["properties"]["photos"]
    assert photos["items"] == {"type": "string", "contentMediaType": "application/octet-stream"}
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiTokenAuth"]["scheme"] == "bearer" and schemes["SessionCookieAuth"]["name"] == "sessionid"
    assert doc["paths"]["/api/v1/cases"]["get"]["security"] == [{"ApiTokenAuth": []}, {"SessionCookieAuth": []}]


def test_docs_page_is_served_without_a_cdn(db):
    page = Client().get("/api/v1/docs/")
    assert page.status_code == 200 and "/api/v1/openapi.json" in page.content.decode()
    assert external_assets(page.content.decode()) == []
    assert Client().get("/api/v1/docs/redoc.js").status_code == 200


def test_list_micro_cache_serves_a_page_for_its_lifetime_but_not_after_ones_own_writes(
        city, people, api_for, several, settings):
    from cityloop.api.v1 import LIST_CACHE_SECONDS

    assert LIST_CACHE_SECONDS == 1  # the default
    settings.CITYLOOP_API_LIST_CACHE_SECONDS = 60
    api = api_for(people.operator)
    first = api.get("/api/v1/cases", {"page_size": 50}).json()
    case_report(source="inspector", category="01001", description="新的", lon=city.point(0)[0], lat=city.point(0)[1],
                reporter=people.inspector)
    assert api.get("/api/v1/cases", {"page_size": 50}).json() == first  # someone else's write: cached page
    assert api.get("/api/v1/cases", {"page_size": 49}).json()["count"] == first["count"] + 1  # another query
    assert api_for(people.dispatcher).get("/api/v1/cases", {"page_size": 50}).json()["count"] == first["count"] + 1
    api.post(f"/api/v1/cases/{several[2].pk}/actions/register")  # one's own write through the API
    fresh = api.get("/api/v1/cases", {"page_size": 50}).json()
    assert fresh["count"] == first["count"] + 1
    assert next(r for r in fresh["results"] if r["id"] == several[2].pk)["status"] == "registered"
    settings.CITYLOOP_API_LIST_CACHE_SECONDS = 0
    case_report(source="inspector", category="01001", description="又一个", lon=city.point(1)[0], lat=city.point(1)[1],
                reporter=people.inspector)
    assert api.get("/api/v1/cases", {"page_size": 50}).json()["count"] == first["count"] + 2


def test_control_characters_in_reported_text_are_cleaned_and_the_case_exports(city, people, api_for, client):
    api = api_for(people.inspector)
    body = report_body(city, description="井盖\u000b缺失\u0001", address="甲路\u000c1 号")
    response = api.post("/api/v1/cases", body)
    assert response.status_code == 201, response.content
    assert response.json()["case"]["description"] == "井盖\n缺失" and response.json()["case"]["address"] == "甲路 1 号"
    client.force_login(people.operator)
    assert client.get("/cases/export.xlsx").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/ca%0Ases", "/api/v1/%0A", "/api/v1/cases%0D%0A/1", "/api/v1/me%0A"])
def test_paths_with_a_line_break_get_the_json_error(db, path):
    assert_error(Client().get(path), 404, "not_found")


def test_an_oversized_form_from_a_browser_session_gets_the_json_error(city, people):
    browser = Client(enforce_csrf_checks=True)  # a logged-in page calling the API with its session cookie
    browser.force_login(people.operator)
    many = {f"f{i}": "1" for i in range(10_001)}
    assert_error(browser.post("/api/v1/nowhere", many), 404, "not_found")
    assert_error(browser.post("/api/v1/nowhere", {"description": "长" * 3_000_000}), 404, "not_found")


def test_a_deeply_nested_json_body_is_a_400_not_a_500(city, people, api_for):
    api = api_for(people.inspector)
    deep = '{"description": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = Client().post("/api/v1/cases", deep, content_type="application/json", headers=api.headers())
    assert_error(response, 400, "malformed")
    assert Case.objects.count() == 0
