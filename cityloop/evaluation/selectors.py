"""Reads of the evaluation: indicator tables per level, drill-down lists, trend, negative list, re-do ledger.

The command, the pages, the Excel export and the API all call these functions. Counting happens in
the database (one ``GROUP BY`` query per source with conditional ``COUNT … FILTER``), never by looping
over case rows in Python; see ``indicators`` for what each number counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import BooleanField, Count, F, Q, QuerySet, When
from django.db.models import Case as Choose
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import user_department_ids
from cityloop.cases.models import Case, CaseEvent, CaseStage, Satisfaction
from cityloop.cases.statuses import ACTION_LABELS, Action, CaseStatus, Source
from cityloop.catalog.models import Department, Stage
from cityloop.core.errors import NotFound, PermissionDenied, ValidationFailed
from cityloop.evaluation import indicators
from cityloop.evaluation.indicators import Density, LevelSpec, Measure, Ratio, SourceSpec, level_spec, within
from cityloop.evaluation.models import (
    POSITION_LEVELS,
    REGION_LEVELS,
    Level,
    RegionClass,
    RegionClassChoice,
    scheme_kind_for,
)
from cityloop.evaluation.periods import Period
from cityloop.evaluation.scoring import Scheme, competition_ranks, composite, grade, load_scheme, round2
from cityloop.geo.models import Grid, GridLevel, Region

Value = int | float | None

# --- who may see what ------------------------------------------------------------------------------

#: Roles that see every level and every row.
FULL_ROLES = frozenset({Role.LEADER, Role.SHIFT_LEADER, Role.DISPATCHER, Role.ADMIN})
ALL_LEVELS = tuple(Level)


@dataclass(frozen=True)
class Viewer:
    """What a user may see: levels, and (for handlers, operators, inspectors) only some rows."""

    levels: tuple[Level, ...]
    departments: frozenset[int] | None = None  # None: every department
    user_id: int | None = None  # positions: only this user's own row

    @property
    def full(self) -> bool:
        return self.departments is None and self.user_id is None and bool(self.levels)

    def sees_unit(self, level: Level, unit_id: int | None) -> bool:
        if level not in self.levels:
            return False
        if unit_id is None:  # the totals row
            return self.full
        if level == Level.DEPARTMENT and self.departments is not None:
            return unit_id in self.departments
        if level in POSITION_LEVELS and self.user_id is not None:
            return unit_id == self.user_id
        return True


def viewer_for(user: User | None) -> Viewer:
    """Leaders, shift leaders, dispatchers and admins see everything; a department's handler sees the
    department level with only their departments' rows; operators and inspectors see their own row at
    their own position level; citizens see nothing."""
    if user is None:  # the command line and internal callers
        return Viewer(ALL_LEVELS)
    if not user.is_authenticated or not user.is_active:
        return Viewer(())
    if user.is_superuser or user.role in FULL_ROLES:
        return Viewer(ALL_LEVELS)
    if user.role == Role.HANDLER:
        return Viewer((Level.DEPARTMENT,), departments=frozenset(user_department_ids(user)))
    if user.role in (Role.OPERATOR, Role.INSPECTOR):
        return Viewer((Level(user.role),), user_id=user.pk)
    return Viewer(())


def require_level(viewer: Viewer, level: Level) -> None:
    if level not in viewer.levels:
        raise PermissionDenied(f"您无权查看“{level.label}”的考评")


def fixed(period: Period) -> Period:
    """The period with its "统计截至" moment fixed (now, unless the caller chose one), so that every query
    of one report judges open stages at the same moment."""
    return period if period.as_of is not None else period.at(timezone.now())


# --- units ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One evaluated unit: a user, a department, a region or a unit grid."""

    id: int
    code: str
    name: str
    parent: str = ""
    area_km2: float | None = None
    region_class: str = ""


def _user_name(last: str, first: str, username: str) -> str:
    return f"{last}{first}".strip() or username


