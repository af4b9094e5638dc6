"""``cityloop sweep``: raise yellow/red deadline warnings once each (optionally every N seconds)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cityloop.cases.sweeper import sweep
from cityloop.evaluation.selectors import evaluation_cache_seconds
from cityloop.evaluation.services import cache_is_shared, evaluations_warm


class Command(BaseCommand):
    help = (
        "检查各环节时限，发出黄灯（用时达 80%）和红灯（超时）预警，每个预警只发一次。--every 60 表示每 60 秒运行一次；"
        "此时若缓存为各进程共享（Redis），还会在考评统计缓存过期前预先统计常用考评页（处置单位、区县、街道的本月和本季度）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="每隔多少秒运行一次（默认只运行一次）")
        parser.add_argument("--no-warm", action="store_true", help="不预先统计考评页")

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        warm_every = evaluation_cache_seconds() / 2
        warm = bool(every) and not options["no_warm"] and warm_every > 0 and cache_is_shared()
        warmed_at = -float("inf")
        while True:
            report = sweep()
            self.stdout.write(f"黄灯预警 {report.yellow} 件，红灯预警 {report.red} 件")
            if warm and time.monotonic() - warmed_at >= warm_every:
                warmed_at = time.monotonic()
                done = evaluations_warm()
                spent = sum(w.seconds for w in done)
                self.stdout.write(f"预先统计考评页 {len(done)} 个，用时 {spent:.1f} 秒")
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
