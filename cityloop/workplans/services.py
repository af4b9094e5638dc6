"""Writes of the work-plan ledger: import, monthly reports, close-out and reopening, indicator links, reminders.

Every function takes keyword-only arguments, checks permissions and input before writing and runs in one
transaction; notifications go out after commit (``notifications.services.notify``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.catalog.models import Department
from cityloop.core.errors import Conflict, PermissionDenied, ValidationFailed
from cityloop.core.text import printable
from cityloop.notifications.models import NotificationKind
from cityloop.notifications.services import notify
from cityloop.workplans import selectors
from cityloop.workplans.choices import REPORTABLE_STATUSES, LogKind, TargetKind, TaskStatus, UnitRole
from cityloop.workplans.indicators import clean_spec
from cityloop.workplans.models import (
    Leader,
    PlanSection,
    PlanTask,
    ProgressReport,
    ReportAttachment,
    ReportReminder,
    ReportRevision,
    ReportValue,
    Target,
    TaskLogEntry,
    TaskUnit,
    WorkPlan,
)
from cityloop.workplans.parsing import ParsedPlan

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def _log(task: PlanTask, kind: str, *, actor: User | None, at: datetime, note: str = "", from_status: str = "",
         to_status: str = "", data: dict[str, Any] | None = None) -> None:
    TaskLogEntry.objects.create(task=task, kind=kind, actor=actor, at=at, note=note, from_status=from_status,
                                to_status=to_status, data=data or {})


def _require_supervisor(user: User, what: str) -> None:
    if not selectors.can_supervise(user):
        raise PermissionDenied(f"只有管理员、领导和值班长可以{what}")


# --- import --------------------------------------------------------------------------------------------------

def match_departments(names: Sequence[str]) -> dict[str, Department | None]:
    """Unit names → the active department of exactly that name (None where none or several match)."""
    by_name: dict[str, list[Department]] = defaultdict(list)
    for department in Department.objects.filter(is_active=True, name__in=set(names)):
        by_name[department.name].append(department)
    return {name: (by_name[name][0] if len(by_name.get(name, [])) == 1 else None) for name in names}


def _validate(parsed: ParsedPlan, *, issuer: str, year: int | None, title: str) -> int:
    if year is None or not 1990 <= year <= 2100:
        raise ValidationFailed("请填写年度（1990–2100）", field="year")
    if not issuer:
        raise ValidationFailed("请填写发文单位", field="issuer")
    if not title:
        raise ValidationFailed("请填写标题", field="title")
    if not parsed.tasks:
        raise ValidationFailed("没有任务可导入", field="tasks")
    codes = [t.code for t in parsed.tasks]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValidationFailed(f"任务号重复：{'、'.join(duplicates)}", field="tasks")
    keys = {s.key for s in parsed.sections}
    for task in parsed.tasks:
        if not task.title.strip() or not task.text.strip():
            raise ValidationFailed(f"任务 {task.code} 缺少标题或内容", field="tasks")
        if task.section and task.section not in keys:
            raise ValidationFailed(f"任务 {task.code} 的章节「{task.section}」不存在", field="tasks")
        for target in task.targets:
            if not target.value.is_finite() or abs(target.value) >= Decimal("1e12"):
                raise ValidationFailed(f"任务 {task.code} 的目标值无效", field="targets")
            if target.kind not in TargetKind.values:
                raise ValidationFailed(f"任务 {task.code} 的目标类型无效", field="targets")
            if not target.what.strip():
                raise ValidationFailed(f"任务 {task.code} 有目标缺少指标名称", field="targets")
    return year


@transaction.atomic
def plan_import(
    *,
    parsed: ParsedPlan,
    issuer: str | None = None,
    year: int | None = None,
    title: str | None = None,
    source_name: str = "",
    imported_by: User | None = None,
    unit_departments: Mapping[str, Department | None] | None = None,
    at: datetime | None = None,
) -> WorkPlan:
    """Save a parsed (and possibly corrected) plan in one transaction. Unit names are matched to departments of
    exactly that name unless ``unit_departments`` says otherwise (None there keeps the name as text); no
    department is ever created."""
    # Control characters cleaned as on every channel (cityloop/core/text.py): the preview's fields are posted.
    issuer = printable(issuer if issuer is not None else parsed.issuer, one_line=True).strip()
    title = printable(title if title is not None else parsed.title, one_line=True).strip()
    plan_year = _validate(parsed, issuer=issuer, year=year or parsed.year, title=title)
    at = at or timezone.now()
    if imported_by is not None:
        _require_supervisor(imported_by, "导入工作要点")
    names = sorted({n for t in parsed.tasks for n in (*t.lead_units, *t.co_units)})
    departments = match_departments(names)
    if unit_departments is not None:
        departments.update({k: v for k, v in unit_departments.items() if k in departments})
    plan = WorkPlan.objects.create(
        issuer=issuer[:100], year=plan_year, title=title[:200], doc_number=parsed.doc_number[:60],
        issued_on=parsed.issued_on, preamble=parsed.preamble, source_name=(source_name or parsed.source)[:255],
        warnings=list(parsed.warnings), imported_by=imported_by,
    )
    sections: dict[str, PlanSection] = {}
    for order, s in enumerate(parsed.sections, start=1):
        sections[s.key] = PlanSection.objects.create(
            plan=plan, key=s.key[:40], number=s.number[:20], title=s.title[:200], level=s.level,
            parent=sections.get(s.parent) if s.parent else None, order=order,
        )
    leaders = {name: Leader.objects.get_or_create(name=name[:50])[0]
               for name in {n for t in parsed.tasks for n in t.leaders}}
    for order, t in enumerate(parsed.tasks, start=1):
        task = PlanTask.objects.create(
            plan=plan, section=sections.get(t.section) if t.section else None, number=t.number, code=t.code[:20],
            order=order, title=printable(t.title, one_line=True).strip()[:200], text=printable(t.text).strip(),
            deadline=t.deadline,
            warnings=list(t.warnings),
        )
        through = PlanTask.leaders.through  # rows in the document's order (the ledger lists leaders so)
        through.objects.bulk_create([through(plantask=task, leader=leaders[n]) for n in dict.fromkeys(t.leaders)])
        units = [TaskUnit(task=task, name=n[:100], department=departments.get(n), role=UnitRole.LEAD, order=i)
                 for i, n in enumerate(t.lead_units)]
        units += [TaskUnit(task=task, name=n[:100], department=departments.get(n), role=UnitRole.CO,
                           order=len(t.lead_units) + i) for i, n in enumerate(t.co_units)]
        TaskUnit.objects.bulk_create(units)
        Target.objects.bulk_create([
            Target(task=task, text=printable(g.text)[:500], what=printable(g.what, one_line=True).strip()[:200], value=g.value, unit=g.unit[:20],
                   kind=g.kind, baseline=g.baseline, deadline=g.deadline, order=i)
            for i, g in enumerate(t.targets)
        ])
        _log(task, LogKind.IMPORT, actor=imported_by, at=at, to_status=TaskStatus.NOT_STARTED,
             note=f"自 {plan.source_name or '文件'} 导入")
    return plan


# --- monthly reports -----------------------------------------------------------------------------------------

def _decide_status(task: PlanTask) -> str:
    """The status the reports give: the lead unit's latest report, else any unit's latest."""
    lead = selectors.lead_department_ids(task)
    reports = list(task.reports.order_by("month", "submitted_at", "id"))
    deciding = [r for r in reports if r.department_id in lead] or reports
    return deciding[-1].status if deciding else TaskStatus.NOT_STARTED


def _refresh_current_values(task: PlanTask) -> None:
    lead = selectors.lead_department_ids(task)
    for target in task.targets.filter(indicator__isnull=True):
        values = list(target.reported_values.select_related("report").order_by(
            "report__month", "report__submitted_at", "report_id"))
        chosen = [v for v in values if v.report.department_id in lead] or values
        latest = chosen[-1] if chosen else None
        target.current_value = latest.value if latest else None
        target.current_month = latest.report.month if latest else None
        target.save(update_fields=["current_value", "current_month"])


def _is_percentage(target: Target) -> bool:
    return target.kind == TargetKind.PERCENTAGE or target.unit.strip() in ("%", "％")


def target_value_check(target: Target, value: Decimal) -> None:
    """Refuse a reported value the target cannot have: negative, or a percentage over 100 (unless the target
    itself is over 100 %, e.g. 120 % of last year)."""
    if not value.is_finite() or abs(value) >= Decimal("1e12"):
        raise ValidationFailed(f"「{target.what}」的数值无效", field=f"target_{target.pk}")
    if value < 0:
        raise ValidationFailed(f"「{target.what}」不能为负数", field=f"target_{target.pk}")
    if _is_percentage(target) and value > max(Decimal(100), target.value):
        raise ValidationFailed(f"「{target.what}」是百分比，不能超过 100", field=f"target_{target.pk}")


@transaction.atomic
def progress_report_submit(
    *,
    task: PlanTask,
    department: Department,
    month: date,
    status: str,
    text: str,
    actor: User,
    values: Mapping[int, Decimal | None] | None = None,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> ProgressReport:
    """A unit's report for one month. Submitting again for the same month revises it, starting from what was
    reported: a value left blank (None) keeps the reported one, blank text keeps the text, attachments are
    added. Every submission is kept as a ReportRevision (who, when, what changed). The task's status follows
    the lead unit's latest report; a manual target's current value is the latest reported one.

    Refused, with nothing written: a negative value, a percentage over 100, "已完成" while a target has never
    been given a value, a month of another year or in the future."""
    at = at or timezone.now()
    task = PlanTask.objects.select_for_update().select_related("plan").get(pk=task.pk)
    if department.pk not in {d.pk for d in selectors.reportable_departments(actor, task)}:
        raise PermissionDenied(f"您不能代表「{department.name}」报送这项任务")
    if task.status == TaskStatus.CLOSED:
        raise Conflict("任务已销号，不再报送进展；如需继续，请先撤销销号")
    if status not in REPORTABLE_STATUSES:
        raise ValidationFailed("请选择进展状态（未启动、推进中、已完成、滞后）", field="status")
    month = selectors.month_start(month)
    if month.year != task.plan.year:
        raise ValidationFailed(f"只能报送 {task.plan.year} 年各月的进展", field="month")
    if month > selectors.month_start(timezone.localdate(at)):
        raise ValidationFailed("不能报送未来月份的进展", field="month")
    report = (ProgressReport.objects.select_for_update()
              .filter(task=task, month=month, department=department).first())
    text = printable(text).strip()
    if not text and report is None:
        raise ValidationFailed("请填写进展情况", field="text")
    targets = {t.pk: t for t in task.targets.all()}
    given = {target_id: value for target_id, value in (values or {}).items() if value is not None}
    for target_id, value in given.items():
        target = targets.get(target_id)
        if target is None:
            raise ValidationFailed("目标不属于这项任务", field="values")
        if target.indicator:
            raise ValidationFailed(f"「{target.what}」已关联指标，自动计算，不需填报", field="values")
        target_value_check(target, value)
    for target_id in values or {}:
        if target_id not in targets:
            raise ValidationFailed("目标不属于这项任务", field="values")
    previous = {v.target_id: v.value for v in report.values.all()} if report is not None else {}
    if status == TaskStatus.DONE:
        missing = [t.what for t in targets.values()  # a target never given a value, nor now
                   if not t.indicator and t.pk not in given and t.pk not in previous and t.current_value is None]
        if missing:
            raise ValidationFailed(f"报“已完成”须填写目标完成值：{'、'.join(missing)}", field="status")
    limit = int(getattr(settings, "CITYLOOP_MAX_ATTACHMENT_BYTES", MAX_ATTACHMENT_BYTES))
    for upload in attachments:
        if upload.size and upload.size > limit:
            raise ValidationFailed(f"附件「{upload.name}」超过 {limit // 1024 // 1024} MB", field="attachments")

    created = report is None
    changes: list[dict[str, Any]] = []
    if report is None:
        report = ProgressReport.objects.create(task=task, month=month, department=department, status=status,
                                               text=text, submitted_by=actor, submitted_at=at)
        changes += [{"field": "status", "label": "进展状态", "old": "", "new": TaskStatus(status).label},
                    {"field": "text", "label": "进展情况", "old": "", "new": text}]
    else:
        if status != report.status:
            changes.append({"field": "status", "label": "进展状态", "old": TaskStatus(report.status).label,
                            "new": TaskStatus(status).label})
        if text and text != report.text:
            changes.append({"field": "text", "label": "进展情况", "old": report.text, "new": text})
        report.status, report.text = status, (text or report.text)
        report.submitted_by, report.submitted_at = actor, at
        report.save(update_fields=["status", "text", "submitted_by", "submitted_at"])
    for target_id, value in given.items():
        old = previous.get(target_id)
        if old == value:
            continue
        ReportValue.objects.update_or_create(report=report, target_id=target_id, defaults={"value": value})
        changes.append({"field": "value", "target": target_id, "label": targets[target_id].what,
                        "old": None if old is None else f"{old.normalize():f}", "new": f"{value.normalize():f}"})
    for upload in attachments:
        attachment = ReportAttachment.objects.create(report=report, file=upload, name=(upload.name or "附件")[:255])
        changes.append({"field": "attachment", "label": "附件", "old": None, "new": attachment.name})
    ReportRevision.objects.create(report=report, submitted_by=actor, submitted_at=at, changes=changes)
    _log(task, LogKind.REPORT, actor=actor, at=at, note=(text or report.text)[:500],
         data={"month": month.isoformat(), "department": department.name, "status": status,
               "revised": not created})
    new_status = _decide_status(task)
    if new_status != task.status:
        _log(task, LogKind.STATUS, actor=actor, at=at, from_status=task.status, to_status=new_status,
             note=f"{department.name} {month.year}年{month.month}月报送")
        task.status = new_status
        task.save(update_fields=["status"])
    _refresh_current_values(task)
    return report


# --- close-out -----------------------------------------------------------------------------------------------

@transaction.atomic
def task_close(*, task: PlanTask, actor: User, evidence: str, evidence_file: UploadedFile | None = None,
               at: datetime | None = None) -> PlanTask:
    """Close a task out (销号) with the evidence that it is done."""
    _require_supervisor(actor, "销号")
    at = at or timezone.now()
    task = PlanTask.objects.select_for_update().get(pk=task.pk)
    if task.status == TaskStatus.CLOSED:
        raise Conflict("任务已经销号")
    evidence = printable(evidence).strip()
    if not evidence:
        raise ValidationFailed("销号须写明依据（完成情况和佐证）", field="evidence")
    task.status_before_close = task.status
    previous = task.status
    task.status, task.closed_at, task.closed_by, task.evidence = TaskStatus.CLOSED, at, actor, evidence
    fields = ["status", "status_before_close", "closed_at", "closed_by", "evidence"]
    if evidence_file is not None:
        task.evidence_file = evidence_file
        fields.append("evidence_file")
    task.save(update_fields=fields)
    _log(task, LogKind.CLOSE, actor=actor, at=at, from_status=previous, to_status=TaskStatus.CLOSED, note=evidence,
         data={"evidence_file": task.evidence_file.name if task.evidence_file else ""})
    return task


@transaction.atomic
def task_reopen(*, task: PlanTask, actor: User, reason: str, at: datetime | None = None) -> PlanTask:
    """Undo a close-out; the reason and the former evidence stay in the log."""
    _require_supervisor(actor, "撤销销号")
    at = at or timezone.now()
    task = PlanTask.objects.select_for_update().get(pk=task.pk)
    if task.status != TaskStatus.CLOSED:
        raise Conflict("任务未销号")
    reason = printable(reason).strip()
    if not reason:
        raise ValidationFailed("请写明撤销销号的原因", field="reason")
    back = task.status_before_close if task.status_before_close not in ("", TaskStatus.CLOSED, TaskStatus.DONE) \
        else TaskStatus.IN_PROGRESS
    _log(task, LogKind.REOPEN, actor=actor, at=at, from_status=TaskStatus.CLOSED, to_status=back, note=reason,
         data={"closed_at": task.closed_at.isoformat() if task.closed_at else None,
               "closed_by": str(task.closed_by) if task.closed_by else "", "evidence": task.evidence,
               "evidence_file": task.evidence_file.name if task.evidence_file else ""})
    task.status, task.status_before_close = back, ""
    task.closed_at, task.closed_by, task.evidence = None, None, ""
    task.save(update_fields=["status", "status_before_close", "closed_at", "closed_by", "evidence"])
    return task


@transaction.atomic
def target_link_indicator(*, target: Target, actor: User, indicator: dict[str, Any] | None,
                          at: datetime | None = None) -> Target:
    """Link a target to a live indicator (or unlink it with None); its progress then follows the indicator."""
    _require_supervisor(actor, "关联指标")
    spec = clean_spec(indicator)
    target = Target.objects.select_for_update().select_related("task").get(pk=target.pk)
    old = target.indicator
    target.indicator = spec
    target.save(update_fields=["indicator"])
    _log(target.task, LogKind.TARGET, actor=actor, at=at or timezone.now(),
         note=f"「{target.what}」{'关联指标' if spec else '取消关联指标'}", data={"from": old, "to": spec})
    if spec is None:
        _refresh_current_values(target.task)
    return target


# --- reminders -----------------------------------------------------------------------------------------------

@dataclass
class ReminderRun:
    month: date
    due: date
    not_due: bool = False
    sent: list[tuple[PlanTask, Department, int]] = field(default_factory=list)
    already: int = 0
    without_users: list[tuple[PlanTask, Department]] = field(default_factory=list)

    @property
    def notifications(self) -> int:
        return len({(t.plan_id, d.pk) for t, d, _ in self.sent})


def plan_reminders_send(*, month: date | None = None, day: int | None = None,
                        today: date | None = None) -> ReminderRun:
    """Remind the responsible units' users of monthly reports missing after the reporting day: one notification
    per plan and unit listing its missing tasks, and never twice for the same task, month and unit."""
    today = today or timezone.localdate()
    day = day or selectors.report_day()
    if not 1 <= day <= 28:
        raise ValidationFailed("报送截止日应在 1–28 之间", field="day")
    month = selectors.month_start(month) if month else selectors.latest_due_month(today, day)
    run = ReminderRun(month=month, due=selectors.report_due(month, day))
    if today <= run.due:
        run.not_due = True
        return run
    with transaction.atomic():
        missing: dict[tuple[int, int], list[PlanTask]] = defaultdict(list)
        departments: dict[int, Department] = {}
        plans = {}
        for plan in WorkPlan.objects.filter(is_active=True, year=month.year).order_by("pk"):
            if month not in selectors.required_months(plan):
                continue
            plans[plan.pk] = plan
            for state in selectors.plan_states(plan, month=month, as_of=today):
                for department in state.missing:
                    departments[department.pk] = department
                    missing[(plan.pk, department.pk)].append(state.task)
        for (plan_id, department_id), tasks in missing.items():
            department = departments[department_id]
            users = list(User.objects.filter(is_active=True, role=Role.HANDLER, departments=department))
            if not users:
                run.without_users.extend((t, department) for t in tasks)
                continue
            new = []
            for task in tasks:
                _, created = ReportReminder.objects.get_or_create(
                    task=task, month=month, department=department,
                    defaults={"sent_at": timezone.now(), "recipients": len(users)},
                )
                if created:
                    new.append(task)
                else:
                    run.already += 1
            if not new:
                continue
            plan = plans[plan_id]
            lines = [f"{t.code}. {t.title}" for t in new]
            notify(
                recipients=users,
                kind=NotificationKind.TASK_REMINDER,
                title=f"请报送{month.year}年{month.month}月工作要点进展（{department.name}，{len(new)}项）",
                body=(f"《{plan.title}》以下任务{month.year}年{month.month}月的进展尚未报送"
                      f"（截止 {run.due.month}月{run.due.day}日）：\n" + "\n".join(lines)),
                link=reverse("workplans:ledger", args=[plan.pk]) + f"?unit={department.pk}&missing=1",
            )
            run.sent.extend((t, department, len(users)) for t in new)
    return run
