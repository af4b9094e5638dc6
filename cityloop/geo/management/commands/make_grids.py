"""cityloop make_grids --region CODE [--size 100] [--replace | --skip-existing]: generate square unit grids."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.geo import selectors, services


class Command(BaseCommand):
    help = (
        "为区划内每个社区生成约 N×N 米的方形单元网格，裁剪到社区边界，按从西向东、由北至南编码（社区代码+001…999）。"
        "每个社区在各自的事务中写入；中断后用 --skip-existing 继续。"
        " Generate square unit grids for every community under a region, coded W→E, N→S."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", required=True, help="区划代码 / region code（市、区县、街道或社区）")
        parser.add_argument("--size", type=float, default=100.0, help="网格边长（米）/ cell size in metres（默认 100）")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--replace", action="store_true", help="删除社区已有网格后重新生成 / regenerate existing grids")
        group.add_argument(
            "--skip-existing", action="store_true", help="跳过已有网格的社区 / skip communities that have grids"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = console_for(self.stdout)
        started = time.perf_counter()
        try:
            region = selectors.region_get(options["region"])
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                tasks: dict[str, Any] = {}
                labels = {"plan": "计算网格（社区）", "write": "写入数据库（社区）"}

                def report(phase: str, done: int, total: int) -> None:
                    if phase not in tasks:
                        tasks[phase] = progress.add_task(labels.get(phase, phase), total=total)
                    progress.update(tasks[phase], completed=done, total=total)

                created = services.grids_generate(
                    region=region,
                    size_m=options["size"],
                    replace=options["replace"],
                    skip_existing=options["skip_existing"],
                    progress=report,
                )
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
        elapsed = time.perf_counter() - started
        console.print(f"[green]✓[/green] {region} 生成单元网格 {created} 个，用时 {elapsed:.1f} 秒")
