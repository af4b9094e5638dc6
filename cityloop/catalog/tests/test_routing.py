from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.db import transaction

from cityloop.catalog import cache
from cityloop.catalog.models import Category, CategoryKind, Department, RoutingRule
from cityloop.catalog.selectors import RoutingDecision, RoutingFailed, route_case
from cityloop.catalog.services import department_upsert, routing_rule_deactivate, routing_rule_upsert
from cityloop.catalog.tests.factories import (
    DepartmentFactory,
    MajorCategoryFactory,
    MinorCategoryFactory,
    RegionChain,
    RoutingRuleFactory,
    region_chain,
)
from cityloop.core.errors import NotFound
from cityloop.geo.models import Region

pytestmark = pytest.mark.django_db


@dataclass
class World:
    regions: RegionChain
    major: Category
    water_cover: Category
    sewage_cover: Category
    water: Department
    bureau: Department
    district_bureau: Department
    community_office: Department


@pytest.fixture
def world() -> World:
    regions = region_chain()
    major = MajorCategoryFactory.create(code="01", name="市政公用设施", kind=CategoryKind.COMPONENT)
    return World(
        regions=regions,
        major=major,
        water_cover=MinorCategoryFactory.create(parent=major, code="01001", name="供水井盖"),
        sewage_cover=MinorCategoryFactory.create(parent=major, code="01002", name="污水井盖"),
        water=DepartmentFactory.create(code="water", name="济南水务集团"),
        bureau=DepartmentFactory.create(code="bureau", name="济南市城市管理局"),
        district_bureau=DepartmentFactory.create(code="lixia", name="历下区城市管理局"),
        community_office=DepartmentFactory.create(code="furong", name="芙蓉社区居委会"),
    )


def route(world: World, category: Category | None = None, region: Region | None = None) -> RoutingDecision:
    return route_case(category=category or world.water_cover, region=region or world.regions.community)


def test_the_catch_all_rule_routes_everything(world: World) -> None:
    routing_rule_upsert(department=world.bureau)
    assert route(world).department == world.bureau
    assert route_case(category=world.major, region=None).department == world.bureau


def test_minor_beats_major_beats_any(world: World) -> None:
    routing_rule_upsert(department=world.bureau)
    routing_rule_upsert(category=world.major, department=world.district_bureau)
    assert route(world).department == world.district_bureau
    minor_rule = routing_rule_upsert(category=world.water_cover, department=world.water)
    decision = route(world)
    assert (decision.department, decision.rule) == (world.water, minor_rule)
    assert route(world, world.sewage_cover).department == world.district_bureau  # its own minor has no rule


def test_community_beats_street_beats_district_beats_city(world: World) -> None:
    r = world.regions
    routing_rule_upsert(region=r.city, department=world.bureau)
    routing_rule_upsert(region=r.district, department=world.district_bureau)
    routing_rule_upsert(region=r.community, department=world.community_office)
    assert route(world, region=r.community).department == world.community_office
    assert route(world, region=r.other_community).department == world.district_bureau
    assert route(world, region=r.street).department == world.district_bureau
    assert route(world, region=r.other_district).department == world.bureau
    with pytest.raises(RoutingFailed):  # a case without a region only matches 全市 (region-less) rules
        route_case(category=world.water_cover, region=None)


def test_category_specificity_comes_before_region_depth(world: World) -> None:
    routing_rule_upsert(region=world.regions.community, department=world.community_office)
    routing_rule_upsert(category=world.water_cover, department=world.water)  # 全市
    assert route(world).department == world.water


def test_priority_beats_specificity(world: World) -> None:
    routing_rule_upsert(category=world.water_cover, region=world.regions.community, department=world.water)
    routing_rule_upsert(department=world.bureau, priority=10)
    assert route(world).department == world.bureau


def test_negative_priority_is_a_fallback(world: World) -> None:
    routing_rule_upsert(region=world.regions.district, department=world.district_bureau, priority=-10)
    routing_rule_upsert(category=world.major, department=world.bureau)
    assert route(world).department == world.bureau


def test_ties_go_to_the_oldest_rule(world: World) -> None:
    first = routing_rule_upsert(category=world.water_cover, department=world.water)
    routing_rule_upsert(category=world.water_cover, department=world.bureau)
    assert route(world).rule == first


def test_the_asset_maintainer_wins(world: World) -> None:
    routing_rule_upsert(category=world.water_cover, region=world.regions.community, department=world.water, priority=99)
    maintainer = DepartmentFactory.create(code="maint", name="历下区市政养护中心")
    decision = route_case(category=world.water_cover, region=world.regions.community, asset_maintainer=maintainer)
    assert decision == RoutingDecision(department=maintainer, rule=None, reason="部件养护单位：历下区市政养护中心")


def test_an_inactive_asset_maintainer_falls_back_to_the_rules(world: World) -> None:
    routing_rule_upsert(department=world.bureau)
    maintainer = DepartmentFactory.create(code="maint", name="旧养护单位", is_active=False)
    decision = route_case(category=world.water_cover, region=None, asset_maintainer=maintainer)
    assert decision.department == world.bureau
    assert decision.reason.startswith("部件养护单位 旧养护单位 已停用；规则#")


