"""Properties of the evaluation over random simulated cities (``cases.simulation``, through the services)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityloop.cases.simulation import simulate
from cityloop.evaluation import selectors
from cityloop.evaluation.defaults import GRADES
from cityloop.evaluation.indicators import Measure, Ratio
from cityloop.evaluation.models import POSITION_LEVELS, Level
from cityloop.evaluation.periods import Period
from cityloop.evaluation.scoring import Scheme, StepRule, WeightRule
from cityloop.evaluation.tests.scenario import at

pytestmark = pytest.mark.django_db

START = date(2026, 9, 24)  # the simulations run across the National Day holiday
AS_OF = at(2026, 10, 20, 12, 0)
ADDITIVE_LEVELS = (Level.DEPARTMENT, Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID)


def check_report(report: selectors.LevelReport, *, drill: bool) -> None:
    spec = selectors.level_spec(report.level)
    rows = [r for r in report.rows if r.unit is not None]
    for row in [*rows, *([report.total] if report.total else [])]:
        v = row.values
        for item in spec.ratios:
            value = v[item.code]
            if v[item.denominator] in (0, None):
                assert value is None, item.code  # never a division by zero
            elif value is not None:
                assert 0 <= value <= 1, (item.code, value)
                assert value == pytest.approx(v[item.numerator] / v[item.denominator])
        if report.level == Level.DEPARTMENT:
            assert v["handled_on_time"] + v["handled_late"] == v["handled"]
            assert v["handled"] + v["overdue_open"] + v["pending"] == v["due"]
        if report.level == Level.INSPECTOR:
            assert v["verify_on_time"] <= v["verify_due"] and v["check_on_time"] <= v["check_due"]
            if v["beat_registered"] is not None:
                assert v["missed"] <= v["beat_registered"]
        if row.composite is not None:
            assert 0 <= row.composite <= 100
            assert row.grade == next(letter for letter, low in GRADES if row.composite >= low)
            assert all(s is None or 0 <= s <= 100 for s in row.scores.values())
        else:
            assert row.grade == ""
        if drill:
            for column in report.columns:
                if column.kind == "count" and v[column.code] is not None:
                    d = selectors.drill(level=report.level, indicator=column.code, unit=row.unit_id,
                                        period=report.period)
                    assert d.queryset.count() == v[column.code], (report.level, column.code)
    # Ranks: by score, best first, equal scores share a rank.
    scored = sorted((r for r in rows if r.composite is not None), key=lambda r: r.rank)
    for a, b in zip(scored, scored[1:], strict=False):
        assert a.composite >= b.composite
        assert (a.rank == b.rank) == (a.composite == b.composite)
    assert all(r.rank is None for r in rows if r.composite is None)
    # The sum over the units equals the city total (departments and every region level).
    if report.level in ADDITIVE_LEVELS:
        assert report.total is not None
        for item in spec.measures:
            assert sum(r.values[item.code] for r in rows) == report.total.values[item.code], item.code


@pytest.fixture
def simulated(city, people):
    simulate(days=10, rate=12, seed=11, start=START)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(0, 12), length=st.integers(1, 20),
       level=st.sampled_from(list(Level)))
def test_properties_for_any_period(simulated, offset, length, level):
    first = START + timedelta(days=offset)
    period = Period.between(first, first + timedelta(days=length - 1)).at(AS_OF)
    check_report(selectors.evaluate(level=level, period=period), drill=length % 4 == 0)


weights = st.floats(min_value=0, max_value=100, allow_nan=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=st.lists(weights, min_size=4, max_size=4), bound=st.floats(0, 500), step=st.floats(0, 100),
       level=st.sampled_from([Level.DEPARTMENT, Level.DISTRICT, Level.INSPECTOR]))
def test_any_scheme_scores_within_0_and_100(simulated, w, bound, step, level):
    spec = selectors.level_spec(level)
    ratios = [r.code for r in spec.ratios][:3]
    counted = next(m.code for m in spec.measures if isinstance(m, Measure))
    rules = [WeightRule(code, w[i], "rate" if i % 2 == 0 else "inverse_rate") for i, code in enumerate(ratios)]
    rules.append(WeightRule(counted, w[3], "steps", monthly=True,
                            steps=(StepRule("", "le", bound, step), StepRule("", "gt", bound, 100 - step))))
    scheme = Scheme("custom", "测试", tuple(rules))
    period = Period.between(START, START + timedelta(days=9)).at(AS_OF)
    report = selectors.evaluate(level=level, period=period, scheme=scheme, compare=False)
    check_report(report, drill=False)
    assert all(isinstance(spec.get(code), Ratio) for code in ratios)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(1, 10_000))
def test_properties_for_any_city(city, people, seed):
    with transaction.atomic():
        simulate(days=5, rate=10, seed=seed, start=date(2026, 9, 28))
        period = Period.between(date(2026, 9, 28), date(2026, 10, 9)).at(AS_OF)
        for level in Level:
            check_report(selectors.evaluate(level=level, period=period), drill=level not in POSITION_LEVELS)
        transaction.set_rollback(True)
