"""Stage deadlines: computed once when a stage starts and stored (``CaseStage.due_at``, ``warn_at``).

Yellow light at 80 % of the limit, red when it is used up. Approved extensions move the deadline;
suspension (挂账) pauses the clock, and the paused working time is added back on resume.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db.models import Q

from cityloop.cases.models import Case, CaseStage
from cityloop.cases.statuses import OPEN_STATUSES, CaseStatus
from cityloop.catalog import selectors as catalog_selectors
from cityloop.catalog.models import Stage
from cityloop.catalog.selectors import LimitSpec
from cityloop.core.bulk import WriteBatch
from cityloop.core.choices import TimeUnit
from cityloop.core.workcal import WorkingCalendar, get_calendar

WARN_SHARE = Decimal("0.8")
NATURAL_UNITS = {TimeUnit.HOUR, TimeUnit.DAY}


def overdue_q(now: datetime) -> Q:
    """Cases that are overdue (已超期) at ``now``: open, not suspended (挂账 pauses the clock) and past the
    current stage's deadline. The one definition behind the list filter, the workbench queue, the API's
    ``overdue`` and the export's column; :func:`is_overdue` is the same rule for one row in hand."""
    return Q(status__in=OPEN_STATUSES, stage_due_at__lt=now) & ~Q(status=CaseStatus.SUSPENDED)


def is_overdue(status: str, stage_due_at: datetime | None, now: datetime) -> bool:
    """:func:`overdue_q` for one case's status and current-stage deadline."""
    return (status in OPEN_STATUSES and status != CaseStatus.SUSPENDED and stage_due_at is not None
            and stage_due_at < now)


class Light(StrEnum):
    """Traffic light of an open stage (红黄绿灯)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


LIGHT_LABELS = {Light.GREEN: "绿灯", Light.YELLOW: "黄灯", Light.RED: "红灯"}

#: Where a case object carries its open stage once loaded (the transition path preloads it for a batch).
OPEN_STAGE_ATTR = "_open_stage_row"


def _write(row: CaseStage, fields: list[str] | None, writes: WriteBatch | None) -> None:
    """Save ``row`` now, or leave it to ``writes`` (a batch flushed at the end of the transition)."""
    if writes is None:
        if fields is None:
            row.save()
        else:
            row.save(update_fields=fields)
    elif fields is None:
        writes.add(row)
    else:
        writes.changed(row, fields)


def limit_for(case: Case, stage: Stage | str) -> LimitSpec:
    """The limit of ``stage`` for ``case``: the category's handling limit for 处置, the stage table otherwise."""
    if stage == Stage.HANDLE:
        return catalog_selectors.handling_limit(category=case.category, urgency=case.urgency)
    return catalog_selectors.stage_limit(stage)


def stage_start(
    case: Case, stage: Stage | str, *, at: datetime, calendar: WorkingCalendar | None = None, save: bool = True,
    writes: WriteBatch | None = None,
) -> CaseStage:
    """Open ``stage`` for ``case`` at ``at`` and store its deadlines on the stage and on the case.

    The row is saved at once, left unsaved (``save=False``) or handed to ``writes``.
    """
    cal = calendar or get_calendar()
    limit = limit_for(case, stage)
    row = CaseStage(
        case=case,
        stage=stage,
        started_at=at,
        limit_value=limit.value,
        limit_unit=limit.unit,
        limit_source=limit.source[:200],
        warn_at=cal.add_working_time(at, limit.value * WARN_SHARE, limit.unit),
        due_at=cal.add_working_time(at, limit.value, limit.unit),
        department=case.department if stage == Stage.HANDLE else None,
    )
    if save:
        _write(row, None, writes)
    if OPEN_STAGE_ATTR in case.__dict__:
        setattr(case, OPEN_STAGE_ATTR, row)
    case.stage = stage
    case.stage_due_at = row.due_at
    if stage == Stage.HANDLE:
        case.handling_due_at = row.due_at
    return row


def open_stage(case: Case) -> CaseStage | None:
    """The stage of ``case`` still running (preloaded on the case by the transition path, else queried)."""
    if OPEN_STAGE_ATTR in case.__dict__:
        row: CaseStage | None = case.__dict__[OPEN_STAGE_ATTR]
        return row
    return case.stages.filter(ended_at__isnull=True).order_by("-started_at", "-id").first()


