"""``cityloop demo``: load the demo city of 济南 into the configured database (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.table import Table

from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.demo.services import demo_load


class Command(BaseCommand):
    help = "载入演示城市（济南）：区县边界、演示街道社区和单元网格、案件分类、处置单位、派遣规则和各岗位演示用户。可重复运行。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="不打印演示账号")
        parser.add_argument("--simulate-days", type=int, default=5,
                            help="城市还没有案卷时，模拟最近几天的运行（默认 5 天，0 表示不模拟）")
        parser.add_argument("--simulate-rate", type=int, default=40, help="模拟时每天的上报数（默认 40）")

    def handle(self, *args: Any, **options: Any) -> None:
        console = console_for(self.stdout)
        with console.status("载入演示城市…") as status:
            try:
                report, logins = demo_load(
                    progress=lambda msg: status.update(f"载入演示城市：{msg}…"),
                    simulate_days=options["simulate_days"], simulate_rate=options["simulate_rate"],
                )
            except CityLoopError as exc:
                raise CommandError(exc.message) from exc
        created = {k: v for k, v in report.created.items() if v}
        if created:
            console.print("新建：" + "，".join(f"{k} {v:,}" for k, v in created.items()))
        else:
            console.print("演示城市已是最新，没有新建任何数据。")
        if not options["quiet_logins"]:
            table = Table(title="演示账号（仅供演示，上线前请删除或修改密码）")
            for column in ("用户名", "岗位", "密码"):
                table.add_column(column)
            for row in logins:
                table.add_row(*row)
            console.print(table)
