"""Load the demo city of 济南: real district boundaries, generated streets, communities and grids, the
standard categories, demo departments, routing rules, time limits and one user per role.

Every step is idempotent (a second run loads nothing twice) and runs in its own transaction, so an
interrupted run leaves whole steps behind and the next run completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from cityloop.accounts.models import User
from cityloop.accounts.services import password_mark_published, user_upsert
from cityloop.cases.models import Case
from cityloop.cases.simulation import simulate
from cityloop.catalog import services as catalog_services
from cityloop.catalog.models import Category, Department, DepartmentKind
from cityloop.core.crs import local_metric_transformer
from cityloop.demo import data
from cityloop.demo.partition import partition_exact
from cityloop.geo import services as geo_services
from cityloop.geo.models import Grid, Region, RegionLevel, ResponsibilityGrid

Step = Callable[[str], None]


@dataclass
class DemoReport:
    """What one run of the demo loader created (zero everywhere on a second run)."""

    created: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, count: int) -> None:
        self.created[what] = self.created.get(what, 0) + count


def _shared(relative: str) -> Path:
    return Path(settings.REFERENCE_DATA_DIR) / relative


def _to_metric(geometry: BaseGeometry) -> tuple[BaseGeometry, Transformer, Transformer]:
    centre = geometry.centroid
    forward = local_metric_transformer(round(centre.x, 2), round(centre.y, 2))
    backward = Transformer.from_crs(forward.target_crs, forward.source_crs, always_xy=True)
    projected = shapely.transform(geometry, lambda xy: _apply(forward, xy))
    return projected, forward, backward


def _apply(transformer: Transformer, xy: np.ndarray) -> np.ndarray:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    xy[:, 0], xy[:, 1] = x, y
    return xy


def _numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 21 → 二十一 (enough for demo names)."""
    tens, ones = divmod(n, 10)
    digits = data.CHINESE_NUMERALS
    if tens == 0:
        return digits[ones]
    head = "" if tens == 1 else digits[tens]
    return f"{head}十{digits[ones] if ones else ''}"


def load_city(report: DemoReport) -> Region:
    city, created = Region.objects.get_or_create(
        code=data.CITY_CODE, defaults={"name": data.CITY_NAME, "level": RegionLevel.CITY}
    )
    report.add("市", int(created))
    before = Region.objects.filter(level=RegionLevel.DISTRICT).count()
    geo_services.regions_import(path=_shared(data.DISTRICTS_FILE), crs="gcj02", level="district", parent_code=city.code)
    report.add("区县", Region.objects.filter(level=RegionLevel.DISTRICT).count() - before)
    if city.boundary_wkb is None:
        districts = [d.boundary for d in Region.objects.filter(parent=city)]
        union = shapely.union_all([d for d in districts if d is not None])
        geo_services.region_set_boundary(region=city, geometry=union)
    return city


def _subdivide(parent: Region, parts: int, *, level: RegionLevel, name_for: Callable[[int], str]) -> int:
    """Create ``parts`` demo child regions of ``parent`` covering it; nothing when it already has children."""
    if parent.children.exists():
        return 0
    boundary = parent.boundary
    assert boundary is not None, f"{parent} has no boundary"
    _, forward, backward = _to_metric(boundary)
    cells = partition_exact(
        boundary, parts, seed=int(parent.code),
        to_metric=lambda g: shapely.transform(g, lambda xy: _apply(forward, xy)),
        to_source=lambda g: shapely.transform(g, lambda xy: _apply(backward, xy)),
    )
    with transaction.atomic():
        for number, geometry in enumerate(cells, start=1):
            geo_services.region_upsert(
                code=f"{parent.code}{number:03d}",
                name=name_for(number),
                level=level,
                parent=parent,
                geometry=geometry,
                is_demo=True,
            )
    return len(cells)


def load_streets_and_communities(report: DemoReport, *, districts: dict[str, int]) -> None:
    for code, street_count in districts.items():
        district = Region.objects.get(code=code)
        short = district.name.removesuffix("区").removesuffix("县")
        report.add(
            "街道",
            _subdivide(district, street_count, level=RegionLevel.STREET, name_for=_street_namer(short)),
        )
        for street in district.children.order_by("code"):
            area_km2 = (street.area_m2 or 0) / 1e6
            count = max(2, round(area_km2 / data.COMMUNITY_KM2))
            report.add(
                "社区",
                _subdivide(street, count, level=RegionLevel.COMMUNITY, name_for=_community_namer(short, street)),
            )


def _street_namer(short: str) -> Callable[[int], str]:
    return lambda n: f"{short}{_numeral(n)}街道（演示）"


def _community_namer(short: str, street: Region) -> Callable[[int], str]:
    street_number = int(street.code[-3:])
    return lambda n: f"{short}{_numeral(street_number)}街第{_numeral(n)}社区（演示）"


def load_grids(report: DemoReport, *, districts: dict[str, int], progress: Step | None = None) -> None:
    for code in districts:
        district = Region.objects.get(code=code)
        if progress:
            progress(f"生成 {district.name} 单元网格")
        report.add("单元网格", geo_services.grids_generate(region=district, size_m=100.0, skip_existing=True))


