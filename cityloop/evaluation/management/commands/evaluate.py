"""``cityloop evaluate``: the evaluation tables of one period, on the terminal and optionally as .xlsx."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.table import Table

from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.evaluation.exports import build_workbook
from cityloop.evaluation.formatting import format_cell, format_change, format_value
from cityloop.evaluation.models import Level
from cityloop.evaluation.periods import Period
from cityloop.evaluation.selectors import LevelReport, evaluate


def parse_levels(values: list[str] | None) -> list[Level]:
    names = [v.strip() for raw in (values or ["department"]) for v in raw.split(",") if v.strip()]
    if "all" in names:
        return list(Level)
    try:
        return [Level(n) for n in dict.fromkeys(names)]
    except ValueError as exc:
        raise CommandError(f"未知的考评对象：{exc}；可用 {', '.join(Level.values)} 或 all") from exc


def parse_period(options: dict[str, Any]) -> Period:
    try:
        if options.get("period"):
            period = Period.parse(options["period"])
        elif options.get("from") and options.get("to"):
            period = Period.between(options["from"], options["to"])
        else:
            raise CommandError("请用 --from/--to 或 --period 指定考评周期")
    except CityLoopError as exc:
        raise CommandError(exc.message) from exc
    return period.at(options.get("as_of"))


def print_report(console: Any, report: LevelReport) -> None:
    table = Table(title=f"{report.level_label}综合评价　{report.period.label}", title_justify="left")
    table.add_column("排名", justify="right")
    table.add_column("名称")
    for column in report.columns:
        table.add_column(column.label, justify="right")
    for label in ("综合得分", "等级", "较上期"):
        table.add_column(label, justify="right")
    rows = [*report.rows, *([report.total] if report.total is not None else [])]
    for row in rows:
        name = "全市合计" if row.unit is None else row.unit.name
        table.add_row(
            "" if row.rank is None else str(row.rank), name,
            *[format_cell(row.values.get(c.code), c) for c in report.columns],
            format_value(row.composite, "score"), row.grade or "—", format_change(row.change),
            end_section=row.unit is None,
        )
    console.print(table)
    console.print(f"综合指标值 = {report.scheme_text}")


def wide_console(stdout: Any) -> Any:
    """A console wide enough for the indicator tables (they have up to 22 columns)."""
    console = console_for(stdout)
    console.width = max(console.width, 240)
    return console


def write_xlsx(path: str, reports: list[LevelReport]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(build_workbook(reports))
    return target


class Command(BaseCommand):
    help = "综合评价：按监督员、受理员、值班长、派遣员、处置单位或区域（区县、街道、社区、单元网格）计算一个考评周期的指标、综合得分、等级和排名。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from", type=date.fromisoformat, help="第一天 YYYY-MM-DD")
        parser.add_argument("--to", dest="to", type=date.fromisoformat, help="最后一天 YYYY-MM-DD（含）")
        parser.add_argument("--period", help="或：2026Q3（季度）、2026-10（月）、2026（年）")
        parser.add_argument("--by", action="append",
                            help=f"考评对象，可重复或用逗号分隔：{', '.join(Level.values)}，或 all（默认 department）")
        parser.add_argument("--xlsx", help="同时导出 Excel 报表到此文件（每个考评对象一个工作表）")
        parser.add_argument("--as-of", dest="as_of", type=datetime.fromisoformat, default=None,
                            help="统计截至时间（ISO 8601，默认现在）：判断未结束的环节是否超时")
        parser.add_argument("--no-compare", action="store_true", help="不计算与上期的比较")

    def handle(self, *args: Any, **options: Any) -> None:
        levels = parse_levels(options["by"])
        period = parse_period(options)
        console = wide_console(self.stdout)
        try:
            reports = [evaluate(level=lv, period=period, compare=not options["no_compare"]) for lv in levels]
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
        for report in reports:
            print_report(console, report)
        if options["xlsx"]:
            target = write_xlsx(options["xlsx"], reports)
            self.stdout.write(f"已导出 {target}")
