"""Every workflow action through /api/v1 once, conflicts, and the reference and notification endpoints."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from cityloop.api.tests.conftest import report_body
from cityloop.api.tests.test_cases_api import assert_error
from cityloop.cases.models import Case, CaseEvent
from cityloop.cases.services import (
    case_check,
    case_close,
    case_dispatch,
    case_handle,
    case_register,
    case_report,
    case_send_check,
)
from cityloop.notifications.models import Notification


def act(api, case_id: int, name: str, body: dict | None = None, status: int = 200) -> dict:
    response = api.post(f"/api/v1/cases/{case_id}/actions/{name}", body or {})
    assert response.status_code == status, response.content
    return response.json()


def test_inspector_report_walks_the_whole_loop_with_every_handling_action(city, people, api_for, jpeg_bytes):
    inspector, operator, shift, dispatcher, handler, = (
        api_for(p) for p in (people.inspector, people.operator, people.shift_leader, people.dispatcher, people.handler_a)
    )
    case_id = inspector.post("/api/v1/cases", report_body(city)).json()["case"]["id"]
    assert act(operator, case_id, "register", {"note": "符合立案条件"})["status"] == "registered"
    dispatched = act(dispatcher, case_id, "dispatch")
    assert dispatched["status"] == "dispatched" and dispatched["department"]["name"] == "市政中心"
    assert dispatched["handling_due_at"]
    requested = act(handler, case_id, "request", {"kind": "extension", "value": 2, "unit": "work_day", "note": "需采购井盖"})
    assert requested["pending_request"] == "extension"
    due_before = requested["handling_due_at"]
    extended = act(dispatcher, case_id, "decide", {"approve": True, "note": "同意"})
    assert extended["pending_request"] == "" and extended["handling_due_at"] > due_before
    act(handler, case_id, "request", {"kind": "suspension", "note": "等待管线单位"})
    assert act(dispatcher, case_id, "decide", {"approve": True})["status"] == "suspended"
    assert act(dispatcher, case_id, "resume")["status"] == "dispatched"
    photo = SimpleUploadedFile("after.jpg", jpeg_bytes, "image/jpeg")
    handled = handler.multipart(f"/api/v1/cases/{case_id}/actions/handle", {"note": "已更换井盖", "photos": photo})
    assert handled.status_code == 200, handled.content
    assert handled.json()["status"] == "handled"
    assert handled.json()["timeline"][-1]["photos"][0]["kind"] == "after"
    act(operator, case_id, "send_check", {"inspector_id": people.inspector.pk})
    reworked = act(inspector, case_id, "check", {"passed": False, "note": "井盖未固定"})
    assert reworked["status"] == "dispatched" and reworked["rework_count"] == 1
    act(handler, case_id, "handle", {"note": "已固定"})
    act(operator, case_id, "send_check", {"inspector_id": people.inspector.pk})
    passed = act(inspector, case_id, "check", {"passed": True})
    assert passed["check_passed"] is True
    closed = act(shift, case_id, "close", {"note": "结案"})
    assert closed["status"] == "closed" and closed["is_open"] is False
    actions = list(CaseEvent.objects.filter(case_id=case_id).values_list("action", flat=True))
    assert actions == ["report", "register", "dispatch", "request_extension", "approve_extension",
                       "request_suspension", "approve_suspension", "resume", "handle", "send_check", "rework",
                       "handle", "send_check", "check_pass", "close"]


def test_public_report_verify_supervise_return_and_void(city, people, api_for, jpeg_bytes):
    citizen, operator, inspector, leader, dispatcher, handler_b, shift = (
        api_for(p) for p in (people.citizen, people.operator, people.inspector, people.leader, people.dispatcher,
                             people.handler_b, people.shift_leader)
    )
    case_id = citizen.post("/api/v1/cases", report_body(city, category="06010")).json()["case"]["id"]
    inspectors = operator.get(f"/api/v1/cases/{case_id}/inspectors").json()
    assert {i["username"] for i in inspectors} == {"inspector", "inspector2"}
    assert act(operator, case_id, "send_verify", {"inspector_id": people.inspector.pk})["status"] == "verifying"
    photo = SimpleUploadedFile("before.jpg", jpeg_bytes, "image/jpeg")
    verified = inspector.multipart(f"/api/v1/cases/{case_id}/actions/verify", {"valid": "true", "photos": photo})
    assert verified.status_code == 200, verified.content
    assert verified.json()["verification_valid"] is True
    act(operator, case_id, "register")
    assert act(leader, case_id, "supervise", {"on": True, "note": "尽快处理"})["supervised"] is True
    assert act(leader, case_id, "supervise", {"on": False})["supervised"] is False
    act(dispatcher, case_id, "dispatch", {"department_id": city.sanitation.pk})
    act(handler_b, case_id, "request", {"kind": "return", "note": "不属于本单位"})
    assert act(dispatcher, case_id, "decide", {"approve": False, "note": "属于本单位"})["pending_request"] == ""
    act(handler_b, case_id, "request", {"kind": "return", "note": "确实不属于"})
    assert act(dispatcher, case_id, "decide", {"approve": True})["status"] == "registered"
    assert_error(shift.post(f"/api/v1/cases/{case_id}/actions/void", {}), 422, "invalid")
    assert act(shift, case_id, "void", {"note": "重复立案"})["status"] == "voided"


def test_reject_merge_and_rate(city, people, api_for):
    citizen, operator = api_for(people.citizen), api_for(people.operator)
    first = citizen.post("/api/v1/cases", report_body(city)).json()["case"]["id"]
    second = citizen.post("/api/v1/cases", report_body(city, description="同一处")).json()
    assert first in second["duplicates"]
    merged = act(operator, second["case"]["id"], "merge", {"into_id": first})
    assert merged["status"] == "merged" and merged["merged_into"]["id"] == first
    third = citizen.post("/api/v1/cases", report_body(city, index=1)).json()["case"]["id"]
    assert act(operator, third, "reject", {"note": "不属于城市管理范围"})["status"] == "rejected"
    # Close the first case through the services, then the citizen rates it through the API.
    case = Case.objects.get(pk=first)
    case_register(case=case, actor=people.operator)
    case_dispatch(case=case, actor=people.dispatcher)
    case_handle(case=case, actor=people.handler_a, note="已修复")
    case_send_check(case=case, actor=people.operator, inspector=people.inspector)
    case_check(case=case, actor=people.inspector, passed=True)
    case_close(case=case, actor=people.shift_leader)
    assert "rate" in citizen.get(f"/api/v1/cases/{first}").json()["allowed_actions"]
    assert act(citizen, first, "rate", {"rating": 3})["satisfaction"] == 3
    assert_error(citizen.post(f"/api/v1/cases/{first}/actions/rate", {"rating": 2}), 409, "invalid_transition")
    assert_error(citizen.post(f"/api/v1/cases/{first}/actions/rate", {"rating": 5}), 422, "invalid")


def test_conflicts_are_409_and_wrong_roles_403(city, people, api_for):
    operator, dispatcher = api_for(people.operator), api_for(people.dispatcher)
    case = case_report(source="inspector", category="01001", description="井盖", lon=city.point(0)[0],
                       lat=city.point(0)[1], reporter=people.inspector).case
    stale = operator.post(f"/api/v1/cases/{case.pk}/actions/register", {"expected_version": case.version + 1})
    assert_error(stale, 409, "stale_case")
    assert act(operator, case.pk, "register", {"expected_version": case.version})["version"] == case.version + 1
    assert_error(operator.post(f"/api/v1/cases/{case.pk}/actions/register", {}), 409, "invalid_transition")
    assert_error(operator.post(f"/api/v1/cases/{case.pk}/actions/dispatch", {}), 403, "forbidden")
    assert_error(dispatcher.post(f"/api/v1/cases/{case.pk}/actions/decide", {"approve": True}), 409, "invalid_transition")
    assert_error(dispatcher.post(f"/api/v1/cases/{case.pk}/actions/dispatch", {"department_id": 999999}), 422)
    assert_error(dispatcher.post(f"/api/v1/cases/{case.pk}/actions/dispatch", {"department_id": "市政"}), 422)
    assert_error(dispatcher.post(f"/api/v1/cases/{case.pk}/actions/launch", {}), 404)
    assert Case.objects.get(pk=case.pk).status == "registered"


def test_reference_data(city, people, api_for):
    api = api_for(people.operator)
    categories = api.get("/api/v1/categories").json()
    assert {c["code"] for c in categories} == {"01", "01001", "06", "06010"}
    found = api.get("/api/v1/categories", {"q": "井盖"}).json()
    assert [c["code"] for c in found] == ["01001"] and found[0]["parent"]["code"] == "01"
    assert [c["code"] for c in api.get("/api/v1/categories", {"minor_only": "true", "kind": "event"}).json()] == ["06010"]
    departments = api.get("/api/v1/departments").json()
    assert {d["name"] for d in departments} == {"市政中心", "环卫中心"}
    districts = api.get("/api/v1/geo/regions").json()
    assert districts["type"] == "FeatureCollection" and {f["id"] for f in districts["features"]} == {"370102", "370103"}
    west = api.get("/api/v1/geo/regions", {"level": "district", "bbox": "116.99,36.65,117.0015,36.67"}).json()
    assert [f["id"] for f in west["features"]] == ["370102"]
    grids = api.get("/api/v1/geo/grids", {"bbox": "116.99,36.65,117.01,36.67"})
    assert grids["Content-Type"].startswith("application/json")
    assert len(grids.json()["features"]) == 5
    assert_error(api.get("/api/v1/geo/grids"), 422)
    assert_error(api.get("/api/v1/geo/grids", {"bbox": "1,2,3"}), 422)
    assert_error(api.get("/api/v1/geo/regions", {"bbox": "5,5,1,1"}), 422)
    assert_error(api.get("/api/v1/geo/regions", {"level": "planet"}), 422)


def test_notifications_list_count_and_mark_read(city, people, api_for):
    api = api_for(people.handler_a)
    for n in range(3):
        Notification.objects.create(recipient=people.handler_a, kind="case_dispatched", title=f"派遣 {n}", link="/cases/1/")
    Notification.objects.create(recipient=people.handler_b, kind="case_dispatched", title="别人的")
    listing = api.get("/api/v1/notifications").json()
    assert listing["unread"] == 3 and len(listing["results"]) == 3
    first = listing["results"][0]["id"]
    other = Notification.objects.get(recipient=people.handler_b).pk
    assert api.post("/api/v1/notifications/read", {"ids": [first, other]}).json() == {"marked": 1}
    assert api.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    assert len(api.get("/api/v1/notifications", {"unread_only": "true"}).json()["results"]) == 2
    assert api.post("/api/v1/notifications/read").json() == {"marked": 2}
    assert Notification.objects.get(pk=other).read_at is None
    me = api.get("/api/v1/me").json()
    assert me["role"] == "handler" and me["departments"] == [{"id": city.municipal.pk, "name": "市政中心"}]