def _units(level: Level, with_data: set[int]) -> list[Unit]:
    """The units of a level: every active one plus any inactive one with data in the period; unit grids
    only with data (a city has tens of thousands)."""
    if level == Level.DEPARTMENT:
        rows = Department.objects.filter(Q(is_active=True) | Q(pk__in=with_data)).order_by("code")
        return [Unit(d.pk, d.code, d.name) for d in rows]
    if level in POSITION_LEVELS:
        users = (User.objects.filter(Q(role=str(level), is_active=True) | Q(pk__in=with_data), role=str(level))
                 .order_by("username").values_list("pk", "username", "last_name", "first_name"))
        return [Unit(pk, username, _user_name(last, first, username)) for pk, username, last, first in users]
    if level == Level.GRID:
        grids = (Grid.objects.filter(pk__in=with_data).order_by("code")
                 .values_list("pk", "code", "community__name", "area_m2", "management_level"))
        return [Unit(pk, code, code, community or "", None if area is None else area / 1e6,
                     RegionClassChoice.FIRST if lv == GridLevel.A else RegionClassChoice.SECOND)
                for pk, code, community, area, lv in grids]
    classes = dict(RegionClass.objects.values_list("region_id", "klass"))
    regions = (Region.objects.filter(level=str(level)).order_by("code")
               .values_list("pk", "code", "name", "parent__name", "area_m2"))
    return [Unit(pk, code, name, parent or "", None if area is None else area / 1e6,
                 classes.get(pk, RegionClassChoice.FIRST))
            for pk, code, name, parent, area in regions]


def beat_grids(inspector_id: int) -> QuerySet[Grid]:
    """The unit grids an inspector is responsible for: the grids of their beats (责任网格), or, for an
    inspector without a beat, every grid inside the regions of their scope."""
    grids = Grid.objects.filter(beats__inspectors__id=inspector_id)
    if grids.exists():
        return Grid.objects.filter(pk__in=grids.values("pk"))
    codes = list(Region.objects.filter(users__id=inspector_id).values_list("code", flat=True))
    if not codes:
        return Grid.objects.none()
    q = Q()
    for code in codes:
        prefix = code[:4] if len(code) == 6 and code.endswith("00") else code
        q |= Q(community__code__startswith=prefix)
    return Grid.objects.filter(q)


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    code: str
    label: str
    kind: str  # "count", "rate" or "density"
    definition: str
    lower_is_better: bool = False


@dataclass
class Row:
    unit: Unit | None  # None: the totals row (全市合计)
    values: dict[str, Value]
    scores: dict[str, float | None] = field(default_factory=dict)
    composite: float | None = None
    grade: str = ""
    rank: int | None = None
    active: bool = False
    previous: float | None = None
    previous_rank: int | None = None

    @property
    def change(self) -> float | None:
        if self.composite is None or self.previous is None:
            return None
        return round2(self.composite - self.previous)

    @property
    def unit_id(self) -> int | None:
        return None if self.unit is None else self.unit.id


@dataclass
class LevelReport:
    level: Level
    period: Period
    columns: list[Column]
    rows: list[Row]
    total: Row | None
    scheme: Scheme
    scheme_text: str
    previous_period: Period | None = None
    peers: int = 0  # units ranked (all of them, also when only some rows are shown)

    @property
    def level_label(self) -> str:
        return Level(self.level).label


def _columns(spec: LevelSpec) -> list[Column]:
    columns = []
    for code in spec.columns:
        item = spec.get(code)
        assert item is not None, code
        if isinstance(item, Measure):
            columns.append(Column(code, item.label, "count", item.definition))
        elif isinstance(item, Ratio):
            columns.append(Column(code, item.label, "rate", item.definition, item.lower_is_better))
        else:
            columns.append(Column(code, item.label, "density", item.definition))
    return columns


def _label(spec: LevelSpec, code: str) -> str:
    item = spec.get(code)
    return item.label if item is not None else code


def scheme_text(spec: LevelSpec, scheme: Scheme) -> str:
    """The composite's formula in Chinese, e.g. "有效上报率×40% + (1−漏报率)×20% + …"."""
    parts = []
    for w in scheme.weights:
        label = _label(spec, w.indicator)
        if w.method == "inverse_rate":
            label = f"(1−{label})"
        elif w.method == "steps":
            label = f"{label}分值"
        parts.append(f"{label}×{w.weight:g}%")
    return " + ".join(parts)


