"""The indicators (评价指标): which rows each one counts and which date puts a row in the period.

Every count is defined once, as a filter (``Q``) over one *source*: a set of ``CaseStage``, ``CaseEvent``
or ``Case`` rows already narrowed to the period. The aggregate (``Count(filter=Q)`` grouped by unit), the
totals row and the drill-down list (``rows.filter(Q, unit=…)``) are all built from that one definition,
so a number and the list behind it cannot disagree.

Which date puts a row in the period [start, end) (local time):

- a stage (a task: 核实, 处置, 核查, 受理, 立案, 派遣, 结案) belongs to the period in which it *started*;
  its outcome (ended on time, late, returned …) is the one recorded when the report is made, and a stage
  still open then is overdue when its stored deadline has passed (``Period.now``);
- a case belongs to the period in which it was *reported* (上报); 立案数 counts those registered;
- a decision recorded only as an event (返工, 挂账, 派发核查) belongs to the period it was made in.

These are the dates the existing indexes cover (``CaseStage (stage, started_at)``, ``Case.reported_at``,
``CaseEvent.action``), so a quarter of a million-case city is counted in a few index range scans. Time
rules use the stored stage times (``due_at`` as moved by approved extensions and suspensions, ``on_time``);
nothing is recomputed from the calendar. docs/evaluation.md has the definitions with the reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce

from cityloop.cases.models import Case, CaseEvent, CaseStage
from cityloop.cases.statuses import SOURCES_NEEDING_VERIFICATION, Action, CaseStatus, Source
from cityloop.catalog.models import Stage
from cityloop.evaluation.models import REGION_LEVELS, Level
from cityloop.evaluation.periods import Period

#: 监督举报 sources: reports by the public that an inspector verifies (公众举报, 12345 热线, Open311).
PUBLIC_SOURCES = sorted(SOURCES_NEEDING_VERIFICATION)
SATISFIED = (2, 3)  # 满意, 基本满意
UNSATISFIED = 1


def within(path: str, period: Period) -> Q:
    """``path`` lies in the period: start ≤ value < end."""
    return Q(**{f"{path}__gte": period.start_at, f"{path}__lt": period.end_at})


def overdue_open(period: Period) -> Q:
    """Still open at ``period.now``, its clock running (not suspended), and past its stored deadline."""
    return Q(ended_at__isnull=True, paused_at__isnull=True, due_at__lt=period.now)


# --- sources -------------------------------------------------------------------------------------

UnitPath = str | Callable[[], Combinable]


@dataclass(frozen=True)
class SourceSpec:
    """A set of rows narrowed to the period, grouped by ``unit`` (a path or an expression)."""

    code: str
    model: type[Model]
    rows: Callable[[Period], QuerySet]
    unit: UnitPath | None  # None: grouped by unit grid and summed over each inspector's beat
    row_label: str


def _stage_rows(*stages: Stage, extra: Q | None = None) -> Callable[[Period], QuerySet[CaseStage]]:
    """Stages of the given kinds that started in the period (index ``stage_kind_time_idx``)."""

    def rows(p: Period) -> QuerySet[CaseStage]:
        kinds = Q(stage=stages[0]) if len(stages) == 1 else Q(stage__in=[str(s) for s in stages])
        return CaseStage.objects.filter(kinds, within("started_at", p), *([extra] if extra is not None else []))

    return rows


def _registered_cohort(*extra: Q) -> Callable[[Period], QuerySet[Case]]:
    """Cases reported in the period that were registered (立案) and not voided afterwards (作废 withdraws
    the registration)."""

    def rows(p: Period) -> QuerySet[Case]:
        return (Case.objects.filter(within("reported_at", p), *extra, registered_at__isnull=False)
                .exclude(status=CaseStatus.VOIDED))

    return rows


#: Decisions counted from the event log (回退 and 延期 are read from the handling stages themselves).
DEPARTMENT_ACTIONS = [Action.REWORK, Action.APPROVE_SUSPENSION]
DESK_STAGES = [Stage.ACCEPT, Stage.REGISTER, Stage.DISPATCH, Stage.CLOSE]


def _events(actions: list[Action], *extra: Q) -> Callable[[Period], QuerySet[CaseEvent]]:
    def rows(p: Period) -> QuerySet[CaseEvent]:
        return CaseEvent.objects.filter(within("created_at", p), *extra, action__in=[str(a) for a in actions])

    return rows


def _desk_rows(role: str) -> Callable[[Period], QuerySet[CaseStage]]:
    """Centre stages (受理, 立案, 派遣, 结案) that started in the period and were ended by a user of ``role``."""
    return _stage_rows(*DESK_STAGES, extra=Q(actor__role=role))


def _inspector_of_stage() -> Combinable:
    """The inspector a verify/check stage belongs to: who ended it, or whom the open task is assigned to."""
    return Coalesce(F("actor_id"), F("case__assignee_id"))


# --- measures, ratios, densities ----------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A count: the rows of ``source`` matching ``where``."""

    code: str
    label: str
    source: str
    where: Callable[[Period], Q]
    definition: str
    additive: bool = True  # False: units overlap (inspectors' beats), so the totals row shows no sum