def stage_end(case: Case, *, at: datetime, outcome: str, actor: object = None,
              writes: WriteBatch | None = None) -> CaseStage | None:
    """Close the open stage of ``case``; it is on time when it ends no later than its (moved) deadline."""
    row = open_stage(case)
    if row is None:
        return None
    row.ended_at = at
    row.on_time = at <= row.due_at
    row.outcome = outcome
    row.actor = actor  # type: ignore[assignment]
    _write(row, ["ended_at", "on_time", "outcome", "actor"], writes)
    if OPEN_STAGE_ATTR in case.__dict__:
        setattr(case, OPEN_STAGE_ATTR, None)
    case.stage = ""
    case.stage_due_at = None
    return row


def _shift(cal: WorkingCalendar, instant: datetime, amount: timedelta, unit: str) -> datetime:
    if unit in NATURAL_UNITS:
        return instant + amount
    return cal.add_working_time(instant, Decimal(amount.total_seconds()) / Decimal(3600), TimeUnit.WORK_HOUR)


def stage_extend(case: Case, *, value: Decimal, unit: TimeUnit | str, at: datetime,
                 writes: WriteBatch | None = None) -> CaseStage:
    """Move the open stage's deadline by an approved extension (延期) of ``value`` ``unit``."""
    cal = get_calendar()
    row = open_stage(case)
    if row is None:
        raise ValueError("no open stage to extend")
    row.due_at = cal.add_working_time(row.due_at, value, unit)
    row.warn_at = cal.add_working_time(row.warn_at, value, unit)
    row.extended = True
    row.warning_level = _level(row, at)
    _write(row, ["due_at", "warn_at", "extended", "warning_level"], writes)
    case.stage_due_at = row.due_at
    if row.stage == Stage.HANDLE:
        case.handling_due_at = row.due_at
    return row


def stage_pause(case: Case, *, at: datetime, writes: WriteBatch | None = None) -> CaseStage | None:
    row = open_stage(case)
    if row is not None and row.paused_at is None:
        row.paused_at = at
        _write(row, ["paused_at"], writes)
    return row


def stage_resume(case: Case, *, at: datetime, writes: WriteBatch | None = None) -> CaseStage | None:
    """End a pause: the deadlines move by the time paused (working time for working-time limits)."""
    cal = get_calendar()
    row = open_stage(case)
    if row is None or row.paused_at is None:
        return row
    if row.limit_unit in NATURAL_UNITS:
        paused = at - row.paused_at
    else:
        paused = cal.working_time_between(row.paused_at, at)
    row.due_at = _shift(cal, row.due_at, paused, row.limit_unit)
    row.warn_at = _shift(cal, row.warn_at, paused, row.limit_unit)
    row.paused_at = None
    row.warning_level = _level(row, at)
    _write(row, ["due_at", "warn_at", "paused_at", "warning_level"], writes)
    case.stage_due_at = row.due_at
    if row.stage == Stage.HANDLE:
        case.handling_due_at = row.due_at
    return row


def _level(row: CaseStage, at: datetime) -> int:
    if at >= row.due_at:
        return min(row.warning_level, 2)
    if at >= row.warn_at:
        return min(row.warning_level, 1)
    return 0


def light(row: CaseStage, *, now: datetime) -> Light:
    """Green below 80 % of the limit used, yellow from 80 % to 100 %, red beyond; frozen while paused."""
    moment = row.ended_at or row.paused_at or now
    if moment > row.due_at:
        return Light.RED
    if moment >= row.warn_at:
        return Light.YELLOW
    return Light.GREEN


def used_share(row: CaseStage, *, now: datetime, calendar: WorkingCalendar | None = None) -> float:
    """How much of the stage's limit has been used (1.0 = all of it), for timelines and progress bars."""
    cal = calendar or get_calendar()
    moment = row.ended_at or row.paused_at or now
    if row.limit_unit in NATURAL_UNITS:
        total, used = row.due_at - row.started_at, moment - row.started_at
    else:
        total = cal.working_time_between(row.started_at, row.due_at)
        used = cal.working_time_between(row.started_at, moment)
    if total.total_seconds() <= 0:
        return 1.0 if moment >= row.due_at else 0.0
    return max(0.0, used.total_seconds() / total.total_seconds())