def _aggregates(spec: LevelSpec, source: SourceSpec, period: Period) -> dict[str, Count]:
    return {m.code: Count("pk", filter=m.where(period)) for m in spec.measures_of(source.code)}


def _unit_expression(source: SourceSpec) -> Any:
    assert source.unit is not None
    return F(source.unit) if isinstance(source.unit, str) else source.unit()


def _count(spec: LevelSpec, period: Period, beats: dict[int, set[int]] | None
           ) -> tuple[dict[int, dict[str, int]], dict[str, int]]:
    """Counts per unit (one GROUP BY query per source) and the totals: for departments and regions the sum
    over every group the queries returned, for positions filled in later from the listed rows."""
    per_unit: dict[int, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = {}
    for source in spec.sources:
        aggregates = _aggregates(spec, source, period)
        if not aggregates:
            continue
        rows = source.rows(period).order_by()
        if source.unit is None:
            by_grid = {r.pop("grid_id"): r for r in rows.values("grid_id").annotate(**aggregates)}
            for inspector, grids in (beats or {}).items():
                for code in aggregates:
                    per_unit[inspector][code] = sum(by_grid[g][code] for g in grids if g in by_grid)
            continue
        grouped = rows.annotate(_unit=_unit_expression(source)).values("_unit").annotate(**aggregates)
        for code in aggregates:
            totals.setdefault(code, 0)
        for row in grouped:
            unit = row.pop("_unit")
            if unit is None:
                continue
            per_unit[unit].update(row)
            if spec.totals_by_query:  # every unit's rows, also units not listed (the check on the listing)
                for code, value in row.items():
                    totals[code] += value
    return per_unit, totals


def _derive(spec: LevelSpec, counts: dict[str, int], area_km2: float | None) -> dict[str, Value]:
    values: dict[str, Value] = {m.code: int(counts.get(m.code, 0)) for m in spec.measures}
    for ratio in spec.ratios:
        den = values[ratio.denominator]
        values[ratio.code] = None if not den else values[ratio.numerator] / den  # type: ignore[operator]
    for density in spec.densities:
        values[density.code] = None if not area_km2 else values[density.measure] / area_km2  # type: ignore[operator]
    return values


def _is_active(spec: LevelSpec, values: dict[str, Value]) -> bool:
    return any(values.get(m.code) for m in spec.measures if m.additive)


def _beats(units: Iterable[Unit]) -> dict[int, set[int]]:
    return {u.id: set(beat_grids(u.id).values_list("pk", flat=True)) for u in units}


#: Counts taken for "now" serve the requests of the next few minutes (统计数据刷新间隔), so that the pages
#: (a table with its six-period trend) do not count a million-case city on every view. Seconds; 0 turns it off.
EVALUATION_CACHE_SECONDS = 300


#: Set while ``recounting()``: counts are taken afresh and replace those kept.
_recounting: ContextVar[bool] = ContextVar("cityloop_evaluation_recounting", default=False)


@contextmanager
def recounting() -> Iterator[None]:
    """Within this block, evaluations count afresh and keep their counts for the next requests."""
    token = _recounting.set(True)
    try:
        yield
    finally:
        _recounting.reset(token)


def evaluation_cache_seconds() -> int:
    return int(getattr(settings, "CITYLOOP_EVALUATION_CACHE_SECONDS", EVALUATION_CACHE_SECONDS) or 0)


def _counted(spec: LevelSpec, period: Period, beats: dict[int, set[int]] | None
             ) -> tuple[dict[int, dict[str, int]], dict[str, int], datetime]:
    """``_count`` for ``period`` and the moment the counts were taken.

    Counts taken at most ``evaluation_cache_seconds()`` before the report's moment are reused (from the
    Django cache: Redis when configured, shared by every worker), and the report then says when they were
    taken (统计截至). A report of an earlier moment (``as_of`` before those counts) is always counted afresh,
    and only counts taken for the present are kept."""
    seconds = evaluation_cache_seconds()
    moment = period.now
    if seconds <= 0:
        return (*_count(spec, period, beats), moment)
    key = f"cityloop:evaluation:{spec.level}:{period.key}:{period.start_at.isoformat()}"
    kept = None if _recounting.get() else cache.get(key)
    if kept is not None and 0 <= (moment - kept[2]).total_seconds() <= seconds:
        return kept
    per_unit, totals = _count(spec, period, beats)
    if abs((timezone.now() - moment).total_seconds()) <= seconds:
        cache.set(key, (dict(per_unit), totals, moment), seconds)
    return per_unit, totals, moment


def evaluate(*, level: Level | str, period: Period, compare: bool = True, user: User | None = None,
             scheme: Scheme | None = None) -> LevelReport:
    """The indicator table of one level for one period: a row per unit (ranked by composite score), the
    totals row (全市合计), and for each row the change against the previous period when ``compare``.

    With ``user``, rows are limited to what the user may see (``viewer_for``); ranks are always among
    all peers."""
    lv = Level(level)
    viewer = viewer_for(user)
    require_level(viewer, lv)
    period = fixed(period)
    spec = level_spec(lv)
    scheme = scheme or load_scheme(scheme_kind_for(lv))
    beats = None
    if lv == Level.INSPECTOR:
        beats = _beats(_units(lv, set()))
    per_unit, totals, counted_at = _counted(spec, period, beats)
    period = period.at(counted_at)
    with_data = {u for u, c in per_unit.items() if any(c.get(m.code) for m in spec.measures if m.additive)}
    units = _units(lv, with_data)
    rows = []
    for unit in units:
        values = _derive(spec, per_unit.get(unit.id, {}), unit.area_km2)
        row = Row(unit, values, active=_is_active(spec, values))
        if row.active:
            row.scores, row.composite = composite(scheme, values, days=period.days, region_class=unit.region_class)
            row.grade = grade(row.composite)
        rows.append(row)
    ranks = competition_ranks((r.unit_id, r.composite) for r in rows)
    for row in rows:
        row.rank = ranks.get(row.unit_id)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit.code if r.unit else ""))
    total = _total_row(spec, rows, totals, scheme, period, lv)
    visible = [r for r in rows if viewer.sees_unit(lv, r.unit_id)]
    report = LevelReport(
        level=lv, period=period, columns=_columns(spec), rows=visible,
        total=total if viewer.full else None, scheme=scheme, scheme_text=scheme_text(spec, scheme),
        peers=len(ranks),
    )
    if compare:
        attach_previous(report, evaluate(level=lv, period=period.previous(), compare=False, scheme=scheme))
    return report


