"""The evaluation's counts of cases and handling stages are answered from an index alone (migration
cases/0009): a quarter of a large city's rows is never fetched from the tables."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cityloop.evaluation import selectors
from cityloop.evaluation.models import Level
from cityloop.evaluation.tests.scenario import PERIOD

pytestmark = pytest.mark.django_db


def _index_columns(name: str) -> set[str]:
    """Every column an index holds: its key and (PostgreSQL) its INCLUDE columns; SQLite's row id is in every
    index."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indexrelid = %s::regclass", [name])
            return {row[0] for row in cursor.fetchall()}
        cursor.execute(f"PRAGMA index_info({name})")
        return {row[2] for row in cursor.fetchall()} | {"id"}


INDEX_OF = {"cases_case": "case_cohort_cover_idx", "cases_casestage": "stage_kind_time_idx"}


@pytest.mark.parametrize("level", [Level.DEPARTMENT, Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID])
def test_the_quarter_counts_of_cases_and_handling_stages_read_only_columns_their_index_holds(scenario, level):
    """An index-only scan is possible exactly when every column a count reads is in the index."""
    with CaptureQueriesContext(connection) as captured:
        report = selectors.evaluate(level=level, period=PERIOD, compare=False)
    assert report.rows  # the scenario's units are evaluated
    checked = 0
    for query in captured.captured_queries:
        sql = query["sql"]
        for table, index in INDEX_OF.items():
            if "GROUP BY" in sql and f'FROM "{table}" ' in sql:
                read = set(re.findall(rf'"{table}"\."(\w+)"', sql))
                assert read <= _index_columns(index), f"{index} lacks {sorted(read - _index_columns(index))}"
                checked += 1
    assert checked, "the evaluation counted no cases or stages"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot match a partial index to bound values")
def test_on_postgresql_the_cohort_index_holds_only_registered_cases_that_were_not_voided():
    """So the lists, ordered by reported_at without that condition, keep their own index."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'case_cohort_cover_idx'")
        definition = cursor.fetchone()[0]
    assert "WHERE ((registered_at IS NOT NULL) AND ((status)::text <> 'voided'::text))" in definition
