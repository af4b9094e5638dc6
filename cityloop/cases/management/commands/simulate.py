"""``cityloop simulate``: fill the city with realistic activity through the case services."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import Progress

from cityloop.cases.simulation import simulate
from cityloop.core.errors import CityLoopError


class Command(BaseCommand):
    help = (
        "模拟城市运行：按真实比例由监督员、市民、热线、传感器和摄像头上报问题，并经核实、立案、派遣、处置"
        "（含超期、回退、延期、挂账、返工）、核查、结案和评价走完闭环。同一随机种子结果相同；每个模拟日一个事务，中断不留半天数据。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="模拟天数（默认 30）")
        parser.add_argument("--seed", type=int, default=1, help="随机种子（默认 1）")
        parser.add_argument("--rate", type=int, default=2000, help="每天上报数（默认 2000）")
        parser.add_argument("--start", type=date.fromisoformat, default=None,
                            help="第一天 YYYY-MM-DD（默认：今天往前 --days 天）")
        parser.add_argument("--no-notify", action="store_true",
                            help="不产生站内通知（回填历史数据时使用，以免演示用户收到成千上万条未读消息）")

    def handle(self, *args: Any, **options: Any) -> None:
        began = time.perf_counter()
        with Progress() as progress:
            task = progress.add_task("模拟中（天）", total=options["days"])
            try:
                report = simulate(days=options["days"], seed=options["seed"], rate=options["rate"],
                                  start=options["start"], notify=not options["no_notify"],
                                  progress=lambda done: progress.update(task, completed=done))
            except CityLoopError as exc:
                raise CommandError(exc.message) from exc
            except KeyboardInterrupt as exc:
                raise CommandError("已中断：已完成的模拟日已保存，当天的数据已回滚") from exc
        seconds = time.perf_counter() - began
        actions = "，".join(f"{name} {count:,}" for name, count in report.actions.most_common())
        self.stdout.write(f"模拟 {report.days} 天，上报 {report.reports:,} 件，用时 {seconds:.1f} 秒")
        self.stdout.write(f"动作：{actions}")