def attach_previous(report: LevelReport, before: LevelReport) -> None:
    """Set each row's previous score and rank (and the totals') from the report of the period before."""
    old = {r.unit_id: r for r in before.rows}
    for row in report.rows:
        if row.unit_id in old:
            row.previous, row.previous_rank = old[row.unit_id].composite, old[row.unit_id].rank
    if report.total is not None and before.total is not None:
        report.total.previous = before.total.composite
    report.previous_period = before.period


def _total_row(spec: LevelSpec, rows: list[Row], totals: dict[str, int], scheme: Scheme, period: Period,
               level: Level) -> Row:
    if spec.totals_by_query:
        counts = totals
    else:
        counts = {m.code: sum(int(r.values.get(m.code) or 0) for r in rows) for m in spec.measures if m.additive}
    area = None
    if level in REGION_LEVELS and level != Level.GRID:
        known = [r.unit.area_km2 for r in rows if r.unit is not None and r.unit.area_km2]
        area = sum(known) if known else None
    values = _derive(spec, counts, area)
    for m in spec.measures:
        if not m.additive:
            values[m.code] = None
    for ratio in spec.ratios:
        if values.get(ratio.numerator) is None or values.get(ratio.denominator) is None:
            values[ratio.code] = None
    row = Row(None, values, active=_is_active(spec, values))
    if row.active and level not in POSITION_LEVELS:
        klass = RegionClassChoice.FIRST if level in REGION_LEVELS else ""  # the city as a whole: 一类
        row.scores, row.composite = composite(scheme, values, days=period.days, region_class=klass)
        row.grade = grade(row.composite)
    return row