def load_catalog(report: DemoReport) -> None:
    before = Category.objects.count()
    catalog_services.categories_import(
        path=_shared(data.CATEGORIES_FILE), legacy_path=_shared(data.LEGACY_CATEGORIES_FILE)
    )
    report.add("案件分类", Category.objects.count() - before)
    with transaction.atomic():
        for major, (value, unit, urgent_value, urgent_unit) in data.MAJOR_LIMITS.items():
            category = Category.objects.get(code=major)
            if not category.time_limits.exists():
                catalog_services.time_limit_set(category=category, urgency="normal", value=value, unit=unit, is_demo=True)
                catalog_services.time_limit_set(
                    category=category, urgency="urgent", value=urgent_value, unit=urgent_unit, is_demo=True
                )
                report.add("处置时限", 2)
        for stage, (value, unit) in data.STAGE_LIMITS.items():
            catalog_services.stage_limit_set(stage=stage, value=value, unit=unit, is_demo=True)


@transaction.atomic
def load_departments_and_rules(report: DemoReport, *, districts: dict[str, int]) -> None:
    before_departments, before_rules = Department.objects.count(), _rule_count()
    city = Region.objects.get(code=data.CITY_CODE)
    by_code: dict[str, Department] = {}
    for code, name, kind in data.CITY_DEPARTMENTS:
        by_code[code] = catalog_services.department_upsert(
            code=code, name=name, kind=kind, region=city, is_demo=True
        )
    for district in Region.objects.filter(level=RegionLevel.DISTRICT):
        bureau = catalog_services.department_upsert(
            code=f"bureau-{district.code}", name=f"{district.name}城市管理局", kind=DepartmentKind.ENFORCEMENT,
            region=district, is_demo=True,
        )
        # Anything without a more specific rule goes to the district's urban management bureau.
        catalog_services.routing_rule_upsert(region=district, department=bureau, priority=-10, is_demo=True,
                                             note="兜底：区城市管理局")
    for major, department_code in data.MAJOR_ROUTES.items():
        catalog_services.routing_rule_upsert(
            category=Category.objects.get(code=major), department=by_code[department_code], is_demo=True
        )
    for minor, department_code in data.MINOR_ROUTES.items():
        catalog_services.routing_rule_upsert(
            category=Category.objects.get(code=minor), department=by_code[department_code], is_demo=True
        )
    street_majors = [Category.objects.get(code=code) for code in data.STREET_OFFICE_MAJORS]
    for street in Region.objects.filter(level=RegionLevel.STREET, parent__code__in=list(districts)):
        office = catalog_services.department_upsert(
            code=f"street-{street.code}", name=f"{street.name.removesuffix('（演示）')}办事处（演示）",
            kind=DepartmentKind.STREET_OFFICE, region=street, is_demo=True,
        )
        for major_category in street_majors:
            catalog_services.routing_rule_upsert(category=major_category, region=street, department=office,
                                                 is_demo=True, note="属地管理：街道办事处")
    report.add("处置单位", Department.objects.count() - before_departments)
    report.add("派遣规则", _rule_count() - before_rules)


def _rule_count() -> int:
    from cityloop.catalog.models import RoutingRule

    return RoutingRule.objects.count()


@transaction.atomic
def load_users(report: DemoReport, *, districts: dict[str, int]) -> list[tuple[str, str, str]]:
    """One demo user per role; returns (username, role label, password) for printing."""
    first_district = Region.objects.get(code=next(iter(districts)))
    first_street = first_district.children.order_by("code").first()
    scopes = {"street": [first_street] if first_street else [], "district": [first_district], None: []}
    logins = []
    for username, role, full_name, department_code, scope in data.USERS:
        created = not User.objects.filter(username=username).exists()
        departments = Department.objects.filter(code=department_code) if department_code else []
        user = user_upsert(
            username=username, role=role, full_name=full_name, regions=scopes[scope], departments=departments,
            password=data.DEMO_PASSWORD if created else None,
        )
        if created:  # printed on the terminal and in the README: warn until it is changed
            password_mark_published(user=user, note="演示账号")
        report.add("用户", int(created))
        logins.append((user.username, role.label, data.DEMO_PASSWORD))
    inspector = User.objects.get(username="inspector")
    if first_street is not None and not ResponsibilityGrid.objects.filter(code=f"{first_street.code}01").exists():
        beat = ResponsibilityGrid.objects.create(code=f"{first_street.code}01", name=f"{first_street.name}1号责任网格")
        beat.grids.set(Grid.objects.filter(community__parent=first_street))
        beat.inspectors.add(inspector)
        report.add("责任网格", 1)
    return logins


def demo_load(
    *,
    districts: dict[str, int] | None = None,
    progress: Step | None = None,
    simulate_days: int = data.SIMULATE_DAYS,
    simulate_rate: int = data.SIMULATE_RATE,
) -> tuple[DemoReport, list[tuple[str, str, str]]]:
    """Load (or complete) the demo city; ``districts`` limits the generated part (tests use one district).

    When the database has no cases yet, a short simulation (``simulate_days`` days up to yesterday,
    ``simulate_rate`` reports a day) fills the city with activity; 0 days skips it.
    """
    districts = districts or data.CENTRAL_DISTRICTS
    report = DemoReport()
    say = progress or (lambda _msg: None)
    say("导入区县边界")
    load_city(report)
    say("生成演示街道和社区")
    load_streets_and_communities(report, districts=districts)
    load_grids(report, districts=districts, progress=say)
    say("导入案件分类")
    load_catalog(report)
    say("创建处置单位和派遣规则")
    load_departments_and_rules(report, districts=districts)
    say("创建演示用户")
    logins = load_users(report, districts=districts)
    if simulate_days and not Case.objects.exists():
        say("模拟最近几天的城市运行")
        result = simulate(days=simulate_days, rate=simulate_rate, seed=1)
        report.add("模拟案卷", result.reports)
    return report, logins
