"""Monthly reports, scope, task status, close-out and reopening, target progress, linked indicators, reminders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from cityloop.cases.models import Case
from cityloop.cases.services import case_report
from cityloop.cases.statuses import CaseStatus, Source
from cityloop.cases.tests.conftest import city  # noqa: F401  (a fixture: the small city of the case tests)
from cityloop.core.errors import Conflict, PermissionDenied, ValidationFailed
from cityloop.notifications.models import Notification
from cityloop.workplans import selectors
from cityloop.workplans.choices import LogKind, TaskStatus
from cityloop.workplans.models import ReportReminder, Target, TaskLogEntry
from cityloop.workplans.services import (
    plan_reminders_send,
    progress_report_submit,
    target_link_indicator,
    task_close,
    task_reopen,
)
from cityloop.workplans.tests.conftest import at

pytestmark = pytest.mark.django_db
JUNE = at(2024, 6, 3, 10)


def report(plan, code, user, department, *, month=date(2024, 5, 1), status=TaskStatus.IN_PROGRESS, text="推进中",
           values=None, when=JUNE, **kwargs):
    task = plan.tasks.get(code=code)
    return progress_report_submit(task=task, department=department, month=month, status=status, text=text,
                                  actor=user, values=values or {}, at=when, **kwargs)


def test_reports_decide_status_and_current_values(plan, units, people):
    task = plan.tasks.get(code="1")
    toilets = task.targets.get()
    report(plan, "1", people.municipal, units.municipal, values={toilets.pk: Decimal(10)})
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS  # no report of the lead unit yet: any unit's counts
    report(plan, "1", people.sanitation, units.sanitation, status=TaskStatus.LAGGING, text="选址困难",
           values={toilets.pk: Decimal(8)})
    report(plan, "1", people.municipal, units.municipal, status=TaskStatus.DONE, text="已完成配合工作",
           month=date(2024, 6, 1), when=at(2024, 6, 20))
    task.refresh_from_db()
    toilets.refresh_from_db()
    assert task.status == TaskStatus.LAGGING  # the lead unit's report decides
    assert (toilets.current_value, toilets.current_month) == (Decimal(8), date(2024, 5, 1))
    statuses = list(TaskLogEntry.objects.filter(task=task, kind=LogKind.STATUS).values_list("from_status", "to_status"))
    assert statuses == [(TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS), (TaskStatus.IN_PROGRESS, TaskStatus.LAGGING)]
    again = report(plan, "1", people.sanitation, units.sanitation, status=TaskStatus.IN_PROGRESS, text="已选址",
                   values={toilets.pk: Decimal(12)})
    assert again.text == "已选址" and task.reports.filter(month=date(2024, 5, 1)).count() == 2  # revised, not added
    toilets.refresh_from_db()
    assert toilets.current_value == Decimal(12)


def test_report_rules(plan, units, people):
    with pytest.raises(PermissionDenied):
        report(plan, "1", people.municipal, units.sanitation)  # not their department
    with pytest.raises(PermissionDenied):
        report(plan, "2", people.municipal, units.municipal)  # 市政中心 is not a unit of task 2
    with pytest.raises(ValidationFailed, match="未来"):
        report(plan, "1", people.sanitation, units.sanitation, month=date(2024, 7, 1))
    with pytest.raises(ValidationFailed, match="2024"):
        report(plan, "1", people.sanitation, units.sanitation, month=date(2023, 12, 1))
    with pytest.raises(ValidationFailed, match="进展情况"):
        report(plan, "1", people.sanitation, units.sanitation, text="  ")
    with pytest.raises(ValidationFailed):
        report(plan, "1", people.sanitation, units.sanitation, status=TaskStatus.CLOSED)
    other = plan.tasks.get(code="3").targets.get()
    with pytest.raises(ValidationFailed, match="不属于"):
        report(plan, "1", people.sanitation, units.sanitation, values={other.pk: Decimal(1)})
    assert not plan.tasks.get(code="1").reports.exists()


def test_attachments_are_stored_under_media_plans(plan, units, people, settings):
    saved = report(plan, "1", people.sanitation, units.sanitation,
                   attachments=[SimpleUploadedFile("现场照片.jpg", b"jpegdata", content_type="image/jpeg")])
    attachment = saved.attachments.get()
    assert attachment.name == "现场照片.jpg" and attachment.file.name.startswith("plans/reports/")
    assert (settings.MEDIA_ROOT / attachment.file.name).read_bytes() == b"jpegdata"


def test_lead_unit_sees_co_units_reports(plan, units, people):
    task = plan.tasks.get(code="1")  # lead 环卫科, co 市政中心 and 执法大队
    report(plan, "1", people.municipal, units.municipal)
    report(plan, "1", people.enforcement, units.enforcement)
    assert selectors.reports_visible_to(people.sanitation, task).count() == 2
    assert list(selectors.reports_visible_to(people.municipal, task).values_list("department", flat=True)) == [
        units.municipal.pk]
    assert selectors.reports_visible_to(people.leader, task).count() == 2
    assert list(selectors.tasks_visible_to(people.enforcement).values_list("code", flat=True)) == ["1"]
    assert selectors.tasks_visible_to(people.operator).count() == 0


def test_close_out_and_reopen_are_logged(plan, units, people):
    task = plan.tasks.get(code="1")
    report(plan, "1", people.sanitation, units.sanitation, status=TaskStatus.DONE, text="20座已建成",
           values={task.targets.get().pk: Decimal(20)})  # "done" needs the target's value (#16)
    with pytest.raises(PermissionDenied):
        task_close(task=task, actor=people.sanitation, evidence="已完成")
    with pytest.raises(ValidationFailed):
        task_close(task=task, actor=people.leader, evidence=" ")
    closed = task_close(task=task, actor=people.leader, evidence="验收单已存档",
                        evidence_file=SimpleUploadedFile("验收单.pdf", b"%PDF-1.4"), at=at(2024, 6, 20))
    assert (closed.status, closed.closed_by, closed.evidence) == (TaskStatus.CLOSED, people.leader, "验收单已存档")
    with pytest.raises(Conflict):
        report(plan, "1", people.sanitation, units.sanitation, month=date(2024, 6, 1), when=at(2024, 6, 21))
    with pytest.raises(Conflict):
        task_close(task=closed, actor=people.leader, evidence="再次")
    with pytest.raises(ValidationFailed, match="原因"):
        task_reopen(task=closed, actor=people.admin, reason="")
    reopened = task_reopen(task=closed, actor=people.admin, reason="复查发现 2 座未通过验收", at=at(2024, 7, 1))
    assert reopened.status == TaskStatus.IN_PROGRESS and reopened.closed_at is None and reopened.evidence == ""
    entries = list(TaskLogEntry.objects.filter(task=task, kind__in=[LogKind.CLOSE, LogKind.REOPEN]))
    assert [(e.kind, e.actor, e.note) for e in entries] == [
        (LogKind.CLOSE, people.leader, "验收单已存档"), (LogKind.REOPEN, people.admin, "复查发现 2 座未通过验收")]
    assert entries[1].data["evidence"] == "验收单已存档"
    with pytest.raises(PermissionError):
        entries[0].delete()


def test_states_lagging_missing_and_target_progress(plan, units, people):
    toilets = plan.tasks.get(code="1").targets.get()  # 20 座 by 2024-06-30
    sweep = plan.tasks.get(code="2").targets.get()  # keep 100 %
    report(plan, "1", people.sanitation, units.sanitation, values={toilets.pk: Decimal(15)})
    report(plan, "2", people.sanitation, units.sanitation, values={sweep.pk: Decimal(98)})
    states = {s.task.code: s for s in selectors.plan_states(plan, month=date(2024, 5, 1), as_of=date(2024, 6, 6))}
    progress = states["1"].targets[0]
    assert (progress.current, progress.percent) == (Decimal(15), 75)
    assert progress.expected_percent == 83 and progress.behind  # 151 of 181 days gone by the end of May
    assert states["2"].targets[0].behind and states["2"].targets[0].expected_percent == 100
    assert [d.name for d in states["1"].missing] == ["市政中心", "执法大队"]
    assert [d.name for d in states["3"].missing] == ["市政中心", "环卫科"]
    assert states["4"].missing == []  # 办公室 is not a department in the system
    assert states["4"].status == TaskStatus.LAGGING  # due 2024-03-31, nothing reported
    assert states["1"].status == TaskStatus.IN_PROGRESS


def test_ledger_filters(plan, units, people):
    report(plan, "3", people.municipal, units.municipal, status=TaskStatus.LAGGING, text="资金未到位")

    def codes(**filters):
        states = selectors.ledger(plan, people.admin, selectors.LedgerFilters(**filters), today=date(2024, 6, 10))
        return [s.task.code for s in states]

    assert codes() == ["1", "2", "3", "4"]
    assert codes(section="二") == ["3", "4"]
    assert codes(leader="李四") == ["2", "3"]
    assert codes(unit=str(units.municipal.pk)) == ["1", "3"]
    assert codes(unit="办公室") == ["4"]
    assert codes(status=TaskStatus.LAGGING) == ["3", "4"]
    assert codes(missing=True) == ["1", "2", "3"]  # May's reports were due on 5 June
    handler = selectors.ledger(plan, people.enforcement, selectors.LedgerFilters(), today=date(2024, 6, 10))
    assert [s.task.code for s in handler] == ["1"]


def test_closed_cases_indicator(plan, people, city):  # noqa: F811
    target = plan.tasks.get(code="3").targets.get()
    with pytest.raises(ValidationFailed, match="未知的指标类型"):
        target_link_indicator(target=target, actor=people.admin, indicator={"type": "nope"})
    with pytest.raises(PermissionDenied):
        target_link_indicator(target=target, actor=people.municipal, indicator={"type": "closed_cases"})
    target_link_indicator(target=target, actor=people.admin,
                          indicator={"type": "closed_cases", "category": "01", "region": "370102"})
    for n, (grid, closed_at) in enumerate([(0, at(2024, 3, 1, 10)), (1, at(2024, 5, 2, 10)), (4, at(2024, 5, 3, 10)),
                                           (2, at(2025, 1, 3, 10))]):
        lon, lat = city.point(grid)
        case = case_report(source=Source.HOTLINE, category=city.manhole, description=f"井盖{n}", lon=lon, lat=lat,
                           reporter_phone="13900001111", at=at(2024, 2, 1, 9)).case
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_at=closed_at)
    assert selectors.closed_case_count(category="01", region="370102", start=date(2024, 1, 1),
                                       end=date(2024, 12, 31)) == 2  # not 市中区's, not 2025's
    assert selectors.closed_case_count(category="01001", region="370100", start=date(2024, 1, 1),
                                       end=date(2024, 3, 31)) == 1
    states = {s.task.code: s for s in selectors.plan_states(plan, month=date(2024, 5, 1), as_of=date(2024, 6, 6))}
    progress = states["3"].targets[0]
    assert (progress.source, progress.current) == ("indicator", Decimal(2))
    with pytest.raises(ValidationFailed, match="已关联指标"):
        report(plan, "3", people.municipal, plan.tasks.get(code="3").units.get(name="市政中心").department,
               values={target.pk: Decimal(5)})
    target_link_indicator(target=target, actor=people.admin, indicator=None)
    assert Target.objects.get(pk=target.pk).indicator is None


def test_unregistered_indicator_type_is_a_hook(plan, people, monkeypatch):
    from cityloop.workplans import indicators
    from cityloop.workplans.indicators import Period, indicator_value, register_indicator

    monkeypatch.setattr(indicators, "_REGISTRY", dict(indicators._REGISTRY))

    assert indicator_value({"type": "evaluation", "indicator": "ontime_rate"}, Period(date(2024, 1, 1),
                                                                                      date(2024, 5, 31))) is None
    register_indicator("test_fixed", lambda spec, period: Decimal(spec["value"]), label="固定值", fields=("value",))
    target = plan.tasks.get(code="2").targets.get()
    target_link_indicator(target=target, actor=people.admin, indicator={"type": "test_fixed", "value": "99.5"})
    states = selectors.plan_states(plan, month=date(2024, 5, 1), as_of=date(2024, 6, 6))
    assert states[1].targets[0].current == Decimal("99.5")


def test_reminders_once_per_task_month_unit(plan, units, people, django_capture_on_commit_callbacks):
    report(plan, "1", people.sanitation, units.sanitation)
    report(plan, "2", people.sanitation, units.sanitation)
    report(plan, "3", people.municipal, units.municipal)
    early = plan_reminders_send(month=date(2024, 5, 1), today=date(2024, 6, 5))
    assert early.not_due and not ReportReminder.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        run = plan_reminders_send(today=date(2024, 6, 10))
    assert run.month == date(2024, 5, 1)
    assert sorted((t.code, d.name) for t, d, _ in run.sent) == [("1", "市政中心"), ("1", "执法大队"), ("3", "环卫科")]
    notes = Notification.objects.filter(kind="task_reminder")
    assert sorted(n.recipient.username for n in notes) == ["wp_hw", "wp_sz", "wp_zf"]
    note = notes.get(recipient=people.sanitation)
    assert "3. 停车设施" in note.body and note.link == f"/plans/{plan.pk}/?unit={units.sanitation.pk}&missing=1"
    with django_capture_on_commit_callbacks(execute=True):
        again = plan_reminders_send(today=date(2024, 6, 20))
    assert again.sent == [] and again.already == 3
    assert Notification.objects.filter(kind="task_reminder").count() == 3


def test_reminder_command(plan, units, people, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("plan_reminders", "--month", "2024-05", "--day", "10", stdout=out)
    assert "2024年5月" in out.getvalue()
    assert ReportReminder.objects.filter(month=date(2024, 5, 1)).count() == 6  # task-unit pairs (办公室 has no users)
    assert Notification.objects.filter(kind="task_reminder").count() == 3  # one per unit


# --- re-sending a month (#16) -------------------------------------------------------------------------------


def test_a_re_sent_month_keeps_what_was_not_edited_and_each_sending_is_a_revision(plan, units, people):
    from cityloop.workplans.models import ReportRevision

    task = plan.tasks.get(code="1")
    toilets = task.targets.get()
    first = report(plan, "1", people.sanitation, units.sanitation, text="已完成选址 6 处",
                   values={toilets.pk: Decimal(6)}, attachments=[SimpleUploadedFile("选址.pdf", b"%PDF-1.4")])

    # The unit re-sends May to change the status only: blank value and blank text mean "unchanged".
    again = report(plan, "1", people.sanitation, units.sanitation, status=TaskStatus.LAGGING, text="",
                   values={toilets.pk: None}, when=at(2024, 6, 4, 9))

    assert again.pk == first.pk
    assert (again.status, again.text) == (TaskStatus.LAGGING, "已完成选址 6 处")
    assert [v.value for v in again.values.all()] == [Decimal(6)]
    assert [a.name for a in again.attachments.all()] == ["选址.pdf"]
    revisions = list(ReportRevision.objects.filter(report=again))
    assert [r.submitted_at for r in revisions] == [JUNE, at(2024, 6, 4, 9)]
    assert [c["field"] for c in revisions[0].changes] == ["status", "text", "value", "attachment"]
    assert revisions[1].changes == [{"field": "status", "label": "进展状态", "old": "推进中", "new": "滞后"}]
    toilets.refresh_from_db()
    assert toilets.current_value == Decimal(6)
    with pytest.raises(PermissionError):
        ReportRevision.objects.filter(report=again).delete()  # the history is append-only


@pytest.mark.parametrize(("values", "status", "message"), [
    ({"toilets": Decimal(-1)}, TaskStatus.IN_PROGRESS, "不能为负数"),
    ({"rate": Decimal("100.5")}, TaskStatus.IN_PROGRESS, "不能超过 100"),
    ({}, TaskStatus.DONE, "须填写目标完成值：公厕"),
])
def test_impossible_values_are_refused_and_nothing_is_written(plan, units, people, values, status, message):
    from cityloop.workplans.choices import TargetKind
    from cityloop.workplans.models import ReportRevision

    task = plan.tasks.get(code="1")
    targets = {"toilets": task.targets.get(),
               "rate": Target.objects.create(task=task, what="无害化处理率", value=Decimal(100), unit="%",
                                             kind=TargetKind.PERCENTAGE)}
    with pytest.raises(ValidationFailed, match=message):
        report(plan, "1", people.sanitation, units.sanitation, status=status,
               values={targets[name].pk: value for name, value in values.items()})
    assert not task.reports.exists() and not ReportRevision.objects.exists()
    assert not TaskLogEntry.objects.filter(task=task, kind=LogKind.REPORT).exists()


def test_a_percentage_target_over_100_accepts_values_up_to_it(plan, units, people):
    from cityloop.workplans.choices import TargetKind

    task = plan.tasks.get(code="1")
    growth = Target.objects.create(task=task, what="处理量较上年", value=Decimal(120), unit="%",
                                   kind=TargetKind.PERCENTAGE)
    report(plan, "1", people.sanitation, units.sanitation, values={growth.pk: Decimal(110)})
    growth.refresh_from_db()
    assert growth.current_value == Decimal(110)