def evaluate_many(*, levels: Iterable[Level | str], period: Period, user: User | None = None,
                  compare: bool = True) -> list[LevelReport]:
    """Reports of several levels (the levels the user may not see are skipped)."""
    viewer = viewer_for(user)
    return [evaluate(level=lv, period=period, compare=compare, user=user)
            for lv in (Level(x) for x in levels) if lv in viewer.levels]


# --- drill-down ------------------------------------------------------------------------------------


@dataclass
class Drill:
    """The rows behind one number: ``queryset.count()`` equals the number in the table."""

    level: Level
    period: Period
    indicator: str
    label: str
    definition: str
    unit: Unit | None
    source: SourceSpec
    queryset: QuerySet[Any]
    numerator_label: str = ""  # for a rate: the rows of its denominator, flagged when in the numerator

    @property
    def kind(self) -> str:
        return {CaseStage: "stage", CaseEvent: "event", Case: "case"}[self.source.model]


def _unit_of(level: Level, unit_id: int) -> Unit:
    if level == Level.DEPARTMENT:
        d = Department.objects.filter(pk=unit_id).first()
        if d is not None:
            return Unit(d.pk, d.code, d.name)
    elif level in POSITION_LEVELS:
        u = User.objects.filter(pk=unit_id, role=str(level)).first()
        if u is not None:
            return Unit(u.pk, u.username, u.display_name)
    elif level == Level.GRID:
        g = Grid.objects.filter(pk=unit_id).select_related("community").first()
        if g is not None:
            return Unit(g.pk, g.code, g.code, g.community.name)
    else:
        r = Region.objects.filter(pk=unit_id, level=str(level)).select_related("parent").first()
        if r is not None:
            return Unit(r.pk, r.code, r.name, r.parent.name if r.parent else "")
    raise NotFound(f"{level.label}不存在（{unit_id}）", field="unit")


def drill(*, level: Level | str, indicator: str, unit: int | None, period: Period,
          user: User | None = None) -> Drill:
    """The cases (stage, event or case rows) behind one number of ``evaluate``: for a count, its rows;
    for a rate, the rows of its denominator, annotated with ``in_numerator``; for a density, the rows of
    its count. ``unit=None`` is the totals row."""
    lv = Level(level)
    viewer = viewer_for(user)
    require_level(viewer, lv)
    if not viewer.sees_unit(lv, unit):
        raise PermissionDenied("您无权查看该单位的明细")
    spec = level_spec(lv)
    period = fixed(period)
    item = spec.get(indicator)
    if item is None:
        raise ValidationFailed(f"未知的指标“{indicator}”", field="indicator")
    numerator: Measure | None = None
    if isinstance(item, Ratio):
        measure = spec.get(item.denominator)
        candidate = spec.get(item.numerator)
        assert isinstance(measure, Measure) and isinstance(candidate, Measure)
        if candidate.source == measure.source:
            numerator = candidate
    elif isinstance(item, Density):
        found = spec.get(item.measure)
        assert isinstance(found, Measure)
        measure = found
    else:
        measure = item
    if unit is None and not measure.additive:
        raise ValidationFailed("该指标没有合计", field="unit")
    source = spec.source(measure.source)
    rows = source.rows(period).filter(measure.where(period))
    target = None
    if unit is not None:
        target = _unit_of(lv, unit)
        if source.unit is None:
            rows = rows.filter(grid_id__in=beat_grids(unit).values("pk"))
        else:
            rows = rows.annotate(_unit=_unit_expression(source)).filter(_unit=unit)
    elif source.unit is not None and not spec.totals_by_query:
        # Position totals are sums over the level's users: the same rows, limited to units of the level.
        rows = rows.annotate(_unit=_unit_expression(source)).filter(_unit__in=User.objects.filter(role=str(lv)).values("pk"))
    if numerator is not None:
        rows = rows.annotate(in_numerator=Choose(When(numerator.where(period), then=True), default=False,
                                                output_field=BooleanField()))
    rows = rows.order_by(*(_drill_order(source)))
    if source.model is Case:
        rows = rows.select_related("category", "department", "district", "street")
    else:
        rows = rows.select_related("case")
    return Drill(level=lv, period=period, indicator=indicator, label=item.label,
                 definition=getattr(item, "definition", ""), unit=target, source=source, queryset=rows,
                 numerator_label=numerator.label if numerator else "")