@dataclass(frozen=True)
class Ratio:
    """numerator ÷ denominator of two measures; None ("—") when the denominator is 0."""

    code: str
    label: str
    numerator: str
    denominator: str
    definition: str
    lower_is_better: bool = False


@dataclass(frozen=True)
class Density:
    """A measure per km² of the unit's area; None when the area is unknown."""

    code: str
    label: str
    measure: str
    definition: str


@dataclass(frozen=True)
class LevelSpec:
    level: Level
    sources: tuple[SourceSpec, ...]
    measures: tuple[Measure, ...]
    ratios: tuple[Ratio, ...]
    columns: tuple[str, ...]
    densities: tuple[Density, ...] = ()
    #: True: the totals row sums every group the queries return (departments, regions); False: it sums the
    #: listed rows (positions, whose queries also see users of other roles).
    totals_by_query: bool = True
    _index: dict[str, Measure | Ratio | Density] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for item in self.items():
            self._index[item.code] = item

    def items(self) -> list[Measure | Ratio | Density]:
        return [*self.measures, *self.ratios, *self.densities]

    def get(self, code: str) -> Measure | Ratio | Density | None:
        return self._index.get(code)

    def source(self, code: str) -> SourceSpec:
        return next(s for s in self.sources if s.code == code)

    def measures_of(self, source: str) -> list[Measure]:
        return [m for m in self.measures if m.source == source]


def _const(q: Q) -> Callable[[Period], Q]:
    return lambda _p: q


# Department (处置单位) ----------------------------------------------------------------------------


def _handled() -> Q:
    return Q(outcome="handled")


def _in_time_close() -> Q:
    late = CaseStage.objects.filter(case_id=OuterRef("pk"), on_time=False)
    return Q(status=CaseStatus.CLOSED) & ~Q(Exists(late))


DEPARTMENT_MEASURES = (
    Measure("due", "应处置数", "handle", lambda p: _handled() | Q(ended_at__isnull=True),
            "本期开始的处置任务（派遣或返工交给本单位的处置环节）中，未被回退或作废的：处置数 + 超时未处置数 + 处置中"),
    Measure("handled", "处置数", "handle", _const(_handled()), "应处置数中已处置反馈的"),
    Measure("handled_on_time", "按时处置数", "handle", _const(_handled() & Q(on_time=True)),
            "处置数中在截止时间（含批准的延期、挂账顺延）之前反馈的"),
    Measure("handled_late", "超期处置数", "handle", _const(_handled() & Q(on_time=False)),
            "处置数中超过截止时间才反馈的"),
    Measure("overdue_open", "超时未处置数", "handle", overdue_open,
            "应处置数中统计时仍未反馈、未挂账且已过截止时间的"),
    Measure("pending", "处置中", "handle", lambda p: Q(ended_at__isnull=True) & ~overdue_open(p),
            "应处置数中统计时仍在时限内或挂账中的"),
    Measure("rework", "返工数", "events", _const(Q(action=Action.REWORK)),
            "本期内核查不通过、退回本单位重新处置的次数"),
    Measure("returned", "回退数", "handle", _const(Q(outcome="returned")),
            "本期开始的处置任务中，本单位获准回退（非本单位职责）的"),
    Measure("extended", "延期数", "handle", _const(Q(extended=True)),
            "本期开始的处置任务中获准延期的"),
    Measure("suspended", "挂账数", "events", _const(Q(action=Action.APPROVE_SUSPENSION)),
            "本期内批准本单位挂账的次数"),
    Measure("registered", "立案数", "cohort", _const(Q()),
            "本期上报、已立案且未作废、现由本单位处置的案卷"),
    Measure("closed", "结案数", "cohort", _const(Q(status=CaseStatus.CLOSED)),
            "立案数中已结案的（截至统计时）"),
    Measure("rated", "评价数", "cohort", _const(Q(satisfaction__isnull=False)),
            "立案数中市民已评价的"),
    Measure("satisfied", "满意数", "cohort", _const(Q(satisfaction__in=SATISFIED)),
            "评价为满意或基本满意的"),
    Measure("unsatisfied", "不满意数", "cohort", _const(Q(satisfaction=UNSATISFIED)),
            "评价为不满意的"),
)
DEPARTMENT_RATIOS = (
    Ratio("handle_rate", "处置率", "handled", "due", "处置数 ÷ 应处置数"),
    Ratio("handle_on_time_rate", "按时处置率", "handled_on_time", "due", "按时处置数 ÷ 应处置数"),
    Ratio("rework_rate", "返工率", "rework", "handled", "返工数 ÷ 处置数", lower_is_better=True),
    Ratio("close_rate", "结案率", "closed", "registered", "结案数 ÷ 立案数"),
    Ratio("satisfaction_rate", "满意率", "satisfied", "rated", "(满意 + 基本满意) ÷ 评价数"),
)


