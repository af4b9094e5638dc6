"""Reads of the catalogue: category search, case routing (派遣) and time limits (处置时限/环节时限).

Routing and limits read the in-process snapshot of ``catalog.cache`` (no query per call after
warm-up); see that module for how the snapshot is kept fresh.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Case, IntegerField, Q, Value, When

from cityloop.catalog import cache
from cityloop.catalog.models import (
    Category,
    CategoryKind,
    Department,
    RoutingRule,
    Stage,
    StageLimit,
    TimeLimit,
    Urgency,
)
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import NotFound, ValidationFailed
from cityloop.geo.models import LEVEL_DEPTH, Region

# --- errors and results ---------------------------------------------------------------------


class RoutingFailed(NotFound):
    """No active routing rule covers the case's category and region."""

    code = "routing_failed"


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where a case goes (``department``), by which rule (``None`` for an asset maintainer) and why."""

    department: Department
    rule: RoutingRule | None
    reason: str


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """A time limit with a Chinese note saying where it came from (table row, fallback or default)."""

    value: Decimal
    unit: TimeUnit
    source: str


# --- labels ---------------------------------------------------------------------------------


def category_label(category: Category) -> str:
    """``小类 01001 供水井盖`` / ``大类 01 市政公用设施``."""
    level = "小类" if category.parent_id else "大类"
    return f"{level} {category.code} {category.name}"


def _region_label(region: Region | None) -> str:
    return region.name if region is not None else "全市"


# --- category search ------------------------------------------------------------------------


def category_search(query: str, *, kind: str | None = None, limit: int = 20) -> list[Category]:
    """Active categories whose name contains ``query``, or whose code or pinyin initials start with it.

    Minor classes come before major classes; within each, exact matches, then prefix matches, then
    name substrings, then by code. ``kind`` is a :class:`CategoryKind` value (``"component"``/``"event"``)
    or its label (``"部件"``/``"事件"``).
    """
    text = query.strip()
    if not text or limit <= 0:
        return []
    initials = text.lower()
    condition = Q(name__contains=text) | Q(code__startswith=text) | Q(pinyin_initials__startswith=initials)
    queryset = Category.objects.filter(condition, is_active=True).select_related("parent")
    if kind:
        queryset = queryset.filter(kind=_kind_value(kind))
    queryset = queryset.annotate(
        level_rank=Case(When(parent__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()),
        match_rank=Case(
            When(Q(code=text) | Q(name=text) | Q(pinyin_initials=initials), then=Value(0)),
            When(Q(code__startswith=text) | Q(name__startswith=text) | Q(pinyin_initials__startswith=initials), then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    ).order_by("level_rank", "match_rank", "code")
    return list(queryset[:limit])


def _kind_value(kind: str) -> str:
    for choice in CategoryKind:
        if kind in (choice.value, choice.label):
            return choice.value
    raise ValidationFailed(f"未知的分类类型「{kind}」，应为 部件 或 事件", field="kind")


def category_by_code(*, code: str) -> Category:
    """The category with this code (major or minor), or :class:`NotFound`."""
    try:
        return Category.objects.select_related("parent").get(code=code.strip())
    except Category.DoesNotExist:
        raise NotFound(f"没有编码为 {code} 的案件分类") from None


def categories_by_code() -> dict[str, Category]:
    """Every category by code (with its parent), shared by the process like the rest of the snapshot."""
    rows: dict[str, Category] = cache.current().part(
        "categories_by_code", lambda: {c.code: c for c in Category.objects.select_related("parent")}
    )
    return rows


# --- routing ----------------------------------------------------------------------------------

#: Per (category id | None, region id | None): (priority, -rule id, precomputed decision) of the best rule.
RoutingIndex = dict[tuple[int | None, int | None], tuple[int, int, RoutingDecision]]

_MISSING: Any = object()


def _rule_reason(rule: RoutingRule) -> str:
    what = category_label(rule.category) if rule.category is not None else "全部分类"
    reason = f"规则#{rule.pk}：{what} × {_region_label(rule.region)} → {rule.department.name}（优先级 {rule.priority}）"
    if rule.note:
        reason += f"，{rule.note}"
    return reason


def _build_routing() -> RoutingIndex:
    index: RoutingIndex = {}
    rules = RoutingRule.objects.filter(is_active=True, department__is_active=True).select_related(
        "category", "region", "department"
    )
    for rule in rules:
        key = (rule.category_id, rule.region_id)
        entry = (rule.priority, -rule.pk, RoutingDecision(department=rule.department, rule=rule, reason=_rule_reason(rule)))
        current = index.get(key)
        if current is None or entry[:2] > current[:2]:
            index[key] = entry
    return index


def _region_parents() -> dict[int, tuple[int | None, str]]:
    """Every region's parent id and level (ids and codes only, never boundaries), once per snapshot."""
    return {pk: (parent_id, level) for pk, parent_id, level in Region.objects.values_list("id", "parent_id", "level")}