def _drill_order(source: SourceSpec) -> list[str]:
    if source.model is CaseStage:
        return ["ended_at", "due_at", "id"]
    if source.model is CaseEvent:
        return ["created_at", "id"]
    return ["registered_at", "reported_at", "id"]


OUTCOME_LABELS = {
    "send_verify": "派发核实", "verified": "核实属实", "not_valid": "核实不属实", "registered": "立案",
    "rejected": "不予立案", "merged": "合并", "self_handled": "自处理", "dispatched": "派遣", "handled": "处置反馈",
    "check_passed": "核查通过", "check_failed": "核查不通过", "closed": "结案", "returned": "回退", "voided": "作废",
}


@dataclass(frozen=True)
class DrillLine:
    case_id: int
    number: str
    cells: list[tuple[str, Any]]
    in_numerator: bool | None = None


def drill_lines(d: Drill, items: Iterable[Any]) -> list[DrillLine]:
    """Display lines for a page of drill rows (one per stage, event or case)."""
    stage_labels = dict(Stage.choices)
    status_labels = dict(CaseStatus.choices)
    source_labels = dict(Source.choices)
    lines = []
    for item in items:
        flag = getattr(item, "in_numerator", None)
        if isinstance(item, CaseStage):
            cells = [("环节", stage_labels.get(item.stage, item.stage)), ("开始", item.started_at),
                     ("截止", item.due_at), ("结束", item.ended_at),
                     ("按时", None if item.on_time is None else ("是" if item.on_time else "否")),
                     ("结束方式", OUTCOME_LABELS.get(item.outcome, item.outcome))]
            lines.append(DrillLine(item.case_id, item.case.number, cells, flag))
        elif isinstance(item, CaseEvent):
            cells = [("动作", ACTION_LABELS.get(item.action, item.action)), ("时间", item.created_at),
                     ("操作人", item.actor_name), ("意见", item.note)]
            lines.append(DrillLine(item.case_id, item.case.number, cells, flag))
        else:
            cells = [("来源", source_labels.get(item.source, item.source)), ("分类", item.category.name),
                     ("区县", item.district.name), ("处置单位", item.department.name if item.department else ""),
                     ("立案时间", item.registered_at), ("状态", status_labels.get(item.status, item.status)),
                     ("结案时间", item.closed_at)]
            lines.append(DrillLine(item.pk, item.number, cells, flag))
    return lines


# --- trend -----------------------------------------------------------------------------------------


@dataclass
class Trend:
    periods: list[Period]
    series: list[tuple[Unit, list[float | None]]]
    reports: list[LevelReport]  # one per period; the last carries the change against the one before

    @property
    def report(self) -> LevelReport:
        return self.reports[-1]


def trend(*, level: Level | str, period: Period, count: int = 6, user: User | None = None,
          units: int = 10) -> Trend:
    """Composite scores of the level's units over the ``count`` periods ending with ``period`` (the best
    ``units`` of the last period, among those the user may see). Each period is evaluated once; the last
    report also serves as the page's table."""
    lv = Level(level)
    periods = fixed(period).history(max(count, 2))
    reports = [evaluate(level=lv, period=p, compare=False, user=user) for p in periods]
    attach_previous(reports[-1], reports[-2])
    reports = reports[-count:]
    latest = [r for r in reports[-1].rows if r.unit is not None and r.composite is not None][:units]
    by_period = [{r.unit_id: r.composite for r in rep.rows} for rep in reports]
    series = [(row.unit, [scores.get(row.unit.id) for scores in by_period]) for row in latest if row.unit]
    return Trend(periods[-count:], series, reports)


# --- negative list (负面清单) ------------------------------------------------------------------------

NEGATIVE_REASONS = {
    "overdue": "超期办理",
    "returned_repeatedly": "多次回退",
    "check_failed": "核查不通过",
    "unsatisfied": "群众不满意",
    "supervised": "领导督办",
}


