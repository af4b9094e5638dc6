"""Run every benchmark in bench/ and rewrite BENCHMARKS.md with the machine, the date and each figure
beside its baseline measured in the same run.

Usage: .venv/bin/python bench/run.py [--quick] [--only NAME]
Each bench module ``bench/bench_*.py`` defines ``run(quick: bool = False) -> dict`` returning
``{"name", "title", "rows": [{"metric", "value", "unit", "baseline", "baseline_value", "ratio", "target"}], "notes"}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


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
        "database": os.environ.get("DATABASE_URL", "sqlite (default)").split("@")[-1],
    }


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


def render(results: list[dict], info: dict[str, str]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `.venv/bin/python bench/run.py` on {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}.",
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
        lines += ["| metric | value | unit | baseline | baseline value | ratio | target |", "|---|---|---|---|---|---|---|"]
        for row in result["rows"]:
            lines.append("| " + " | ".join(_fmt(row.get(k)) for k in
                                             ("metric", "value", "unit", "baseline", "baseline_value", "ratio", "target")) + " |")
        if result.get("notes"):
            lines += ["", result["notes"]]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data sets, for a smoke run")
    parser.add_argument("--only", action="append", help="run only bench_<NAME>.py (repeatable)")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n.removeprefix("bench_") in args.only]
    info = machine()
    info["load average at start"] = _load()
    results = []
    for name in names:
        print(f"==> {name}", flush=True)
        result = importlib.import_module(name).run(quick=args.quick)
        (ROOT / "bench" / "results" / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
        results.append(result)
    info["load average at end"] = _load()
    Path(args.output).write_text(render(results, info), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
