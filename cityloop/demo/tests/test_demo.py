"""The demo city a newcomer lands in: real districts, generated streets and grids, one user per role."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from cityloop.accounts.models import Role, User
from cityloop.cases.models import Case
from cityloop.catalog.models import Category, RoutingRule
from cityloop.catalog.selectors import route_case
from cityloop.geo.models import Grid, Region, RegionLevel
from cityloop.geo.selectors import locate_point

from .conftest import ONE_DISTRICT

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_loads_real_districts_generated_streets_and_grids(demo):
    report, logins = demo
    assert Region.objects.filter(level=RegionLevel.DISTRICT).count() == 12
    assert set(Region.objects.filter(level=RegionLevel.DISTRICT).values_list("name", flat=True)) >= {
        "历下区", "市中区", "槐荫区", "天桥区", "章丘区", "商河县"}
    streets = Region.objects.filter(level=RegionLevel.STREET)
    assert streets.count() == 3 and all(s.is_demo and "（演示）" in s.name for s in streets)
    assert all(len(code) == 15 for code in Grid.objects.values_list("code", flat=True)[:500])
    assert Grid.objects.count() > 9_000  # about 100 km² of 100 m cells
    # 泉城广场 lies in 历下区.
    assert locate_point(lon=117.0199, lat=36.6620).district.name == "历下区"
    roles = set(User.objects.filter(username__in=[u for u, _, _ in logins]).values_list("role", flat=True))
    assert roles == set(Role.values)
    assert report.created["模拟案卷"] == 5 and Case.objects.count() == 5


def test_demo_routes_events_to_the_street_office_and_manholes_to_utilities(demo):
    location = locate_point(lon=117.0199, lat=36.6620)
    garbage = route_case(category=Category.objects.get(code="06010"), region=location.community)
    assert garbage.department.region == location.street and "办事处" in garbage.department.name
    water = route_case(category=Category.objects.get(code="01001"), region=location.community)
    assert water.department.code == "water"
    assert RoutingRule.objects.filter(is_demo=True).exists()


def test_demo_twice_loads_nothing_twice(demo, capsys):
    from cityloop.demo.services import demo_load

    counts = (Region.objects.count(), Grid.objects.count(), Category.objects.count(), User.objects.count(),
              Case.objects.count())
    report, _ = demo_load(districts=ONE_DISTRICT, simulate_days=1, simulate_rate=5)
    assert not any(report.created.values())
    assert counts == (Region.objects.count(), Grid.objects.count(), Category.objects.count(),
                      User.objects.count(), Case.objects.count())


def test_demo_command_prints_logins():
    import io

    out = io.StringIO()
    call_command("demo", "--simulate-days", "0", stdout=out)
    text = out.getvalue()
    assert "inspector" in text and "Demo@2026" in text and "dispatcher" in text
