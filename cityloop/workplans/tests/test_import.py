"""plan_import and ``cityloop import_plan``: one transaction, departments matched by name, dry run, JSON."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cityloop.core.errors import PermissionDenied, ValidationFailed
from cityloop.workplans import selectors
from cityloop.workplans.choices import LogKind, UnitRole
from cityloop.workplans.models import Leader, PlanSection, PlanTask, Target, TaskLogEntry, TaskUnit, WorkPlan
from cityloop.workplans.parsing import parse_plan
from cityloop.workplans.services import plan_import
from cityloop.workplans.tests.conftest import SEEDS, SMALL_PLAN

pytestmark = pytest.mark.django_db


def test_plan_import_saves_everything_and_matches_departments(units, people):
    plan = plan_import(parsed=parse_plan(SMALL_PLAN), imported_by=people.admin, source_name="small.txt")
    assert (plan.issuer, plan.year, plan.doc_number, plan.source_name) == (
        "测试市城市管理局", 2024, "测城管发〔2024〕3号", "small.txt")
    assert list(plan.sections.values_list("key", flat=True)) == ["一", "二"]
    first = plan.tasks.get(code="1")
    assert first.section.key == "一" and first.title == "新建公厕"
    assert [u.name for u in first.units.filter(role=UnitRole.LEAD)] == ["环卫科"]
    assert {u.name: u.department for u in first.units.all()} == {
        "环卫科": units.sanitation, "市政中心": units.municipal, "执法大队": units.enforcement}
    office = TaskUnit.objects.get(task__plan=plan, name="办公室")
    assert office.department is None  # no department is created for an unknown unit
    assert sorted(Leader.objects.values_list("name", flat=True)) == ["张三", "李四", "王五"]
    assert list(plan.tasks.get(code="2").leaders.values_list("name", flat=True)) == ["张三", "李四"]
    target = Target.objects.get(task=first)
    assert (target.what, target.value, target.unit, target.kind) == ("公厕", 20, "座", "count")
    assert TaskLogEntry.objects.filter(task__plan=plan, kind=LogKind.IMPORT).count() == 4


def test_plan_import_checks_input_and_rights(units, people):
    parsed = parse_plan(SMALL_PLAN)
    with pytest.raises(PermissionDenied):
        plan_import(parsed=parsed, imported_by=people.sanitation)
    parsed.tasks[1].code = "1"
    with pytest.raises(ValidationFailed, match="任务号重复"):
        plan_import(parsed=parsed)
    parsed = parse_plan(SMALL_PLAN)
    parsed.year = None
    with pytest.raises(ValidationFailed, match="年度"):
        plan_import(parsed=parsed)
    assert not WorkPlan.objects.exists() and not PlanTask.objects.exists()


def test_unit_mapping_from_the_preview(units):
    plan = plan_import(parsed=parse_plan(SMALL_PLAN), unit_departments={"办公室": units.municipal, "环卫科": None})
    assert TaskUnit.objects.get(task__plan=plan, name="办公室").department == units.municipal
    assert not TaskUnit.objects.filter(task__plan=plan, name="环卫科", department__isnull=False).exists()


def test_command_imports_a_seed(db):
    out = StringIO()
    call_command("import_plan", str(SEEDS / "linyi-2023.txt"), stdout=out)
    plan = WorkPlan.objects.get()
    assert plan.tasks.count() == 34 and Target.objects.filter(task__plan=plan).count() == 36
    assert PlanSection.objects.filter(plan=plan).count() == 11
    assert "已导入" in out.getvalue()
    seventh = selectors.plan_states(plan, month=date(2023, 5, 1), as_of=date(2023, 6, 1),
                                    tasks=plan.tasks.filter(code="7"))[0]
    assert seventh.leaders == ["李刚", "孙成星"]  # in the document's order


def test_dry_run_saves_nothing(db):
    out = StringIO()
    call_command("import_plan", str(SEEDS / "jining-2024.txt"), "--dry-run", stdout=out)
    assert "任务 32 项" in out.getvalue() and "未保存" in out.getvalue()
    assert not WorkPlan.objects.exists() and not PlanTask.objects.exists() and not Leader.objects.exists()


def test_json_output_is_one_document_with_the_documented_keys(db):
    out = StringIO()
    call_command("import_plan", str(SEEDS / "linyi-2023.txt"), "--dry-run", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert {"issuer", "year", "title", "sections", "tasks", "warnings", "counts", "saved", "plan_id"} <= set(document)
    assert document["saved"] is False and document["plan_id"] is None
    assert document["counts"] == {"sections": 11, "tasks": 34, "targets": 36}
    seventh = document["tasks"][6]
    assert {"number", "title", "section", "leaders", "lead_unit", "co_units", "targets", "deadline",
            "warnings"} <= set(seventh)
    assert (seventh["number"], seventh["section"], seventh["leaders"], seventh["lead_unit"]) == (
        7, "三", ["李刚", "孙成星"], "市政管理科")
    assert seventh["targets"][0] == {**seventh["targets"][0], "what": "公共停车位", "value": 4000, "unit": "个",
                                     "kind": "count"}
    assert not WorkPlan.objects.exists()


def test_command_with_json_saves_when_not_a_dry_run(db):
    out = StringIO()
    call_command("import_plan", str(SEEDS / "zaozhuang-2022.txt"), "--json", "--issuer", "枣庄市城管局", stdout=out)
    document = json.loads(out.getvalue())
    assert document["saved"] is True and WorkPlan.objects.get(pk=document["plan_id"]).issuer == "枣庄市城管局"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("plan.png", b"\x89PNG\r\n\x1a\n0000", "图片"),
    ("plan.txt", "请各单位做好保障。".encode(), "未找到编号的工作任务"),
    ("plan.txt", bytes(range(0x80, 0x100)), "无法识别文件的文字编码"),
])
def test_command_refuses_bad_input_and_saves_nothing(db, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError, match=message):
        call_command("import_plan", str(path), stdout=StringIO())
    assert not WorkPlan.objects.exists()


def test_command_asks_for_the_year_when_the_document_has_none(db, tmp_path):
    path = tmp_path / "plan.txt"
    path.write_text("某局工作要点\n一、市容\n1. 整治。内容。\n2. 提升。内容。", encoding="utf-8")
    with pytest.raises(CommandError, match="--year"):
        call_command("import_plan", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="--issuer"):
        call_command("import_plan", str(path), "--year", "2026", stdout=StringIO())
    call_command("import_plan", str(path), "--year", "2026", "--issuer", "某局", stdout=StringIO())
    assert WorkPlan.objects.get().year == 2026
