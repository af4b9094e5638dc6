"""The REST API under load: POST /api/v1/cases (reports) and GET /api/v1/cases (the case list), beside the
trivial GET /api/v1/health of the same server measured in the same run.

For each database (SQLite, and PostgreSQL when one answers on DATABASE_URL_BENCH or 127.0.0.1:5432): a
throw-away data folder (and database) is migrated and loaded with the demo city (``cityloop demo``) plus
seeded cases; a WSGI server (granian when installed, else gunicorn gthread) serves it with two workers on
127.0.0.1; ``wrk`` (a separate process, one thread) drives each endpoint for a fixed time with a fixed
number of connections, after a warm-up. The list is measured as shipped (a 1-second micro-cache per user
and query), then, on a second start with the micro-cache off, plain and with a FilterSet query. Reports
use unique idempotency keys and points drawn beforehand from inside the demo's unit grids. Throttling is switched off for the run (``CITYLOOP_API_THROTTLE_RATES``); database
connections are kept open (``DB_CONN_MAX_AGE=60``), as a production deployment would.

Targets (issue #5): ≥ 300 reports/s with p99 < 200 ms; ≥ 1,000 list requests/s.

Usage: .venv/bin/python bench/bench_api.py [--quick] [--db sqlite|postgres|both]   (or through bench/run.py)
Needs ``wrk`` (Debian package) and ``granian`` or ``gunicorn`` (pip).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKERS = 2
#: Threads per worker. Concurrent reports of one worker are written in one transaction (group commit), so
#: more threads make larger groups (the run measures the reports with 4 threads too).
THREADS = 8
FEWER_THREADS = 4
CONNECTIONS = 16
LIST_URL = "/api/v1/cases?page_size=20"
FILTERED_URL = "/api/v1/cases?status=reported&category=01&page_size=20"
CATEGORIES = ["01001", "01002", "01003", "06010", "06001"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_binary(name: str) -> str | None:
    candidate = Path(PYTHON).with_name(name)
    return str(candidate) if candidate.exists() else shutil.which(name)


def _server_command(server: str, port: int, threads: int = THREADS) -> list[str]:
    """Two workers of the chosen WSGI server on 127.0.0.1:port, ``threads`` each."""
    if server == "granian":
        return [_server_binary("granian") or "granian", "--interface", "wsgi", "--workers", str(WORKERS),
                "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "error", "--backlog", "2048", "config.wsgi:application"]
    return [_server_binary("gunicorn") or "gunicorn", "config.wsgi:application", "--workers", str(WORKERS),
            "--worker-class", "gthread", "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
            "--log-level", "error", "--backlog", "2048"]


def _postgres_url() -> str | None:
    base = os.environ.get("DATABASE_URL_BENCH") or "postgres://postgres@127.0.0.1:5432/postgres"
    try:
        import psycopg

        with psycopg.connect(base, connect_timeout=3, autocommit=True):
            return base
    except Exception:
        return None


def _settings_module(folder: Path) -> None:
    (folder / "bench_api_settings.py").write_text(textwrap.dedent("""
        import os

        from config.settings import *  # noqa: F401,F403

        CITYLOOP_API_THROTTLE_RATES = {"user": None, "anon": None}
        if "BENCH_LIST_CACHE_SECONDS" in os.environ:
            CITYLOOP_API_LIST_CACHE_SECONDS = int(os.environ["BENCH_LIST_CACHE_SECONDS"])
        LOGGING = {"version": 1, "disable_existing_loggers": False,
                   "handlers": {"console": {"class": "logging.StreamHandler"}},
                   "root": {"handlers": ["console"], "level": "ERROR"}}
    """))


SEED = textwrap.dedent("""
    import json, random, sys
    import django
    django.setup()
    from django.core.management import call_command
    from cityloop.accounts.models import User
    from cityloop.api.services import token_create
    from cityloop.cases.services import case_report
    from cityloop.geo.models import Grid

    n_cases, n_points, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    call_command("migrate", verbosity=0)
    call_command("demo", "--quiet-logins", verbosity=0)
    rng = random.Random(5)
    ids = list(Grid.objects.values_list("pk", flat=True))
    points = []
    for pk in rng.sample(ids, min(len(ids), n_points)):
        p = Grid.objects.get(pk=pk).boundary.point_on_surface()
        points.append((round(p.x, 7), round(p.y, 7)))
    codes = sys.argv[4].split(",")
    inspector = User.objects.get(username="inspector")
    for i in range(n_cases):
        lon, lat = points[i % len(points)]
        case_report(source="hotline", category=codes[i % len(codes)], description=f"种子案卷 {i}", lon=lon,
                    lat=lat, address=f"测试路 {i} 号")
    keys = {name: token_create(user=User.objects.get(username=name), name="bench")[1]
            for name in ("dispatcher", "operator")}
    json.dump({"points": points, "keys": keys}, open(out, "w"))
