"""The map's traffic lights read each marker's open stage from an index alone (cases migration 0010), on
both engines: the probe per marker neither fetches a stage row nor sorts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict

from cityloop.cases.models import CaseStage
from cityloop.core.tests.plans import query_plan
from cityloop.web import selectors

pytestmark = pytest.mark.django_db


def test_each_markers_light_is_read_from_the_open_stage_index(people):
    scoped = selectors.case_query(people.dispatcher, QueryDict("is_open=true")).queryset
    captured = []

    def record(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        selectors.map_case_points(scoped)
    sql, params = next((s, p) for s, p in captured if CaseStage._meta.db_table in s)
    plan = query_plan(sql, params)
    assert "stage_open_case_idx" in plan, plan
    if connection.vendor == "postgresql":
        assert "Index Only Scan" in plan, plan
    else:
        assert "COVERING INDEX stage_open_case_idx" in plan, plan