@dataclass
class NegativeCase:
    case_id: int
    number: str
    description: str
    status: str
    reasons: list[str]


@dataclass
class NegativeDepartment:
    department: Unit
    counts: dict[str, int]
    cases: list[NegativeCase]

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def count_list(self) -> list[int]:
        """The counts in the order of ``NEGATIVE_REASONS`` (for tables)."""
        return [self.counts[label] for label in NEGATIVE_REASONS.values()]


def _negative_pairs(period: Period) -> dict[str, list[tuple[int, int]]]:
    """(department id, case id) pairs per reason, from the same definitions as the department level."""
    handle = indicators._stage_rows(Stage.HANDLE)(period)
    late = indicators._handled() & Q(on_time=False)
    events = CaseEvent.objects.filter(within("created_at", period), department__isnull=False)
    return {
        "overdue": list(handle.filter(late | indicators.overdue_open(period)).values_list("department_id", "case_id")),
        "returned_repeatedly": list(events.filter(action=Action.APPROVE_RETURN, case__return_count__gt=1)
                                    .values_list("department_id", "case_id")),
        "check_failed": list(events.filter(action=Action.REWORK).values_list("department_id", "case_id")),
        "unsatisfied": list(events.filter(action=Action.RATE, case__satisfaction=Satisfaction.UNSATISFIED)
                            .values_list("department_id", "case_id")),
        "supervised": list(events.filter(action=Action.SUPERVISE).values_list("department_id", "case_id")),
    }


def negative_list(*, period: Period, user: User | None = None) -> list[NegativeDepartment]:
    """负面清单: per department, the cases that in the period went overdue (超期处置 or 超时未处置),
    were returned (回退) by it while returned more than once in all, failed a check (返工), were rated
    unsatisfied, or were supervised by a leader while with it; with counts of distinct cases per reason."""
    viewer = viewer_for(user)
    require_level(viewer, Level.DEPARTMENT)
    period = fixed(period)
    reasons: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for reason, pairs in _negative_pairs(period).items():
        for department_id, case_id in pairs:
            if reason not in reasons[department_id][case_id]:
                reasons[department_id][case_id].append(reason)
    case_ids = {c for cases in reasons.values() for c in cases}
    info = {pk: (number, description, status) for pk, number, description, status in
            Case.objects.filter(pk__in=case_ids).values_list("pk", "number", "description", "status")}
    status_labels = dict(CaseStatus.choices)
    departments = {d.pk: d for d in Department.objects.filter(pk__in=reasons.keys())}
    result = []
    for department_id in sorted(reasons, key=lambda d: departments[d].code):
        if not viewer.sees_unit(Level.DEPARTMENT, department_id):
            continue
        d = departments[department_id]
        cases = [NegativeCase(pk, info[pk][0], info[pk][1][:60], status_labels.get(info[pk][2], info[pk][2]),
                              [NEGATIVE_REASONS[r] for r in rs])
                 for pk, rs in sorted(reasons[department_id].items(), key=lambda item: info[item[0]][0])]
        counts = {label: sum(1 for c in cases if label in c.reasons) for label in NEGATIVE_REASONS.values()}
        result.append(NegativeDepartment(Unit(d.pk, d.code, d.name), counts, cases))
    return result


# --- re-do ledger (重办台账) -------------------------------------------------------------------------


@dataclass
class LedgerEntry:
    event_id: int
    case_id: int
    number: str
    at: datetime
    department: str
    inspector: str
    reason: str
    result: str
    redo_due_at: datetime | None
    redo_ended_at: datetime | None
    case_status: str
    rework_count: int


def _redo_result(stage: CaseStage | None, now: datetime) -> str:
    if stage is None:
        return "—"
    if stage.ended_at is None:
        if stage.paused_at is not None:
            return "挂账中"
        return "重办中（已超期）" if stage.due_at < now else "重办中"
    if stage.outcome == "handled":
        return "按时重办完成" if stage.on_time else "超期重办完成"
    return OUTCOME_LABELS.get(stage.outcome, stage.outcome)


