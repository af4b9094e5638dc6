"""``cityloop locate LON LAT``: the unit grid and regions of a point, and who handles a category there."""

from __future__ import annotations

from argparse import ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.catalog.selectors import category_by_code, category_label, handling_limit, route_case
from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.core.text import decimal
from cityloop.geo.selectors import locate_point


def _coordinate(text: str) -> float:
    """The rule of every channel (``core.text.decimal``): full-width digits read as ASCII, plain decimals only."""
    value = decimal(text)
    if value is None:
        raise ArgumentTypeError(f"应为十进制数（如 117.0215），不是“{text}”")
    return value


class Command(BaseCommand):
    help = (
        "查询一个位置所在的单元网格和社区/街道/区/市；给出 --category 时，还显示责任处置单位、选中它的派遣规则和处置时限。"
        "坐标系默认 WGS-84，可用 --crs gcj02/bd09/cgcs2000/EPSG:NNNN。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lon", type=_coordinate, help="经度")
        parser.add_argument("lat", type=_coordinate, help="纬度")
        parser.add_argument("--crs", default="wgs84", help="输入坐标系：wgs84（默认）、cgcs2000、gcj02、bd09 或 EPSG:NNNN")
        parser.add_argument("--category", help="案件小类编码，例如 01001")

    def handle(self, *args: Any, **options: Any) -> None:
        console = console_for(self.stdout)
        try:
            location = locate_point(lon=options["lon"], lat=options["lat"], crs=options["crs"])
            console.print(f"单元网格：{location.grid.code}")
            console.print(f"WGS-84：{location.lon:.6f}, {location.lat:.6f}")
            for label, region in (("社区", location.community), ("街道", location.street),
                                  ("区县", location.district), ("市", location.city)):
                console.print(f"{label}：{region.name}（{region.code}）" if region else f"{label}：—")
            if options["category"]:
                category = category_by_code(code=options["category"])
                decision = route_case(category=category, region=location.community)
                limit = handling_limit(category=category)
                console.print(f"分类：{category_label(category)}")
                console.print(f"责任单位：{decision.department.name}")
                console.print(f"依据：{decision.reason}")
                console.print(f"处置时限：{limit.value.normalize():f} {limit.unit.label}（{limit.source}）")
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
