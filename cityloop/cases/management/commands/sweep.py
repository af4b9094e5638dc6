"""``cityloop sweep``: raise yellow/red deadline warnings once each (optionally every N seconds).

The worker (``cityloop worker``) runs the same sweep on its interval beside its other jobs; this command is
for a single run by hand or from cron."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cityloop.cases.sweeper import sweep


class Command(BaseCommand):
    help = (
        "检查各环节时限，发出黄灯（用时达 80%）和红灯（超时）预警，每个预警只发一次。--every 60 表示每 60 秒运行一次。"
        "平时由后台任务进程 cityloop worker 定时运行，无需单独启动。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="每隔多少秒运行一次（默认只运行一次）")

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        while True:
            report = sweep()
            self.stdout.write(f"黄灯预警 {report.yellow} 件，红灯预警 {report.red} 件")
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