def department_spec() -> LevelSpec:
    return LevelSpec(
        level=Level.DEPARTMENT,
        sources=(
            SourceSpec("handle", CaseStage, _stage_rows(Stage.HANDLE), "department_id", "处置环节"),
            SourceSpec("events", CaseEvent, _events(DEPARTMENT_ACTIONS), "department_id", "案卷事件"),
            SourceSpec("cohort", Case, _registered_cohort(Q(department__isnull=False)), "department_id", "案卷"),
        ),
        measures=DEPARTMENT_MEASURES,
        ratios=DEPARTMENT_RATIOS,
        columns=("due", "handled", "handled_on_time", "handled_late", "overdue_open", "pending", "handle_rate",
                 "handle_on_time_rate", "rework", "rework_rate", "returned", "extended", "suspended",
                 "registered", "closed", "close_rate", "rated", "satisfaction_rate"),
    )


# Regions (区县, 街道, 社区, 单元网格) -----------------------------------------------------------------

REGION_UNIT = {Level.DISTRICT: "district_id", Level.STREET: "street_id", Level.COMMUNITY: "community_id",
               Level.GRID: "grid_id"}


def region_spec(level: Level) -> LevelSpec:
    return LevelSpec(
        level=level,
        sources=(SourceSpec("cohort", Case, _registered_cohort(), REGION_UNIT[level], "案卷"),),
        measures=(
            Measure("registered", "立案数", "cohort", _const(Q()), "本期上报、已立案且未作废的案卷"),
            Measure("public", "监督举报数", "cohort", _const(Q(source__in=PUBLIC_SOURCES)),
                    "立案数中来自公众举报、12345 热线和 Open311 的（经核实立案）"),
            Measure("closed", "结案数", "cohort", _const(Q(status=CaseStatus.CLOSED)),
                    "立案数中已结案的（截至统计时）"),
            Measure("closed_in_time", "按期结案数", "cohort", lambda _p: _in_time_close(),
                    "结案数中各环节均未超时的"),
        ),
        ratios=(
            Ratio("public_rate", "监督举报率", "public", "registered", "监督举报数 ÷ 立案数", lower_is_better=True),
            Ratio("close_rate", "结案率", "closed", "registered", "结案数 ÷ 立案数"),
            Ratio("in_time_close_rate", "按期结案率", "closed_in_time", "registered", "按期结案数 ÷ 立案数"),
        ),
        densities=(Density("density", "立案密度(件/km²)", "registered", "立案数 ÷ 面积(平方公里)"),),
        columns=("registered", "density", "public", "public_rate", "closed", "close_rate", "closed_in_time",
                 "in_time_close_rate"),
    )


# Inspectors (监督员) --------------------------------------------------------------------------------


def _reports(p: Period) -> QuerySet[Case]:
    return Case.objects.filter(within("reported_at", p), source=Source.INSPECTOR, reporter__isnull=False)


def _beat_rows(p: Period) -> QuerySet[Case]:
    return _registered_cohort()(p)


def _ended_on_time(p: Period) -> Q:
    return Q(on_time=True)