def rework_ledger(*, period: Period, user: User | None = None, now: datetime | None = None) -> list[LedgerEntry]:
    """重办台账: every rework (核查不通过，返工) in the period with the reason, the department and the
    result of the re-do (the handling stage the rework started)."""
    viewer = viewer_for(user)
    require_level(viewer, Level.DEPARTMENT)
    moment = now or timezone.now()
    events = list(CaseEvent.objects.filter(within("created_at", period), action=Action.REWORK)
                  .select_related("case", "department").order_by("created_at", "id"))
    redo: dict[tuple[int, datetime], CaseStage] = {
        (s.case_id, s.started_at): s
        for s in CaseStage.objects.filter(stage=Stage.HANDLE, case_id__in={e.case_id for e in events},
                                          started_at__in={e.created_at for e in events})
    }
    status_labels = dict(CaseStatus.choices)
    entries = []
    for e in events:
        if not viewer.sees_unit(Level.DEPARTMENT, e.department_id):
            continue
        stage = redo.get((e.case_id, e.created_at))
        entries.append(LedgerEntry(
            event_id=e.pk, case_id=e.case_id, number=e.case.number, at=e.created_at,
            department=e.department.name if e.department else "", inspector=e.actor_name, reason=e.note,
            result=_redo_result(stage, moment), redo_due_at=stage.due_at if stage else None,
            redo_ended_at=stage.ended_at if stage else None,
            case_status=status_labels.get(e.case.status, e.case.status), rework_count=e.case.rework_count,
        ))
    return entries


# --- quarterly district evaluation and the API ---------------------------------------------------------


def district_ranking(*, quarter: Period, user: User | None = None) -> LevelReport:
    """每季度市对县考评: the quarter's districts ranked by composite score, with grades and the change
    against the previous quarter."""
    if quarter.kind != "quarter":
        raise ValidationFailed("市对县考评按季度进行，请选择季度", field="quarter")
    return evaluate(level=Level.DISTRICT, period=quarter, compare=True, user=user)


def _json(value: Value) -> Value:
    return round(value, 6) if isinstance(value, float) else value


def report_as_dict(report: LevelReport) -> dict[str, Any]:
    """A JSON-ready form of a report (for the API): the same numbers as the page and the Excel file."""

    def row_dict(row: Row) -> dict[str, Any]:
        unit = None if row.unit is None else {
            "id": row.unit.id, "code": row.unit.code, "name": row.unit.name, "parent": row.unit.parent,
            "area_km2": row.unit.area_km2, "region_class": row.unit.region_class,
        }
        return {"unit": unit, "values": {k: _json(v) for k, v in row.values.items()}, "scores": row.scores,
                "composite": row.composite, "grade": row.grade, "rank": row.rank, "previous": row.previous,
                "change": row.change, "previous_rank": row.previous_rank, "active": row.active}

    return {
        "level": str(report.level), "level_label": report.level_label,
        "period": {"key": report.period.key, "label": report.period.label, "start": report.period.start.isoformat(),
                   "end": report.period.last.isoformat()},
        "previous_period": report.previous_period.key if report.previous_period else None,
        "scheme": {"name": report.scheme.name, "formula": report.scheme_text,
                   "weights": [{"indicator": w.indicator, "weight": w.weight, "method": w.method}
                               for w in report.scheme.weights]},
        "columns": [{"code": c.code, "label": c.label, "kind": c.kind, "definition": c.definition,
                     "lower_is_better": c.lower_is_better} for c in report.columns],
        "rows": [row_dict(r) for r in report.rows],
        "total": row_dict(report.total) if report.total else None,
        "peers": report.peers,
    }


def evaluation_for_api(*, user: User, level: str, period: str) -> dict[str, Any]:
    """The API's entry point: ``level`` a ``Level`` value, ``period`` as ``Period.parse`` reads it
    (2026Q3, 2026-10, 2026, 2026-09-20~2026-10-10). Raises ValidationFailed / PermissionDenied."""
    if level not in Level.values:
        raise ValidationFailed(f"未知的考评对象“{level}”", field="level")
    return report_as_dict(evaluate(level=level, period=Period.parse(period), user=user))
