"""``cityloop import_plan FILE [--year 2024] [--issuer NAME] [--dry-run] [--json]``: import a yearly work plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.table import Table

from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.workplans.readers import parse_file
from cityloop.workplans.services import plan_import


class Command(BaseCommand):
    help = (
        "导入年度工作要点（.txt UTF-8/GB18030、.html、.docx、带文字层的 PDF）：识别章节、编号任务、牵头领导、"
        "责任单位、量化目标和完成时限。--dry-run 只解析不保存；--json 在标准输出打印解析结果（JSON）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="FILE", help="工作要点文件")
        parser.add_argument("--year", type=int, default=None, help="年度（默认从文件标题识别）")
        parser.add_argument("--issuer", default=None, help="发文单位（默认从文件识别）")
        parser.add_argument("--dry-run", action="store_true", help="只解析并显示结果，不保存")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出解析结果（只输出 JSON）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            parsed = parse_file(path.read_bytes(), path.name, year=options["year"], issuer=options["issuer"])
            plan = None
            if not options["dry_run"]:
                plan = plan_import(parsed=parsed, year=options["year"], source_name=path.name)
        except CityLoopError as exc:
            hint = "（可用 --year 指定年度）" if exc.field == "year" else "（可用 --issuer 指定发文单位）" \
                if exc.field == "issuer" else ""
            raise CommandError(f"导入失败，数据库未改动。{exc.message}{hint}") from exc
        if options["json"]:
            document = parsed.to_dict()
            document["saved"] = plan is not None
            document["plan_id"] = plan.pk if plan else None
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
            return
        console = console_for(self.stdout)
        table = Table(title=f"{parsed.title}（{parsed.issuer or '发文单位未识别'}，{parsed.year or '年度未识别'}）")
        for column in ("任务号", "章节", "任务", "牵头领导", "牵头单位", "配合单位", "目标", "完成时限", "提示"):
            table.add_column(column, overflow="fold")
        for task in parsed.tasks:
            table.add_row(
                task.code, task.section or "", task.title[:24], "、".join(task.leaders), "、".join(task.lead_units),
                "、".join(task.co_units),
                "；".join(f"{t.what} {t.value.normalize():f}{t.unit}" for t in task.targets),
                task.deadline.isoformat() if task.deadline else "", "；".join(task.warnings),
            )
        console.print(table)
        console.print(f"章节 {len(parsed.sections)} 个，任务 {len(parsed.tasks)} 项，量化目标 {parsed.target_count} 个。")
        for warning in parsed.warnings:
            console.print(f"提示：{warning}")
        if plan is None:
            console.print("未保存（--dry-run）。")
        else:
            console.print(f"已导入：工作要点 #{plan.pk}「{plan.title}」，页面 /plans/{plan.pk}/")