def inspector_spec() -> LevelSpec:
    return LevelSpec(
        level=Level.INSPECTOR,
        sources=(
            SourceSpec("reports", Case, _reports, "reporter_id", "案卷"),
            SourceSpec("verify", CaseStage, _stage_rows(Stage.VERIFY), _inspector_of_stage, "核实环节"),
            SourceSpec("check", CaseStage, _stage_rows(Stage.CHECK), _inspector_of_stage, "核查环节"),
            SourceSpec("beat", Case, _beat_rows, None, "案卷"),
        ),
        measures=(
            Measure("reported", "上报数", "reports", _const(Q()), "本期由该监督员上报的案卷"),
            Measure("valid", "有效上报数", "reports",
                    _const(Q(registered_at__isnull=False) & ~Q(status=CaseStatus.VOIDED)),
                    "上报数中已立案（含自处理审核通过）且未作废的"),
            Measure("verify_due", "应核实数", "verify", _const(Q()), "本期派给该监督员的核实任务（核实环节）"),
            Measure("verify_on_time", "按时核实数", "verify", _ended_on_time, "其中在截止时间前回复核实结果的"),
            Measure("check_due", "应核查数", "check", _const(Q()),
                    "本期开始、由该监督员核查（或已派给他）的核查任务（核查环节）"),
            Measure("check_on_time", "按时核查数", "check", _ended_on_time,
                    "其中在截止时间前回复核查结果的（核查环节从处置反馈时起算）"),
            Measure("beat_registered", "责任区立案数", "beat", _const(Q()),
                    "本期在其责任网格内上报、已立案且未作废的案卷", additive=False),
            Measure("missed", "漏报数", "beat", _const(Q(source__in=PUBLIC_SOURCES)),
                    "责任区立案数中由公众首先举报的", additive=False),
        ),
        ratios=(
            Ratio("valid_rate", "有效上报率", "valid", "reported", "有效上报数 ÷ 上报数"),
            Ratio("verify_on_time_rate", "按时核实率", "verify_on_time", "verify_due", "按时核实数 ÷ 应核实数"),
            Ratio("check_on_time_rate", "按时核查率", "check_on_time", "check_due", "按时核查数 ÷ 应核查数"),
            Ratio("missed_rate", "漏报率", "missed", "beat_registered", "漏报数 ÷ 责任区立案数", lower_is_better=True),
        ),
        columns=("reported", "valid", "valid_rate", "verify_due", "verify_on_time", "verify_on_time_rate",
                 "check_due", "check_on_time", "check_on_time_rate", "beat_registered", "missed", "missed_rate"),
        totals_by_query=False,
    )


# Centre positions (受理员, 值班长, 派遣员) ------------------------------------------------------------


def _first_intake() -> Q:
    """The case's first stage: 受理 for public sources, 立案 for the others (one per report)."""
    return Q(stage=Stage.ACCEPT) | (Q(stage=Stage.REGISTER) & ~Q(case__source__in=PUBLIC_SOURCES))


def _registered_by() -> Q:
    return Q(stage__in=[Stage.ACCEPT, Stage.REGISTER], outcome__in=["registered", "self_handled"])


def _dispatched() -> Q:
    return Q(stage=Stage.DISPATCH, outcome="dispatched")


def _misdispatched() -> Q:
    """The handle stage this dispatch started ended in an approved return (回退): the wrong department."""
    returned = CaseStage.objects.filter(case_id=OuterRef("case_id"), stage=Stage.HANDLE,
                                        started_at=OuterRef("ended_at"), outcome="returned")
    return _dispatched() & Q(Exists(returned))


def _check_sent_on_time() -> Q:
    """Sent no later than the due time of the check stage it belongs to (the one open when it was sent)."""
    due = (CaseStage.objects.filter(case_id=OuterRef("case_id"), stage=Stage.CHECK,
                                    started_at__lte=OuterRef("created_at"))
           .order_by("-started_at", "-id").values("due_at")[:1])
    return Q(created_at__lte=Subquery(due))


