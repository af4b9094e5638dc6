"""Live indicators a target can be linked to instead of being typed in.

``indicator_value(spec, period)`` is the one hook: a spec is a small JSON object whose ``type`` names a
registered function. Built in: ``closed_cases`` — the number of cases closed in ``period`` (optionally of one
category code, 2-digit major or 5-digit minor, and in one region code: district, street or community).

Other apps plug their indicators in without this app importing them: the evaluation app can call
``register_indicator("evaluation", fn, label=…, fields=…)`` in its ``AppConfig.ready()``; until something is
registered for a type, its value is ``None`` (shown as “指标暂不可用”).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from cityloop.core.errors import ValidationFailed


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


IndicatorFunction = Callable[[dict[str, Any], Period], Decimal | None]


@dataclass(frozen=True)
class IndicatorType:
    key: str
    label: str
    fields: tuple[str, ...]  # the spec keys it understands (besides "type")
    function: IndicatorFunction
    required: tuple[str, ...] = ()


_REGISTRY: dict[str, IndicatorType] = {}


def register_indicator(key: str, function: IndicatorFunction, *, label: str, fields: tuple[str, ...] = (),
                       required: tuple[str, ...] = ()) -> None:
    """Make ``{"type": key, …}`` specs computable; a later registration replaces an earlier one."""
    _REGISTRY[key] = IndicatorType(key, label, fields, function, required)


def indicator_types() -> list[IndicatorType]:
    return list(_REGISTRY.values())


def clean_spec(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """A validated copy of ``spec`` (None stays None): a known type and only the fields it understands."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValidationFailed("关联指标应为含 type 的 JSON 对象", field="indicator")
    kind = _REGISTRY.get(spec["type"])
    if kind is None:
        known = "、".join(_REGISTRY) or "（无）"
        raise ValidationFailed(f"未知的指标类型「{spec['type']}」，可用：{known}", field="indicator")
    cleaned: dict[str, Any] = {"type": kind.key}
    for key in kind.fields:
        value = spec.get(key)
        if value not in (None, ""):
            cleaned[key] = str(value).strip()
    missing = [key for key in kind.required if key not in cleaned]
    if missing:
        raise ValidationFailed(f"关联指标缺少 {'、'.join(missing)}", field="indicator")
    unknown = set(spec) - set(kind.fields) - {"type"}
    if unknown:
        raise ValidationFailed(f"关联指标含未知字段 {'、'.join(sorted(unknown))}", field="indicator")
    return cleaned


def indicator_value(spec: dict[str, Any] | None, period: Period) -> Decimal | None:
    """The indicator's value over ``period``; None when the spec is empty or its type is not available."""
    if not spec:
        return None
    kind = _REGISTRY.get(str(spec.get("type")))
    if kind is None:
        return None
    return kind.function(spec, period)


def describe(spec: dict[str, Any] | None) -> str:
    if not spec:
        return ""
    kind = _REGISTRY.get(str(spec.get("type")))
    label = kind.label if kind else f"{spec.get('type')}（暂不可用）"
    details = "，".join(f"{k}={v}" for k, v in spec.items() if k != "type")
    return f"{label}（{details}）" if details else label


def _closed_cases(spec: dict[str, Any], period: Period) -> Decimal:
    return Decimal(closed_case_count(category=spec.get("category") or None, region=spec.get("region") or None,
                                     start=period.start, end=period.end))


register_indicator("closed_cases", _closed_cases, label="结案案件数", fields=("category", "region"))


def closed_case_count(*, category: str | None, region: str | None, start: date, end: date) -> int:
    """Cases closed between ``start`` and ``end`` (inclusive, local dates), optionally of a category code (2-digit
    major or 5-digit minor) and in a region (district, street or community code; the city code means all)."""
    from cityloop.cases.models import Case
    from cityloop.cases.statuses import CaseStatus
    from cityloop.geo.models import Region, RegionLevel

    cases = Case.objects.filter(
        status=CaseStatus.CLOSED,
        closed_at__gte=timezone.make_aware(datetime.combine(start, time.min)),
        closed_at__lt=timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )
    if category:
        cases = cases.filter(Q(category__code=category) | Q(category__parent__code=category))
    if region:
        level = Region.objects.filter(code=region).values_list("level", flat=True).first()
        if level != RegionLevel.CITY:
            cases = cases.filter(Q(district__code=region) | Q(street__code=region) | Q(community__code=region))
    return cases.count()
