"""The pages: upload and preview, ledger, task page, report form, close-out, bulletin and review downloads."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx import Document

from cityloop.workplans.choices import TaskStatus
from cityloop.workplans.models import PlanTask, ProgressReport, WorkPlan
from cityloop.workplans.tests.conftest import SMALL_PLAN

pytestmark = pytest.mark.django_db


def form_data(*forms: Any, formsets: tuple[Any, ...] = ()) -> dict[str, Any]:
    """The POST a browser would send for these forms and formsets as rendered."""
    data: dict[str, Any] = {}
    for formset in formsets:
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        forms = (*forms, *formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if isinstance(value, bool) or getattr(field.widget, "input_type", "") == "checkbox":
                if value:
                    data[form.add_prefix(name)] = "on"
            elif value is not None:
                data[form.add_prefix(name)] = value.pk if hasattr(value, "pk") else value
    return data


def test_pages_need_sign_in_and_a_plan_role(client, people):
    assert client.get(reverse("workplans:plans")).status_code == 302
    client.force_login(people.operator)
    response = client.get(reverse("workplans:plans"))
    assert response.status_code == 403 and "仅对" in response.content.decode()


def test_upload_preview_edit_and_save(client, units, people):
    client.force_login(people.admin)
    upload = SimpleUploadedFile("small.txt", SMALL_PLAN.encode("gb18030"))
    response = client.post(reverse("workplans:import"), {"file": upload})
    assert response.status_code == 302 and response["Location"] == reverse("workplans:import-preview")
    assert not WorkPlan.objects.exists()
    response = client.get(reverse("workplans:import-preview"))
    page = response.content.decode()
    assert response.status_code == 200 and "识别出 2 个章节、4 项任务、3 个量化目标" in page
    context = response.context
    data = form_data(context["header"], formsets=(context["task_formset"], context["target_formset"],
                                                   context["unit_formset"]))
    data["tasks-0-title"] = "新建和改造公厕"
    data.pop("tasks-3-include")  # leave task 4 out
    data["targets-1-DELETE"] = "on"  # 清扫率 target dropped
    data["targets-3-task"], data["targets-3-what"], data["targets-3-value"] = "3", "充电桩", "50"
    data["targets-3-unit"], data["targets-3-kind"] = "个", "count"
    office = next(k for k, v in data.items() if k.startswith("units-") and v == "办公室")
    data[office.replace("-name", "-department")] = units.municipal.pk
    data["save"] = "1"
    response = client.post(reverse("workplans:import-preview"), data)
    plan = WorkPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("workplans:ledger", args=[plan.pk])
    assert list(plan.tasks.values_list("code", "title")) == [("1", "新建和改造公厕"), ("2", "保洁提质"), ("3", "停车设施")]
    assert list(plan.tasks.get(code="2").targets.all()) == []
    assert sorted(plan.tasks.get(code="3").targets.values_list("what", flat=True)) == ["充电桩", "公共停车位"]
    assert plan.imported_by == people.admin and plan.source_name == "small.txt"
    assert client.get(reverse("workplans:import-preview")).status_code == 302  # the preview is gone


def test_bad_upload_shows_a_message_and_saves_nothing(client, people):
    client.force_login(people.admin)
    response = client.post(reverse("workplans:import"), {"file": SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n")})
    assert response.status_code == 422 and "图片不能导入" in response.content.decode()
    response = client.post(reverse("workplans:import"),
                           {"file": SimpleUploadedFile("notice.txt", "请各单位做好保障工作。".encode())})
    assert response.status_code == 422 and "未找到编号的工作任务" in response.content.decode()
    assert not WorkPlan.objects.exists()


def test_preview_cancel_saves_nothing(client, people):
    client.force_login(people.admin)
    client.post(reverse("workplans:import"), {"file": SimpleUploadedFile("small.txt", SMALL_PLAN.encode())})
    response = client.post(reverse("workplans:import-preview"), {"cancel": "1"})
    assert response.status_code == 302 and not WorkPlan.objects.exists()


def test_handlers_cannot_import(client, people):
    client.force_login(people.sanitation)
    assert client.get(reverse("workplans:import")).status_code == 403


def test_ledger_and_task_pages(client, plan, units, people):
    client.force_login(people.leader)
    response = client.get(reverse("workplans:ledger", args=[plan.pk]), {"section": "二"})
    page = response.content.decode()
    assert response.status_code == 200 and "停车设施" in page and "新建公厕" not in page
    task = plan.tasks.get(code="1")
    response = client.get(reverse("workplans:task", args=[task.pk]))
    page = response.content.decode()
    assert '<progress max="100"' in page and "公厕" in page and "确认销号" in page
    client.force_login(people.municipal)
    assert client.get(reverse("workplans:task", args=[plan.tasks.get(code="2").pk])).status_code == 403
    assert client.get(reverse("workplans:ledger", args=[plan.pk])).status_code == 200


def test_report_form_and_attachment_scope(client, plan, units, people):
    task = plan.tasks.get(code="1")
    target = task.targets.get()
    client.force_login(people.sanitation)
    url = reverse("workplans:report", args=[task.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {
        "department": units.sanitation.pk, "month": "2023-12", "status": TaskStatus.IN_PROGRESS, "text": "已完成选址",
    })
    assert response.status_code == 422 and "只能报送 2024 年" in response.content.decode()
    response = client.post(url, {
        "department": units.sanitation.pk, "month": "2024-05", "status": TaskStatus.IN_PROGRESS,
        "text": "已完成选址", f"target_{target.pk}": "6",
        "attachments": [SimpleUploadedFile("a.txt", b"one"), SimpleUploadedFile("b.txt", b"two")],
    })
    assert response.status_code == 302
    report = ProgressReport.objects.get(task=task)
    assert report.values.get().value == 6 and report.attachments.count() == 2
    attachment = report.attachments.get(name="a.txt")
    response = client.get(reverse("workplans:attachment", args=[attachment.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"one"
    client.force_login(people.municipal)  # a co-unit does not see the lead unit's report
    assert client.get(reverse("workplans:attachment", args=[attachment.pk])).status_code == 403
    assert client.get(reverse("workplans:report", args=[plan.tasks.get(code="4").pk])).status_code == 403


def test_close_and_reopen_pages(client, plan, people):
    task = plan.tasks.get(code="2")
    client.force_login(people.leader)
    response = client.post(reverse("workplans:close", args=[task.pk]), {"evidence": ""})
    assert response.status_code == 422
    response = client.post(reverse("workplans:close", args=[task.pk]), {"evidence": "清扫率达标，附检查记录"})
    assert response.status_code == 302 and PlanTask.objects.get(pk=task.pk).status == TaskStatus.CLOSED
    response = client.post(reverse("workplans:reopen", args=[task.pk]), {"reason": "抽查不达标"})
    assert response.status_code == 302 and PlanTask.objects.get(pk=task.pk).status == TaskStatus.NOT_STARTED
    page = client.get(reverse("workplans:task", args=[task.pk])).content.decode()
    assert "撤销销号" in page and "抽查不达标" in page
    client.force_login(people.sanitation)
    assert client.post(reverse("workplans:close", args=[task.pk]), {"evidence": "x"}).status_code == 403


def test_indicator_form(client, plan, people):
    target = plan.tasks.get(code="3").targets.get()
    client.force_login(people.admin)
    url = reverse("workplans:target-indicator", args=[target.pk])
    prefix = f"t{target.pk}"
    client.post(url, {f"{prefix}-type": "closed_cases", f"{prefix}-category": "01", f"{prefix}-region": ""})
    target.refresh_from_db()
    assert target.indicator == {"type": "closed_cases", "category": "01"}
    client.post(url, {f"{prefix}-spec": '{"type": "evaluation"}'})
    target.refresh_from_db()
    assert target.indicator == {"type": "closed_cases", "category": "01"}  # unknown type refused


def test_bulletin_and_review(client, plan, people):
    client.force_login(people.admin)
    response = client.get(reverse("workplans:bulletin", args=[plan.pk]), {"month": "2024-05"})
    assert response.status_code == 200 and "工作要点落实情况通报" in response.content.decode()
    response = client.get(reverse("workplans:bulletin-docx", args=[plan.pk]), {"month": "2024-05"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = "\n".join(c.text for t in Document(io.BytesIO(response.content)).tables for r in t.rows for c in r.cells)
    assert "完善制度" in text  # due in March, not done: lagging
    response = client.get(reverse("workplans:bulletin-xlsx", args=[plan.pk]), {"month": "2024-05"})
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert client.get(reverse("workplans:bulletin", args=[plan.pk]), {"month": "2023-05"}).status_code == 422
    response = client.get(reverse("workplans:review", args=[plan.pk]), {"quarter": "2"})
    page = response.content.decode()
    assert response.status_code == 200 and "vendor/echarts/echarts.min.js" in page and 'id="review-data"' in page
    response = client.get(reverse("workplans:review-print", args=[plan.pk]), {"quarter": "2"})
    assert response.status_code == 200 and "window.print()" in response.content.decode()
    response = client.get(reverse("workplans:review-docx", args=[plan.pk]), {"quarter": "2"})
    assert response.status_code == 200 and "第2季度" in "\n".join(
        p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    client.force_login(people.sanitation)
    assert client.get(reverse("workplans:bulletin", args=[plan.pk])).status_code == 403


def test_a_real_plan_goes_through_the_preview_unchanged(client, people):
    from cityloop.workplans.tests.conftest import SEEDS

    client.force_login(people.admin)
    seed = SEEDS / "linyi-2023.txt"
    client.post(reverse("workplans:import"), {"file": SimpleUploadedFile(seed.name, seed.read_bytes())})
    context = client.get(reverse("workplans:import-preview")).context
    data = form_data(context["header"], formsets=(context["task_formset"], context["target_formset"],
                                                   context["unit_formset"]))
    assert len(data) < 1000  # Django's DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = client.post(reverse("workplans:import-preview"), data)
    assert response.status_code == 302
    plan = WorkPlan.objects.get()
    assert plan.tasks.count() == 34 and sum(t.targets.count() for t in plan.tasks.all()) == 36
    assert plan.tasks.get(code="7").units.filter(role="lead").count() == 2


def test_the_report_form_starts_from_what_was_reported_and_the_history_is_one_click_away(client, plan, units,
                                                                                           people):
    task = plan.tasks.get(code="1")
    target = task.targets.get()
    client.force_login(people.sanitation)
    url = reverse("workplans:report", args=[task.pk])
    client.post(url, {"department": units.sanitation.pk, "month": "2024-05", "status": TaskStatus.IN_PROGRESS,
                      "text": "已完成选址", f"target_{target.pk}": "6"})

    page = client.get(url, {"department": units.sanitation.pk, "month": "2024-05"})

    form = page.context["form"]
    assert form.initial["text"] == "已完成选址" and form.initial[f"target_{target.pk}"] == 6
    assert "已完成选址</textarea>" in page.content.decode()
    # Re-sent with the value box left blank: the value stays.
    response = client.post(url, {"department": units.sanitation.pk, "month": "2024-05",
                                 "status": TaskStatus.LAGGING, "text": "选址有变", f"target_{target.pk}": ""})
    assert response.status_code == 302
    report = ProgressReport.objects.get(task=task)
    assert report.values.get().value == 6 and report.text == "选址有变"
    text = client.get(reverse("workplans:task", args=[task.pk])).content.decode()
    assert "报送记录（2 次）" in text and "推进中 → 滞后" in text
