from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from cityloop.catalog import cache
from cityloop.catalog.models import Category, Stage, Urgency
from cityloop.catalog.selectors import LimitSpec, handling_limit, stage_limit
from cityloop.catalog.services import stage_limit_set, time_limit_set
from cityloop.catalog.tests.factories import MajorCategoryFactory, MinorCategoryFactory
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def major() -> Category:
    return MajorCategoryFactory.create(code="06", name="市容环境类")


@pytest.fixture
def minor(major: Category) -> Category:
    return MinorCategoryFactory.create(parent=major, code="06010", name="暴露垃圾")


def test_the_minor_class_limit(minor: Category) -> None:
    time_limit_set(category=minor, urgency="normal", value=1, unit="work_day")
    assert handling_limit(category=minor) == LimitSpec(Decimal("1"), TimeUnit.WORK_DAY, "小类 06010 暴露垃圾 的一般处置时限")


def test_falls_back_to_the_major_class(major: Category, minor: Category) -> None:
    time_limit_set(category=major, urgency="normal", value=4, unit="work_hour", is_demo=True)
    spec = handling_limit(category=minor)
    assert (spec.value, spec.unit) == (Decimal("4"), TimeUnit.WORK_HOUR)
    assert spec.source == "大类 06 市容环境类 的一般处置时限（演示配置；小类 06010 暴露垃圾 未单独配置）"


def test_falls_back_to_the_configured_default(minor: Category, settings: object) -> None:
    spec = handling_limit(category=minor)
    assert (spec.value, spec.unit) == (Decimal("3"), TimeUnit.WORK_DAY)  # built-in default
    assert spec.source.startswith("默认处置时限")
    settings.CITYLOOP_DEFAULT_HANDLING_LIMIT = (Decimal("2"), "day")  # type: ignore[attr-defined]
    cache.clear()  # the setting is read once per snapshot
    assert handling_limit(category=minor).value == Decimal("2")
    assert handling_limit(category=minor).unit == TimeUnit.DAY
    settings.CITYLOOP_DEFAULT_HANDLING_LIMIT = (2, "fortnight")  # type: ignore[attr-defined]
    cache.clear()
    with pytest.raises(ImproperlyConfigured):
        handling_limit(category=minor)


def test_urgent_uses_the_urgent_limit_minor_then_major(major: Category, minor: Category) -> None:
    time_limit_set(category=minor, urgency="normal", value=1, unit="work_day")
    time_limit_set(category=major, urgency="urgent", value=1, unit="work_hour")
    spec = handling_limit(category=minor, urgency=Urgency.URGENT)
    assert (spec.value, spec.unit) == (Decimal("1"), TimeUnit.WORK_HOUR)
    assert spec.source.startswith("大类 06 市容环境类 的紧急处置时限")
    time_limit_set(category=minor, urgency="urgent", value="0.5", unit="work_hour")
    assert handling_limit(category=minor, urgency="urgent").value == Decimal("0.5")


def test_urgent_without_an_urgent_limit_uses_the_normal_limit(minor: Category) -> None:
    time_limit_set(category=minor, urgency="normal", value=1, unit="work_day")
    spec = handling_limit(category=minor, urgency="urgent")
    assert (spec.value, spec.unit) == (Decimal("1"), TimeUnit.WORK_DAY)
    assert spec.source == "未配置紧急时限，按一般时限：小类 06010 暴露垃圾 的一般处置时限"


def test_urgent_without_any_limit_uses_the_default_and_says_so(minor: Category) -> None:
    spec = handling_limit(category=minor, urgency="urgent")
    assert spec.source.startswith("未配置紧急时限，按一般时限：默认处置时限")


def test_a_major_class_case_uses_the_major_limit(major: Category) -> None:
    time_limit_set(category=major, urgency="normal", value=2, unit="work_day")
    assert handling_limit(category=major).source == "大类 06 市容环境类 的一般处置时限"


def test_unknown_urgency(minor: Category) -> None:
    with pytest.raises(ValidationFailed):
        handling_limit(category=minor, urgency="soon")


def test_limits_are_cached_and_refreshed_after_a_change(minor: Category, django_assert_num_queries: object) -> None:
    time_limit_set(category=minor, urgency="normal", value=1, unit="work_day")
    handling_limit(category=minor)
    stage_limit(Stage.ACCEPT)
    with django_assert_num_queries(0):  # type: ignore[operator]
        for _ in range(10):
            handling_limit(category=minor)
            handling_limit(category=minor, urgency="urgent")
            stage_limit(Stage.ACCEPT)
    time_limit_set(category=minor, urgency="normal", value=2, unit="work_day")
    assert handling_limit(category=minor).value == Decimal("2")


class TestStageLimits:
    def test_defaults_when_the_table_is_empty(self) -> None:
        expected = {
            Stage.ACCEPT: "0.5",
            Stage.VERIFY: "1",
            Stage.REGISTER: "0.5",
            Stage.DISPATCH: "0.5",
            Stage.CHECK: "1",
            Stage.CLOSE: "0.5",
        }
        for stage, value in expected.items():
            spec = stage_limit(stage)
            assert (spec.value, spec.unit) == (Decimal(value), TimeUnit.WORK_HOUR)
            assert spec.source.startswith("默认环节时限")

    def test_the_table_wins(self) -> None:
        stage_limit_set(stage="dispatch", value=15, unit="hour", is_demo=True)
        assert stage_limit(Stage.DISPATCH) == LimitSpec(Decimal("15"), TimeUnit.HOUR, "环节时限表：派遣（演示配置）")
        stage_limit_set(stage="派遣", value=1, unit="工作时")  # labels work too; idempotent
        assert stage_limit(Stage.DISPATCH).value == Decimal("1")

    def test_handle_has_no_stage_default(self) -> None:
        with pytest.raises(ValidationFailed, match="分类"):
            stage_limit(Stage.HANDLE)
        with pytest.raises(ValidationFailed):
            stage_limit("lunch")
