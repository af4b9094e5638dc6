"""``cityloop bench``: run the benchmarks in ``bench/`` and rewrite BENCHMARKS.md, with a progress display.

A thin adapter over ``bench/run.py`` (the same options; ``bench/run.py`` keeps working on its own). The
benches live in the source checkout, not in the installed package: the command needs ``bench/`` next to
``config/``.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.table import Table

from cityloop.core.console import console_for, progress_for


def bench_folder() -> Path:
    return Path(settings.BASE_DIR) / "bench"


def load_runner() -> ModuleType | None:
    """``bench/run.py`` as a module, or None outside a source checkout."""
    path = bench_folder() / "run.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("cityloop_bench_run", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Command(BaseCommand):
    help = ("运行 bench/ 中的全部性能基准并重写 BENCHMARKS.md：机器（核数、内存、CPU 型号）、日期、负载、数据库，"
            "每个数字及同一次运行中测得的基线、比值和目标。--only 只运行指定的基准（可重复），其余保留上次的结果。")
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        runner = load_runner()
        if runner is not None:
            runner.add_arguments(parser)
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "BENCHMARKS.md"),
                            help="where to write the report (default BENCHMARKS.md)")
        parser.add_argument("--list", action="store_true", help="list the benches and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        runner = load_runner()
        if runner is None:
            raise CommandError(f"没有找到 {bench_folder() / 'run.py'}：性能基准只在源代码目录中提供")
        console = console_for(self.stdout)
        if options["list"]:
            for name in runner.bench_names():
                console.print(name.removeprefix("bench_"))
            return
        try:
            names = runner.bench_names(options.get("only"))
        except SystemExit as exc:
            raise CommandError(str(exc)) from None
        bench_args = type("Args", (), {k: options.get(k) for k in ("sizes", "db", "keep_data")})()
        bench_options = runner.bench_options(bench_args)
        began = time.perf_counter()
        with progress_for(self.stdout) as bar:
            overall = bar.add_task("benchmarks", total=len(names))
            phase = bar.add_task("", total=None, visible=False)

            def on_bench(name: str, done: int, total: int) -> None:
                label = f"bench_{name.removeprefix('bench_')}" if name else "done"
                bar.update(overall, completed=done, description=f"[bold]{label}[/] ({done + 1 if name else done}/{total})")
                bar.reset(phase, total=None, description="", visible=bool(name))

            def progress(text: str, done: int, total: int) -> None:
                bar.update(phase, description=f"  {text}", completed=done, total=total or None, visible=True)

            path = runner.run_all(quick=options["quick"], only=options.get("only"), options=bench_options,
                                  output=options["output"], progress=progress, on_bench=on_bench)
        table = Table(title=f"{path}（{time.perf_counter() - began:,.0f} 秒）")
        for column in ("bench", "figures", "seconds"):
            table.add_column(column)
        for name in names:
            result = runner.saved(name) or {}
            table.add_row(name, str(len(result.get("rows", []))), str(result.get("seconds", "")))
        console.print(table)
