"""``cityloop import_categories FILE [--legacy FILE]``: load the GB/T 47678.5 category csv."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.catalog.services import categories_import
from cityloop.core.errors import ImportFailed


class Command(BaseCommand):
    help = "导入案件分类（GB/T 47678.5 五位编码 csv），可同时导入旧版四位编码并对应到新分类；可重复执行。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="FILE", help="分类 csv（列 kind,major_code,major_name,minor_code,minor_name[,time_limit,time_unit,source]）")
        parser.add_argument("--legacy", metavar="FILE", default=None, help="旧版 CJ/T 214 四位编码 csv")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = categories_import(path=options["path"], legacy_path=options["legacy"])
        except ImportFailed as exc:
            raise CommandError(f"导入失败，数据库未改动。{exc.message}") from exc
        for line in report.lines():
            self.stdout.write(line)
