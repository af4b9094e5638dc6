"""Reads of the work-plan ledger: scope, months, task states as of a month, target progress, bulletins, reviews.

Scope (who sees what):

* supervisors — 管理员, 领导, 值班长 (and superusers) — see every plan, task and report, import plans, close
  tasks out and reopen them, link targets to indicators;
* 处置单位人员 (handlers) see the tasks where one of their departments is a lead unit or a co-unit and report for
  those departments; where their department leads the task they also see the co-units' reports, otherwise only
  their own department's;
* nobody else sees the plans.

Months: a monthly report covers one month (stored as its 1st day) and is due by day N of the following month
(N = ``settings.CITYLOOP_PLAN_REPORT_DAY``, default 5). A plan asks for reports for the months of its year from
the month it was imported; a task needs no more reports once closed out (销号) or reported done.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.catalog.models import Department
from cityloop.core.errors import NotFound, PermissionDenied
from cityloop.workplans.choices import TargetKind, TaskStatus, UnitRole
from cityloop.workplans.indicators import Period, closed_case_count, indicator_value  # noqa: F401 - closed_case_count: the selectors' name too
from cityloop.workplans.models import (
    PlanSection,
    PlanTask,
    ProgressReport,
    ReportValue,
    Target,
    TaskUnit,
    WorkPlan,
)

SUPERVISOR_ROLES = {Role.ADMIN, Role.LEADER, Role.SHIFT_LEADER}
FINISHED = {TaskStatus.DONE, TaskStatus.CLOSED}


# --- scope ---------------------------------------------------------------------------------------------------

def can_supervise(user: User) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.role in SUPERVISOR_ROLES))


def user_department_ids(user: User) -> set[int]:
    if not user.is_authenticated or user.role != Role.HANDLER:
        return set()
    return set(user.departments.values_list("pk", flat=True))


def can_use_plans(user: User) -> bool:
    return can_supervise(user) or bool(user_department_ids(user))


def tasks_visible_to(user: User) -> QuerySet[PlanTask]:
    if can_supervise(user):
        return PlanTask.objects.all()
    departments = user_department_ids(user)
    if not departments:
        return PlanTask.objects.none()
    return PlanTask.objects.filter(
        pk__in=TaskUnit.objects.filter(department_id__in=departments).values("task_id")
    )


def plans_visible_to(user: User) -> QuerySet[WorkPlan]:
    if can_supervise(user):
        return WorkPlan.objects.all()
    return WorkPlan.objects.filter(pk__in=tasks_visible_to(user).values("plan_id"))


def plan_get_for_user(*, user: User, plan_id: int) -> WorkPlan:
    plan = WorkPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("工作要点不存在")
    if not plans_visible_to(user).filter(pk=plan.pk).exists():
        raise PermissionDenied("您的单位在这份工作要点中没有任务")
    return plan


def task_get_for_user(*, user: User, task_id: int) -> PlanTask:
    task = PlanTask.objects.select_related("plan", "section").filter(pk=task_id).first()
    if task is None:
        raise NotFound("任务不存在")
    if not tasks_visible_to(user).filter(pk=task.pk).exists():
        raise PermissionDenied("这项任务不属于您的单位")
    return task


def lead_department_ids(task: PlanTask) -> set[int]:
    return {
        u.department_id for u in task.units.all() if u.role == UnitRole.LEAD and u.department_id is not None
    }


def task_department_ids(task: PlanTask) -> set[int]:
    return {u.department_id for u in task.units.all() if u.department_id is not None}


def reports_visible_to(user: User, task: PlanTask) -> QuerySet[ProgressReport]:
    reports = task.reports.select_related("department", "submitted_by").prefetch_related("values", "attachments")
    if can_supervise(user):
        return reports
    mine = user_department_ids(user)
    if mine & lead_department_ids(task):
        return reports  # the lead unit sees its co-units' reports
    return reports.filter(department_id__in=mine)


def reportable_departments(user: User, task: PlanTask) -> list[Department]:
    """The departments ``user`` may report for on ``task``: their own among its units (supervisors: all)."""
    ids = task_department_ids(task)
    if not can_supervise(user):
        ids &= user_department_ids(user)
    return list(Department.objects.filter(pk__in=ids).order_by("name"))


# --- months --------------------------------------------------------------------------------------------------

def report_day() -> int:
    return int(getattr(settings, "CITYLOOP_PLAN_REPORT_DAY", 5))


def report_of(task: PlanTask, *, department: Department, month: date) -> ProgressReport | None:
    """The unit's report of ``month`` on the task, if one was sent."""
    return (ProgressReport.objects.filter(task=task, department=department, month=month_start(month))
            .prefetch_related("values").first())


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def report_due(month: date, day: int | None = None) -> date:
    """The last day to report for ``month``: day N of the next month."""
    following = add_months(month_start(month), 1)
    n = day or report_day()
    return following.replace(day=min(n, calendar.monthrange(following.year, following.month)[1]))


