"""``cityloop generate``: fill the configured database with a realistic city and a year of its cases.

A thin adapter over ``bench/datasets.py`` (the benchmarks' generator): the demo city of 济南 with unit
grids for a whole metropolitan area and its staff, then N cases with their stages, events and followers
written in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL). For load tests and benchmarks, never
for a production database: it refuses a database that already has cases.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.cases.models import Case
from cityloop.core.console import console_for, progress_for
from cityloop.core.management.commands.bench import bench_folder


def load_datasets() -> ModuleType:
    path = bench_folder() / "datasets.py"
    if not path.exists():
        raise CommandError(f"没有找到 {path}：数据生成器只在源代码目录中提供")
    sys.path.insert(0, str(bench_folder()))
    spec = importlib.util.spec_from_file_location("datasets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("datasets", module)
    spec.loader.exec_module(module)
    return module


def case_count(text: str) -> int:
    try:
        value = int(float(text))
    except ValueError as exc:
        raise ValueError(f"not a number of cases: {text}") from exc
    if value < 1:
        raise ValueError("at least one case")
    return value


class Command(BaseCommand):
    help = ("生成压测数据：演示城市（济南）按一个大城市的规模划分单元网格（默认约 70,000 个）并配齐人员，"
            "再批量写入 N 件案卷及其环节、事件（2026 年全年）。仅用于压测，数据库中已有案卷时拒绝执行。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=case_count, required=True, help="案卷数，如 1e5 或 100000")
        parser.add_argument("--grids", type=int, default=70_000, help="单元网格数（约，默认 70000）")
        parser.add_argument("--seed", type=int, default=20261, help="随机种子（同一种子生成相同数据）")

    def handle(self, *args: Any, **options: Any) -> None:
        if Case.objects.exists():
            raise CommandError("数据库中已有案卷：generate 只向没有案卷的数据库写入（可先 cityloop demo --simulate-days 0）")
        datasets = load_datasets()
        console = console_for(self.stdout)
        with progress_for(self.stdout) as bar:
            task = bar.add_task("城市", total=None)

            def progress(phase: str, done: int, total: int) -> None:
                bar.update(task, description=phase, completed=done, total=total or None)

            city_info = datasets.build_metro(grids=options["grids"], progress=progress)
            city = datasets.metro_city(options["seed"])
            counts = datasets.load(city, options["cases"], options["seed"], progress=progress)
        console.print(
            f"单元网格 {city_info['grids']:,} 个（边长 {city_info['grid_size_m']:g} 米）；案卷 {counts['cases']:,} 件、"
            f"环节 {counts['stages']:,} 条、事件 {counts['events']:,} 条；生成 {counts['generate_s']:,.0f} 秒、"
            f"写入 {counts['load_s']:,.0f} 秒、建索引 {counts['index_s']:,.0f} 秒。"
        )
