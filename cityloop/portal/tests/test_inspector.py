"""The inspector's phone pages (/m/): report, tasks, verify and check, my reports."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from cityloop.cases.models import Attachment, Case
from cityloop.cases.statuses import CaseStatus, Source

from .conftest import checking, inspector_case, jpeg, public_case, unlabelled_fields, verifying

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def inspector_client(client, people):
    client.force_login(people.inspector)
    return client


def report_data(city, **overrides):
    lon, lat = city.point(0)
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "category": city.manhole.code,
        "description": "供水井盖破损",
        "address": "甲街道 1 号门前",
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
        "urgency": "normal",
        "photos": [jpeg()],
    }
    data.update(overrides)
    return data


def test_pages_need_an_inspector(client, people, city):
    response = client.get(reverse("portal_m:report"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(people.operator)
    response = client.get(reverse("portal_m:tasks"))
    assert response.status_code == 403
    assert "此页面仅供监督员使用" in response.content.decode()


def test_report_form_has_labels_a_fresh_key_and_the_camera(inspector_client, catalogue):
    response = inspector_client.get(reverse("portal_m:report"))
    text = response.content.decode()
    assert response.status_code == 200
    assert 'capture="environment"' in text and 'accept="image/*"' in text and "multiple" in text
    for field_id in ("id_lon", "id_lat", "id_photos_camera", "id_photos_gallery", "id_category_q", "id_description",
                     "id_address", "id_self_handled", "id_after_camera"):
        assert f'id="{field_id}"' in text
    assert unlabelled_fields(text) == []
    key = response.context["values"]["idempotency_key"]
    assert str(uuid.UUID(key)) == key and f'value="{key}"' in text
    assert inspector_client.get(reverse("portal_m:report")).context["values"]["idempotency_key"] != key


def test_inspector_reports_with_a_photo_and_gets_a_number(inspector_client, catalogue, people):
    response = inspector_client.post(reverse("portal_m:report"), report_data(catalogue))
    assert response.status_code == 302 and response["Location"] == reverse("portal_m:report-done")
    case = Case.objects.get()
    assert case.source == Source.INSPECTOR and case.reporter == people.inspector
    assert case.status == CaseStatus.REPORTED and case.category == catalogue.manhole
    assert Attachment.objects.filter(case=case, kind="before").count() == 1

    done = inspector_client.get(response["Location"])
    assert case.number in done.content.decode()


def test_the_same_key_twice_makes_one_case(inspector_client, catalogue):
    data = report_data(catalogue)
    first = inspector_client.post(reverse("portal_m:report"), data, **JSON)
    data["photos"] = [jpeg()]  # a retry sends the photos again
    second = inspector_client.post(reverse("portal_m:report"), data, **JSON)
    assert first.status_code == 201 and first.json()["ok"] is True
    assert second.status_code == 200 and second.json()["created"] is False
    assert first.json()["number"] == second.json()["number"]
    assert Case.objects.count() == 1


def test_category_search_by_pinyin_initials(inspector_client, catalogue):
    results = inspector_client.get(reverse("portal_m:categories"), {"q": "gsjg"}).json()["results"]
    assert results[0] == {"code": "01001", "name": "供水井盖", "major": "市政公用设施"}
    assert inspector_client.get(reverse("portal_m:categories"), {"q": "暴露"}).json()["results"][0]["code"] == "06010"
    assert inspector_client.get(reverse("portal_m:categories"), {"q": ""}).json() == {"results": []}


def test_category_typed_without_javascript_is_resolved(inspector_client, catalogue):
    data = report_data(catalogue, category="", category_q="gsjg")
    response = inspector_client.post(reverse("portal_m:report"), data)
    assert response.status_code == 302
    assert Case.objects.get().category.code == "01001"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lon": "100.0", "lat": "30.0"}, "location", "该位置不在本市任何单元网格内"),
        ({"photos": [jpeg().__class__("fake.jpg", b"<html>not a photo</html>", "image/jpeg")]}, "photos",
         "不是有效的照片"),
        ({"description": "  "}, "description", "请填写问题描述"),
        ({"lon": "", "lat": ""}, "location", "请获取当前位置或在地图上选点"),
        ({"category": "", "category_q": "zzzz"}, "category", "没有找到该分类"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_written(inspector_client, catalogue, overrides, field,
                                                                     message):
    response = inspector_client.post(reverse("portal_m:report"), report_data(catalogue, **overrides), **JSON)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(message in m for m in errors[field]), errors
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_bad_input_without_javascript_rerenders_the_form(inspector_client, catalogue):
    data = report_data(catalogue, description="", address="<b>门前</b>")
    response = inspector_client.post(reverse("portal_m:report"), data)
    text = response.content.decode()
    assert response.status_code == 422
    assert 'id="err-description"' in text and "请填写问题描述" in text
    assert "&lt;b&gt;门前&lt;/b&gt;" in text  # kept and escaped
    assert f'value="{data["idempotency_key"]}"' in text  # the same key for the corrected retry
    assert Case.objects.count() == 0


def test_self_handling_needs_after_photos_and_then_is_reported(inspector_client, catalogue):
    data = report_data(catalogue, self_handled="1")
    response = inspector_client.post(reverse("portal_m:report"), data, **JSON)
    assert response.status_code == 422 and "after_photos" in response.json()["errors"]
    data.update(photos=[jpeg()], after_photos=[jpeg("after.jpg", (20, 160, 60))])
    response = inspector_client.post(reverse("portal_m:report"), data, **JSON)
    assert response.status_code == 201
    case = Case.objects.get()
    assert case.self_handled is True
    assert set(case.attachments.values_list("kind", flat=True)) == {"before", "after"}


def test_tasks_show_only_my_verification_and_check_tasks(inspector_client, catalogue, people):
    mine_verify = verifying(catalogue, people, description="我的核实任务")
    verifying(catalogue, people, inspector=people.other_inspector, description="别人的核实任务")
    mine_check = checking(catalogue, people)
    other_check = checking(catalogue, people, inspector=people.other_inspector)
    inspector_case(catalogue, people)  # just reported: no task

    response = inspector_client.get(reverse("portal_m:tasks"))
    assert [c.pk for c in response.context["verify_tasks"]] == [mine_verify.pk]
    assert [c.pk for c in response.context["check_tasks"]] == [mine_check.pk]
    text = response.content.decode()
    assert mine_verify.number in text and other_check.number not in text
    assert f"geo:{mine_verify.lat:.6f},{mine_verify.lon:.6f}" in text
    assert reverse("portal_m:case", args=[mine_verify.pk]) + "#location" in text
    assert "核实属实" in text and "核查通过" in text and "data-distance" in text


def test_verify_through_the_page(inspector_client, catalogue, people):
    case = verifying(catalogue, people)
    response = inspector_client.post(reverse("portal_m:verify", args=[case.pk]),
                                     {"valid": "1", "note": "现场属实", "photos": [jpeg()]})
    assert response.status_code == 302 and response["Location"] == reverse("portal_m:tasks")
    case.refresh_from_db()
    assert case.status == CaseStatus.REPORTED and case.verified and case.verification_valid is True
    assert case.attachments.filter(event__action="verify").count() == 1
    tasks = inspector_client.get(response["Location"])
    assert f"案卷 {case.number} 已核实：属实" in tasks.content.decode()
    assert not tasks.context["verify_tasks"]

    again = inspector_client.post(reverse("portal_m:verify", args=[case.pk]), {"valid": "0"})
    assert again.status_code == 409
    assert "不能“核实回复”" in again.content.decode()


def test_verify_someone_elses_task_is_refused_in_chinese(inspector_client, catalogue, people):
    case = verifying(catalogue, people, inspector=people.other_inspector)
    response = inspector_client.post(reverse("portal_m:verify", args=[case.pk]), {"valid": "1"})
    assert response.status_code == 403
    assert "该任务已派发给其他监督员" in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.VERIFYING


def test_check_through_the_page(inspector_client, catalogue, people):
    case = checking(catalogue, people)
    refused = inspector_client.post(reverse("portal_m:check", args=[case.pk]), {"passed": "0", "note": ""})
    assert refused.status_code == 422 and "请填写核查不通过的原因" in refused.content.decode()

    response = inspector_client.post(reverse("portal_m:check", args=[case.pk]),
                                     {"passed": "1", "note": "已修复", "photos": [jpeg("after.jpg")]})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.check_passed is True and case.status == CaseStatus.CHECKING
    assert case.attachments.filter(kind="after", event__action="check_pass").count() == 1
    assert not inspector_client.get(reverse("portal_m:tasks")).context["check_tasks"]


def test_check_failure_sends_the_case_back(inspector_client, catalogue, people):
    case = checking(catalogue, people)
    response = inspector_client.post(reverse("portal_m:check", args=[case.pk]), {"passed": "0", "note": "井盖仍缺失"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED and case.rework_count == 1


def test_case_page_shows_public_photos_and_the_timeline(inspector_client, catalogue, people):
    case = verifying(catalogue, people, description="<script>alert(1)</script>")
    response = inspector_client.get(reverse("portal_m:case", args=[case.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert(1)" not in text
    assert "核实属实" in text  # my task: the buttons are there
    other = inspector_client.get(reverse("portal_m:case", args=[public_case(catalogue, grid=4).pk]))
    assert other.status_code == 403  # 市中区 is outside my region and not my task
    assert "您无权查看该案卷" in other.content.decode()


def test_my_reports(inspector_client, catalogue, people):
    case = inspector_case(catalogue, people)
    verifying(catalogue, people)  # a citizen's case is not mine
    response = inspector_client.get(reverse("portal_m:mine"))
    assert [c.pk for c in response.context["cases"]] == [case.pk]
    assert "已上报" in response.content.decode()
