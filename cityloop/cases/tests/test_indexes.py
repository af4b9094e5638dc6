"""The case tables carry only the indexes their queries use (migration 0007): every column that leads a
composite index has no second index of its own, and the full-text triggers of SQLite survived."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {name: info["columns"] for name, info in found.items() if info["index"] and not info["unique"]}


@pytest.mark.parametrize(("table", "column"), [
    ("cases_case", "status"), ("cases_case", "category_id"), ("cases_case", "department_id"),
    ("cases_case", "district_id"), ("cases_case", "grid_id"), ("cases_caseevent", "case_id"),
    ("cases_caseevent", "action"), ("cases_casestage", "case_id"),
])
def test_a_column_leading_a_composite_index_has_no_index_of_its_own(table, column):
    indexes = _indexes(table)
    assert [name for name, columns in indexes.items() if columns == [column]] == []
    assert any(len(columns) > 1 and columns[0] == column for columns in indexes.values())


def test_no_pattern_ops_index_is_left_on_the_case_tables():
    names = [name for table in ("cases_case", "cases_caseevent") for name in _indexes(table)]
    assert [name for name in names if name.endswith("_like")] == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the full-text triggers exist on SQLite only")
def test_sqlite_keeps_the_case_text_triggers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases_case'")
        assert {row[0] for row in cursor.fetchall()} >= {"cases_case_text_insert", "cases_case_text_update",
                                                          "cases_case_text_delete"}


def _index_sql(name: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else ""


def test_open_cases_have_a_partial_index_by_position():
    """The map's open-case layer (migration 0008): longitude and latitude of the open cases only."""
    from cityloop.cases.statuses import OPEN_STATUSES

    assert _indexes("cases_case")["case_open_position_idx"] == ["lon", "lat"]
    definition = _index_sql("case_open_position_idx")
    where = definition[definition.upper().index(" WHERE "):]
    assert all(f"'{status}'" in where for status in OPEN_STATUSES)
    assert "'closed'" not in where


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite matches a partial index only to a literal "
                    "condition; the ORM binds the statuses as parameters")
def test_the_map_layer_can_read_the_open_case_index(people):
    """The layer's query, as the view builds it, implies the index's condition (PostgreSQL proves it)."""
    from django.http import QueryDict

    from cityloop.core.tests.plans import query_plan
    from cityloop.web import selectors

    scoped = selectors.case_query(people.dispatcher, QueryDict("is_open=true")).queryset
    for queryset in (scoped, selectors._in_bbox(scoped, (117.0, 36.6, 117.1, 36.7))):
        sql, params = queryset.order_by().values_list("id", "lon", "lat", "status").query.sql_with_params()
        plan = query_plan(sql, params)
        assert "case_open_position_idx" in plan, plan
