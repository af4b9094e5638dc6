"""Run every benchmark in bench/ and rewrite BENCHMARKS.md with the machine, the date and each figure
beside its baseline measured in the same run.

Usage: .venv/bin/python bench/run.py [--quick] [--only NAME ...] [--sizes 1e4,1e5,...] [--db sqlite|postgres|both]
       [--keep-data] [--output FILE]          (also: ``cityloop bench``, the same options with a progress display)

Each bench module ``bench/bench_*.py`` defines ``run(quick: bool = False, ...) -> dict`` returning
``{"name", "title", "rows": [{"metric", "value", "unit", "baseline", "baseline_value", "ratio", "target"}], "notes"}``;
a module whose ``run`` also takes ``sizes``, ``databases``, ``keep_data`` or ``progress`` gets them. Each result is
saved as ``bench/results/bench_<name>.json`` (with when and where it was measured). BENCHMARKS.md shows every
bench: the ones run now, and — when ``--only`` left some out — the others from their saved results, each
section saying when it was measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import json
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
#: (phase, done, total): progress inside one bench, for benches that report it.
Progress = Callable[[str, int, int], None]


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
        "database(s)": databases(),
    }


def databases() -> str:
    """The database engines the benches use, with their versions."""
    found = [f"SQLite {sqlite3.sqlite_version} (throw-away files)"]
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        host = PG_ADMIN_URL.split("@")[-1].rsplit("/", 1)[0]
        found.append(f"PostgreSQL {row[0].split()[0] if row else '?'} at {host} (throw-away databases)")
    except Exception:
        found.append("PostgreSQL not reachable")
    return "; ".join(found)


def _load() -> str:
    """The 1/5/15-minute load averages: above the core count, other work shared the machine during the run."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def render(results: list[dict[str, Any]], info: dict[str, str], *, fresh: set[str] | None = None,
           started: dt.datetime | None = None) -> str:
    when = (started or dt.datetime.now().astimezone())
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `.venv/bin/python bench/run.py` (or `cityloop bench`) on {when:%Y-%m-%d %H:%M %Z}.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        "",
        "Figures are compared with a baseline measured in the same run; the ratio is figure ÷ baseline "
        "(above 1 means faster than the baseline for rates, slower for times).",
        "",
    ]
    for result in results:
        lines += [f"## {result['title']} (`bench_{result['name']}`)", ""]
        if fresh is not None and result["name"] not in fresh:
            measured = result.get("measured_at", "an earlier run")
            load = result.get("load_average")
            lines += [f"*Not re-run this time: measured {measured}" + (f", load average {load}" if load else "")
                      + ".*", ""]
        lines += ["| metric | value | unit | baseline | baseline value | ratio | target |", "|---|---|---|---|---|---|---|"]
        for row in result["rows"]:
            lines.append("| " + " | ".join(_fmt(row.get(k)) for k in
                                             ("metric", "value", "unit", "baseline", "baseline_value", "ratio", "target")) + " |")
        if result.get("notes"):
            lines += ["", result["notes"]]
        lines.append("")
    return "\n".join(lines)


def bench_names(only: list[str] | None = None) -> list[str]:
    """``bench_<name>`` modules in bench/, optionally only those named (``name`` or ``bench_name``)."""
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if only:
        wanted = {n.removeprefix("bench_") for n in only}
        unknown = wanted - {n.removeprefix("bench_") for n in names}
        if unknown:
            raise SystemExit(f"unknown bench: {', '.join(sorted(unknown))} (have: "
                             f"{', '.join(n.removeprefix('bench_') for n in names)})")
        names = [n for n in names if n.removeprefix("bench_") in wanted]
    return names


def run_one(name: str, *, quick: bool, options: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """Import ``bench/<name>.py`` and call its ``run`` with the options it accepts."""
    module = importlib.import_module(name)
    accepted = inspect.signature(module.run).parameters
    kwargs = {k: v for k, v in options.items() if k in accepted and v is not None}
    if progress is not None and "progress" in accepted:
        kwargs["progress"] = progress
    began = time.perf_counter()
    result: dict[str, Any] = module.run(quick=quick, **kwargs)
    result["measured_at"] = f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    result["load_average"] = _load()
    result["seconds"] = round(time.perf_counter() - began, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return result


def saved(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not data.get("measured_at"):
        data["measured_at"] = f"{dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone():%Y-%m-%d %H:%M %Z}"
    return data


def run_all(*, quick: bool = False, only: list[str] | None = None, options: dict[str, Any] | None = None,
            output: str | Path = ROOT / "BENCHMARKS.md", progress: Progress | None = None,
            on_bench: Callable[[str, int, int], None] | None = None) -> Path:
    """Run the chosen benches, then rewrite ``output`` with them and the saved results of the others."""
    started = dt.datetime.now().astimezone()
    names = bench_names(only)
    info = machine()
    info["date"] = f"{started:%Y-%m-%d %H:%M %Z}"
    info["load average at start"] = _load()
    fresh: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        if on_bench:
            on_bench(name, i, len(names))
        fresh[name] = run_one(name, quick=quick, options=options or {}, progress=progress)
    if on_bench:
        on_bench("", len(names), len(names))
    info["load average at end"] = _load()
    if quick:
        info["mode"] = "--quick (smaller data sets: a smoke run, not comparable with full runs)"
    results = []
    for name in bench_names():
        result = fresh.get(name) or saved(name)
        if result is not None:
            results.append(result)
    path = Path(output)
    path.write_text(render(results, info, fresh={r["name"] for r in fresh.values()}, started=started), encoding="utf-8")
    return path


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    return parser.parse_args(argv)


def add_arguments(parser: Any) -> None:
    """The options shared by bench/run.py and ``cityloop bench``."""
    parser.add_argument("--quick", action="store_true", help="smaller data sets, for a smoke run")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only bench_<NAME>.py (repeatable); the others keep their saved results")
    parser.add_argument("--sizes", help="case counts for the scale bench, e.g. 1e4,1e5,1e6,1e7; the sizes not "
                        "named keep their figures from the last run")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=None,
                        help="databases for the benches that take a choice (default: both)")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the scale bench's generated data sets for the next run")


def bench_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"keep_data": args.keep_data or None}
    if args.sizes:
        options["sizes"] = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
        options["keep_other_sizes"] = True  # the sizes not named keep their saved figures
    if args.db:
        options["databases"] = {"sqlite": ("sqlite",), "postgres": ("postgres",), "both": ("sqlite", "postgres")}[args.db]
    return options


def main() -> None:
    args = parse_options()

    def show(phase: str, done: int, total: int) -> None:
        print(f"    {phase}: {done:,}/{total:,}", flush=True)

    def header(name: str, _i: int, _n: int) -> None:
        if name:
            print(f"==> {name}", flush=True)

    path = run_all(quick=args.quick, only=args.only, options=bench_options(args), output=args.output,
                   progress=show, on_bench=header)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
