"""``cityloop district_ranking``: 每季度市对县考评 — the quarter's ranking of districts, ready to print."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.core.errors import CityLoopError
from cityloop.evaluation.management.commands.evaluate import print_report, wide_console, write_xlsx
from cityloop.evaluation.periods import QUARTER, Period, default_period
from cityloop.evaluation.selectors import district_ranking


class Command(BaseCommand):
    help = "每季度市对县考评：按季度计算各区县综合得分、等级、排名和较上季度的变化，可导出 Excel 报表。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quarter", help="季度，如 2026Q3（默认：上一个完整季度）")
        parser.add_argument("--xlsx", help="导出 Excel 报表到此文件")
        parser.add_argument("--as-of", dest="as_of", type=datetime.fromisoformat, default=None,
                            help="统计截至时间（ISO 8601，默认现在）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            quarter = Period.parse(options["quarter"]) if options["quarter"] else default_period(QUARTER)
            report = district_ranking(quarter=quarter.at(options["as_of"]))
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
        print_report(wide_console(self.stdout), report)
        if options["xlsx"]:
            self.stdout.write(f"已导出 {write_xlsx(options['xlsx'], [report])}")
