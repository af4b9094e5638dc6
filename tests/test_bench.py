"""The benchmarks' tooling: the data generator writes consistent rows, ``cityloop bench`` answers, the report
keeps the benches that were not re-run."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
import shapely
from django.db import connection
from django.utils import timezone

from cityloop.cases.models import Case, CaseEvent, CaseFollower, CaseStage
from cityloop.cases.services import case_report
from cityloop.cases.statuses import OPEN_STATUSES
from cityloop.core.management.commands.bench import load_runner
from cityloop.geo.models import Grid, Region

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def datasets():
    sys.path.insert(0, str(ROOT / "bench"))
    import datasets

    return datasets


def _indexes(tables: list[str]) -> set[str]:
    with connection.cursor() as c:
        return {name for name, _sql in _secondary(c, tables)}


def _secondary(c, tables):
    if connection.vendor == "sqlite":
        names = ", ".join(f"'{t}'" for t in tables)
        c.execute(f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN ({names})")
    else:
        c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
    return c.fetchall()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_generator_builds_a_consistent_city_of_a_thousand_cases(datasets):
    info = datasets.build_metro(grids=2_000, districts={"370102": 3})
    assert 1_500 <= info["grids"] <= 2_800  # about: cells clipped at community edges add some
    tables = [Case._meta.db_table, CaseStage._meta.db_table, CaseEvent._meta.db_table, CaseFollower._meta.db_table]
    before = _indexes(tables)
    city = datasets.metro_city(seed=3)
    counts = datasets.load(city, 1_000, seed=3)
    assert _indexes(tables) == before  # dropped for the load, recreated afterwards
    assert counts["cases"] == Case.objects.count() == 1_000
    assert counts["stages"] == CaseStage.objects.count() and counts["events"] == CaseEvent.objects.count()
    assert CaseFollower.objects.count() == 1_000

    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in CaseEvent.objects.order_by("created_at", "id"):
        events[event.case_id].append(event)
    stages: dict[int, list[CaseStage]] = defaultdict(list)
    for stage in CaseStage.objects.order_by("started_at", "id"):
        stages[stage.case_id].append(stage)
    grids = {g.pk: g for g in Grid.objects.all()}
    regions = {r.pk: r for r in Region.objects.all()}
    statuses = defaultdict(int)
    for case in Case.objects.all():
        statuses[case.status] += 1
        log = events[case.pk]
        assert [e.action for e in log].count("report") == 1 and log[0].action == "report", case.number
        assert log[-1].to_status == case.status, case.number
        assert case.version == len(log)
        assert all(a.created_at <= b.created_at for a, b in zip(log, log[1:], strict=False))
        if case.status == "closed":
            closing = "approve_self_handling" if case.self_handled else "close"
            assert closing in [e.action for e in log] and case.closed_at is not None, case.number
        if case.registered_at is not None:
            assert "register" in [e.action for e in log] or case.self_handled
        rows = stages[case.pk]
        assert rows, case.number
        open_rows = [s for s in rows if s.ended_at is None]
        assert len(open_rows) <= 1, case.number
        if open_rows:
            assert case.stage == open_rows[0].stage and case.stage_due_at == open_rows[0].due_at, case.number
            assert case.status in OPEN_STATUSES or case.status == "suspended"
        else:
            assert case.stage == "" and case.stage_due_at is None, case.number
        for s in rows:
            assert s.started_at <= s.warn_at <= s.due_at, (case.number, s.stage)
            if s.ended_at is not None:
                assert s.ended_at >= s.started_at and s.on_time == (s.ended_at <= s.due_at), (case.number, s.stage)
        assert all(a.ended_at is not None for a in rows[:-1]), case.number  # stages follow one another
        if case.status in ("dispatched", "handled", "checking", "closed") and not case.self_handled:
            dispatches = [e for e in log if e.action == "dispatch"]
            assert dispatches and dispatches[-1].department_id == case.department_id, case.number
        grid = grids[case.grid_id]
        assert case.community_id == grid.community_id
        assert case.street_id == regions[case.community_id].parent_id
        assert case.district_id == regions[case.street_id].parent_id
        assert shapely.intersects_xy(grid.boundary, case.lon, case.lat), case.number
    # A year of a real city: most cases closed, some open at the end of the year, some rejected or merged.
    assert statuses["closed"] > 700 and statuses["rejected"] + statuses["merged"] > 20
    assert len({c.category_id for c in Case.objects.all()}) > 20
    assert Case.objects.filter(reported_at__month=1).exists() and Case.objects.filter(reported_at__month=12).exists()
    # Ids follow time, as they do in production.
    first, last = Case.objects.order_by("id").first(), Case.objects.order_by("id").last()
    assert first and last and first.reported_at < last.reported_at
    # The services carry on where the generator stopped: the next case number follows the generated ones.
    point = grids[Case.objects.first().grid_id].boundary.representative_point()
    at = datetime(2026, 12, 31, 10, 0, tzinfo=timezone.get_current_timezone())
    result = case_report(source="hotline", category=Case.objects.first().category, description="生成之后的上报",
                         lon=point.x, lat=point.y, reporter_phone="13800000000", at=at)
    assert result.case.number.endswith("001001") and Case.objects.count() == 1_001


def test_cityloop_bench_answers_help_and_lists_the_benches():
    done = subprocess.run([sys.executable, "-m", "cityloop", "bench", "--help"], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=120)
    assert "--sizes" in done.stdout and "--only" in done.stdout and "--keep-data" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "cityloop", "bench", "--list"], cwd=ROOT, capture_output=True,
                            text=True, check=True, timeout=120)
    assert {"scale", "evaluation", "lookup", "reporting"} <= set(listed.stdout.split())


def test_report_keeps_the_benches_that_were_not_rerun():
    runner = load_runner()
    assert runner is not None
    fresh = {"name": "scale", "title": "Scale", "rows": [{"metric": "m", "value": 1.5, "unit": "ms"}], "notes": "n"}
    old = {"name": "lookup", "title": "Lookup", "rows": [], "measured_at": "2026-11-01 10:00 CST", "load_average": "1"}
    text = runner.render([old, fresh], {"cores": "2", "date": "today"}, fresh={"scale"})
    assert "## Lookup (`bench_lookup`)" in text and "Not re-run this time: measured 2026-11-01 10:00 CST" in text
    assert "| m | 1.5 | ms |" in text and "| cores | 2 |" in text
    assert runner.bench_names(["scale"]) == ["bench_scale"]


def test_a_kept_data_set_that_only_lacks_newer_migrations_is_migrated_forward_not_rebuilt(datasets):
    names = datasets.migration_names()
    assert any(name.startswith("cityloop/cases/migrations/0001") for name in names)
    current = {"key": datasets.schema_key(), "migrations": names}
    older = {"key": f"v{datasets.GENERATOR_VERSION}-0123456789ab", "migrations": names[:-1]}
    assert datasets._migrates_forward(older)
    assert not datasets._migrates_forward(current)  # nothing to apply
    # Another generator's rows, a migration the code no longer has, or no record of migrations: rebuilt.
    assert not datasets._migrates_forward({**older, "key": f"v{datasets.GENERATOR_VERSION + 1}-0123456789ab"})
    assert not datasets._migrates_forward({**older, "migrations": [*names[:-1], "cityloop/cases/migrations/0099_gone.py"]})
    assert not datasets._migrates_forward({"key": older["key"]})
