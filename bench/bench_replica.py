"""Past one machine: a PostgreSQL primary and a streaming replica, several web workers behind one port, under load.

One command (``bash scripts/replica-demo`` or ``.venv/bin/python bench/bench_replica.py [--quick]``):

1. ``initdb`` a throw-away primary cluster under /tmp (port 55432, or a free one) with
   ``pg_stat_statements``, create the ``cityloop`` database, and make a hot standby of it with
   ``pg_basebackup -R -C -S cityloop_replica`` (port 55433): asynchronous streaming replication with a
   replication slot, as docs/deployment.md describes.
2. Migrate and load a small city on the primary (the demo city's real districts, one district's
   generated streets, communities and 100 m grids — ``--quick``: grids in four communities —, categories,
   departments, users; no simulation) and 100 cases; create an API token for ``operator`` (writer) and
   ``dispatcher`` (reader).
3. Serve CityLoop with several WSGI workers (granian, else gunicorn) on one port with
   ``DATABASE_URL`` = primary, ``DATABASE_REPLICA_URL`` = replica, ``DB_POOL=1`` and Redis as the shared
   cache when one answers (the list's micro-cache and the API throttle are off, so every list reaches
   a database).
4. From a separate process, fire N reports ``POST /api/v1/cases`` (unique ``Idempotency-Key``; a failed or
   unanswered request is retried with the same key) from several threads while other threads read the
   case list ``GET /api/v1/cases``. Meanwhile sample the replication lag.
5. Wait until the replica has replayed everything, then check: every acknowledged report (case id and
   number from the answer) is on the primary and on the replica, no key made two cases, the list reads
   were served by the replica (``pg_stat_statements`` on each cluster), both workers served requests.
6. Read-your-writes: with replay paused on the replica, a new report is visible at once to its author
   (pinned to the primary by the response's cookie) and not yet to another user (served by the replica).
7. Stop everything and delete the clusters (also on Ctrl-C / SIGTERM; ``--keep`` leaves them running).

Writes bench/results/bench_replica.json (or ``--output``; bench/run.py's shape, the run itself under ``raw``),
prints a summary, exits 1 when a check failed.
PostgreSQL refuses to run as root: as root the cluster commands run as the ``postgres`` user (runuser).
Also a ``bench/run.py`` module (``run(quick)``).
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results" / "bench_replica.json"
DATABASE = "cityloop"
SLOT = "cityloop_replica"
PREFERRED_PORTS = (55432, 55433)
CATEGORIES = ["01001", "01002", "01003", "06010", "06001"]
#: 历下区 with one demo street: real boundaries, ~12,000 100 m grids (--quick: grids in 4 communities only).
ONE_DISTRICT = {"370102": 1}
LIST_PATH = "/api/v1/cases?page_size=20"


# --- PostgreSQL clusters ---------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin with initdb (or $PG_BINDIR)."""
    if os.environ.get("PG_BINDIR"):
        path = Path(os.environ["PG_BINDIR"])
        return path if (path / "initdb").exists() else None
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL binds: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ports() -> tuple[int, int]:
    if all(_port_free(p) for p in PREFERRED_PORTS):
        return PREFERRED_PORTS
    first = _free_port()
    second = _free_port()
    while second == first:
        second = _free_port()
    return first, second