def region_parents() -> dict[int, tuple[int | None, str]]:
    """Every region's (parent id, level), shared by the process like the rest of the catalog snapshot."""
    parents: dict[int, tuple[int | None, str]] = cache.current().part("region_parents", _region_parents)
    return parents


def communities_by_id() -> dict[int, Region]:
    """Every community (社区) without its boundary, shared by the process (for locating reports)."""
    rows: dict[int, Region] = cache.current().part(
        "communities", lambda: Region.objects.filter(level="community").only("id", "code", "name", "level",
                                                                               "parent_id").in_bulk()
    )
    return rows


def _region_chain(snapshot: cache.Snapshot, region: Region | None) -> tuple[tuple[int | None, int], ...]:
    """(region id, depth) for the region and its ancestors nearest first, then (None, 0) for the whole city."""
    if region is None:
        return ((None, 0),)
    chain = snapshot.region_chains.get(region.pk) if region.pk is not None else None
    if chain is None:
        parents = snapshot.part("region_parents", _region_parents)
        nodes: list[tuple[int, int]] = []
        node: int | None = region.pk
        level = region.level
        while node is not None:
            nodes.append((node, LEVEL_DEPTH.get(level, 0)))  # type: ignore[call-overload]
            node, level = parents.get(node, (None, ""))
        chain = tuple(nodes)
        if region.pk is not None:
            snapshot.region_chains[region.pk] = chain
    return (*chain, (None, 0))


def _route(snapshot: cache.Snapshot, category: Category, region: Region | None) -> RoutingDecision | None:
    index: RoutingIndex = snapshot.part("routing", _build_routing)
    category_keys: list[tuple[int | None, int]] = [(category.pk, 2 if category.parent_id else 1)]
    if category.parent_id:
        category_keys.append((category.parent_id, 1))
    category_keys.append((None, 0))
    region_keys = _region_chain(snapshot, region)
    best_rank: tuple[int, int, int, int] | None = None
    best: RoutingDecision | None = None
    for category_key, specificity in category_keys:
        for region_key, depth in region_keys:
            entry = index.get((category_key, region_key))
            if entry is None:
                continue
            rank = (entry[0], specificity, depth, entry[1])
            if best_rank is None or rank > best_rank:
                best_rank, best = rank, entry[2]
    return best


def route_case(
    *, category: Category, region: Region | None, asset_maintainer: Department | None = None
) -> RoutingDecision:
    """The department a case goes to.

    An (active) asset maintainer (部件养护单位) wins. Otherwise, among active rules whose category is
    the case's minor class, its major class or any, and whose region is the case's region, one of its
    ancestors or the whole city: the highest priority wins, then the most specific category (minor >
    major > any), then the deepest region (社区 > 街道 > 区县 > 市/全市), then the oldest rule.
    Raises :class:`RoutingFailed` when no rule applies. The decision objects are shared: read only.
    """
    if asset_maintainer is not None and asset_maintainer.is_active:
        return RoutingDecision(department=asset_maintainer, rule=None, reason=f"部件养护单位：{asset_maintainer.name}")
    snapshot = cache.current()
    key = ("route", category.pk, category.parent_id, region.pk if region is not None else None)
    decision = snapshot.memo.get(key, _MISSING) if category.pk is not None else _MISSING
    if decision is _MISSING:
        decision = _route(snapshot, category, region)
        if category.pk is not None:
            cache.remember(snapshot, key, decision)
    if decision is None:
        raise RoutingFailed(
            f"无法派遣：没有适用于「{category_label(category)}」×「{_region_label(region)}」的启用派遣规则。"
            "请在派遣规则中为该分类或区划配置处置单位（也可设一条“全部分类 × 全市”的兜底规则）。",
            details={"category": category.code, "region": region.code if region is not None else None},
        )
    if asset_maintainer is not None:
        return dataclasses.replace(decision, reason=f"部件养护单位 {asset_maintainer.name} 已停用；{decision.reason}")
    return decision


# --- time limits --------------------------------------------------------------------------------

#: Stage limits used when the 环节时限 table has no row for the stage (demo defaults, not a standard).
DEFAULT_STAGE_LIMITS: dict[str, tuple[Decimal, TimeUnit]] = {
    Stage.ACCEPT: (Decimal("0.5"), TimeUnit.WORK_HOUR),
    Stage.VERIFY: (Decimal("1"), TimeUnit.WORK_HOUR),
    Stage.REGISTER: (Decimal("0.5"), TimeUnit.WORK_HOUR),
    Stage.DISPATCH: (Decimal("0.5"), TimeUnit.WORK_HOUR),
    Stage.CHECK: (Decimal("1"), TimeUnit.WORK_HOUR),
    Stage.CLOSE: (Decimal("0.5"), TimeUnit.WORK_HOUR),
}