DESK_MEASURES = (
    Measure("accepted", "受理数", "desk", _const(_first_intake()),
            "本期上报、由本人作出首次处理（立案、不予立案、合并、派发核实、自处理审核）的件数"),
    Measure("verify_sent", "派发核实数", "desk", _const(Q(stage=Stage.ACCEPT, outcome="send_verify")),
            "本期上报、由本人派发核实的件数"),
    Measure("verify_sent_on_time", "按时派发核实数", "desk",
            _const(Q(stage=Stage.ACCEPT, outcome="send_verify", on_time=True)), "受理环节时限内派发的"),
    Measure("check_sent", "派发核查数", "check_sent", _const(Q()), "本人在本期内派发的核查任务"),
    Measure("check_sent_on_time", "按时派发核查数", "check_sent", lambda _p: _check_sent_on_time(),
            "在所属核查环节的截止时间前派发的"),
    Measure("registered", "立案数", "desk", _const(_registered_by()), "本期开始的立案环节中由本人立案（含自处理审核通过）的件数"),
    Measure("registered_on_time", "按时立案数", "desk", _const(_registered_by() & Q(on_time=True)),
            "立案环节时限内立案的"),
    Measure("registered_kept", "准确立案数", "desk", _const(_registered_by() & ~Q(case__status=CaseStatus.VOIDED)),
            "立案数 − 后来作废的"),
    Measure("closed", "结案数", "desk", _const(Q(stage=Stage.CLOSE, outcome="closed")), "本期开始的结案环节中由本人结案的件数"),
    Measure("closed_on_time", "按时结案数", "desk", _const(Q(stage=Stage.CLOSE, outcome="closed", on_time=True)),
            "结案环节时限内结案的"),
    Measure("dispatched", "派遣数", "desk", _const(_dispatched()), "本期开始的派遣环节中由本人派遣（含回退后重新派遣）的件数"),
    Measure("dispatched_on_time", "按时派遣数", "desk", _const(_dispatched() & Q(on_time=True)),
            "派遣环节时限内派遣的"),
    Measure("dispatched_right", "准确派遣数", "desk", lambda _p: _dispatched() & ~_misdispatched(),
            "派遣数 − 错派数（派往的单位获准回退的）"),
)
DESK_RATIOS = (
    Ratio("verify_sent_on_time_rate", "按时派发核实率", "verify_sent_on_time", "verify_sent", "按时派发核实数 ÷ 派发核实数"),
    Ratio("check_sent_on_time_rate", "按时派发核查率", "check_sent_on_time", "check_sent", "按时派发核查数 ÷ 派发核查数"),
    Ratio("register_on_time_rate", "按时立案率", "registered_on_time", "registered", "按时立案数 ÷ 立案数"),
    Ratio("register_accuracy", "准确立案率", "registered_kept", "registered", "(立案数 − 作废数) ÷ 立案数"),
    Ratio("close_on_time_rate", "按时结案率", "closed_on_time", "closed", "按时结案数 ÷ 结案数"),
    Ratio("dispatch_on_time_rate", "按时派遣率", "dispatched_on_time", "dispatched", "按时派遣数 ÷ 派遣数"),
    Ratio("dispatch_accuracy", "准确派遣率", "dispatched_right", "dispatched", "准确派遣数 ÷ 派遣数"),
)
DESK_COLUMNS = {
    Level.OPERATOR: ("accepted", "verify_sent", "verify_sent_on_time_rate", "check_sent", "check_sent_on_time_rate",
                     "registered", "register_on_time_rate"),
    Level.SHIFT_LEADER: ("accepted", "registered", "register_on_time_rate", "register_accuracy", "closed",
                         "close_on_time_rate"),
    Level.DISPATCHER: ("dispatched", "dispatched_on_time", "dispatch_on_time_rate", "dispatched_right",
                       "dispatch_accuracy"),
}


def desk_spec(level: Level) -> LevelSpec:
    role = str(level)
    return LevelSpec(
        level=level,
        sources=(
            SourceSpec("desk", CaseStage, _desk_rows(role), "actor_id", "环节"),
            SourceSpec("check_sent", CaseEvent, _events([Action.SEND_CHECK], Q(actor__role=role)), "actor_id",
                       "案卷事件"),
        ),
        measures=DESK_MEASURES,
        ratios=DESK_RATIOS,
        columns=DESK_COLUMNS[level],
        totals_by_query=False,
    )


@cache
def level_spec(level: Level | str) -> LevelSpec:
    """The indicators of one level (cached: the specs are immutable)."""
    lv = Level(level)
    if lv == Level.DEPARTMENT:
        return department_spec()
    if lv in REGION_LEVELS:
        return region_spec(lv)
    if lv == Level.INSPECTOR:
        return inspector_spec()
    return desk_spec(lv)
