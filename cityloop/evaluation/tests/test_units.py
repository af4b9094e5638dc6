"""Periods, scoring rules, the seeded configuration, the admin and the API entry point."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from cityloop.core.errors import PermissionDenied, ValidationFailed
from cityloop.evaluation import selectors
from cityloop.evaluation.defaults import DEFAULT_SCHEMES
from cityloop.evaluation.models import IndicatorWeight, Level, SchemeKind, ScoringScheme
from cityloop.evaluation.periods import CUSTOM, MONTH, QUARTER, YEAR, Period
from cityloop.evaluation.scoring import (
    Scheme,
    StepRule,
    WeightRule,
    _from_defaults,
    competition_ranks,
    composite,
    grade,
    load_scheme,
    round2,
)
from cityloop.evaluation.tests.scenario import AS_OF, PERIOD


@pytest.mark.parametrize(("text", "kind", "start", "last", "key"), [
    ("2026Q3", QUARTER, date(2026, 7, 1), date(2026, 9, 30), "2026Q3"),
    ("2026-q4", QUARTER, date(2026, 10, 1), date(2026, 12, 31), "2026Q4"),
    ("2026-02", MONTH, date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
    ("2026", YEAR, date(2026, 1, 1), date(2026, 12, 31), "2026"),
    ("2026-09-28~2026-10-11", CUSTOM, date(2026, 9, 28), date(2026, 10, 11), "2026-09-28~2026-10-11"),
    ("2026-10-01~2026-12-31", QUARTER, date(2026, 10, 1), date(2026, 12, 31), "2026Q4"),
])
def test_periods_parse_and_print_back(text, kind, start, last, key):
    period = Period.parse(text)
    assert (period.kind, period.start, period.last, period.key) == (kind, start, last, key)
    assert Period.parse(period.key) == period


def test_periods_follow_each_other():
    assert Period.parse("2026Q1").previous() == Period.parse("2025Q4")
    assert Period.parse("2026-01").previous() == Period.parse("2025-12")
    assert Period.parse("2026").shift(-2) == Period.parse("2024")
    custom = Period.between(date(2026, 9, 28), date(2026, 10, 11))
    assert (custom.previous().start, custom.previous().last) == (date(2026, 9, 14), date(2026, 9, 27))
    assert [p.key for p in Period.parse("2026-03").history(3)] == ["2026-01", "2026-02", "2026-03"]
    assert custom.start_at.isoformat() == "2026-09-28T00:00:00+08:00"
    assert custom.end_at.isoformat() == "2026-10-12T00:00:00+08:00"
    assert custom.label == "2026年09月28日至2026年10月11日" and Period.parse("2026Q3").label == "2026年第3季度"
    assert PERIOD.previous().as_of == AS_OF  # the figures of both periods are taken at the same moment
    with pytest.raises(ValidationFailed):
        Period.parse("next week")
    with pytest.raises(ValidationFailed):
        Period.between(date(2026, 1, 1), date(2027, 6, 1))


def test_grades_and_rounding():
    assert [grade(s) for s in (100, 90, 89.99, 75, 74.99, 60, 59.99, 40, 39.99, 0)] == [
        "A", "A", "B", "B", "C", "C", "D", "D", "E", "E"]
    assert grade(None) == ""
    assert round2(70.625) == 70.63 and round2(2.675) == 2.68 and round2(1 / 3) == 0.33
    assert competition_ranks([("a", 90.0), ("b", 80.0), ("c", 80.0), ("d", 70.0), ("e", None)]) == {
        "a": 1, "b": 2, "c": 2, "d": 4}


def test_step_scores_by_region_class():
    rule = WeightRule("density", 20, "steps", monthly=True, steps=(
        StepRule("1", "le", 0, 100), StepRule("1", "lt", 300, 90), StepRule("2", "lt", 400, 90),
        StepRule("", "ge", 0, 50)))
    assert rule.score(0, days=30, region_class="1") == 100
    assert rule.score(299.9, days=30, region_class="1") == 90
    assert rule.score(300, days=30, region_class="1") == 0  # otherwise
    assert rule.score(350, days=30, region_class="2") == 90
    assert rule.score(350, days=60, region_class="2") == 90  # 175 per 30 days
    assert rule.score(350, days=30, region_class="") == 50  # no class-specific steps: the general ones
    assert rule.score(None, days=30) is None


def test_composite_leaves_out_indicators_without_a_value():
    scheme = Scheme("x", "x", (WeightRule("a", 40, "rate"), WeightRule("b", 20, "inverse_rate"),
                                WeightRule("c", 40, "rate")))
    scores, total = composite(scheme, {"a": 0.5, "b": 0.25, "c": None}, days=30)
    assert scores == {"a": 50.0, "b": 75.0, "c": None}
    assert total == round2((40 * 50 + 20 * 75) / 60)
    assert composite(scheme, {"a": None, "b": None, "c": None}, days=30) == ({"a": None, "b": None, "c": None}, None)


def test_default_schemes_fix_the_reference_bugs():
    for kind, data in DEFAULT_SCHEMES.items():
        assert sum(w["weight"] for w in data["weights"]) == 100, kind
    inspector = {w.indicator: w for w in _from_defaults("inspector").weights}
    assert inspector["missed_rate"].method == "inverse_rate"  # (1 − 漏报率), not 漏报率
    operator = {w.indicator: w.weight for w in _from_defaults("operator").weights}
    assert operator["check_sent_on_time_rate"] == 35  # not 按时派发核实率 twice
    leader = {w.indicator: w.weight for w in _from_defaults("shift_leader").weights}
    assert leader["register_on_time_rate"] == 25  # not 按时结案率 twice
    region = {w.indicator: w.method for w in _from_defaults("region").weights}
    assert region["close_rate"] == "rate" and region["in_time_close_rate"] == "rate"


@pytest.mark.django_db
def test_the_migration_seeds_the_defaults_and_the_admin_edits_them(admin_client):
    assert set(ScoringScheme.objects.values_list("kind", flat=True)) == set(SchemeKind.values)
    assert load_scheme("department") == _from_defaults("department")
    assert load_scheme("region").weights[0].steps == _from_defaults("region").weights[0].steps
    scheme = ScoringScheme.objects.get(kind="department")
    assert scheme.is_default
    change = reverse("admin:evaluation_scoringscheme_change", args=[scheme.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and "按时处置率（handle_on_time_rate）" in page.content.decode()
    weights = list(scheme.weights.order_by("order"))
    data = {"kind": "department", "name": "处置单位综合评价", "note": "",
            "weights-TOTAL_FORMS": str(len(weights)), "weights-INITIAL_FORMS": str(len(weights)),
            "weights-MIN_NUM_FORMS": "0", "weights-MAX_NUM_FORMS": "1000"}
    for n, w in enumerate(weights):
        data.update({f"weights-{n}-id": str(w.pk), f"weights-{n}-scheme": str(scheme.pk), f"weights-{n}-order": str(n),
                     f"weights-{n}-indicator": w.indicator, f"weights-{n}-weight": "25",
                     f"weights-{n}-method": w.method, f"weights-{n}-otherwise_score": "0"})
        if w.monthly:
            data[f"weights-{n}-monthly"] = "on"
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(IndicatorWeight.objects.filter(scheme=scheme).values_list("weight", flat=True)) == {25}
    scheme.refresh_from_db()
    assert not scheme.is_default
    data["weights-0-weight"] = "40"  # 40 + 25 × 3 = 115
    assert "各指标权重之和应为 100%" in admin_client.post(change, data).content.decode()
    data["weights-0-weight"] = "25"
    data["weights-0-indicator"] = "nonsense"
    assert "不是该评价对象的指标" in admin_client.post(change, data).content.decode()


@pytest.mark.django_db
def test_the_api_entry_point(scenario, people):
    data = selectors.evaluation_for_api(user=people.leader, level="department", period="2026-09-28~2026-10-11")
    assert data["level"] == "department" and data["period"]["key"] == "2026-09-28~2026-10-11"
    names = [r["unit"]["name"] for r in data["rows"]]
    assert names[:2] == ["环卫中心", "市政中心"] and data["total"]["values"]["due"] == 15
    assert {c["code"] for c in data["columns"]} >= {"due", "handle_on_time_rate"}
    with pytest.raises(PermissionDenied):
        selectors.evaluation_for_api(user=people.citizen, level="department", period="2026Q3")
    with pytest.raises(ValidationFailed):
        selectors.evaluation_for_api(user=people.leader, level="galaxy", period="2026Q3")
    handler = selectors.evaluation_for_api(user=people.handler_b, level=Level.DEPARTMENT, period="2026Q4")
    assert [r["unit"]["name"] for r in handler["rows"]] == ["环卫中心"] and handler["total"] is None
