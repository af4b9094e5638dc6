"""Curves, not points: what each everyday operation costs at 10⁴, 10⁵, 10⁶ and 10⁷ cases, on SQLite and
PostgreSQL, in the metro city (the demo city of 济南 with 70,000 unit grids; ``bench/datasets.py``).

At every size and for each database, in the same run:

- **intake**: ``case_report_many`` (batches of 500 hotline reports, the last days of the year so the
  duplicate check meets the open cases of a busy city), per report; baseline: a bare ``bulk_create`` of
  the same case, stage and event rows. Rolled back afterwards, so the data set stays as generated;
- **point → grid**: ``GridIndex.locate_one`` (median of 10,000 random points in the city) and
  ``locate_many`` (200,000 points) over the 70,000 grids; baseline: a bare ``STRtree.query``;
- **workbench**: the pages as a browser gets them (Django's test client through the whole middleware
  and template stack): ``/`` (the queues of a city-wide dispatcher), ``/cases/`` page 1 for the
  dispatcher, for a district-scoped leader and for a handler, a deep page (the middle of the list), a
  text search ``q=``; ``GET /api/v1/cases`` page 1, a deep page and ``q=`` (list micro-cache off);
  baselines: a bare ``SELECT count(*)`` of the cases (what any page with a total must at least do), and
  for deep pages a primary-key fetch of the same rows;
- **map**: ``/map/cases.json`` as the 一张图 page asks for it (every open case of the scope) and for one
  viewport (≈ 3 km × 2 km at zoom 15 in 历下区), ``/map/grid-counts.geojson`` and ``/map/grids.geojson``
  for the viewport; baselines: the bare SELECT of the same rows;
- **evaluation** of 2026Q3 for all departments (``cityloop.evaluation.selectors.evaluate``) and the page's
  report with the previous quarter, in a process of its own whose peak RSS (VmHWM) is read afterwards;
  baseline: bare counts of the rows it reads;
- **database size** on disk; baseline: the smallest size's bytes per case times the size;
- **memory**: peak RSS (VmHWM) of a granian web worker after serving the list, deep page, search and
  map requests; baseline: the same worker after serving only ``/api/v1/health``.

From 10⁶ cases on, the pages that the indexes proposed for the cases app should speed up are measured again
with those indexes created (``PROPOSED_INDEXES``; dropped afterwards). A statement running longer than 60 s
(``BENCH_QUERY_LIMIT_S``) is stopped and its page reported as ``> 60,000 ms``.

Each timed figure is the median of 3–7 runs after one warm-up (fewer when a run takes seconds). A figure
grows faster than linearly when its exponent (the slope of log time over log size between the two
largest sizes) is above 1; a page is over budget when it needs more than 300 ms at 10⁶ cases. Charts:
``bench/results/scale_*.png``.

Data sets are built by ``bench/datasets.py`` and kept between runs only with ``--keep-data``
(``BENCH_DATA_DIR``, ``cityloop_scale_*`` databases); those that existed before the run are always kept.

Usage: .venv/bin/python bench/bench_scale.py [--quick] [--sizes 1e4,1e5,1e6] [--db sqlite|postgres|both]
       [--sqlite-max 1e6] [--keep-data]   (or through bench/run.py / ``cityloop bench``)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import datasets  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
QUICK_SIZES = [1_000, 10_000]
QUICK_GRIDS = 10_000
QUICK_DISTRICTS = {"370102": 14}  # 历下区 only
#: SQLite is measured up to this size by default: 10⁷ cases take hours to load and index there.
SQLITE_MAX = 1_000_000
PAGE_BUDGET_S = 0.300
SEARCH_TERM = "泉城路"
#: One screen of the map at zoom 15 in 历下区 (≈ 3 km × 2 km), WGS-84.
VIEWPORT = (117.010, 36.650, 117.044, 36.668)
WEB_PAGE_SIZE = 50
API_PAGE_SIZE = 100
INTAKE_BATCH = 500
Progress = Callable[[str, int, int], None]


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


# --- measuring inside a child process (Django set up on one data set) -------------------------------------


#: A statement running longer than this is stopped and its page reported as timed out (``> 60 s``).
QUERY_LIMIT_S = int(os.environ.get("BENCH_QUERY_LIMIT_S", "60"))
_deadline = [math.inf]


class TimedOut(Exception):
    """A statement of the measured operation ran past QUERY_LIMIT_S and was stopped."""


def _is_timeout(exc: BaseException) -> bool:
    text = str(exc)
    return "statement timeout" in text or "interrupted" in text


def _once(fn: Callable[[], Any]) -> Any:
    _deadline[0] = time.monotonic() + QUERY_LIMIT_S
    try:
        return fn()
    except Exception as exc:
        if _is_timeout(exc):
            raise TimedOut(str(exc)) from None
        raise
    finally:
        _deadline[0] = math.inf


def _timed(fn: Callable[[], Any], *, budget: float = 2.0, max_runs: int = 7, min_runs: int = 3) -> float:
    """Median seconds of ``fn`` after one warm-up run; ``TimedOut`` when a statement hits the limit."""
    first = time.perf_counter()
    _once(fn)
    if time.perf_counter() - first > 8:  # very slow: one more run is enough
        min_runs = max_runs = 1
    times: list[float] = []
    while len(times) < max_runs:
        began = time.perf_counter()
        _once(fn)
        times.append(time.perf_counter() - began)
        if len(times) >= min_runs and sum(times) > budget:
            break
    return statistics.median(times)


def _limit_statements() -> None:
    """Stop statements after QUERY_LIMIT_S: PostgreSQL's statement_timeout on every new connection, an
    SQLite progress handler that aborts once the measured call's deadline has passed."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    if connection.vendor == "postgresql":
        options = connection.settings_dict.setdefault("OPTIONS", {})
        options["options"] = f"-c statement_timeout={QUERY_LIMIT_S * 1000}"
        connection.close()
        return

    def install(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":
            connection.connection.set_progress_handler(lambda: int(time.monotonic() > _deadline[0]), 200_000)

    connection_created.connect(install, weak=False)
    connection.close()


def _vm(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0])
    return out


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    _limit_statements()