def latest_due_month(today: date, day: int | None = None) -> date:
    """The latest month whose reports are overdue on ``today`` (the deadline has passed)."""
    month = add_months(month_start(today), -1)
    return month if today > report_due(month, day) else add_months(month, -1)


def required_months(plan: WorkPlan) -> list[date]:
    """The months a plan asks reports for: its year, from the month it was imported."""
    first = date(plan.year, 1, 1)
    imported = timezone.localdate(plan.imported_at) if plan.imported_at else first
    if imported.year == plan.year:
        first = month_start(imported)
    elif imported.year > plan.year:
        first = date(plan.year, 12, 1) if imported.year == plan.year + 1 else date(plan.year + 1, 1, 1)
    return [m for m in (add_months(date(plan.year, 1, 1), i) for i in range(12)) if m >= first]


def parse_month(raw: str | None) -> date | None:
    """``2024-05`` → date(2024, 5, 1); None for empty or malformed input."""
    if not raw:
        return None
    try:
        year, month = (int(part) for part in raw.strip()[:7].split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


def _end_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


# --- progress ------------------------------------------------------------------------------------------------

@dataclass
class TargetProgress:
    target: Target
    current: Decimal | None
    share: float | None  # 0..1 of the target reached; None without a current value
    expected: float  # 0..1 that should be reached by now
    source: str  # "indicator", "report" or "none"

    @property
    def behind(self) -> bool:
        return self.share is not None and self.share + 1e-9 < self.expected

    @property
    def percent(self) -> int | None:
        return None if self.share is None else round(self.share * 100)

    @property
    def expected_percent(self) -> int:
        return round(self.expected * 100)


def _share(target: Target, current: Decimal) -> float:
    value, base = target.value, target.baseline
    if target.kind == TargetKind.AT_MOST:
        if current <= value:
            return 1.0
        return float(value / current) if current else 0.0
    if base is not None and value != base:
        share = (current - base) / (value - base)
    else:
        share = current / value if value else Decimal(1)
    return max(0.0, min(1.0, float(share)))


def _expected(target: Target, *, start: date, deadline: date, when: date) -> float:
    if target.kind in (TargetKind.KEEP, TargetKind.AT_MOST):
        return 1.0  # must hold all the time
    span = (deadline - start).days
    if span <= 0:
        return 1.0 if when >= deadline else 0.0
    return max(0.0, min(1.0, (when - start).days / span))


def target_progress(target: Target, *, when: date, reported: Decimal | None, plan_year: int,
                    task_deadline: date) -> TargetProgress:
    deadline = target.deadline or task_deadline
    start = date(plan_year, 1, 1)
    if target.indicator:
        current = indicator_value(target.indicator, Period(start, min(when, deadline)))
        source = "indicator" if current is not None else "none"
    else:
        current, source = reported, "report" if reported is not None else "none"
    expected = _expected(target, start=start, deadline=deadline, when=when)
    share = _share(target, current) if current is not None else None
    return TargetProgress(target, current, share, expected, source)


# --- task states ---------------------------------------------------------------------------------------------

@dataclass
class TaskState:
    task: PlanTask
    status: str
    reported_status: str | None
    lead_units: list[TaskUnit]
    co_units: list[TaskUnit]
    leaders: list[str]
    targets: list[TargetProgress] = field(default_factory=list)
    missing: list[Department] = field(default_factory=list)  # units that have not reported for the month
    latest_report: ProgressReport | None = None

    @property
    def status_label(self) -> str:
        return TaskStatus(self.status).label

    @property
    def lead_unit_names(self) -> str:
        return "、".join(u.name for u in self.lead_units)

    @property
    def co_unit_names(self) -> str:
        return "、".join(u.name for u in self.co_units)

    @property
    def behind_targets(self) -> list[TargetProgress]:
        return [t for t in self.targets if t.behind]


def plan_states(plan: WorkPlan, *, month: date, as_of: date,
                tasks: Iterable[PlanTask] | None = None) -> list[TaskState]:
    """Every task's state as of ``as_of``, counting reports for months up to ``month``: the lead unit's latest
    reported status (any unit's if no lead unit reported), 已销号 if closed out by then, 滞后 if the deadline
    has passed unfinished; each target's progress; the units that owe a report for ``month``."""
    month = month_start(month)
    task_list = list(tasks if tasks is not None else plan.tasks.all())
    task_ids = [t.pk for t in task_list]
    units = defaultdict(list)
    for unit in TaskUnit.objects.filter(task_id__in=task_ids).select_related("department").order_by("order", "id"):
        units[unit.task_id].append(unit)
    leaders = defaultdict(list)
    through = PlanTask.leaders.through.objects
    for task_id, name in through.filter(plantask_id__in=task_ids).order_by("id").values_list(
        "plantask_id", "leader__name"
    ):
        leaders[task_id].append(name)
    reports = defaultdict(list)
    for report in ProgressReport.objects.filter(task_id__in=task_ids, month__lte=month).select_related(
        "department"
    ).order_by("month", "submitted_at", "id"):
        reports[report.task_id].append(report)
    values: dict[int, list[tuple[ProgressReport, Decimal]]] = defaultdict(list)
    for value in ReportValue.objects.filter(report__task_id__in=task_ids, report__month__lte=month).select_related(
        "report"
    ).order_by("report__month", "report__submitted_at", "report_id"):
        values[value.target_id].append((value.report, value.value))
    targets = defaultdict(list)
    for target in Target.objects.filter(task_id__in=task_ids).order_by("order", "id"):
        targets[target.task_id].append(target)
    required = month in required_months(plan)
    when = min(as_of, month_end(month))
    closed_before = _end_of_day(as_of)
    states = []
    for task in task_list:
        task_units = units[task.pk]
        lead_ids = {u.department_id for u in task_units if u.role == UnitRole.LEAD and u.department_id}
        task_reports = reports[task.pk]
        lead_reports = [r for r in task_reports if r.department_id in lead_ids]
        deciding = lead_reports or task_reports
        reported = deciding[-1].status if deciding else None
        status = reported or TaskStatus.NOT_STARTED
        if task.closed_at and task.closed_at < closed_before:
            status = TaskStatus.CLOSED
        elif status not in FINISHED and (task.deadline or date(plan.year, 12, 31)) < as_of:
            status = TaskStatus.LAGGING
        state = TaskState(
            task=task,
            status=status,
            reported_status=reported,
            lead_units=[u for u in task_units if u.role == UnitRole.LEAD],
            co_units=[u for u in task_units if u.role == UnitRole.CO],
            leaders=leaders[task.pk],
            latest_report=task_reports[-1] if task_reports else None,
        )
        deadline = task.deadline or date(plan.year, 12, 31)
        for target in targets[task.pk]:
            history = values[target.pk]
            lead_history = [v for r, v in history if r.department_id in lead_ids]
            chosen = lead_history or [v for _, v in history]
            latest = chosen[-1] if chosen else None
            state.targets.append(target_progress(target, when=when, reported=latest, plan_year=plan.year,
                                                 task_deadline=deadline))
        if required and _needs_report(task, task_reports, month):
            reported_units = {r.department_id for r in task_reports if r.month == month}
            seen: set[int] = set()
            for unit in task_units:
                if unit.department_id and unit.department_id not in reported_units and unit.department_id not in seen:
                    seen.add(unit.department_id)
                    state.missing.append(unit.department)  # type: ignore[arg-type]
        states.append(state)
    return states


def _needs_report(task: PlanTask, reports: list[ProgressReport], month: date) -> bool:
    if task.closed_at and timezone.localdate(task.closed_at) < month:
        return False  # closed out before the month began
    return not any(r.status == TaskStatus.DONE and r.month < month for r in reports)


def current_states(plan: WorkPlan, *, today: date | None = None,
                   tasks: Iterable[PlanTask] | None = None) -> list[TaskState]:
    """States now: this month's reports, deadlines against today; ``missing`` is for the latest overdue month."""
    today = today or timezone.localdate()
    states = plan_states(plan, month=month_start(today), as_of=today, tasks=tasks)
    overdue = latest_due_month(today)
    if overdue in required_months(plan):
        owed = {s.task.pk: s.missing for s in plan_states(plan, month=overdue, as_of=today, tasks=tasks)}
        for state in states:
            state.missing = owed.get(state.task.pk, [])
    else:
        for state in states:
            state.missing = []
    return states


@dataclass
class LedgerFilters:
    section: str = ""  # section key (includes its sub-sections)
    leader: str = ""
    unit: str = ""  # department id or unit name
    status: str = ""
    missing: bool = False


def ledger(plan: WorkPlan, user: User, filters: LedgerFilters, *, today: date | None = None) -> list[TaskState]:
    tasks = tasks_visible_to(user).filter(plan=plan).select_related("section", "plan").order_by("order")
    if filters.section:
        tasks = tasks.filter(Q(section__key=filters.section) | Q(section__parent__key=filters.section))
    if filters.leader:
        tasks = tasks.filter(leaders__name=filters.leader)
    if filters.unit:
        if filters.unit.isdigit():
            tasks = tasks.filter(units__department_id=int(filters.unit))
        else:
            tasks = tasks.filter(units__name=filters.unit)
    states = current_states(plan, today=today, tasks=list(tasks.distinct()))
    if filters.status:
        states = [s for s in states if s.status == filters.status]
    if filters.missing:
        states = [s for s in states if s.missing]
    return states


def ledger_choices(plan: WorkPlan) -> dict[str, list[tuple[str, str]]]:
    sections = [(s.key, str(s)) for s in plan.sections.order_by("order")]
    leaders = sorted(set(PlanTask.objects.filter(plan=plan).exclude(leaders=None).values_list("leaders__name", flat=True)))
    units: dict[str, str] = {}
    for unit in TaskUnit.objects.filter(task__plan=plan).select_related("department").order_by("name"):
        key = str(unit.department_id) if unit.department_id else unit.name
        units.setdefault(key, unit.department.name if unit.department else unit.name)
    return {
        "sections": sections,
        "leaders": [(n, n) for n in leaders],
        "units": sorted(units.items(), key=lambda kv: kv[1]),
        "statuses": list(TaskStatus.choices),
    }


# --- bulletin and review -------------------------------------------------------------------------------------

@dataclass
class GroupSummary:
    label: str
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.total += 1
        self.counts[status] = self.counts.get(status, 0) + 1

    @property
    def finished(self) -> int:
        return self.counts.get(TaskStatus.DONE, 0) + self.counts.get(TaskStatus.CLOSED, 0)

    @property
    def completion(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 0

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


@dataclass
class MissingUnit:
    department: Department
    task_codes: list[str]


@dataclass
class Bulletin:
    plan: WorkPlan
    month: date
    as_of: date
    states: list[TaskState]
    overall: GroupSummary
    sections: list[GroupSummary]
    units: list[GroupSummary]
    lagging: list[TaskState]
    behind: list[tuple[TaskState, TargetProgress]]
    missing: list[MissingUnit]
    targets_total: int
    targets_without_value: int

    @property
    def statuses(self) -> list[tuple[str, str]]:
        return list(TaskStatus.choices)


def _top_section(task: PlanTask, sections: dict[int, PlanSection]) -> PlanSection | None:
    section = sections.get(task.section_id) if task.section_id else None
    while section is not None and section.parent_id:
        section = sections.get(section.parent_id)
    return section


def bulletin(plan: WorkPlan, *, month: date, today: date | None = None) -> Bulletin:
    """The monthly bulletin (一月一通报) for ``month``: as of its reporting deadline, or today if earlier."""
    today = today or timezone.localdate()
    month = month_start(month)
    as_of = min(report_due(month), max(today, month_end(month)))
    states = plan_states(plan, month=month, as_of=as_of, tasks=plan.tasks.select_related("section").order_by("order"))
    sections = {s.pk: s for s in plan.sections.all()}
    overall = GroupSummary("合计")
    by_section: dict[str, GroupSummary] = {}
    by_unit: dict[str, GroupSummary] = {}
    for state in states:
        overall.add(state.status)
        top = _top_section(state.task, sections)
        label = str(top) if top else "未分章节"
        by_section.setdefault(label, GroupSummary(label)).add(state.status)
        for unit in state.lead_units:
            by_unit.setdefault(unit.name, GroupSummary(unit.name)).add(state.status)
    missing: dict[int, MissingUnit] = {}
    for state in states:
        for department in state.missing:
            entry = missing.setdefault(department.pk, MissingUnit(department, []))
            entry.task_codes.append(state.task.code)
    all_targets = [t for s in states for t in s.targets]
    return Bulletin(
        plan=plan,
        month=month,
        as_of=as_of,
        states=states,
        overall=overall,
        sections=list(by_section.values()),
        units=sorted(by_unit.values(), key=lambda g: (-g.total, g.label)),
        lagging=[s for s in states if s.status == TaskStatus.LAGGING],
        behind=[(s, t) for s in states for t in s.targets if t.behind],
        missing=sorted(missing.values(), key=lambda m: m.department.name),
        targets_total=len(all_targets),
        targets_without_value=sum(1 for t in all_targets if t.current is None),
    )


def quarter_month(year: int, quarter: int) -> date:
    return date(year, 3 * quarter, 1)


def current_quarter(plan: WorkPlan, today: date | None = None) -> int:
    today = today or timezone.localdate()
    if today.year < plan.year:
        return 1
    if today.year > plan.year:
        return 4
    return (today.month - 1) // 3 + 1


def review(plan: WorkPlan, *, quarter: int, today: date | None = None) -> Bulletin:
    """The quarterly review (一季一研判): the bulletin as of the quarter's last month."""
    return bulletin(plan, month=quarter_month(plan.year, quarter), today=today)


def review_charts(data: Bulletin) -> dict[str, object]:
    """Series for the review page's ECharts (plain JSON-ready values)."""
    statuses = list(TaskStatus.choices)

    def stacked(groups: list[GroupSummary]) -> dict[str, object]:
        return {
            "categories": [g.label for g in groups],
            "series": [{"name": label, "key": key, "data": [g.count(key) for g in groups]} for key, label in statuses],
        }

    targets = [(s, t) for s in data.states for t in s.targets if t.share is not None]
    return {
        "sections": stacked(data.sections),
        "units": stacked(data.units[:20]),
        "targets": {
            "categories": [f"{s.task.code} {t.target.what[:14]} {t.target.value.normalize():f}{t.target.unit}"
                           for s, t in targets],
            "actual": [t.percent for _, t in targets],
            "expected": [t.expected_percent for _, t in targets],
        },
    }


# --- cases as an indicator -----------------------------------------------------------------------------------