def test_inactive_rules_and_departments_are_ignored(world: World) -> None:
    routing_rule_upsert(department=world.bureau)
    rule = routing_rule_upsert(category=world.water_cover, department=world.water)
    routing_rule_deactivate(rule=rule)
    assert route(world).department == world.bureau
    routing_rule_upsert(category=world.major, department=world.district_bureau)
    department_upsert(code="lixia", name="历下区城市管理局", kind="enforcement")
    Department.objects.filter(pk=world.district_bureau.pk).update(is_active=False)
    cache.clear()
    assert route(world).department == world.bureau


def test_no_rule_raises_routing_failed(world: World) -> None:
    routing_rule_upsert(region=world.regions.other_district, department=world.bureau)
    with pytest.raises(RoutingFailed) as caught:
        route(world)
    assert isinstance(caught.value, NotFound)
    assert "小类 01001 供水井盖" in caught.value.message
    assert "芙蓉社区" in caught.value.message
    assert "派遣规则" in caught.value.message


def test_the_reason_names_the_rule(world: World) -> None:
    rule = routing_rule_upsert(category=world.water_cover, region=world.regions.district, department=world.water)
    assert route(world).reason == f"规则#{rule.pk}：小类 01001 供水井盖 × 历下区 → 济南水务集团（优先级 0）"
    any_rule = routing_rule_upsert(department=world.bureau, priority=-1, note="兜底")
    decision = route(world, region=world.regions.other_district)
    assert decision.reason == f"规则#{any_rule.pk}：全部分类 × 全市 → 济南市城市管理局（优先级 -1），兜底"
    major_rule = routing_rule_upsert(category=world.major, department=world.bureau)
    assert route(world, world.sewage_cover).reason.startswith(f"规则#{major_rule.pk}：大类 01 市政公用设施 × 全市")


class TestCache:
    def test_no_query_per_call_after_warm_up(self, world: World, django_assert_num_queries: object) -> None:
        routing_rule_upsert(category=world.major, region=world.regions.district, department=world.district_bureau)
        community = Region.objects.get(pk=world.regions.community.pk)  # parents not loaded
        route_case(category=world.water_cover, region=community)  # warm-up: rules + region chain
        fresh = Region.objects.get(pk=world.regions.community.pk)
        with django_assert_num_queries(0):  # type: ignore[operator]
            for _ in range(100):
                assert route_case(category=world.water_cover, region=fresh).department == world.district_bureau
            with pytest.raises(RoutingFailed):
                route_case(category=world.water_cover, region=world.regions.other_district)

    def test_a_rule_added_through_the_services_is_seen_at_once(self, world: World) -> None:
        routing_rule_upsert(department=world.bureau)
        assert route(world).department == world.bureau
        routing_rule_upsert(category=world.water_cover, department=world.water)
        assert route(world).department == world.water

    def test_orm_writes_bypass_the_cache_until_invalidated(self, world: World) -> None:
        routing_rule_upsert(department=world.bureau)
        assert route(world).department == world.bureau
        RoutingRuleFactory.create(category=world.water_cover, department=world.water)  # no invalidation
        assert route(world).department == world.bureau
        cache.invalidate()
        assert route(world).department == world.water

    def test_the_shared_snapshot_is_dropped_on_commit(
        self, world: World, django_capture_on_commit_callbacks: object
    ) -> None:
        RoutingRuleFactory.create(department=world.bureau)
        route(world)
        shared = cache.current()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:  # type: ignore[operator]
            routing_rule_upsert(category=world.water_cover, department=world.water)
            assert cache._shared is shared  # other threads keep the committed view until commit
            assert route(world).department == world.water  # this thread sees its own write
        assert len(callbacks) == 1
        assert cache._shared is None
        assert route(world).department == world.water

    def test_a_rolled_back_rule_disappears(self, world: World) -> None:
        routing_rule_upsert(department=world.bureau)
        assert route(world).department == world.bureau
        seen_inside: list[Department] = []

        def write_then_fail() -> None:
            with transaction.atomic():
                routing_rule_upsert(category=world.water_cover, department=world.water)
                seen_inside.append(route(world).department)
                raise RuntimeError("回滚")

        with pytest.raises(RuntimeError):
            write_then_fail()
        assert seen_inside == [world.water]
        assert not RoutingRule.objects.filter(department=world.water).exists()
        assert route(world).department == world.bureau

    def test_the_snapshot_expires_after_the_ttl(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        RoutingRuleFactory.create(department=world.bureau)
        assert route(world).department == world.bureau
        RoutingRuleFactory.create(category=world.water_cover, department=world.water)  # as if by another process
        assert route(world).department == world.bureau
        now = time.monotonic()
        monkeypatch.setattr(cache, "clock", lambda: now + cache.DEFAULT_TTL_SECONDS + 1)
        assert route(world).department == world.water

    def test_route_case_is_fast(self, world: World) -> None:
        r = world.regions
        for region in (r.city, r.district, r.street, r.community):
            routing_rule_upsert(region=region, department=world.bureau)
            routing_rule_upsert(category=world.major, region=region, department=world.district_bureau)
        routing_rule_upsert(category=world.water_cover, region=r.street, department=world.water)
        route(world)
        calls = 5000
        started = time.perf_counter()
        for _ in range(calls):
            route_case(category=world.water_cover, region=r.community)
        per_call = (time.perf_counter() - started) / calls
        assert per_call < 200e-6  # measured ≈ 1–3 µs; generous for slow CI machines
