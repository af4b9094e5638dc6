"""cityloop import_grids FILE --crs wgs84 [--code-field code]: import unit grid boundaries."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.geo import services


class Command(BaseCommand):
    help = (
        "导入单元网格边界（GeoJSON 或 Shapefile/.zip）：15 位编码，所属社区须已存在，网格之间不得重叠；"
        "全部校验通过才写入，已存在的编码会被更新。"
        " Import unit grids (15-digit codes, existing communities, no overlaps); all-or-nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="GeoJSON（.json/.geojson）、Shapefile（.shp，旁边有 .dbf/.prj）或其 .zip")
        parser.add_argument(
            "--crs",
            help="文件坐标系 / source CRS: wgs84, cgcs2000, gcj02, bd09 或 EPSG:NNNN；Shapefile 有 .prj 时可省略",
        )
        parser.add_argument("--code-field", default="code", help="网格编码属性名 / code attribute（默认 code）")
        parser.add_argument(
            "--community-field", help="所属社区代码属性名 / community attribute；省略时取网格编码前 12 位"
        )
        parser.add_argument("--level-field", help="管理等级属性名 / management level attribute（A/B/C 或 一类/二类/三类）")

    def handle(self, *args: Any, **options: Any) -> None:
        console = console_for(self.stdout)
        try:
            report = services.grids_import(
                path=options["file"],
                crs=options["crs"],
                code_field=options["code_field"],
                community_field=options["community_field"],
                level_field=options["level_field"],
            )
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
        console.print(f"[green]✓[/green] 单元网格导入完成：{report.summary()}")
