"""Query plans for the tests that check which index a query can read, on either engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def query_plan(sql: str, params: Sequence[Any] = ()) -> str:
    """The plan of ``sql``: PostgreSQL's ``EXPLAIN`` with sequential scans off (a test's tables are small enough
    to be read whole, which would hide the indexes a large table's query uses), SQLite's ``EXPLAIN QUERY PLAN``."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            try:
                cursor.execute("EXPLAIN " + sql, params)
                return "\n".join(row[0] for row in cursor.fetchall())
            finally:
                cursor.execute("RESET enable_seqscan")
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(row[-1] for row in cursor.fetchall())
