"""A small city with named personas for the closed-loop tests.

Two districts: 历下区 (370102) with one community of 2×2 unit grids, and 市中区 (370103) with one grid.
Categories 01001 供水井盖 (4 工作时, urgent 1 工作时) routed to 市政, and 06010 暴露垃圾 routed to 环卫.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import shapely

from cityloop.accounts.models import Role, User
from cityloop.accounts.services import user_upsert
from cityloop.catalog import services as catalog_services
from cityloop.catalog.models import Category, CategoryKind, Department, DepartmentKind, Stage
from cityloop.core.choices import TimeUnit
from cityloop.geo.lookup import reset_grid_index
from cityloop.geo.models import Grid, Region, RegionLevel

SHANGHAI = ZoneInfo("Asia/Shanghai")
CELL = 0.001  # about 90 m × 111 m at 36.6°N
WEST, NORTH = 117.000, 36.660


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def _square(x: float, y: float, size: float = CELL) -> shapely.Polygon:
    return shapely.box(x, y - size, x + size, y)


def _region(code: str, name: str, level: RegionLevel, parent: Region | None, geom: shapely.Geometry) -> Region:
    region = Region(code=code, name=name, level=level, parent=parent)
    region.set_boundary(geom, area_m2=geom.area * 1e10)
    region.save()
    return region


@dataclass
class City:
    city: Region
    lixia: Region
    shizhong: Region
    community: Region
    other_community: Region
    grids: list[Grid]
    other_grid: Grid
    manhole: Category
    garbage: Category
    municipal: Department
    sanitation: Department

    def point(self, index: int = 0) -> tuple[float, float]:
        """The centre of grid ``index`` (0..3 in 历下区, 4 = the grid in 市中区)."""
        grid = self.other_grid if index == 4 else self.grids[index]
        c = grid.boundary.centroid
        return c.x, c.y


@pytest.fixture
def city(db) -> City:
    whole = shapely.box(WEST, NORTH - 3 * CELL, WEST + 4 * CELL, NORTH)
    city = _region("370100", "济南市", RegionLevel.CITY, None, whole)
    lixia_geom = _square(WEST, NORTH, 2 * CELL)
    lixia = _region("370102", "历下区", RegionLevel.DISTRICT, city, lixia_geom)
    street = _region("370102001", "甲街道", RegionLevel.STREET, lixia, lixia_geom)
    community = _region("370102001001", "甲社区", RegionLevel.COMMUNITY, street, lixia_geom)
    grids = []
    for n, (col, row) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)], start=1):
        grid = Grid(code=f"370102001001{n:03d}", community=community)
        grid.set_boundary(_square(WEST + col * CELL, NORTH - row * CELL), area_m2=10_000)
        grid.save()
        grids.append(grid)
    other_geom = _square(WEST + 3 * CELL, NORTH)
    shizhong = _region("370103", "市中区", RegionLevel.DISTRICT, city, other_geom)
    other_street = _region("370103001", "乙街道", RegionLevel.STREET, shizhong, other_geom)
    other_community = _region("370103001001", "乙社区", RegionLevel.COMMUNITY, other_street, other_geom)
    other_grid = Grid(code="370103001001001", community=other_community)
    other_grid.set_boundary(other_geom, area_m2=10_000)
    other_grid.save()
    reset_grid_index()

    major_01 = Category.objects.create(code="01", name="市政公用设施", kind=CategoryKind.COMPONENT)
    manhole = Category.objects.create(code="01001", name="供水井盖", kind=CategoryKind.COMPONENT, parent=major_01)
    major_06 = Category.objects.create(code="06", name="市容环境类", kind=CategoryKind.EVENT)
    garbage = Category.objects.create(code="06010", name="暴露垃圾", kind=CategoryKind.EVENT, parent=major_06)
    catalog_services.time_limit_set(category=manhole, urgency="normal", value=Decimal(4), unit=TimeUnit.WORK_HOUR)
    catalog_services.time_limit_set(category=manhole, urgency="urgent", value=Decimal(1), unit=TimeUnit.WORK_HOUR)
    catalog_services.time_limit_set(category=garbage, urgency="normal", value=Decimal(2), unit=TimeUnit.WORK_DAY)
    for stage in (Stage.ACCEPT, Stage.VERIFY, Stage.REGISTER, Stage.DISPATCH, Stage.CHECK, Stage.CLOSE):
        catalog_services.stage_limit_set(stage=stage, value=Decimal(1), unit=TimeUnit.WORK_HOUR)
    municipal = catalog_services.department_upsert(code="municipal", name="市政中心", kind=DepartmentKind.MUNICIPAL)
    sanitation = catalog_services.department_upsert(code="sanitation", name="环卫中心", kind=DepartmentKind.SANITATION)
    catalog_services.routing_rule_upsert(category=major_01, department=municipal)
    catalog_services.routing_rule_upsert(category=major_06, department=sanitation)
    return City(city, lixia, shizhong, community, other_community, grids, other_grid, manhole, garbage,
                municipal, sanitation)


@dataclass
class Personas:
    inspector: User
    other_inspector: User
    operator: User
    shift_leader: User
    dispatcher: User
    handler_a: User
    handler_b: User
    leader: User
    citizen: User
    outsider: User  # an operator of 市中区, who must be refused 历下区's cases


@pytest.fixture
def people(city: City) -> Personas:
    return Personas(
        inspector=user_upsert(username="inspector", role=Role.INSPECTOR, full_name="王建国", regions=[city.lixia]),
        other_inspector=user_upsert(username="inspector2", role=Role.INSPECTOR, full_name="钱进", regions=[city.lixia]),
        operator=user_upsert(username="operator", role=Role.OPERATOR, full_name="李晓梅"),
        shift_leader=user_upsert(username="shiftlead", role=Role.SHIFT_LEADER, full_name="赵志强"),
        dispatcher=user_upsert(username="dispatcher", role=Role.DISPATCHER, full_name="陈静"),
        handler_a=user_upsert(username="handler", role=Role.HANDLER, full_name="刘洋", departments=[city.municipal]),
        handler_b=user_upsert(username="handler2", role=Role.HANDLER, full_name="孙丽", departments=[city.sanitation]),
        leader=user_upsert(username="leader", role=Role.LEADER, full_name="周海涛"),
        citizen=user_upsert(username="citizen", role=Role.CITIZEN, full_name="吴小雨", phone="13800001234"),
        outsider=user_upsert(username="outsider", role=Role.OPERATOR, full_name="郑外", regions=[city.shizhong]),
    )


@pytest.fixture
def jpeg_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 80, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def handling(city, people):
    """A 供水井盖 case dispatched Monday 2026-03-02 09:00: 4 工作时, yellow from 12:00 (3.2 h → 13:42), due 14:30."""
    from cityloop.cases import services
    from cityloop.cases.statuses import Source

    lon, lat = city.point(0)
    case = services.case_report(source=Source.INSPECTOR, category=city.manhole, description="井盖缺失", lon=lon,
                                lat=lat, reporter=people.inspector, at=at(2026, 3, 2, 8, 50)).case
    services.case_register(case=case, actor=people.operator, at=at(2026, 3, 2, 8, 55))
    return services.case_dispatch(case=case, actor=people.dispatcher, at=at(2026, 3, 2, 9, 0))
