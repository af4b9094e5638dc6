"""From indicator values to the composite score (综合指标值, 100-point scale), grade (等级) and rank.

Each weighted indicator scores 0–100: a rate as rate × 100, a "lower is better" rate as (1 − rate) × 100,
a count by its step table. The composite is the weighted mean over the indicators that have a value:
an indicator without one (its denominator was 0) drops out and the other weights are rescaled, so a
unit is never punished or rewarded for work it had no occasion to do. Scores are rounded half up
(四舍五入) to 2 decimals before grading and ranking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from cityloop.evaluation.defaults import DEFAULT_SCHEMES, GRADES
from cityloop.evaluation.models import Comparison, SchemeKind, ScoringMethod, ScoringScheme


def round2(value: float) -> float:
    """Half-up rounding to 2 decimals of the value as written (70.625 → 70.63, not Python's 70.62)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class StepRule:
    region_class: str
    comparison: str
    bound: float
    score: float

    def holds(self, value: float) -> bool:
        if self.comparison == Comparison.GE:
            return value >= self.bound
        if self.comparison == Comparison.GT:
            return value > self.bound
        if self.comparison == Comparison.LE:
            return value <= self.bound
        return value < self.bound


@dataclass(frozen=True)
class WeightRule:
    indicator: str
    weight: float
    method: str
    monthly: bool = False
    otherwise: float = 0.0
    steps: tuple[StepRule, ...] = ()

    def steps_for(self, region_class: str) -> list[StepRule]:
        specific = [s for s in self.steps if s.region_class and s.region_class == region_class]
        return specific or [s for s in self.steps if not s.region_class]

    def score(self, value: float | None, *, days: int, region_class: str = "") -> float | None:
        """The 0–100 score of ``value`` (None when the value is None)."""
        if value is None:
            return None
        if self.method == ScoringMethod.RATE:
            return 100.0 * value
        if self.method == ScoringMethod.INVERSE_RATE:
            return 100.0 * (1.0 - value)
        amount = value * 30.0 / days if self.monthly else value
        for step in self.steps_for(region_class):
            if step.holds(amount):
                return step.score
        return self.otherwise


@dataclass(frozen=True)
class Scheme:
    kind: str
    name: str
    weights: tuple[WeightRule, ...]
    is_default: bool = True

    @property
    def description(self) -> str:
        """The formula in words, e.g. "有效上报率×40% + (1−漏报率)×20% …" (labels supplied by the caller)."""
        return " + ".join(f"{w.indicator}×{w.weight:g}%" for w in self.weights)


def _from_defaults(kind: str) -> Scheme:
    data = DEFAULT_SCHEMES[kind]
    weights = []
    for item in data["weights"]:
        steps = tuple(
            StepRule(region_class=klass, comparison=c, bound=float(b), score=float(s))
            for klass, rules in item.get("steps", {}).items()
            for c, b, s in rules
        )
        weights.append(WeightRule(indicator=item["indicator"], weight=float(item["weight"]), method=item["method"],
                                  monthly=bool(item.get("monthly", False)), steps=steps))
    return Scheme(kind=kind, name=data["name"], weights=tuple(weights), is_default=True)


def load_scheme(kind: SchemeKind | str) -> Scheme:
    """The scheme configured in the admin for ``kind``, or the factory default when there is none."""
    row = ScoringScheme.objects.filter(kind=kind).prefetch_related("weights__steps").first()
    if row is None or not row.weights.all():
        return _from_defaults(str(kind))
    weights = tuple(
        WeightRule(
            indicator=w.indicator, weight=float(w.weight), method=w.method, monthly=w.monthly,
            otherwise=float(w.otherwise_score),
            steps=tuple(StepRule(s.region_class, s.comparison, float(s.bound), float(s.score))
                        for s in sorted(w.steps.all(), key=lambda s: (s.region_class, s.order, s.pk))),
        )
        for w in row.weights.all()
    )
    return Scheme(kind=row.kind, name=row.name, weights=weights, is_default=row.is_default)


def composite(scheme: Scheme, values: Mapping[str, float | int | None], *, days: int,
              region_class: str = "") -> tuple[dict[str, float | None], float | None]:
    """The per-indicator scores and the composite (weighted mean over indicators with a value)."""
    scores: dict[str, float | None] = {}
    total = weight_sum = 0.0
    for rule in scheme.weights:
        raw = values.get(rule.indicator)
        score = rule.score(None if raw is None else float(raw), days=days, region_class=region_class)
        scores[rule.indicator] = None if score is None else round2(score)
        if score is not None and rule.weight > 0:
            total += rule.weight * score
            weight_sum += rule.weight
    if weight_sum == 0:
        return scores, None
    return scores, round2(total / weight_sum)


def grade(score: float | None) -> str:
    """A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below; "" without a score."""
    if score is None:
        return ""
    return next(letter for letter, minimum in GRADES if score >= minimum)


def competition_ranks(scores: Iterable[tuple[object, float | None]]) -> dict[object, int]:
    """Rank 1 for the best score; equal scores share a rank and the next rank is skipped (1, 2, 2, 4)."""
    ranked = sorted(((key, s) for key, s in scores if s is not None), key=lambda item: -(item[1] or 0.0))
    result: dict[object, int] = {}
    previous: float | None = None
    rank = 0
    for position, (key, score) in enumerate(ranked, start=1):
        if score != previous:
            rank = position
            previous = score
        result[key] = rank
    return result