class Cluster:
    """One throw-away cluster: its data folder, port and log; commands run as ``postgres`` when we are root."""

    def __init__(self, name: str, bindir: Path, base: Path, port: int) -> None:
        self.name, self.bindir, self.base, self.port = name, bindir, base, port
        self.datadir = base / name
        self.log = base / f"{name}.log"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.started = False

    def tool(self, tool: str, *args: str, timeout: float = 120) -> str:
        command = [*self.as_postgres, str(self.bindir / tool), *args]
        done = subprocess.run(command, cwd=self.base, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} ({self.name}) failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def configure(self, lines: list[str]) -> None:
        with (self.datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# cityloop replica demo\n" + "\n".join(lines) + "\n")

    def start(self) -> None:
        self.tool("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-w", "-t", "60", "start")
        self.started = True

    def stop(self) -> None:
        if not self.started:
            return
        try:
            self.tool("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            try:
                self.tool("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop", timeout=30)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"warning: could not stop the {self.name} cluster: {exc}", file=sys.stderr)
        self.started = False


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def _one(conn: Any, query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


STATEMENTS = r"""
    SELECT coalesce(sum(calls) FILTER (WHERE query ILIKE 'select%%' AND query LIKE '%%"cases_case"%%'), 0),
           coalesce(sum(calls) FILTER (WHERE query ILIKE 'select%%'), 0),
           coalesce(sum(rows) FILTER (WHERE query ILIKE 'insert into "cases_case"%%'), 0),
           coalesce(sum(calls) FILTER (WHERE query ~* '^\s*(insert|update|delete)'), 0)
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = %s
"""


def statement_counts(conn: Any) -> dict[str, int]:
    """Statements run on one cluster in the cityloop database so far (pg_stat_statements); for cases_case
    the rows inserted, since concurrent reports share one INSERT (group commit)."""
    row = conn.execute(STATEMENTS, (DATABASE,)).fetchone()
    stats = conn.execute("SELECT xact_commit, tup_returned, tup_fetched FROM pg_stat_database WHERE datname = %s",
                         (DATABASE,)).fetchone()
    return {"case_selects": int(row[0]), "selects": int(row[1]), "case_inserts": int(row[2]), "writes": int(row[3]),
            "xact_commit": int(stats[0]), "tup_returned": int(stats[1]), "tup_fetched": int(stats[2])}


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after}


def wait_replayed(primary: Any, replica: Any, timeout: float = 60) -> float:
    """Seconds until the replica has replayed the primary's current WAL position."""
    target = _one(primary, "SELECT pg_current_wal_lsn()::text")
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if _one(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"the replica did not replay up to {target} within {timeout:.0f} s")


class LagSampler(threading.Thread):
    """Samples pg_stat_replication on the primary: the replica's state and its worst replay lag."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.halt = threading.Event()
        self.max_lag_s = 0.0
        self.max_bytes = 0
        self.samples = 0
        self.states: Counter[str] = Counter()

    def run(self) -> None:
        with _connect(self.url) as conn:
            while not self.halt.is_set():
                for state, lag, behind in conn.execute(
                    "SELECT state, coalesce(extract(epoch FROM replay_lag), 0), "
                    "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0) FROM pg_stat_replication"
                ):
                    self.states[state] += 1
                    self.max_lag_s = max(self.max_lag_s, float(lag))
                    self.max_bytes = max(self.max_bytes, int(behind))
                self.samples += 1
                self.halt.wait(0.2)


# --- the application -------------------------------------------------------------------------------

SEED = textwrap.dedent("""
    import json, random, sys
    import django
    import numpy as np
    django.setup()
    from django.core.management import call_command
    from cityloop.accounts.models import User
    from cityloop.api.services import token_create
    from cityloop.cases.services import case_report
    from cityloop.demo import services as demo
    from cityloop.geo.lookup import get_grid_index
    from cityloop.geo.models import Grid, Region, RegionLevel
    from cityloop.geo.services import grids_generate

    districts, n_cases, n_points, out = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    codes, grid_communities = sys.argv[5].split(","), int(sys.argv[6])
    call_command("migrate", verbosity=0)
    if grid_communities:  # the demo city's steps, with 100 m grids in a few communities only (quick)
        report = demo.DemoReport()
        demo.load_city(report)
        demo.load_streets_and_communities(report, districts=districts)
        communities = Region.objects.filter(level=RegionLevel.COMMUNITY, parent__parent__code__in=list(districts))
        for community in communities.order_by("code")[:grid_communities]:
            grids_generate(region=community, size_m=100.0, skip_existing=True)
        demo.load_catalog(report)
        demo.load_departments_and_rules(report, districts=districts)
        demo.load_users(report, districts=districts)
    else:
        demo.demo_load(districts=districts, simulate_days=0)
    rng = random.Random(8)
    ids = list(Grid.objects.values_list("pk", flat=True))
    candidates = []
    for pk in rng.sample(ids, min(len(ids), n_points)):
        p = Grid.objects.get(pk=pk).boundary.point_on_surface()
        candidates.append((round(p.x, 7), round(p.y, 7)))
    # Rounding can move a point off a sliver grid at the edge of the loaded area: keep the ones inside.
    hits = get_grid_index().locate_many(np.array([x for x, _ in candidates]), np.array([y for _, y in candidates]))
    points = [point for point, hit in zip(candidates, hits) if hit >= 0]
    for i in range(n_cases):
        lon, lat = points[i % len(points)]
        case_report(source="hotline", category=codes[i % len(codes)], description=f"种子案卷 {i}", lon=lon, lat=lat)
    keys = {name: token_create(user=User.objects.get(username=name), name="replica-demo")[1]
            for name in ("operator", "dispatcher")}
    json.dump({"points": points, "keys": keys, "grids": len(ids)}, open(out, "w"))
""")

SETTINGS = textwrap.dedent("""
    import os

    from config.settings import *  # noqa: F401,F403

    CITYLOOP_API_THROTTLE_RATES = {"user": None, "anon": None}
    CITYLOOP_API_LIST_CACHE_SECONDS = 0  # every list request reaches a database (the replica)
    # The throw-away demo users never log in with a password (the load uses API tokens): hash them fast.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if os.environ.get("REDIS_URL"):
        CACHES["default"]["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"]  # noqa: F405
    LOGGING = {"version": 1, "disable_existing_loggers": False,
               "handlers": {"console": {"class": "logging.StreamHandler"}},
               "root": {"handlers": ["console"], "level": "ERROR"}}
""")


def _server_binary(name: str) -> str | None:
    candidate = Path(PYTHON).with_name(name)
    return str(candidate) if candidate.exists() else shutil.which(name)


def server_command(server: str, port: int, workers: int, threads: int) -> list[str]:
    if server == "granian":
        return [_server_binary("granian") or "granian", "--interface", "wsgi", "--workers", str(workers),
                "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "error", "config.wsgi:application"]
    return [_server_binary("gunicorn") or "gunicorn", "config.wsgi:application", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
            "--log-level", "error"]


def _redis_url() -> str | None:
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


def _process_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each live process in a process group: the server's master and workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def _http(port: int, method: str, path: str, *, token: str, body: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, path, data, sent)
        response = conn.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else {}), response
    finally:
        conn.close()


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the web server exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the web server did not answer /api/v1/health in time")


# --- the load (a separate process) ---------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def client_main(config_path: str, out_path: str) -> None:
    """Writers report ``reports`` cases (retrying with the same key) while readers list cases, until done."""
    cfg = json.loads(Path(config_path).read_text())
    port, points, run_id = cfg["port"], cfg["points"], cfg["run_id"]
    lock = threading.Lock()
    todo = iter(range(cfg["reports"]))
    acked: dict[int, dict[str, Any]] = {}
    unacked: list[int] = []
    post_ms: list[float] = []
    get_ms: list[float] = []
    post_status: Counter[str] = Counter()
    get_status: Counter[str] = Counter()
    retries = [0]
    writers_done = threading.Event()

    def connection() -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> tuple[int | None, bytes, http.client.HTTPConnection]:
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            return response.status, response.read(), conn
        except (OSError, http.client.HTTPException):
            conn.close()
            return None, b"", connection()

    def writer() -> None:
        conn = connection()
        headers = {"Authorization": f"Bearer {cfg['writer']}", "Content-Type": "application/json"}
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                break
            lon, lat = points[i % len(points)]
            body = json.dumps({"category": CATEGORIES[i % len(CATEGORIES)], "description": f"副本演示上报 {i}",
                               "lon": lon, "lat": lat, "address": f"演示路 {i} 号"}).encode()
            for attempt in range(8):
                started = time.perf_counter()
                status, raw, conn = call(conn, "POST", "/api/v1/cases", body,
                                         {**headers, "Idempotency-Key": f"{run_id}-{i}"})
                with lock:
                    post_ms.append((time.perf_counter() - started) * 1000)
                    post_status[str(status)] += 1
                if status in (200, 201):
                    case = json.loads(raw)["case"]
                    with lock:
                        acked[i] = {"id": case["id"], "number": case["number"], "status": status}
                    break
                with lock:
                    retries[0] += 1
                time.sleep(0.1 * (attempt + 1))
            else:
                with lock:
                    unacked.append(i)

    def reader() -> None:
        conn = connection()
        headers = {"Authorization": f"Bearer {cfg['reader']}"}
        while not writers_done.is_set():
            started = time.perf_counter()
            status, _raw, conn = call(conn, "GET", LIST_PATH, None, headers)
            with lock:
                get_ms.append((time.perf_counter() - started) * 1000)
                get_status[str(status)] += 1

    started = time.perf_counter()
    writers = [threading.Thread(target=writer, daemon=True) for _ in range(cfg["writers"])]
    readers = [threading.Thread(target=reader, daemon=True) for _ in range(cfg["readers"])]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join()
    elapsed = time.perf_counter() - started
    writers_done.set()
    for thread in readers:
        thread.join()
    Path(out_path).write_text(json.dumps({
        "seconds": elapsed, "acked": {str(k): v for k, v in acked.items()}, "unacked": unacked,
        "retries": retries[0], "post_status": post_status, "get_status": get_status,
        "post_p50_ms": _percentile(post_ms, 0.5), "post_p99_ms": _percentile(post_ms, 0.99),
        "get_p50_ms": _percentile(get_ms, 0.5), "get_p99_ms": _percentile(get_ms, 0.99),
        "gets": len(get_ms), "gets_ok": get_status.get("200", 0),
    }))


# --- the demo ----------------------------------------------------------------------------------------


class _Interrupted(KeyboardInterrupt):
    pass


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Interrupted()


def read_your_writes(port: int, keys: dict[str, str], point: list[float], primary: Any, replica: Any,
                     run_id: str) -> dict[str, Any]:
    """With replay paused, the author sees the new case (pinned to the primary); another user does not yet."""
    writer, reader = keys["operator"], keys["dispatcher"]
    _http(port, "GET", "/api/v1/cases?page_size=1", token=reader)  # token.last_used_at is fresh: no write below
    wait_replayed(primary, replica)
    path = "/api/v1/cases/0"
    replica.execute("SELECT pg_wal_replay_pause()")
    try:
        while _one(replica, "SELECT pg_get_wal_replay_pause_state()") != "paused":
            time.sleep(0.02)
        status, body, response = _http(port, "POST", "/api/v1/cases", token=writer,
                                       headers={"Idempotency-Key": f"{run_id}-ryw"},
                                       body={"category": "06010", "description": "读己之写检查", "lon": point[0],
                                             "lat": point[1]})
        case = body.get("case") or {}
        cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
        path = f"/api/v1/cases/{case.get('id')}"
        author_with_cookie = _http(port, "GET", path, token=writer, headers={"Cookie": cookie})[0]
        author_token_only = _http(port, "GET", path, token=writer)[0]
        other_user = _http(port, "GET", path, token=reader)[0]
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")
    wait_replayed(primary, replica)
    other_after_replay = _http(port, "GET", path, token=reader)[0]
    return {
        "post_status": status, "case_id": case.get("id"), "case_number": case.get("number"), "cookie": cookie,
        "author_with_cookie": author_with_cookie, "author_token_only": author_token_only,
        "other_user_while_paused": other_user, "other_user_after_replay": other_after_replay,
    }


def demo(*, quick: bool = False, reports: int | None = None, writers: int = 8, readers: int = 4, workers: int = 2,
         threads: int = 4, server: str | None = None, synchronous: bool = False, keep: bool = False,
         progress: Any = print) -> dict[str, Any]:
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); set PG_BINDIR")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError("running as root needs a 'postgres' user to run the clusters as") from exc
    server = server or ("granian" if _server_binary("granian") else "gunicorn")
    if _server_binary(server) is None:
        raise RuntimeError(f"no {server} found: pip install granian (the bench extras: pip install -e '.[bench]')")
    reports = reports or (200 if quick else 3000)
    run_id = f"replica-{secrets.token_hex(4)}"
    base = Path(tempfile.mkdtemp(prefix="cityloop-replica-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    primary_port, replica_port = _ports()
    primary = Cluster("primary", bindir, base, primary_port)
    replica = Cluster("replica", bindir, base, replica_port)
    web: subprocess.Popen[bytes] | None = None
    conns: list[Any] = []
    timings: dict[str, float] = {}
    previous_handler = signal.signal(signal.SIGTERM, _on_sigterm)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()

    try:
        progress(f"==> PostgreSQL {bindir.parent.name}: primary :{primary_port}, replica :{replica_port} in {base}")
        primary.tool("initdb", "-D", str(primary.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--no-locale", "--no-sync")
        sockets = base / "run"
        sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(sockets, "postgres", "postgres")
        settings = [
            "listen_addresses = '127.0.0.1'", f"port = {primary_port}", f"unix_socket_directories = '{sockets}'",
            "wal_level = replica", "max_wal_senders = 5", "max_replication_slots = 5", "hot_standby = on",
            "hot_standby_feedback = on", "max_connections = 200", "shared_buffers = 64MB",
            "shared_preload_libraries = 'pg_stat_statements'", "pg_stat_statements.max = 10000",
            "pg_stat_statements.track = top",
        ]
        primary.configure(settings)
        primary.start()
        with _connect(primary.url("postgres")) as admin:
            admin.execute(f"CREATE DATABASE {DATABASE}")
        with _connect(primary.url()) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        primary.tool("pg_basebackup", "-d", f"host=127.0.0.1 port={primary_port} user=postgres application_name={SLOT}",
                     "-D", str(replica.datadir), "-R", "-X", "stream", "-C", "-S", SLOT, "-c", "fast")
        replica.configure([f"port = {replica_port}"])
        replica.start()
        conns = [_connect(primary.url()), _connect(replica.url())]
        primary_db, replica_db = conns
        if _one(replica_db, "SELECT pg_is_in_recovery()") is not True:
            raise RuntimeError("the replica is not in recovery (hot standby)")
        for _ in range(200):
            if _one(primary_db, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the replica is not streaming from the primary")
        if synchronous:  # only now: with no standby connected every commit would wait for ever
            primary_db.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{SLOT}'")
            primary_db.execute("ALTER SYSTEM SET synchronous_commit = 'remote_apply'")
            primary_db.execute("SELECT pg_reload_conf()")
            for _ in range(200):
                if _one(primary_db, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"):
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("the replica did not become a synchronous standby")
        lap("clusters_s")

        folder = base / "app"
        folder.mkdir()
        (folder / "bench_replica_settings.py").write_text(SETTINGS)
        redis_url = _redis_url()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_", "DB_", "REDIS_URL", "CITYLOOP_", "DJANGO_SETTINGS"))}
        env.update({
            "DATABASE_URL": primary.url(), "CITYLOOP_DATA_DIR": str(folder / "data"), "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),  # every worker (and server) shares it: stateless workers
            "DJANGO_SETTINGS_MODULE": "bench_replica_settings",
            "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        })
        progress("==> migrate and load a small city on the primary")
        seed_out = folder / "seed.json"
        subprocess.run([PYTHON, "-c", SEED, json.dumps(ONE_DISTRICT), "100", "400", str(seed_out),
                        ",".join(CATEGORIES), "4" if quick else "0"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        seed = json.loads(seed_out.read_text())
        lap("migrate_and_load_s")

        web_port = _free_port()
        web_env = {**env, "DATABASE_REPLICA_URL": replica.url(), "DB_POOL": "1",
                   "DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": str(threads + 2)}
        if redis_url:
            web_env.update({"REDIS_URL": redis_url, "BENCH_CACHE_PREFIX": run_id})
        progress(f"==> {server}: {workers} workers × {threads} threads on 127.0.0.1:{web_port}"
                 f" (cache: {'Redis' if redis_url else 'per process'})")
        web_log = folder / "web.log"
        with web_log.open("wb") as log:
            web = subprocess.Popen(server_command(server, web_port, workers, threads), env=web_env, cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_ready(web_port, web)
        # Warm up: every worker's first list (imports, pools) before the clock starts.
        for _ in range(workers * 4):
            _http(web_port, "GET", LIST_PATH, token=seed["keys"]["dispatcher"])
        wait_replayed(primary_db, replica_db)
        lap("web_start_s")

        progress(f"==> {reports} reports from {writers} writer threads while {readers} threads read the list")
        before = {"primary": statement_counts(primary_db), "replica": statement_counts(replica_db)}
        cpu_before = _process_cpu(web.pid)
        config = folder / "client.json"
        config.write_text(json.dumps({"port": web_port, "points": seed["points"], "run_id": run_id,
                                      "reports": reports, "writers": writers, "readers": readers,
                                      "writer": seed["keys"]["operator"], "reader": seed["keys"]["dispatcher"]}))
        client_out = folder / "client-out.json"
        sampler = LagSampler(primary.url())
        sampler.start()
        try:
            subprocess.run([PYTHON, str(Path(__file__).resolve()), "--client", str(config), str(client_out)],
                           cwd=ROOT, check=True, timeout=900)
        finally:
            sampler.halt.set()
            sampler.join(5)
        load = json.loads(client_out.read_text())
        cpu_after = _process_cpu(web.pid)
        catch_up_s = wait_replayed(primary_db, replica_db)
        after = {"primary": statement_counts(primary_db), "replica": statement_counts(replica_db)}
        lap("load_s")

        ryw = None
        if not synchronous:  # remote_apply would wait for the paused replay forever
            progress("==> read-your-writes with replay paused on the replica")
            ryw = read_your_writes(web_port, seed["keys"], seed["points"][0], primary_db, replica_db, run_id)
        lap("read_your_writes_s")

        acked = load["acked"]
        ids = sorted(int(v["id"]) for v in acked.values())
        if ryw and ryw["case_id"]:
            ids.append(int(ryw["case_id"]))
        numbers = {int(v["id"]): v["number"] for v in acked.values()}
        found = {}
        for name, conn in (("primary", primary_db), ("replica", replica_db)):
            rows = conn.execute("SELECT id, number FROM cases_case WHERE id = ANY(%s)", (ids,)).fetchall()
            found[name] = {int(pk): number for pk, number in rows}
        made = _one(primary_db, "SELECT count(*) FROM cases_case WHERE idempotency_key LIKE %s",
                    (f"api:%:{run_id}-%",))
        keys_made = _one(primary_db, "SELECT count(DISTINCT idempotency_key) FROM cases_case WHERE idempotency_key LIKE %s",
                         (f"api:%:{run_id}-%",))
        replication = primary_db.execute(
            "SELECT application_name, state, sync_state FROM pg_stat_replication").fetchall()
        statements = {name: _diff(after[name], before[name]) for name in after}
        served = {pid: round(cpu_after[pid] - cpu_before.get(pid, 0), 2) for pid in cpu_after if pid != web.pid}
        busy_workers = sum(1 for seconds in served.values() if seconds >= 0.2)

        checks = {
            "every report acknowledged": not load["unacked"] and len(acked) == reports,
            "every acknowledged report on the primary (same number)":
                all(found["primary"].get(pk) == number for pk, number in numbers.items()),
            "every acknowledged report on the replica after catch-up (same number)":
                all(found["replica"].get(pk) == number for pk, number in numbers.items()),
            "no idempotency key made two cases (retries included)": made == keys_made == len(acked) + (1 if ryw else 0),
            "list reads served by the replica":
                statements["replica"]["case_selects"] >= load["gets_ok"] > 0,
            "reports written on the primary only":
                statements["primary"]["case_inserts"] >= len({v['id'] for v in acked.values() if v["status"] == 201})
                and statements["replica"]["writes"] == 0,
            "list requests all answered 200": load["gets_ok"] == load["gets"],
            f"{workers} workers served requests": busy_workers >= workers,
        }
        if ryw:
            checks["read-your-writes: the author sees the new case while the replica lags"] = (
                ryw["post_status"] == 201 and ryw["author_with_cookie"] == 200)
            checks["another user's read came from the paused replica (404), then 200 after replay"] = (
                ryw["other_user_while_paused"] == 404 and ryw["other_user_after_replay"] == 200)
            checks["the read-your-writes case is on both clusters"] = all(
                found[name].get(int(ryw["case_id"])) == ryw["case_number"] for name in found)
        result = {
            "ok": all(checks.values()), "checks": checks, "run_id": run_id, "postgres": bindir.parent.name,
            "folder": str(base),
            "ports": {"primary": primary_port, "replica": replica_port, "web": web_port},
            "replication": [list(r) for r in replication], "synchronous": synchronous,
            "server": server, "workers": workers, "threads": threads, "cache": "redis" if redis_url else "locmem",
            "grids": seed["grids"], "reports": reports, "writers": writers, "readers": readers,
            "acknowledged": len(acked), "unacknowledged": len(load["unacked"]), "retries": load["retries"],
            "post_status": load["post_status"], "get_status": load["get_status"],
            "load_seconds": round(load["seconds"], 2),
            "reports_per_s": round(len(acked) / load["seconds"], 1) if load["seconds"] else None,
            "lists_per_s": round(load["gets"] / load["seconds"], 1) if load["seconds"] else None,
            "post_p50_ms": round(load["post_p50_ms"], 1), "post_p99_ms": round(load["post_p99_ms"], 1),
            "get_p50_ms": round(load["get_p50_ms"], 1), "get_p99_ms": round(load["get_p99_ms"], 1),
            "lists": load["gets"], "max_replay_lag_s": round(sampler.max_lag_s, 3),
            "max_bytes_behind": sampler.max_bytes, "lag_samples": sampler.samples,
            "catch_up_s": round(catch_up_s, 3), "statements": statements, "worker_cpu_s": served,
            "read_your_writes": ryw, "timings_s": timings,
        }
        errors = web_log.read_text(errors="replace").strip()
        if errors:
            result["web_log_tail"] = errors[-3000:]
        if web.poll() is not None:
            result["checks"]["the web server stayed up"] = result["ok"] = False
        return result
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        for conn in conns:
            conn.close()
        if web is not None:
            try:
                os.killpg(web.pid, signal.SIGTERM)
                web.wait(timeout=20)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(web.pid, signal.SIGKILL)
        if keep:
            print(f"kept: {base} (primary :{primary_port}, replica :{replica_port}); stop with\n"
                  f"  {' '.join(primary.as_postgres)} {bindir}/pg_ctl -D {replica.datadir} stop; "
                  f"{' '.join(primary.as_postgres)} {bindir}/pg_ctl -D {primary.datadir} stop; rm -rf {base}",
                  file=sys.stderr)
        else:
            replica.stop()
            primary.stop()
            shutil.rmtree(base, ignore_errors=True)


# --- reporting ------------------------------------------------------------------------------------


def summary(result: dict[str, Any]) -> str:
    s = result["statements"]
    lines = [
        f"PostgreSQL {result['postgres']}: primary :{result['ports']['primary']} → replica :{result['ports']['replica']} "
        f"({', '.join('/'.join(map(str, r)) for r in result['replication'])}); {result['server']} "
        f"{result['workers']} workers × {result['threads']} threads on :{result['ports']['web']}, cache {result['cache']}",
        f"reports: {result['acknowledged']}/{result['reports']} acknowledged in {result['load_seconds']} s "
        f"({result['reports_per_s']}/s, p50 {result['post_p50_ms']} ms, p99 {result['post_p99_ms']} ms, "
        f"{result['retries']} retries, statuses {dict(result['post_status'])})",
        f"lists:   {result['lists']} GET {LIST_PATH} meanwhile ({result['lists_per_s']}/s, p50 {result['get_p50_ms']} ms, "
        f"p99 {result['get_p99_ms']} ms, statuses {dict(result['get_status'])})",
        f"replication: worst replay lag {result['max_replay_lag_s']} s, worst {result['max_bytes_behind']:,} bytes "
        f"behind ({result['lag_samples']} samples); caught up {result['catch_up_s']} s after the last report",
        f"statements during the load — primary: {s['primary']['case_selects']} SELECTs on cases_case, "
        f"{s['primary']['case_inserts']} rows inserted into cases_case, {s['primary']['writes']} writes in all; "
        f"replica: {s['replica']['case_selects']} SELECTs on cases_case, {s['replica']['writes']} writes",
        f"web workers' CPU seconds during the load: {result['worker_cpu_s']}",
    ]
    ryw = result.get("read_your_writes")
    if ryw:
        lines.append(
            f"read-your-writes (replay paused): POST {ryw['post_status']} case {ryw['case_number']}; author with cookie "
            f"→ {ryw['author_with_cookie']}, author by token only → {ryw['author_token_only']}, another user → "
            f"{ryw['other_user_while_paused']} (replica), after replay → {ryw['other_user_after_replay']}")
    lines.append(f"timings: {result['timings_s']}")
    lines += [f"[{'ok' if passed else 'FAILED'}] {name}" for name, passed in result["checks"].items()]
    return "\n".join(lines)


TITLE = "Primary + streaming replica, several web workers (bench_replica)"


def as_bench(result: dict[str, Any]) -> dict[str, Any]:
    """One run in bench/run.py's shape (rows for BENCHMARKS.md); the whole result is under ``raw``."""
    s = result["statements"]
    rows = [
        {"metric": "reports acknowledged / sent", "value": f"{result['acknowledged']}/{result['reports']}",
         "unit": "", "target": "all, each on primary and replica"},
        {"metric": "reports/s (POST /api/v1/cases) while lists are read", "value": result["reports_per_s"],
         "unit": "req/s"},
        {"metric": "report p99 latency", "value": result["post_p99_ms"], "unit": "ms"},
        {"metric": "lists/s (GET /api/v1/cases, from the replica)", "value": result["lists_per_s"], "unit": "req/s"},
        {"metric": "list p99 latency", "value": result["get_p99_ms"], "unit": "ms"},
        {"metric": "worst replay lag during the load", "value": result["max_replay_lag_s"], "unit": "s"},
        {"metric": "catch-up after the last report", "value": result["catch_up_s"], "unit": "s"},
        {"metric": "SELECTs on cases_case: replica / primary", "value":
         f"{s['replica']['case_selects']}/{s['primary']['case_selects']}", "unit": ""},
    ]
    mode = "synchronous (remote_apply)" if result["synchronous"] else "asynchronous"
    notes = (f"{result['server']} {result['workers']} workers × {result['threads']} threads, DB_POOL=1, cache "
             f"{result['cache']}; {result['writers']} writer and {result['readers']} reader threads in a separate "
             f"process; {mode} streaming replication with a slot. Checks: "
             + "; ".join(f"{name}: {'ok' if passed else 'FAILED'}" for name, passed in result["checks"].items()))
    return {"name": "replica", "title": TITLE, "rows": rows, "notes": notes, "ok": result["ok"], "raw": result}


def run(quick: bool = False) -> dict[str, Any]:
    """The bench/run.py entry: the figures of one demo run."""
    if postgres_bindir() is None:
        return {"name": "replica", "title": TITLE, "rows": [],
                "notes": "Skipped: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)."}
    return as_bench(demo(quick=quick))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        client_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 reports instead of 3,000 (the CI test)")
    parser.add_argument("--reports", type=int, help="number of reports to send")
    parser.add_argument("--writers", type=int, default=8, help="threads sending reports (default 8)")
    parser.add_argument("--readers", type=int, default=4, help="threads reading the case list (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per web worker (default 4)")
    parser.add_argument("--server", choices=["granian", "gunicorn"], help="default: granian when installed")
    parser.add_argument("--synchronous", action="store_true",
                        help="synchronous replication (synchronous_commit = remote_apply); skips the paused-replay check")
    parser.add_argument("--keep", action="store_true", help="leave the clusters running afterwards")
    parser.add_argument("--output", default=str(RESULTS), help=f"results JSON (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args()
    try:
        result = demo(quick=args.quick, reports=args.reports, writers=args.writers, readers=args.readers,
                      workers=args.workers, threads=args.threads, server=args.server,
                      synchronous=args.synchronous, keep=args.keep)
    except KeyboardInterrupt:
        print("interrupted: clusters stopped and removed", file=sys.stderr)
        sys.exit(130)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(as_bench(result), ensure_ascii=False, indent=2) + "\n")
    print(summary(result))
    print(f"wrote {output}")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