""")


def _environment(folder: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update({
        "DATABASE_URL": database_url,
        "CITYLOOP_DATA_DIR": str(folder / "data"),
        "DJANGO_SETTINGS_MODULE": "bench_api_settings",
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        "DB_CONN_MAX_AGE": "60",
        "DEBUG": "0",
    })
    return env


def _post_script(folder: Path, key: str, points: list[tuple[float, float]]) -> Path:
    rows = ",".join(f"{{{x},{y}}}" for x, y in points)
    codes = ",".join(f'"{c}"' for c in CATEGORIES)
    script = folder / "post.lua"
    script.write_text(textwrap.dedent(f"""
        local points = {{{rows}}}
        local codes = {{{codes}}}
        local n = 0
        local run = "0"
        init = function(args)
          run = args[1]  -- a fresh value for every wrk run, so no run repeats an earlier run's keys
        end
        request = function()
          n = n + 1
          local p = points[(n % #points) + 1]
          local body = string.format('{{"category":"%s","description":"压测上报 %d","lon":%.7f,"lat":%.7f,"address":"压测路 %d 号"}}',
                                     codes[(n % #codes) + 1], n, p[1], p[2], n)
          local headers = {{}}
          headers["Content-Type"] = "application/json"
          headers["Authorization"] = "Bearer {key}"
          headers["Idempotency-Key"] = "bench-" .. run .. "-" .. n
          return wrk.format("POST", "/api/v1/cases", headers, body)
        end
    """))
    return script


def _get_script(folder: Path, key: str | None, name: str) -> Path:
    script = folder / f"{name}.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {key}"' if key else ""
    script.write_text(auth + "\n")
    return script


def _wrk(url: str, script: Path, seconds: int, connections: int = CONNECTIONS) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", "-s", str(script), url,
         "--", f"{random.randrange(16**12):012x}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def _group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in the process group (the server's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not answer /api/v1/health in time")


def _serve(server: str, env: dict[str, str], plan: list[tuple[str, Path, str]], seconds: int,
           threads: int = THREADS) -> dict[str, Any]:
    """Start the server, warm every URL up, then measure each (name, wrk script, path) in turn."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(_server_command(server, port, threads), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_ready(base, process)
        for _name, script, path in plan:
            _wrk(base + path, script, 2)  # warm-up: imports, caches, connections
        figures = {}
        for name, script, path in plan:
            before = _group_cpu_seconds(process.pid)
            figure = _wrk(base + path, script, seconds)
            cpu = _group_cpu_seconds(process.pid) - before
            # Requests per CPU-second of the server: what the server costs, whatever else runs on the machine.
            figure["server_cpu_s"] = round(cpu, 2)
            figure["per_cpu_s"] = round(figure["requests"] / cpu, 1) if cpu > 0 else None
            figures[name] = figure
        return figures
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def measure(database: str, database_url: str, *, quick: bool, server: str) -> dict[str, Any]:
    seconds = 5 if quick else 15
    n_cases = 300 if quick else 2000
    with tempfile.TemporaryDirectory(prefix="cityloop-bench-api-") as tmp:
        folder = Path(tmp)
        _settings_module(folder)
        env = _environment(folder, database_url)
        seed_out = folder / "seed.json"
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", SEED, str(n_cases), "400", str(seed_out), ",".join(CATEGORIES)],
                       env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        setup_s = time.perf_counter() - started
        seed = json.loads(seed_out.read_text())
        hello = _get_script(folder, None, "hello")
        listing = _get_script(folder, seed["keys"]["dispatcher"], "list")
        post = _post_script(folder, seed["keys"]["operator"], [tuple(p) for p in seed["points"]])
        # As shipped (the list's 1-second micro-cache on), then once more with the micro-cache off.
        plan = [("hello", hello, "/api/v1/health"), ("list", listing, LIST_URL), ("post", post, "/api/v1/cases")]
        figures = _serve(server, env, plan, seconds)
        uncached = [("hello_2", hello, "/api/v1/health"), ("list_uncached", listing, LIST_URL),
                    ("filtered_uncached", listing, FILTERED_URL)]
        figures.update(_serve(server, {**env, "BENCH_LIST_CACHE_SECONDS": "0"}, uncached, seconds))
        # The reports once more with fewer threads per worker: smaller groups per commit.
        fewer = [("hello_3", hello, "/api/v1/health"), ("post_fewer_threads", post, "/api/v1/cases")]
        figures.update(_serve(server, env, fewer, seconds, threads=FEWER_THREADS))
        return {"database": database, "server": server, "setup_s": setup_s, "seeded_cases": n_cases,
                "seconds": seconds, **figures}


def _postgres_database(base_url: str) -> tuple[str, str]:
    import psycopg

    name = f"cityloop_bench_api_{os.getpid()}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, base_url.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


FIGURES = (
    # key, label, baseline key, target requests/s, target p99 (ms)
    ("post", "POST /api/v1/cases (report, JSON)", "hello", 300, 200),
    ("post_fewer_threads", f"POST /api/v1/cases with {FEWER_THREADS} threads per worker (not {THREADS})", "hello_3",
     None, None),
    ("list", "GET /api/v1/cases (first page of 20 with the total; 1 s micro-cache, as shipped)", "hello", 1000, None),
    ("list_uncached", "GET /api/v1/cases, micro-cache off", "hello_2", None, None),
    ("filtered_uncached", "GET /api/v1/cases?status=reported&category=01 (FilterSet), micro-cache off", "hello_2",
     None, None),
)


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    db = result["database"]
    rows = []
    for key, label, base_key, target_rps, target_p99 in FIGURES:
        fig, base = result[key], result[base_key]
        rows.append({
            "metric": f"{db}: {label} requests/s", "value": round(fig["rps"], 1), "unit": "req/s",
            "baseline": f"{db}: GET /api/v1/health", "baseline_value": round(base["rps"], 1),
            "ratio": round(fig["rps"] / base["rps"], 3) if base["rps"] else None,
            "target": f"≥ {target_rps:,}" if target_rps else "",
        })
        if fig.get("per_cpu_s") and base.get("per_cpu_s"):
            rows.append({
                "metric": f"{db}: {label} requests per server CPU-second", "value": fig["per_cpu_s"],
                "unit": "req/CPU-s", "baseline": f"{db}: GET /api/v1/health", "baseline_value": base["per_cpu_s"],
                "ratio": round(fig["per_cpu_s"] / base["per_cpu_s"], 3),
                "target": f"≥ {target_rps / 2:,.0f} (2 cores)" if target_rps else "",
            })
        rows.append({
            "metric": f"{db}: {label} p99 latency", "value": round(fig["p99_ms"], 1), "unit": "ms",
            "baseline": f"{db}: GET /api/v1/health p99", "baseline_value": round(base["p99_ms"], 1),
            "ratio": round(fig["p99_ms"] / base["p99_ms"], 2) if base["p99_ms"] else None,
            "target": f"< {target_p99}" if target_p99 else "",
        })
    return rows


def run(quick: bool = False, databases: tuple[str, ...] = ("sqlite", "postgres"), server: str | None = None) -> dict[str, Any]:
    server = server or ("granian" if _server_binary("granian") else "gunicorn")
    if shutil.which("wrk") is None or _server_binary(server) is None:
        return {"name": "api", "title": "REST API under load", "rows": [],
                "notes": f"Skipped: needs `wrk` (apt-get install wrk) and `{server}` (pip install {server})."}
    results = []
    with tempfile.TemporaryDirectory(prefix="cityloop-bench-api-sqlite-") as tmp:
        if "sqlite" in databases:
            results.append(measure("SQLite", f"sqlite:///{tmp}/bench.sqlite3", quick=quick, server=server))
    skipped = ""
    if "postgres" in databases:
        base = _postgres_url()
        if base is None:
            skipped = " PostgreSQL: skipped (no server answered)."
        else:
            name, url = _postgres_database(base)
            try:
                results.append(measure("PostgreSQL", url, quick=quick, server=server))
            finally:
                _drop_postgres(base, name)
    rows = [row for result in results for row in _rows(result)]
    detail = "; ".join(
        f"{r['database']}: {r['seeded_cases']} seeded cases (setup {r['setup_s']:.0f} s); "
        + ", ".join(f"{k} {r[k]['requests']} requests, p50 {r[k]['p50_ms']:.1f} ms, non-2xx {r[k]['non_2xx']}"
                    + (f", socket errors {r[k]['socket_errors']}" if r[k]["socket_errors"] else "")
                    for k in ("hello", "list", "post", "hello_2", "list_uncached", "filtered_uncached", "hello_3",
                              "post_fewer_threads"))
        for r in results
    )
    load = os.getloadavg()[0]
    notes = (
        f"{server} with {WORKERS} workers ({THREADS} threads each) on 127.0.0.1; wrk (1 thread, {CONNECTIONS} "
        f"connections) for {results[0]['seconds'] if results else '?'} s per figure after a 2 s warm-up, on the same "
        f"2-core machine (wrk takes part of one core; load average {load:.1f} when the run ended — other work on "
        f"the machine lowers every figure). Reports: JSON, unique Idempotency-Key, points inside demo grids, "
        f"5 categories, an operator's token; lists: a city-wide dispatcher's token. The list as shipped keeps a "
        f"page for 1 s per user and query (CITYLOOP_API_LIST_CACHE_SECONDS); the uncached figures come from a "
        f"second start with it off, beside their own health baseline (hello_2). 'Requests per server CPU-second' divides the requests served by the CPU time the server's "
        f"processes used meanwhile: unlike requests/s it does not depend on what else runs on the machine; two "
        f"idle cores give at most twice that (less what wrk uses). Reports are measured again on a third start "
        f"with {FEWER_THREADS} threads per worker, beside its own health baseline (hello_3): a worker writes the "
        f"reports its threads receive at the same moment in one transaction, so fewer threads mean smaller "
        f"groups. {detail}.{skipped}"
    )
    return {"name": "api", "title": f"REST API under load ({server} + wrk)", "rows": rows, "notes": notes,
            "raw": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--server", choices=["granian", "gunicorn"], default=None,
                        help="WSGI server (default: granian when installed, else gunicorn)")
    args = parser.parse_args()
    chosen = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    print(json.dumps(run(quick=args.quick, databases=chosen, server=args.server), ensure_ascii=False, indent=2))
