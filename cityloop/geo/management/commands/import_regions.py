"""cityloop import_regions FILE --crs gcj02 [--level district] [--parent CODE]: import region boundaries."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.geo import services


class Command(BaseCommand):
    help = (
        "导入行政区划边界（GeoJSON 或 Shapefile/.zip），全部校验通过才在一个事务中写入；已存在的代码会被更新。"
        " Import region boundaries (GeoJSON or Shapefile/.zip); all-or-nothing, existing codes are updated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="GeoJSON（.json/.geojson）、Shapefile（.shp，旁边有 .dbf/.prj）或其 .zip")
        parser.add_argument(
            "--crs",
            help="文件坐标系 / source CRS: wgs84, cgcs2000, gcj02, bd09 或 EPSG:NNNN；Shapefile 有 .prj 时可省略",
        )
        parser.add_argument(
            "--level",
            choices=["city", "district", "street", "community"],
            help="区划级别 / level；省略时按代码位数推断（6 位：区县，末两位 00 为市；9 位：街道；12 位：社区）",
        )
        parser.add_argument(
            "--parent", help="上级区划代码 / parent code；省略时按代码前缀推断（区县的上级市存在时才关联）"
        )
        parser.add_argument("--code-field", default="adcode", help="区划代码属性名 / code attribute（默认 adcode）")
        parser.add_argument("--name-field", default="name", help="名称属性名 / name attribute（默认 name）")

    def handle(self, *args: Any, **options: Any) -> None:
        console = console_for(self.stdout)
        try:
            report = services.regions_import(
                path=options["file"],
                crs=options["crs"],
                level=options["level"],
                parent_code=options["parent"],
                code_field=options["code_field"],
                name_field=options["name_field"],
            )
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
        console.print(f"[green]✓[/green] 行政区划导入完成：{report.summary()}")