def _bare(sql: str, params: list[Any] | None = None) -> Callable[[], Any]:
    from django.db import connection

    def run() -> Any:
        with connection.cursor() as c:
            c.execute(sql, params or [])
            return c.fetchall()

    return run


def _open_statuses() -> list[str]:
    from cityloop.cases.statuses import OPEN_STATUSES

    return sorted(str(s) for s in OPEN_STATUSES)


def _child_measure(url: str, size: int, quick: bool) -> dict[str, Any]:
    _setup(url)
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from cityloop.accounts.models import User
    from cityloop.cases.models import Case

    figures: dict[str, Any] = {"size": size, "vendor": connection.vendor}
    total = Case.objects.count()
    figures["cases"] = total
    figures.update(_intake(quick))
    figures.update(_lookup(quick))
    users = {name: User.objects.get(username=name) for name in ("dispatcher", "bench-district-leader", "handler")}
    clients = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        clients[name] = client
    mid_web = max(1, total // WEB_PAGE_SIZE // 2)
    mid_api = max(1, total // API_PAGE_SIZE // 2)
    box = ",".join(str(v) for v in VIEWPORT)
    q = urlencode({"q": SEARCH_TERM})
    pages = {
        "home": ("dispatcher", "/"),
        "list_p1": ("dispatcher", "/cases/"),
        "list_p1_district": ("bench-district-leader", "/cases/"),
        "list_p1_handler": ("handler", "/cases/"),
        "list_deep": ("dispatcher", f"/cases/?page={mid_web}"),
        "list_search": ("dispatcher", f"/cases/?{q}"),
        "api_p1": ("dispatcher", "/api/v1/cases?page_size=20"),
        "api_deep": ("dispatcher", f"/api/v1/cases?page_size={API_PAGE_SIZE}&page={mid_api}"),
        "api_search": ("dispatcher", f"/api/v1/cases?page_size=20&{q}"),
        "map_cases_all": ("dispatcher", "/map/cases.json?is_open=true"),
        "map_cases_view": ("dispatcher", f"/map/cases.json?is_open=true&bbox={box}"),
        "map_counts_view": ("dispatcher", f"/map/grid-counts.geojson?is_open=true&bbox={box}"),
        "map_grids_view": ("dispatcher", f"/map/grids.geojson?bbox={box}"),
    }
    details: dict[str, Any] = {}

    def getter(key: str) -> Callable[[], Any]:
        who, path = pages[key]
        client = clients[who]

        def get() -> Any:
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code} {response.content[:300]!r}")
            return response

        return get

    with override_settings(CITYLOOP_API_THROTTLE_RATES={"user": None, "anon": None},
                           CITYLOOP_API_LIST_CACHE_SECONDS=0):
        for key in pages:
            get = getter(key)
            try:
                figures[key] = _timed(get)
            except TimedOut:
                figures[key] = QUERY_LIMIT_S
                figures.setdefault("timed_out", []).append(key)
                continue
            response = get()
            details[key] = {"bytes": len(response.content)}
            if key.startswith("map_cases"):
                body = json.loads(response.content)
                details[key]["rows"] = len(body["rows"])
                details[key]["truncated"] = body.get("truncated", False)
            if key.startswith("api_"):
                details[key]["count"] = json.loads(response.content)["count"]
        if size >= PROPOSED_FROM and not quick:
            figures.update(_with_proposed_indexes(getter))
    figures["details"] = details
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()  # the test client's logins: the data set stays as generated
    figures.update(_baselines(total, mid_web))
    figures["bytes"] = datasets.database_bytes()
    figures.update(_worker_rss(url, users["dispatcher"], pages))
    return figures


#: Indexes proposed for the cases app (they belong in its models' Meta), measured here on the largest data
#: sets: each is created, the pages that should gain are measured again, and it is dropped. Indexes to try at 10⁶ cases and more, per database: (label, SQL). The first run's proposals — Case
#: (reported_at, id), CaseStage (department, case), trigram indexes for text search — are in cases migration 0005.
PROPOSED_INDEXES: dict[str, list[tuple[str, str]]] = {"postgresql": [], "sqlite": []}
PROPOSED_PAGES = ["list_p1_handler", "list_deep", "api_deep", "list_search", "api_search"]
PROPOSED_FROM = 1_000_000


def _with_proposed_indexes(getter: Callable[[str], Callable[[], Any]]) -> dict[str, Any]:
    from django.db import connection

    proposed = PROPOSED_INDEXES.get(connection.vendor, [])
    if not proposed:
        return {}
    statements = [st for _label, sql in proposed for st in sql.split("; ")]
    names = [st.split()[2] for st in statements if st.startswith("CREATE INDEX")]
    out: dict[str, Any] = {"proposed_indexes": [label for label, _sql in proposed]}
    began = time.perf_counter()
    try:
        with connection.cursor() as c:
            if connection.vendor == "postgresql":
                c.execute("SET statement_timeout = 0")  # building them takes minutes; the pages are limited again
            for statement in statements:
                c.execute(statement)
            if connection.vendor == "postgresql":
                c.execute("VACUUM ANALYZE cases_case")
                c.execute("VACUUM ANALYZE cases_casestage")
                c.execute(f"SET statement_timeout = {QUERY_LIMIT_S * 1000}")
        out["proposed_build_s"] = time.perf_counter() - began
        for key in PROPOSED_PAGES:
            try:
                out[f"{key}_proposed"] = _timed(getter(key))
            except TimedOut:
                out[f"{key}_proposed"] = QUERY_LIMIT_S
                out.setdefault("timed_out_proposed", []).append(key)
    finally:  # the data set stays as generated, even when a build or a page failed
        connection.close()
        with connection.cursor() as c:
            for name in names:
                c.execute(f"DROP INDEX IF EXISTS {name}")
    return out


def _baselines(total: int, mid_web: int) -> dict[str, Any]:
    from django.db import connection

    from cityloop.cases.models import Case
    from cityloop.geo.models import Grid

    case_table = connection.ops.quote_name(Case._meta.db_table)
    grid_table = connection.ops.quote_name(Grid._meta.db_table)
    out: dict[str, Any] = {}
    out["base_count"] = _timed(_bare(f"SELECT count(*) FROM {case_table}"))
    offset = (mid_web - 1) * WEB_PAGE_SIZE
    try:
        ids = _once(lambda: list(Case.objects.order_by("-reported_at", "-id")
                                 .values_list("pk", flat=True)[offset:offset + WEB_PAGE_SIZE]))
    except TimedOut:
        ids = list(Case.objects.order_by("-id").values_list("pk", flat=True)[:WEB_PAGE_SIZE])
    marks = ", ".join(["%s"] * len(ids)) or "NULL"
    out["base_pk_fetch"] = _timed(_bare(f"SELECT * FROM {case_table} WHERE id IN ({marks})", ids))
    statuses = _open_statuses()
    marks = ", ".join(["%s"] * len(statuses))
    out["base_open"] = _timed(_bare(f"SELECT id, lon, lat, status FROM {case_table} WHERE status IN ({marks})", statuses))
    min_lon, min_lat, max_lon, max_lat = VIEWPORT
    out["base_open_view"] = _timed(_bare(
        f"SELECT id, lon, lat, status FROM {case_table} WHERE status IN ({marks}) AND lon BETWEEN %s AND %s "
        f"AND lat BETWEEN %s AND %s", [*statuses, min_lon, max_lon, min_lat, max_lat]))
    out["base_grids_view"] = _timed(_bare(
        f"SELECT id, code, boundary_wkb FROM {grid_table} WHERE min_lon <= %s AND max_lon >= %s AND min_lat <= %s "
        f"AND max_lat >= %s", [max_lon, min_lon, max_lat, min_lat]))
    return out


def _intake(quick: bool) -> dict[str, Any]:
    """Reports per second through case_report_many, and through bare bulk_create; both rolled back."""
    from datetime import datetime, timedelta

    import numpy as np
    from django.db import transaction
    from django.utils import timezone

    from cityloop.cases.models import Case, CaseEvent, CaseStage
    from cityloop.cases.services.reporting import ReportInput, case_report_many
    from cityloop.cases.statuses import CaseStatus, Source
    from cityloop.catalog.models import Category, Stage
    from cityloop.geo.lookup import get_grid_index

    index = get_grid_index()
    rng = np.random.default_rng(5)
    categories = list(Category.objects.filter(parent__isnull=False, is_active=True).select_related("parent"))
    batch = 200 if quick else INTAKE_BATCH
    batches = 2 if quick else 4
    start = datetime(datasets.YEAR, 12, 28, 9, 0, tzinfo=timezone.get_current_timezone())
    picks = rng.integers(0, len(index), batch * batches)
    points = [(p.x, p.y) for p in (g.representative_point() for g in index.geometries[picks])]
    cats = rng.integers(0, len(categories), batch * batches).tolist()
    work = [[ReportInput(source=Source.HOTLINE, category=categories[cats[i]], description=f"热线反映：路面有问题需要处理 {i}",
                         lon=points[i][0], lat=points[i][1], address=f"测试路 {i} 号",
                         at=start + timedelta(seconds=37 * i), reporter_phone="13800000000")
             for i in range(b * batch, (b + 1) * batch)] for b in range(batches)]
    times = []
    with transaction.atomic():
        case_report_many(work[0][:5])  # warm-up: catalog snapshot, calendar, routing memo (rolled back too)
        for chunk in work:
            began = time.perf_counter()
            case_report_many(chunk)
            times.append(time.perf_counter() - began)
        transaction.set_rollback(True)
    # Baseline: the same rows written by bare bulk_create (numbers, grids and regions taken as given).
    template = Case.objects.order_by("-id").first()
    assert template is not None
    base_times = []
    with transaction.atomic():
        for b in range(batches):
            rows = [Case(number=f"B{b:02d}{n:07d}", source=Source.HOTLINE, category_id=template.category_id,
                         description=template.description, address=template.address, lon=template.lon,
                         lat=template.lat, grid_id=template.grid_id, community_id=template.community_id,
                         street_id=template.street_id, district_id=template.district_id, status=CaseStatus.REPORTED,
                         reported_at=start, updated_at=start, reporter_phone="13800000000") for n in range(batch)]
            began = time.perf_counter()
            with transaction.atomic():
                made = Case.objects.bulk_create(rows)
                CaseStage.objects.bulk_create([
                    CaseStage(case=c, stage=Stage.ACCEPT, started_at=start, limit_value=1, limit_unit="work_hour",
                              warn_at=start, due_at=start) for c in made])
                CaseEvent.objects.bulk_create([
                    CaseEvent(case=c, action="report", to_status=CaseStatus.REPORTED, created_at=start) for c in made])
            base_times.append(time.perf_counter() - began)
        transaction.set_rollback(True)
    return {"intake_ms": statistics.median(times) / batch * 1000,
            "base_intake_ms": statistics.median(base_times) / batch * 1000, "intake_reports": batch * batches}


def _lookup(quick: bool) -> dict[str, Any]:
    import numpy as np
    import shapely

    from cityloop.geo.lookup import GridIndex

    began = time.perf_counter()
    index = GridIndex.from_db()
    build_s = time.perf_counter() - began
    rng = np.random.default_rng(7)
    min_x, min_y = float(index.min_x.min()), float(index.min_y.min())
    max_x, max_y = float(index.max_x.max()), float(index.max_y.max())
    n = 50_000 if quick else 200_000
    lons = rng.uniform(min_x, max_x, n)
    lats = rng.uniform(min_y, max_y, n)
    many = _timed(lambda: index.locate_many(lons, lats), budget=1.0)
    tree = shapely.STRtree(index.geometries)
    singles, bare = [], []
    for lon, lat in zip(lons[:10_000].tolist(), lats[:10_000].tolist(), strict=True):
        t = time.perf_counter_ns()
        index.locate_one(lon, lat)
        singles.append(time.perf_counter_ns() - t)
        t = time.perf_counter_ns()
        tree.query(shapely.Point(lon, lat), predicate="intersects")
        bare.append(time.perf_counter_ns() - t)
    return {"grids": len(index), "grid_index_build_s": build_s, "locate_one_us": statistics.median(singles) / 1000,
            "base_locate_one_us": statistics.median(bare) / 1000, "locate_many_us": many / n * 1e6,
            "base_locate_many_us": _timed(lambda: tree.query(shapely.points(lons, lats), predicate="intersects"),
                                          budget=1.0) / n * 1e6}


# --- the web worker's memory ---------------------------------------------------------------------------------

SERVER_SETTINGS = textwrap.dedent("""
    from config.settings import *  # noqa: F401,F403

    CITYLOOP_API_THROTTLE_RATES = {"user": None, "anon": None}
    CITYLOOP_API_LIST_CACHE_SECONDS = 0
    # The pages name static files by their plain names here (no collectstatic for a memory measurement).
    STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c statement_timeout=%d"
""") % (QUERY_LIMIT_S * 1000)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _worker_rss(url: str, user: Any, pages: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Peak RSS of one granian WSGI worker before and after it served the heavy pages."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    granian = Path(sys.executable).with_name("granian")
    if not granian.exists():
        return {"worker_note": "granian is not installed: web worker memory not measured"}
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    folder = Path(tempfile.mkdtemp(prefix="cityloop-bench-scale-"))
    (folder / "bench_scale_settings.py").write_text(SERVER_SETTINGS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench_scale_settings", "DEBUG": "0",
           "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    server = subprocess.Popen([str(granian), "--interface", "wsgi", "--workers", "1", "--blocking-threads", "1",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
                               "config.wsgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> float:
        request = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={session.session_key}"})
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
        return time.perf_counter() - began

    try:
        deadline = time.time() + 90
        while True:
            try:
                get("/api/v1/health")
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("granian did not start") from None
                time.sleep(0.3)
        for _ in range(3):
            get("/api/v1/health")
            get("/login/")
        workers = _children(server.pid) or [server.pid]
        idle = max((_vm(w) for w in workers), key=lambda v: v.get("VmHWM", 0), default={})
        served = {}
        for key in ("list_p1", "list_deep", "list_search", "api_deep", "map_cases_all", "map_counts_view",
                    "map_grids_view", "home"):
            try:
                served[key] = get(pages[key][1])
            except urllib.error.HTTPError as exc:  # a statement stopped at the limit: the worker still worked
                served[key] = f"HTTP {exc.code}"
        workers = _children(server.pid) or [server.pid]
        peak = max((_vm(w) for w in workers), key=lambda v: v.get("VmHWM", 0), default={})
        return {"worker_idle_kib": idle.get("VmHWM"), "worker_peak_kib": peak.get("VmHWM"),
                "worker_served_s": served, "worker_processes": len(workers)}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
        session.delete()


# --- the evaluation in its own process ------------------------------------------------------------------------


def _child_eval(url: str) -> dict[str, Any]:
    _setup(url)
    from datetime import datetime

    from django.db import connection
    from django.utils import timezone

    from cityloop.cases.models import Case, CaseEvent, CaseStage
    from cityloop.evaluation import selectors
    from cityloop.evaluation.periods import Period

    Case.objects.exists()
    before = _vm()
    period = Period.quarter(datasets.YEAR, 3).at(datetime(datasets.YEAR + 1, 1, 1, tzinfo=timezone.get_current_timezone()))
    timed_out = []
    try:
        departments = _timed(lambda: selectors.evaluate(level="department", period=period, compare=False),
                             budget=3.0, max_runs=3)
    except TimedOut:
        departments = QUERY_LIMIT_S
        timed_out.append("eval_s")
    began = time.perf_counter()
    try:
        report = _once(lambda: selectors.evaluate(level="department", period=period, compare=True))
        page = time.perf_counter() - began
        rows = len(report.rows)
    except TimedOut:
        page, rows = QUERY_LIMIT_S, 0
        timed_out.append("eval_page_s")
    # The page as the view builds it: the table and its six-quarter trend, counted afresh, then with the counts
    # of the last few minutes reused (CITYLOOP_EVALUATION_CACHE_SECONDS, as shipped).
    from django.test import override_settings

    def page_reports() -> Any:
        return selectors.trend(level="department", period=Period.quarter(datasets.YEAR, 3).at(timezone.now()),
                               count=6)

    with override_settings(CITYLOOP_EVALUATION_CACHE_SECONDS=0):
        try:
            began = time.perf_counter()
            _once(page_reports)
            trend_cold = time.perf_counter() - began
        except TimedOut:
            trend_cold = QUERY_LIMIT_S
            timed_out.append("eval_trend_cold_s")
    with override_settings(CITYLOOP_EVALUATION_CACHE_SECONDS=300):
        try:
            _once(page_reports)
            trend_warm = _timed(page_reports, budget=2.0)
        except TimedOut:
            trend_warm = QUERY_LIMIT_S
            timed_out.append("eval_trend_warm_s")
    start, end = period.start_at, period.end_at
    q = connection.ops.quote_name
    counts = [
        (f"SELECT count(*) FROM {q(CaseStage._meta.db_table)} WHERE stage = %s AND started_at >= %s AND started_at < %s",
         ["handle", start, end]),
        (f"SELECT count(*) FROM {q(CaseEvent._meta.db_table)} WHERE created_at >= %s AND created_at < %s", [start, end]),
        (f"SELECT count(*) FROM {q(Case._meta.db_table)} WHERE reported_at >= %s AND reported_at < %s", [start, end]),
    ]

    def bare() -> None:
        for sql, params in counts:
            _bare(sql, params)()

    base = _timed(bare, budget=3.0, max_runs=3)
    after = _vm()
    return {"eval_s": departments, "eval_page_s": page, "base_eval_s": base, "eval_rows": rows,
            "eval_trend_cold_s": trend_cold, "eval_trend_warm_s": trend_warm,
            "timed_out_eval": timed_out,
            "eval_rss_before_kib": before["VmHWM"], "eval_rss_peak_kib": after["VmHWM"],
            "eval_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


# --- the parent: data sets, children, rows, curves, charts ------------------------------------------------------


#: key, label, unit, baseline key, baseline label, scale (value → unit), is a page (held to 300 ms)
FIGURES: list[tuple[str, str, str, str, str, float, bool]] = [
    ("intake_ms", "intake: case_report_many, per report (batches of 500)", "ms", "base_intake_ms",
     "bare bulk_create of the same rows", 1.0, False),
    ("locate_one_us", "point → grid: locate_one (median)", "µs", "base_locate_one_us",
     "STRtree.query(Point)", 1.0, False),
    ("locate_many_us", "point → grid: locate_many, per point", "µs", "base_locate_many_us",
     "STRtree.query(points)", 1.0, False),
    ("home", "workbench / (queues of a city-wide dispatcher)", "ms", "base_count", "SELECT count(*) FROM cases",
     1000.0, True),
    ("list_p1", "/cases/ page 1 (city-wide dispatcher)", "ms", "base_count", "SELECT count(*) FROM cases", 1000.0, True),
    ("list_p1_district", "/cases/ page 1 (district-scoped leader)", "ms", "base_count", "SELECT count(*) FROM cases",
     1000.0, True),
    ("list_p1_handler", "/cases/ page 1 (handler of 市政)", "ms", "base_count", "SELECT count(*) FROM cases", 1000.0,
     True),
    ("list_deep", "/cases/ deep page (middle of the list)", "ms", "base_pk_fetch",
     "primary-key fetch of the same 50 rows", 1000.0, True),
    ("list_search", f"/cases/?q={SEARCH_TERM} (text search)", "ms", "base_count", "SELECT count(*) FROM cases", 1000.0,
     True),
    ("api_p1", "GET /api/v1/cases page 1", "ms", "base_count", "SELECT count(*) FROM cases", 1000.0, True),
    ("api_deep", "GET /api/v1/cases deep page (100 rows, middle)", "ms", "base_pk_fetch",
     "primary-key fetch of 50 rows", 1000.0, True),
    ("api_search", f"GET /api/v1/cases?q={SEARCH_TERM}", "ms", "base_count", "SELECT count(*) FROM cases", 1000.0, True),
    ("map_cases_all", "/map/cases.json, every open case (as the page loads)", "ms", "base_open",
     "SELECT id, lon, lat, status of open cases", 1000.0, True),
    ("map_cases_view", "/map/cases.json, one viewport", "ms", "base_open_view", "the same SELECT in the viewport",
     1000.0, True),
    ("map_counts_view", "/map/grid-counts.geojson, one viewport", "ms", "base_open",
     "SELECT id, lon, lat, status of open cases", 1000.0, True),
    ("map_grids_view", "/map/grids.geojson, one viewport", "ms", "base_grids_view",
     "SELECT of the grids' rows in the viewport", 1000.0, True),
    ("eval_s", "evaluation: all departments, 2026Q3", "s", "base_eval_s", "bare counts of the rows it reads", 1.0,
     False),
    ("eval_page_s", "evaluation page: departments with the previous quarter", "s", "base_eval_s",
     "bare counts of the rows it reads", 1.0, False),
    ("eval_trend_cold_s", "evaluation page's reports (table + six-quarter trend), counted afresh", "s",
     "base_eval_s", "bare counts of the rows it reads", 1.0, False),
    ("eval_trend_warm_s", "evaluation page's reports, counts of the last 5 minutes reused (as shipped)", "ms",
     "eval_trend_cold_s", "the same counted afresh", 1000.0, True),
    ("bytes", "database size on disk", "MiB", "base_bytes", "smallest size's bytes per case × cases", 1 / 2**20,
     False),
    ("worker_peak_kib", "web worker peak RSS (VmHWM)", "MiB", "worker_idle_kib", "the same worker after /api/v1/health",
     1 / 1024, False),
    ("eval_rss_peak_kib", "evaluation process peak RSS (VmHWM)", "MiB", "eval_rss_before_kib",
     "the same process before evaluating", 1 / 1024, False),
]
SECONDS_KEYS = {"home", "list_p1", "list_p1_district", "list_p1_handler", "list_deep", "list_search", "api_p1",
                "api_deep", "api_search", "map_cases_all", "map_cases_view", "map_counts_view", "map_grids_view",
                "base_count", "base_pk_fetch", "base_open", "base_open_view", "base_grids_view"}


def _timed_out(figures: dict[str, Any], key: str) -> bool:
    return key in (figures.get("timed_out") or []) + (figures.get("timed_out_eval") or []) + [
        f"{k}_proposed" for k in figures.get("timed_out_proposed") or []]


def _label(vendor: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[vendor]


def _scaled(key: str, value: Any, scale: float) -> float | None:
    if value is None:
        return None
    return float(value) * scale


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Slope of log(value) over log(size) between the two largest sizes (1 = linear)."""
    pts = [(n, v) for n, v in points if v and v > 0]
    if len(pts) < 2:
        return None
    (n1, v1), (n2, v2) = pts[-2], pts[-1]
    return math.log(v2 / v1) / math.log(n2 / n1)


def _measure_size(dataset: datasets.Dataset, quick: bool, progress: Progress, label: str) -> dict[str, Any]:
    progress(f"{label}: measuring", 0, 2)
    figures = datasets.run_child([__file__, "--child-measure", dataset.url, str(dataset.cases)] +
                                 (["--quick"] if quick else []),
                                 env={"CITYLOOP_DATA_DIR": str(datasets.data_dir())})
    progress(f"{label}: evaluation", 1, 2)
    figures.update(datasets.run_child([__file__, "--child-eval", dataset.url],
                                      env={"CITYLOOP_DATA_DIR": str(datasets.data_dir())}))
    progress(f"{label}: done", 2, 2)
    return figures


def _disk_free(vendor: str) -> int:
    if vendor == "sqlite":
        folder = datasets.data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(folder).free
    try:
        with datasets._pg() as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        return shutil.disk_usage(row[0]).free
    except Exception:
        return shutil.disk_usage("/").free


def _kept_sizes(grids: int) -> tuple[dict[str, dict[int, dict[str, Any]]], dict[str, dict[int, dict[str, Any]]], str]:
    """The per-size figures and builds of the last saved full-size run on the same city, and when it ran."""
    try:
        saved = json.loads((RESULTS / "bench_scale.json").read_text())
    except (OSError, ValueError):
        return {}, {}, ""
    raw = saved.get("raw") or {}
    if raw.get("grids", grids) != grids:
        return {}, {}, ""
    when = str(saved.get("measured_at") or "")

    def by_size(part: dict[str, Any] | None) -> dict[str, dict[int, dict[str, Any]]]:
        return {vendor: {int(n): figures for n, figures in sizes.items()} for vendor, sizes in (part or {}).items()}

    return by_size(raw.get("results")), by_size(raw.get("builds")), when


def run(quick: bool = False, sizes: list[int] | None = None, databases: tuple[str, ...] = ("sqlite", "postgres"),
        sqlite_max: int | None = None, keep_data: bool = False, progress: Progress | None = None,
        grids: int | None = None, keep_other_sizes: bool = False) -> dict[str, Any]:
    """Measure every size of ``sizes`` on each database. With ``keep_other_sizes`` (``--sizes`` given on the
    command line), the sizes and databases not measured now keep their figures from the last saved run, each
    marked with when it was measured, so that 10⁷ can be measured on its own."""
    say = progress or _no_progress
    sizes = sorted(sizes or (QUICK_SIZES if quick else SIZES))
    grids = grids or (QUICK_GRIDS if quick else datasets.METRO_GRIDS)
    districts = QUICK_DISTRICTS if quick else None
    sqlite_cap = sqlite_max if sqlite_max is not None else SQLITE_MAX
    notes: list[str] = []
    wanted = ["postgresql" if d in ("postgres", "postgresql") else d for d in databases]
    vendors = [v for v in wanted if v != "postgresql" or datasets.postgres_available()]
    if "postgresql" in wanted and "postgresql" not in vendors:
        notes.append("PostgreSQL was not reachable: not measured.")
    cities_before = {v for v in vendors if datasets.location_exists(v, datasets.city_location(v, grids))}
    results: dict[str, dict[int, dict[str, Any]]] = {}
    builds: dict[str, dict[int, dict[str, Any]]] = {}
    skipped: list[str] = []
    errors: list[str] = []
    built: list[datasets.Dataset] = []
    try:
        for vendor in vendors:
            results[vendor], builds[vendor] = {}, {}
            per_case_bytes = None
            for n in sizes:
                label = f"{_label(vendor)} {n:,}"
                if vendor == "sqlite" and n > sqlite_cap:
                    skipped.append(f"{label}: not measured (SQLite is measured up to {sqlite_cap:,} cases by default: "
                                   "loading and indexing 10⁷ cases there takes hours on this machine; `--sqlite-max` "
                                   "raises the limit)")
                    continue
                location = datasets.dataset_location(vendor, n, grids)
                exists = Path(location).exists() if vendor == "sqlite" else datasets._pg_exists(location)
                if per_case_bytes and not exists:
                    need = per_case_bytes * n * 1.2  # the data set and its index sorts
                    free = _disk_free(vendor)
                    if need > free:
                        skipped.append(f"{label}: not measured (needs ≈ {need / 2**30:,.0f} GiB, "
                                       f"{free / 2**30:,.0f} GiB free)")
                        continue
                began = time.perf_counter()
                try:
                    dataset = datasets.ensure_dataset(vendor, n, grids=grids, districts=districts,
                                                      progress=lambda p, d, t, lab=label: say(f"{lab}: {p}", d, t))
                except Exception as exc:  # a size that cannot be built is reported, the others still run
                    errors.append(f"{label}: {exc}")
                    print(f"{label}: the data set could not be built:\n{exc}", file=sys.stderr, flush=True)
                    skipped.append(f"{label}: the data set could not be built ({_last_line(exc)})")
                    continue
                if dataset.built_now:
                    built.append(dataset)
                builds[vendor][n] = {**dataset.info, "ensure_s": time.perf_counter() - began,
                                     "built_now": dataset.built_now}
                try:
                    figures = _measure_size(dataset, quick, say, label)
                except Exception as exc:
                    errors.append(f"{label}: {exc}")
                    print(f"{label}: measuring failed:\n{exc}", file=sys.stderr, flush=True)
                    skipped.append(f"{label}: measuring failed ({_last_line(exc)})")
                    continue
                figures["measured_at"] = f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
                results[vendor][n] = figures
                per_case_bytes = per_case_bytes or figures["bytes"] / max(n, 1)
                _save_partial(results, builds)
                if not keep_data and dataset.built_now:
                    datasets.drop_dataset(dataset)  # free the disk before the next size
                    built.remove(dataset)
    finally:
        if not keep_data:
            for dataset in built:
                datasets.drop_dataset(dataset)
            for vendor in set(vendors) - cities_before:
                datasets.drop_location(vendor, datasets.city_location(vendor, grids))
    if keep_other_sizes and not quick:
        kept, kept_builds, when = _kept_sizes(grids)
        for vendor, by_size in kept.items():
            for n, figures in by_size.items():
                if n in results.get(vendor, {}):
                    continue
                results.setdefault(vendor, {})[n] = figures
                builds.setdefault(vendor, {})[n] = kept_builds.get(vendor, {}).get(n, {})
                notes.append(f"{_label(vendor)} {datasets.size_label(n)}: kept from an earlier run (measured "
                             f"{figures.get('measured_at') or when}).")
        results = {vendor: dict(sorted(by_size.items())) for vendor, by_size in results.items()}
        builds = {vendor: dict(sorted(by_size.items())) for vendor, by_size in builds.items()}
    for by_size in results.values():
        smallest = min(by_size) if by_size else None
        for n, figures in by_size.items():
            assert smallest is not None
            figures["base_bytes"] = by_size[smallest]["bytes"] / smallest * n
    rows = _rows(results) + _proposed_rows(results)
    charts = _charts(results)
    notes.extend(skipped)
    return {"name": "scale", "title": "Scale: every operation at 10⁴…10⁷ cases (curves)", "rows": rows,
            "notes": _notes(results, builds, notes, charts, grids), "raw": {"results": _jsonable(results),
                                                                           "builds": _jsonable(builds),
                                                                           "errors": errors, "grids": grids}}


def _last_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _save_partial(results: dict[str, Any], builds: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_scale.tmp").write_text(
        json.dumps({"results": _jsonable(results), "builds": _jsonable(builds)}, ensure_ascii=False, indent=1))


def _rows(results: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for vendor, by_size in results.items():
        for key, label, unit, base_key, base_label, scale, page in FIGURES:
            for n in sorted(by_size):
                figures = by_size[n]
                value = _scaled(key, figures.get(key), scale)
                base = _scaled(base_key, figures.get(base_key), scale)
                if value is None:
                    continue
                target = "—"
                if page:
                    target = "< 300 ms at 10⁶"
                elif key == "intake_ms":
                    target = "flat (≤ 1 ms per report)"
                elif key.startswith("eval_s") or key == "eval_page_s":
                    target = "≤ 3 s at 10⁶"
                elif key in ("bytes", "worker_peak_kib", "eval_rss_peak_kib"):
                    target = "≤ linear"
                late = _timed_out(figures, key)
                rows.append({"metric": f"{_label(vendor)} {datasets.size_label(n)}: {label}"
                                       + (f" (stopped after {QUERY_LIMIT_S} s)" if late else ""),
                             "value": f"> {value:,.0f}" if late else value,
                             "unit": unit, "baseline": base_label, "baseline_value": base,
                             "ratio": None if late or not base else value / base, "target": target, "size": n,
                             "vendor": vendor, "key": key})
    return rows


def _proposed_rows(results: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    labels = {k: label for k, label, *_ in FIGURES}
    rows = []
    for vendor, by_size in results.items():
        for n in sorted(by_size):
            figures = by_size[n]
            if not figures.get("proposed_indexes"):
                continue
            for key in PROPOSED_PAGES:
                value, base = figures.get(f"{key}_proposed"), figures.get(key)
                if value is None or base is None:
                    continue
                late, late_before = _timed_out(figures, f"{key}_proposed"), _timed_out(figures, key)
                rows.append({"metric": f"{_label(vendor)} {datasets.size_label(n)}: {labels[key]}, with the proposed "
                                       f"indexes ({'; '.join(figures['proposed_indexes'])})",
                             "value": f"> {value * 1000:,.0f}" if late else value * 1000, "unit": "ms",
                             "baseline": "the same page without them",
                             "baseline_value": f"> {base * 1000:,.0f}" if late_before else base * 1000,
                             "ratio": None if late else (f"< {value / base:.3g}" if late_before else value / base),
                             "target": "< 300 ms at 10⁶", "size": n, "vendor": vendor, "key": f"{key}_proposed"})
    return rows


def _curve_table(vendor: str, by_size: dict[int, dict[str, Any]]) -> str:
    sizes = sorted(by_size)
    head = "| " + " | ".join(["figure", "unit", *(datasets.size_label(n) for n in sizes), "exponent"]) + " |"
    lines = [head, "|" + "---|" * (len(sizes) + 3)]
    for key, label, unit, _bk, _bl, scale, page in FIGURES:
        values = [_scaled(key, by_size[n].get(key), scale) for n in sizes]
        if all(v is None for v in values):
            continue
        slope = exponent([(n, v) for n, v in zip(sizes, values, strict=True) if v is not None])
        cells = []
        for n, v in zip(sizes, values, strict=True):
            text = "" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:,.3g}")
            if v is not None and _timed_out(by_size[n], key):
                text = f"> {text}"
            if page and v is not None and n >= 1_000_000 and v > PAGE_BUDGET_S * 1000:
                text = f"**{text}**"
            cells.append(text)
        at_least = "≥ " if sizes and _timed_out(by_size[sizes[-1]], key) else ""
        slope_text = "" if slope is None else at_least + f"{slope:.2f}" + (" ⚠" if slope > 1.15 and max(
            v for v in values if v is not None) > (10 if unit == "ms" else 0) else "")
        lines.append("| " + " | ".join([label, unit, *cells, slope_text]) + " |")
    return "\n".join(lines)


def _notes(results: dict[str, Any], builds: dict[str, Any], extra: list[str], charts: list[str], grids: int) -> str:
    parts = []
    for vendor, by_size in results.items():
        if not by_size:
            continue
        parts.append(f"\n\n**{_label(vendor)}** — the curves (bold: a page over 300 ms at ≥ 10⁶ cases; exponent: "
                     "slope of log value over log size between the two largest sizes, 1 = linear, ⚠ above 1.15):\n\n"
                     + _curve_table(vendor, by_size))
        lines = []
        for n in sorted(builds.get(vendor, {})):
            b = builds[vendor][n]
            how = "built in this run" if b.get("built_now") else "reused from an earlier run"
            lines.append(f"{datasets.size_label(n)}: {b.get('cases', n):,} cases, {b.get('stages', 0):,} stages, "
                         f"{b.get('events', 0):,} events, {b.get('bytes', 0) / 2**20:,.0f} MiB; generated in "
                         f"{b.get('generate_s', 0):,.0f} s, inserted in {b.get('load_s', 0):,.0f} s, indexes "
                         f"{b.get('index_s', 0):,.0f} s" + (f", VACUUM ANALYZE {b['vacuum_s']:,.0f} s"
                                                           if b.get("vacuum_s") else "") + f" ({how})")
        if lines:
            city = next(iter(builds[vendor].values())).get("city", {})
            parts.append(f"\n\n{_label(vendor)} data sets (city: {city.get('grids', grids):,} unit grids of "
                         f"{city.get('grid_size_m', 0):g} m over {city.get('area_km2', 0):,.0f} km², built in "
                         f"{city.get('migrate_and_city_s', 0):,.0f} s): " + "; ".join(lines) + ".")
    if charts:
        parts.append("\n\nCharts: " + ", ".join(f"[{Path(c).name}](bench/results/{Path(c).name})" for c in charts) + ".")
    if extra:
        parts.append("\n\n" + " ".join(extra))
    return ("Metro city: the demo city of 济南 (four central districts, demo streets and communities) with unit "
            f"grids for about {grids:,}; a year (2026) of cases with their stages and events by "
            "`bench/datasets.py`; pages measured through Django's test client as a city-wide dispatcher unless "
            "said otherwise; the map viewport is 117.010–117.044 E, 36.650–36.668 N." + "".join(parts))


def _charts(results: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    RESULTS.mkdir(parents=True, exist_ok=True)
    written = []
    groups = {
        "scale_pages.png": ("Desk pages (ms)", [k for k, *_rest in FIGURES if k in SECONDS_KEYS
                                                and not k.startswith(("api_", "map_"))], 1000.0),
        "scale_api_map.png": ("API and map layers (ms)", [k for k, *_rest in FIGURES
                                                          if k.startswith(("api_", "map_"))], 1000.0),
        "scale_work.png": ("Intake per report (ms), evaluation (s), lookup (µs)",
                           ["intake_ms", "eval_s", "eval_page_s", "locate_one_us"], 1.0),
        "scale_size_memory.png": ("Database size and peak RSS (MiB)", ["bytes", "worker_peak_kib",
                                                                        "eval_rss_peak_kib"], None),
    }
    # English labels only (the fonts matplotlib finds have no CJK glyphs everywhere).
    labels = {k: label.replace(SEARCH_TERM, "<road name>").replace("市政", "municipal") for k, label, *_ in FIGURES}
    scales = {k: scale for k, _l, _u, _bk, _bl, scale, _p in FIGURES}
    for name, (title, keys, _unit_scale) in groups.items():
        fig, axes = plt.subplots(1, len(results) or 1, figsize=(7 * max(1, len(results)), 5.5), squeeze=False)
        for ax, (vendor, by_size) in zip(axes[0], results.items(), strict=False):
            sizes = sorted(by_size)
            ax.set_prop_cycle(color=plt.cm.tab10.colors)
            for key in keys:
                points = [(n, _scaled(key, by_size[n].get(key), scales[key])) for n in sizes]
                points = [(n, v) for n, v in points if v]
                if points:
                    ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=labels[key][:48])
            if sizes and name in ("scale_pages.png", "scale_api_map.png"):
                ax.axhline(PAGE_BUDGET_S * 1000, color="red", linestyle=":", label="300 ms budget")
            firsts = [_scaled(k, by_size[sizes[0]].get(k), scales[k]) for k in keys] if sizes else []
            firsts = [v for v in firsts if v]
            if len(sizes) >= 2 and firsts:  # a linear reference through the smallest size's middle figure
                anchor = statistics.median(firsts)
                ax.plot([sizes[0], sizes[-1]], [anchor, anchor * sizes[-1] / sizes[0]], color="grey",
                        linestyle="--", label="linear (slope 1)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("cases")
            ax.set_title(f"{_label(vendor)}: {title}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=6, loc="upper left")
        fig.tight_layout()
        path = RESULTS / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))
    return written


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-measure":
        print(json.dumps(_child_measure(sys.argv[2], int(sys.argv[3]), "--quick" in sys.argv), default=str))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--child-eval":
        print(json.dumps(_child_eval(sys.argv[2]), default=str))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", help="comma-separated case counts, e.g. 1e4,1e5,1e6")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sqlite-max", type=float, default=None)
    parser.add_argument("--grids", type=int, default=None)
    parser.add_argument("--keep-data", action="store_true", help="keep the data sets built for the next run")
    args = parser.parse_args()
    chosen = {"sqlite": ("sqlite",), "postgres": ("postgresql",), "both": ("sqlite", "postgresql")}[args.db]

    def show(phase: str, done: int, total: int) -> None:
        print(f"  {phase}: {done:,}/{total:,}", file=sys.stderr, flush=True)

    result = run(quick=args.quick, sizes=datasets.parse_sizes(args.sizes) if args.sizes else None, databases=chosen,
                 sqlite_max=int(args.sqlite_max) if args.sqlite_max else None, keep_data=args.keep_data,
                 progress=show, grids=args.grids, keep_other_sizes=bool(args.sizes))
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