_URGENCIES = frozenset(Urgency.values)
_STAGES = frozenset(Stage.values)

#: Used when ``settings.CITYLOOP_DEFAULT_HANDLING_LIMIT`` is not set.
DEFAULT_HANDLING_LIMIT: tuple[Decimal, str] = (Decimal("3"), TimeUnit.WORK_DAY)

#: (category id, urgency) → (value, unit, category label, is_demo).
LimitIndex = dict[tuple[int, str], tuple[Decimal, TimeUnit, str, bool]]


def _build_limits() -> LimitIndex:
    return {
        (row.category_id, row.urgency): (row.value, TimeUnit(row.unit), category_label(row.category), row.is_demo)
        for row in TimeLimit.objects.select_related("category")
    }


def _demo_note(is_demo: bool) -> str:
    return "（演示配置）" if is_demo else ""


def _default_handling_limit() -> tuple[Decimal, TimeUnit]:
    configured = getattr(settings, "CITYLOOP_DEFAULT_HANDLING_LIMIT", DEFAULT_HANDLING_LIMIT)
    try:
        value, unit = configured
        return Decimal(str(value)), TimeUnit(unit)
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ImproperlyConfigured(
            f"CITYLOOP_DEFAULT_HANDLING_LIMIT 应为 (数值, 单位)，单位取 {', '.join(TimeUnit.values)}，当前为 {configured!r}"
        ) from exc


def handling_limit(*, category: Category, urgency: str = Urgency.NORMAL) -> LimitSpec:
    """The handling limit (处置时限) of a case: the minor class's, else its major class's, else the default.

    An urgent case uses an urgent limit (minor, then major) when one is configured, else the normal
    limit; ``source`` says which applied.
    """
    if urgency not in _URGENCIES:
        raise ValidationFailed(f"未知的紧急程度「{urgency}」", field="urgency")
    snapshot = cache.current()
    key = ("limit", category.pk, category.parent_id, urgency)
    spec = snapshot.memo.get(key)
    if spec is None:
        spec = _handling_limit(snapshot, category, urgency)
        if category.pk is not None:
            cache.remember(snapshot, key, spec)
    return spec


def _handling_limit(snapshot: cache.Snapshot, category: Category, urgency: str) -> LimitSpec:
    index: LimitIndex = snapshot.part("limits", _build_limits)
    urgencies = [Urgency.URGENT, Urgency.NORMAL] if urgency == Urgency.URGENT else [Urgency.NORMAL]
    for wanted in urgencies:
        for category_id, inherited in ((category.pk, False), (category.parent_id, True)):
            if category_id is None:
                continue
            found = index.get((category_id, wanted))
            if found is None:
                continue
            value, unit, label, is_demo = found
            notes = (["演示配置"] if is_demo else []) + ([f"{category_label(category)} 未单独配置"] if inherited else [])
            source = f"{label} 的{Urgency(wanted).label}处置时限" + (f"（{'；'.join(notes)}）" if notes else "")
            if wanted != urgency:
                source = f"未配置紧急时限，按一般时限：{source}"
            return LimitSpec(value, unit, source)
    # The setting is read once per snapshot (like the tables): a change applies after the next expiry.
    value, unit = snapshot.part("default_limit", _default_handling_limit)
    prefix = "未配置紧急时限，按一般时限：" if urgency == Urgency.URGENT else ""
    return LimitSpec(value, unit, f"{prefix}默认处置时限（{category_label(category)} 及其大类均未配置时限）")


def _build_stages() -> dict[str, LimitSpec]:
    table = {
        stage: LimitSpec(value, unit, f"默认环节时限：{Stage(stage).label}（环节时限表未配置）")
        for stage, (value, unit) in DEFAULT_STAGE_LIMITS.items()
    }
    for row in StageLimit.objects.all():
        source = f"环节时限表：{Stage(row.stage).label}{_demo_note(row.is_demo)}"
        table[row.stage] = LimitSpec(row.value, TimeUnit(row.unit), source)
    return table


def stage_limit(stage: str) -> LimitSpec:
    """The limit of a workflow stage: the 环节时限 table's row, else the built-in default.

    处置 (``handle``) has no default: its limit is the category's (:func:`handling_limit`).
    """
    if stage not in _STAGES:
        raise ValidationFailed(f"未知的环节「{stage}」", field="stage")
    table: dict[str, LimitSpec] = cache.current().part("stages", _build_stages)
    spec = table.get(stage)
    if spec is None:
        raise ValidationFailed("处置环节的时限按案件分类确定，请使用分类的处置时限", field="stage")
    return spec
