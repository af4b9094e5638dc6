"""Open311 GeoReport v2: discovery, services, definitions, requests (GET and POST), tokens, errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from cityloop.api.models import Open311Submission
from cityloop.api.services import token_create, token_revoke
from cityloop.cases.models import Case
from cityloop.cases.services import (
    case_check,
    case_close,
    case_dispatch,
    case_handle,
    case_register,
    case_report,
    case_send_check,
)

BASE = "/open311/v2"
W3C = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"


@pytest.fixture
def key(people) -> str:
    return token_create(user=people.operator, name="第三方客户端")[1]


def form(city, key: str, index: int = 0, **extra):
    lon, lat = city.point(index)
    return {"api_key": key, "service_code": "06010", "lat": str(lat), "long": str(lon),
            "description": "路边有垃圾", "address_string": "甲路 8 号", **extra}


def post(data, fmt: str = "json", **kwargs):
    return Client().post(f"{BASE}/requests.{fmt}", data, **kwargs)


def errors_of(response, status: int, fmt: str = "json") -> list[dict]:
    assert response.status_code == status, response.content
    if fmt == "xml":
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        root = ET.fromstring(response.content)
        assert root.tag == "errors"
        return [{"code": int(e.findtext("code")), "description": e.findtext("description")} for e in root]
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, list) and body
    assert all(set(e) == {"code", "description"} and e["description"] for e in body)
    return body


# --- discovery, services, definitions --------------------------------------------------------


def test_discovery_in_both_formats(db):
    body = Client().get(f"{BASE}/discovery.json").json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    xml = Client().get(f"{BASE}/discovery.xml")
    assert xml.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(xml.content)
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


def test_services_list_active_minor_categories_as_bare_array_and_xml(city):
    services = Client().get(f"{BASE}/services.json").json()
    assert isinstance(services, list)
    assert [s["service_code"] for s in services] == ["01001", "06010"]
    manhole = services[0]
    assert manhole["metadata"] is True and manhole["type"] == "realtime" and manhole["group"] == "市政公用设施"
    assert services[1]["metadata"] is False
    root = ET.fromstring(Client().get(f"{BASE}/services.xml").content)
    assert root.tag == "services" and [s.findtext("service_code") for s in root.findall("service")] == ["01001", "06010"]
    assert root.find("service/metadata").text == "true"
    city.garbage.is_active = False
    city.garbage.save()
    assert [s["service_code"] for s in Client().get(f"{BASE}/services.json").json()] == ["01001"]


def test_service_definition_with_attributes(city):
    definition = Client().get(f"{BASE}/services/01001.json").json()
    assert definition["service_code"] == "01001"
    traffic = definition["attributes"][0]
    assert traffic["code"] == "TRAFFIC" and traffic["required"] is True and traffic["datatype"] == "singlevaluelist"
    assert traffic["values"] == [{"key": "yes", "name": "是，影响通行"}, {"key": "no", "name": "否"}]
    assert [a["order"] for a in definition["attributes"]] == [1, 2, 3]
    assert definition["attributes"][2]["variable"] is False
    root = ET.fromstring(Client().get(f"{BASE}/services/01001.xml").content)
    assert root.tag == "service_definition"
    assert [v.findtext("key") for v in root.findall("attributes/attribute")[0].findall("values/value")] == ["yes", "no"]
    errors_of(Client().get(f"{BASE}/services/06010.json"), 404)
    assert errors_of(Client().get(f"{BASE}/services/99999.xml"), 404, "xml")[0]["code"] == 404


def test_jurisdiction_is_optional_but_checked(city):
    assert Client().get(f"{BASE}/services.json", {"jurisdiction_id": "370100"}).status_code == 200
    errors_of(Client().get(f"{BASE}/services.json", {"jurisdiction_id": "sfgov.org"}), 404)
    errors_of(Client().get(f"{BASE}/requests.xml", {"jurisdiction_id": "110000"}), 404, "xml")


def test_unknown_paths_and_formats_are_404_error_arrays(db):
    errors_of(Client().get(f"{BASE}/services.html"), 404)
    errors_of(Client().get(f"{BASE}/nothing.xml"), 404, "xml")
    response = Client().delete(f"{BASE}/services.json")
    errors_of(response, 405)
    assert response["Allow"] == "GET, HEAD"


# --- POST requests -----------------------------------------------------------------------------


def test_post_form_creates_a_public_case_returning_its_id(city, people, key):
    response = post(form(city, key, first_name="小雨", last_name="吴", phone="13800001111", email="a@example.cn"))
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    case = Case.objects.get(number=body[0]["service_request_id"])
    assert "token" not in body[0] and body[0]["service_notice"]
    assert case.source == "open311" and case.status == "reported" and case.reporter is None
    assert case.reporter_name == "吴小雨" and case.reporter_phone == "13800001111"
    submission = Open311Submission.objects.get(case=case)
    assert submission.client.user == people.operator and submission.email == "a@example.cn"


def test_post_xml_response(city, key):
    response = post(form(city, key), fmt="xml")
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text.isdigit()


def test_api_key_is_required_and_checked(city, people, key):
    assert errors_of(post(form(city, "")), 403)[0]["code"] == 403
    errors_of(post(form(city, "cl_wrong")), 403)
    token = people.operator.api_tokens.get()
    token_revoke(token=token, by=people.operator)
    errors_of(post(form(city, key), "xml"), 403, "xml")
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"service_code": ""}, 400),
        ({"service_code": "99999"}, 404),
        ({"service_code": "01"}, 404),
        ({"lat": "", "long": "", "address_string": ""}, 400),
        ({"long": ""}, 400),
        ({"lat": "north"}, 400),
        ({"lat": "91"}, 400),
        ({"long": "-181"}, 400),
        ({"lat": "nan"}, 400),
        ({"lat": "30.0", "long": "120.0"}, 400),  # outside the city
        ({"description": "长" * 4001}, 400),
        ({"description": "长" * 2001}, 400),  # the case keeps at most 2000 characters
        ({"phone": "1" * 30}, 400),
        ({"jurisdiction_id": "nyc.gov"}, 404),
    ],
)
def test_bad_posts_get_the_spec_errors_and_write_nothing(city, key, change, status):
    for fmt in ("json", "xml"):
        errors_of(post(form(city, key, **change), fmt), status, fmt)
    assert Case.objects.count() == 0 and Open311Submission.objects.count() == 0


def test_required_and_invalid_attributes(city, key):
    manhole = form(city, key, service_code="01001", description="井盖没了")
    assert "TRAFFIC" in errors_of(post(manhole), 400)[0]["description"]
    errors_of(post({**manhole, "attribute[TRAFFIC]": "maybe"}), 400)
    ok = post({**manhole, "attribute[TRAFFIC]": "yes", "attribute[CONDITION]": "missing", "attribute[OTHER]": "x"})
    assert ok.status_code == 201
    case = Case.objects.get(number=ok.json()[0]["service_request_id"])
    assert "【是否影响车辆或行人通行？】是，影响通行" in case.description and "【井盖是什么情况？】缺失" in case.description


def test_retry_of_the_same_submission_returns_the_first_case(city, key):
    first = post(form(city, key))
    again = post(form(city, key))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    different = post(form(city, key, description="另一处垃圾"))
    assert different.status_code == 201
    assert different.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    assert Case.objects.count() == 2


def test_same_submission_after_the_replay_window_is_a_new_case(city, key):
    first = post(form(city, key)).json()[0]["service_request_id"]
    Open311Submission.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    Case.objects.update(idempotency_key=None)  # as if the retry window's bucket had passed
    assert post(form(city, key)).json()[0]["service_request_id"] != first


def test_multipart_with_media_as_the_three_client_posts(city, key, jpeg_bytes):
    data = form(city, key, first_name="John", last_name="Smith")
    data["media"] = SimpleUploadedFile("photo.jpg", jpeg_bytes, "image/jpeg")
    response = post(data)
    assert response.status_code == 201, response.content
    number = response.json()[0]["service_request_id"]
    case = Case.objects.get(number=number)
    assert case.reporter_name == "John Smith" and case.attachments.count() == 1
    detail = Client().get(f"{BASE}/requests/{number}.json").json()[0]
    assert detail["media_url"].startswith("http://testserver/") and "/photos/public/" in detail["media_url"]
    fake = form(city, key, description="假照片")
    fake["media"] = SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg")
    errors_of(post(fake), 400)


def test_oversized_body_is_413(city, key, settings):
    settings.CITYLOOP_MAX_UPLOAD_BYTES = 500
    errors_of(post(form(city, key, description="长" * 400)), 413)
    assert Case.objects.count() == 0


def test_address_string_without_coordinates_needs_a_grid_or_community_code(city, key):
    grid = city.grids[3].code
    located = post(form(city, key, lat="", long="", address_string=f"{grid} 甲路与乙路路口"))
    assert located.status_code == 201
    case = Case.objects.get(number=located.json()[0]["service_request_id"])
    assert case.grid.code == grid and case.address.startswith(grid)
    by_community = post(form(city, key, lat="", long="", address_string="370103001001", description="乙社区"))
    assert Case.objects.get(number=by_community.json()[0]["service_request_id"]).grid == city.other_grid
    assert "lat" in errors_of(post(form(city, key, lat="", long="", address_string="经十路 1 号")), 400)[0]["description"]


def test_batch_services_return_a_token_resolved_by_the_tokens_endpoint(city, key, settings):
    settings.CITYLOOP_OPEN311_SERVICE_TYPE = "batch"
    assert {s["type"] for s in Client().get(f"{BASE}/services.json").json()} == {"batch"}
    body = post(form(city, key)).json()[0]
    assert "service_request_id" not in body
    token = body["token"]
    resolved = Client().get(f"{BASE}/tokens/{token}.json").json()
    case = Case.objects.get()
    assert resolved == [{"service_request_id": case.number, "token": token}]
    root = ET.fromstring(Client().get(f"{BASE}/tokens/{token}.xml").content)
    assert root.find("request/service_request_id").text == case.number and root.find("request/token").text == token
    errors_of(Client().get(f"{BASE}/tokens/{'0' * 32}.json"), 404)
    errors_of(Client().get(f"{BASE}/tokens/nonsense.xml"), 404, "xml")


# --- GET requests ------------------------------------------------------------------------------


def _close(case, people):
    case_register(case=case, actor=people.operator)
    case_dispatch(case=case, actor=people.dispatcher)
    case_handle(case=case, actor=people.handler_a, note="已修复")
    case_send_check(case=case, actor=people.operator, inspector=people.inspector)
    case_check(case=case, actor=people.inspector, passed=True)
    case_close(case=case, actor=people.shift_leader)


@pytest.fixture
def requests_made(city, people):
    def report(index, category, days_ago=0):
        lon, lat = city.point(index)
        return case_report(source="public", category=category, description=f"问题{index}", lon=lon, lat=lat,
                           reporter_name="吴小雨", reporter_phone="13800001234",
                           at=timezone.now() - timedelta(days=days_ago)).case

    open_case = report(0, "01001")
    closed_case = report(1, "01001", days_ago=1)
    _close(Case.objects.get(pk=closed_case.pk), people)
    dispatched = report(2, "06010", days_ago=2)
    case_register(case=dispatched, actor=people.operator)
    case_dispatch(case=dispatched, actor=people.dispatcher)
    old = report(3, "06010", days_ago=100)
    return {"open": open_case, "closed": closed_case, "dispatched": dispatched, "old": old}


def test_requests_list_maps_status_dates_agency_and_hides_personal_data(city, requests_made):
    response = Client().get(f"{BASE}/requests.json")
    body = response.json()
    assert isinstance(body, list)
    by_id = {r["service_request_id"]: r for r in body}
    assert set(by_id) == {requests_made[k].number for k in ("open", "closed", "dispatched")}  # 90-day default
    opened, closed, dispatched = (by_id[requests_made[k].number] for k in ("open", "closed", "dispatched"))
    assert opened["status"] == "open" and opened["status_notes"] == "已收到，等待受理"
    assert closed["status"] == "closed" and closed["status_notes"] == "已处置完毕并结案"
    assert dispatched["agency_responsible"] == "环卫中心" and dispatched["status_notes"].startswith("已派遣至环卫中心")
    case = Case.objects.get(pk=requests_made["dispatched"].pk)
    assert dispatched["expected_datetime"] == timezone.localtime(case.handling_due_at).replace(microsecond=0).isoformat()
    import re

    for item in body:
        for field in ("requested_datetime", "updated_datetime"):
            assert re.match(W3C, item[field]), item[field]
        assert item["requested_datetime"].endswith("+08:00")
        assert isinstance(item["lat"], float) and isinstance(item["long"], float)
    text = response.content.decode()
    assert "吴小雨" not in text and "13800001234" not in text


def test_requests_filters(city, requests_made):
    def ids(params):
        return {r["service_request_id"] for r in Client().get(f"{BASE}/requests.json", params).json()}

    numbers = {k: c.number for k, c in requests_made.items()}
    assert ids({"status": "closed"}) == {numbers["closed"]}
    assert ids({"status": "open"}) == {numbers["open"], numbers["dispatched"]}
    assert ids({"status": "open,closed"}) == ids({})
    assert ids({"service_code": "06010"}) == {numbers["dispatched"]}
    assert ids({"service_code": "01001,06010"}) == ids({})
    # service_request_id overrides everything else, including the default window
    assert ids({"service_request_id": f"{numbers['old']},{numbers['open']}", "status": "closed"}) == {numbers["old"], numbers["open"]}
    start = (timezone.now() - timedelta(days=120)).isoformat()
    end = (timezone.now() - timedelta(days=50)).isoformat()
    assert ids({"start_date": start, "end_date": end}) == {numbers["old"]}
    assert ids({"start_date": start}) == {numbers["old"]}
    day = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert numbers["open"] in ids({"start_date": day}) and numbers["dispatched"] not in ids({"start_date": day})
    errors_of(Client().get(f"{BASE}/requests.json", {"status": "pending"}), 400)
    errors_of(Client().get(f"{BASE}/requests.json", {"start_date": "yesterday"}), 400)
    errors_of(Client().get(f"{BASE}/requests.json", {"start_date": start, "end_date": timezone.now().isoformat()}), 400)
    errors_of(Client().get(f"{BASE}/requests.xml", {"start_date": end, "end_date": start}), 400, "xml")


def test_single_request_is_a_one_element_list(city, requests_made):
    number = requests_made["closed"].number
    body = Client().get(f"{BASE}/requests/{number}.json").json()
    assert len(body) == 1 and body[0]["service_request_id"] == number
    root = ET.fromstring(Client().get(f"{BASE}/requests/{number}.xml").content)
    assert root.tag == "service_requests" and len(root.findall("request")) == 1
    assert root.find("request/status").text == "closed"
    errors_of(Client().get(f"{BASE}/requests/1999000001.json"), 404)
    errors_of(Client().get(f"{BASE}/requests/abc.xml"), 404, "xml")


def test_extensions_page_updated_after_and_public_notes(city, requests_made):
    plain = Client().get(f"{BASE}/requests.json").json()
    assert all("notes" not in r and "extended_attributes" not in r for r in plain)
    page = Client().get(f"{BASE}/requests.json", {"extensions": "true", "page_size": 2, "page": 1})
    assert page["X-Total-Count"] == "3" and page["X-Total-Pages"] == "2" and len(page.json()) == 2
    assert len(Client().get(f"{BASE}/requests.json", {"extensions": "true", "page_size": 2, "page": 2}).json()) == 1
    closed = Client().get(f"{BASE}/requests/{requests_made['closed'].number}.json", {"extensions": "true"}).json()[0]
    assert [n["type"] for n in closed["notes"]][:2] == ["report", "register"] and closed["notes"][-1]["type"] == "close"
    assert closed["extended_attributes"]["channel"] == "public"
    xml = ET.fromstring(Client().get(f"{BASE}/requests/{requests_made['closed'].number}.xml", {"extensions": "true"}).content)
    assert xml.find("request/notes/note/summary").text == "上报"
    cutoff = timezone.now() - timedelta(minutes=5)
    Case.objects.exclude(pk=requests_made["open"].pk).update(updated_at=cutoff - timedelta(days=1))
    recent = Client().get(f"{BASE}/requests.json", {"extensions": "true", "updated_after": cutoff.isoformat()}).json()
    assert [r["service_request_id"] for r in recent] == [requests_made["open"].number]
    errors_of(Client().get(f"{BASE}/requests.json", {"extensions": "true", "page_size": 1001}), 400)


def test_at_most_1000_rows(city, requests_made):
    template = Case.objects.get(pk=requests_made["open"].pk)
    rows = []
    for n in range(1005):
        template.pk = None
        template.number = f"2026{900000 + n:06d}"
        template.idempotency_key = None
        rows.append(Case(**{f.attname: getattr(template, f.attname) for f in Case._meta.concrete_fields}))
    Case.objects.bulk_create(rows)
    body = Client().get(f"{BASE}/requests.json").json()
    assert len(body) == 1000


def test_control_characters_in_posted_text_are_cleaned(city, key):
    response = post(form(city, key, description="路边\x0b有垃圾\x02", address_string="甲路\x0c8 号", first_name="小\x1b雨"))
    assert response.status_code == 201, response.content
    case = Case.objects.get(number=response.json()[0]["service_request_id"])
    assert (case.description, case.address, case.reporter_name) == ("路边\n有垃圾", "甲路 8 号", "小雨")


@pytest.mark.parametrize(("path", "fmt"), [("requests%0A.json", "json"), ("requests.json%0A", "json"),
                                           ("requests.xml%0A", "xml"), ("a%0Ab.xml", "xml"), ("%0A", "json")])
def test_paths_with_a_line_break_get_the_spec_error(db, path, fmt):
    assert errors_of(Client().get(f"{BASE}/{path}"), 404, fmt)[0]["code"] == 404
