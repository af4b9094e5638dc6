from __future__ import annotations

from decimal import Decimal

import pytest

from cityloop.catalog.models import Department, DepartmentKind, RoutingRule, StageLimit, TimeLimit
from cityloop.catalog.services import department_upsert, routing_rule_upsert, stage_limit_set, time_limit_set
from cityloop.catalog.tests.factories import MinorCategoryFactory, region_chain
from cityloop.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_department_upsert_is_idempotent_on_code() -> None:
    regions = region_chain()
    first = department_upsert(code="water", name="水务集团", kind=DepartmentKind.UTILITY, region=regions.city)
    again = department_upsert(code="water", name="济南水务集团", kind="公用事业", region=regions.city, is_demo=True)
    assert first.pk == again.pk
    assert Department.objects.count() == 1
    again.refresh_from_db()
    assert (again.name, again.kind, again.is_demo) == ("济南水务集团", DepartmentKind.UTILITY, True)


def test_department_upsert_validates() -> None:
    with pytest.raises(ValidationFailed):
        department_upsert(code="x", name="X", kind="bakery")
    with pytest.raises(ValidationFailed):
        department_upsert(code=" ", name="X", kind="other")


def test_routing_rule_upsert_is_idempotent_on_category_region_department() -> None:
    regions = region_chain()
    department = department_upsert(code="d", name="单位", kind="other")
    category = MinorCategoryFactory.create()
    rule = routing_rule_upsert(category=category, region=regions.district, department=department)
    same = routing_rule_upsert(category=category, region=regions.district, department=department, priority=5, note="改")
    assert same.pk == rule.pk
    catch_all = routing_rule_upsert(department=department)
    assert routing_rule_upsert(department=department).pk == catch_all.pk
    assert RoutingRule.objects.count() == 2
    same.refresh_from_db()
    assert (same.priority, same.note) == (5, "改")


def test_time_limit_set_is_idempotent_and_validates() -> None:
    category = MinorCategoryFactory.create()
    time_limit_set(category=category, urgency="normal", value=1, unit="work_day")
    time_limit_set(category=category, urgency="一般", value="1.5", unit="工作日", is_demo=True)
    limit = TimeLimit.objects.get()
    assert (limit.value, limit.is_demo) == (Decimal("1.5"), True)
    for bad in ({"value": 0}, {"value": "abc"}, {"value": "1.234"}, {"unit": "fortnight"}, {"urgency": "asap"}):
        arguments = {"category": category, "urgency": "normal", "value": 1, "unit": "work_day", **bad}
        with pytest.raises(ValidationFailed):
            time_limit_set(**arguments)  # type: ignore[arg-type]


def test_stage_limit_set_validates() -> None:
    stage_limit_set(stage="accept", value="0.25", unit="work_hour")
    assert StageLimit.objects.get().value == Decimal("0.25")
    with pytest.raises(ValidationFailed):
        stage_limit_set(stage="lunch", value=1, unit="work_hour")
