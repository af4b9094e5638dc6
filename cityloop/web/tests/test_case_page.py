"""The case page: fields, scope, only the allowed actions, actions through HTMX, conflicts, escaping."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cityloop.cases import services
from cityloop.cases.models import ApprovalKind, Attachment, Case
from cityloop.cases.services import allowed_actions
from cityloop.cases.statuses import Action, CaseStatus, Source

from .conftest import report

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def page(client, case):
    response = client.get(reverse("case-detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def shown_actions(text: str) -> set[str]:
    return set(re.findall(r'data-action="(\w+)"', text))


def act(client, case, action, data=None, *, version=None, htmx=True, **extra):
    payload = {"version": case.version if version is None else version, **(data or {})}
    headers = HX if htmx else {}
    return client.post(reverse("case-action", args=[case.pk, action]), payload, **headers, **extra)


def test_case_page_shows_the_fields(client, people, city):
    case = report(city, people, source=Source.HOTLINE, reporter=None, reporter_name="张三",
                  reporter_phone="13812345678", address="经十路 100 号", description="井盖缺失")
    client.force_login(people.operator)
    text = page(client, case)
    for expected in (case.number, "已上报", "12345热线", "01001 供水井盖", "经十路 100 号", "张三", "138****5678",
                     "甲社区", "甲街道", "历下区", case.grid.code, "市政中心", "派遣依据", "环节时限", "办理过程",
                     "2026年3月2日 09:00"):
        assert expected in text, expected
    assert "13812345678" not in text
    assert 'id="case-map"' in text and 'id="case-grid"' in text  # the map with the grid outline


PERSONAS = ["operator", "shift_leader", "dispatcher", "leader", "inspector", "other_inspector", "handler_a",
            "handler_b", "outsider"]
STAGES = ["reported", "verifying", "registered", "dispatched_a", "handled", "checking", "to_close", "pending"]


def test_only_allowed_actions_are_offered(client, people, loop):
    for persona in PERSONAS:
        user = getattr(people, persona)
        client.force_login(user)
        for which in STAGES:
            case = getattr(loop, which)
            response = client.get(reverse("case-detail", args=[case.pk]))
            if response.status_code == 403:
                assert allowed_actions(case, user) == [], (persona, which)
                continue
            expected = {str(a) for a in allowed_actions(case, user)} - {"rate"}
            assert shown_actions(response.content.decode()) == expected, (persona, which)


def test_buttons_per_persona_in_words(client, people, loop):
    client.force_login(people.handler_a)
    assert shown_actions(page(client, loop.dispatched_a)) == {
        "handle", "request_return", "request_extension", "request_suspension"}
    client.force_login(people.leader)
    assert shown_actions(page(client, loop.dispatched_a)) == {"supervise"}
    client.force_login(people.dispatcher)
    assert shown_actions(page(client, loop.pending)) == {"approve_extension", "refuse_extension"}
    client.force_login(people.shift_leader)
    assert "close" in shown_actions(page(client, loop.to_close))


def test_handler_of_another_department_is_refused_the_case_page(client, people, loop):
    client.force_login(people.handler_b)
    response = client.get(reverse("case-detail", args=[loop.dispatched_a.pk]))
    assert response.status_code == 403
    assert loop.dispatched_a.description not in response.content.decode()
    response = act(client, loop.dispatched_a, "handle", {"note": "不是我们的"})
    assert response.status_code == 403
    assert client.get(reverse("case-detail", args=[999999])).status_code == 404


def test_dispatch_through_the_page_swaps_the_panel(client, people, loop, city):
    client.force_login(people.dispatcher)
    text = page(client, loop.registered)
    # The form pre-selects the routing proposal and says why.
    assert re.search(rf'<option value="{city.municipal.pk}" selected>市政中心', text)
    assert "派遣建议" in text and "规则#" in text
    response = act(client, loop.registered, "dispatch", {"department": city.municipal.pk, "note": "请尽快"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<div id="case-panel"') and "<html" not in body
    assert "已完成“派遣”" in body and "处置中" in body and "请尽快" in body
    assert shown_actions(body) == set()  # nothing more for the dispatcher now
    case = Case.objects.get(pk=loop.registered.pk)
    assert case.status == CaseStatus.DISPATCHED and case.department == city.municipal


def test_action_without_htmx_redirects_back_to_the_case(client, people, loop):
    client.force_login(people.operator)
    response = act(client, loop.reported, "register", htmx=False)
    assert response.status_code == 302 and response["Location"] == reverse("case-detail", args=[loop.reported.pk])
    assert Case.objects.get(pk=loop.reported.pk).status == CaseStatus.REGISTERED


def test_stale_page_gets_the_conflict_message(client, people, loop):
    client.force_login(people.operator)
    stale_version = loop.reported.version
    services.case_send_verify(case=loop.reported, actor=people.shift_leader, inspector=people.inspector)
    response = act(client, loop.reported, "register", version=stale_version)
    assert response.status_code == 409
    assert "案卷已被他人更新，请刷新" in response.content.decode()
    assert Case.objects.get(pk=loop.reported.pk).status == CaseStatus.VERIFYING


def test_stale_page_for_an_action_still_allowed(client, people, loop):
    client.force_login(people.leader)
    services.case_supervise(case=loop.dispatched_a, actor=people.leader)
    services.case_supervise(case=loop.dispatched_a, actor=people.leader, on=False)
    response = act(client, loop.dispatched_a, "supervise")  # loop's version is two changes old
    body = response.content.decode()
    assert response.status_code == 409 and "案卷已被他人更新，请刷新" in body
    assert 'data-action="supervise" open' not in body or "role=\"alert\"" in body


def test_missing_reason_is_shown_next_to_the_form(client, people, loop):
    client.force_login(people.operator)
    response = act(client, loop.reported, "reject", {"note": ""})
    body = response.content.decode()
    assert response.status_code == 422
    assert "请填写不予立案的理由" in body
    assert re.search(r'<details class="action has-error" open data-action="reject">', body)
    assert 'aria-invalid="true"' in body


def test_send_verify_offers_inspectors_of_the_region(client, people, loop, city):
    case = report(city, people, source=Source.PUBLIC, reporter=people.citizen, grid=1, description="公众举报")
    client.force_login(people.operator)
    text = page(client, case)
    assert "王建国" in text and "钱进" in text
    response = act(client, case, "send_verify", {"inspector": people.other_inspector.pk})
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == CaseStatus.VERIFYING and case.assignee == people.other_inspector


def test_inspector_verifies_and_checks_through_the_page(client, people, loop):
    client.force_login(people.inspector)
    response = act(client, loop.verifying, "verify", {"valid": "1", "note": "属实"})
    assert response.status_code == 200
    assert Case.objects.get(pk=loop.verifying.pk).verification_valid is True
    response = act(client, loop.checking, "rework", {"note": ""})
    assert response.status_code == 422 and "请填写核查不通过的原因" in response.content.decode()
    response = act(client, loop.checking, "check_pass", {"note": "已修好"})
    assert response.status_code == 200
    assert Case.objects.get(pk=loop.checking.pk).check_passed is True


def test_handler_uploads_after_photos_shown_as_public_variants(client, people, loop, jpeg_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people.handler_a)
    photo = SimpleUploadedFile("after.jpg", jpeg_bytes, content_type="image/jpeg")
    response = act(client, loop.dispatched_a, "handle", {"note": "已更换井盖", "photos": photo})
    body = response.content.decode()
    assert response.status_code == 200
    attachment = Attachment.objects.get(case=loop.dispatched_a)
    assert attachment.kind == "after"
    assert f"/media/{attachment.public_path}" in body and attachment.original_path not in body
    assert "处置后" in body
    served = client.get(f"/media/{attachment.public_path}")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_bad_photo_is_refused_with_the_reason(client, people, loop):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people.handler_a)
    fake = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    response = act(client, loop.dispatched_a, "handle", {"note": "已处理", "photos": fake})
    assert response.status_code == 422 and "不是有效的照片" in response.content.decode()
    assert Case.objects.get(pk=loop.dispatched_a.pk).status == CaseStatus.DISPATCHED


def test_extension_request_and_decision(client, people, loop):
    client.force_login(people.handler_a)
    response = act(client, loop.dispatched_a, "request_extension", {"note": "材料未到", "value": "1.5", "unit": "work_day"})
    assert response.status_code == 200
    case = Case.objects.get(pk=loop.dispatched_a.pk)
    assert case.pending_request == ApprovalKind.EXTENSION
    before = case.handling_due_at
    client.force_login(people.dispatcher)
    text = page(client, case)
    assert "待审批" in text and "材料未到" in text and "1.5" in text
    response = act(client, case, "approve_extension", {"note": "同意"})
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.pending_request == "" and case.handling_due_at > before


def test_return_request_refused(client, people, loop):
    client.force_login(people.handler_a)
    assert act(client, loop.dispatched_a, "request_return", {"note": "不属于本单位"}).status_code == 200
    client.force_login(people.dispatcher)
    case = Case.objects.get(pk=loop.dispatched_a.pk)
    assert act(client, case, "refuse_return", {"note": "属于你单位"}).status_code == 200
    assert Case.objects.get(pk=case.pk).pending_request == ""


def test_void_and_supervise(client, people, loop):
    client.force_login(people.leader)
    assert act(client, loop.dispatched_a, "supervise").status_code == 200
    assert Case.objects.get(pk=loop.dispatched_a.pk).supervised
    client.force_login(people.shift_leader)
    case = Case.objects.get(pk=loop.dispatched_a.pk)
    assert act(client, case, "void", {"note": ""}).status_code == 422
    assert act(client, case, "void", {"note": "重复立案"}).status_code == 200
    assert Case.objects.get(pk=case.pk).status == CaseStatus.VOIDED


def test_merge_into_a_duplicate(client, people, loop, city):
    first = report(city, people, grid=0, description="井盖缺失 A")
    second = report(city, people, grid=0, description="井盖缺失 B")
    assert first.pk in second.duplicate_candidates
    client.force_login(people.operator)
    text = page(client, second)
    assert f'href="/cases/{first.pk}/"' in text  # duplicates with links
    response = act(client, second, "merge", {"into": first.pk})
    assert response.status_code == 200
    second.refresh_from_db()
    assert second.status == CaseStatus.MERGED and second.merged_into == first
    assert "已合并到" in response.content.decode()


def test_action_not_allowed_now_is_a_conflict(client, people, loop):
    client.force_login(people.shift_leader)
    response = act(client, loop.dispatched_a, "close")
    assert response.status_code == 409
    assert "不能“结案”" in response.content.decode()
    assert client.post(reverse("case-action", args=[loop.dispatched_a.pk, "rate"]), {"version": 1}).status_code == 404
    assert client.post(reverse("case-action", args=[loop.dispatched_a.pk, "nonsense"]), {"version": 1}).status_code == 404


def test_description_and_notes_are_escaped(client, people, city):
    case = report(city, people, description='<script>alert("x")</script> 井盖')
    client.force_login(people.operator)
    act(client, case, "register", {"note": "<img src=x onerror=alert(1)>"})
    text = page(client, case)
    assert '<script>alert("x")</script>' not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_stage_lights_and_durations_are_in_words(client, people, loop):
    client.force_login(people.operator)
    text = page(client, loop.handled)
    assert "按时完成" in text or "超时完成" in text
    assert "用时约" in text and "工作时" in text
    assert re.search(r'class="light light-(green|yellow|red)">(绿灯|黄灯|红灯)<', text)


def test_actions_unknown_to_the_role_are_forbidden_even_if_posted(client, people, loop):
    client.force_login(people.handler_a)
    response = act(client, loop.dispatched_a, "void", {"note": "试试"})
    assert response.status_code == 403
    assert Case.objects.get(pk=loop.dispatched_a.pk).status == CaseStatus.DISPATCHED
    assert Action.VOID not in allowed_actions(loop.dispatched_a, people.handler_a)


def test_case_map_uses_the_configured_tiles(client, people, loop, settings):
    settings.TILE_URL = "https://tiles.example.cn/{z}/{x}/{y}.png"
    client.force_login(people.operator)
    assert 'data-tile-url="https://tiles.example.cn/{z}/{x}/{y}.png"' in page(client, loop.reported)
