"""One meaning of 已超期 on every interface: the list filter, the workbench queue, the API and the export agree
case by case (open, not suspended, past the current stage's deadline)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cityloop.api.services import token_create
from cityloop.cases.models import Case
from cityloop.cases.statuses import CaseStatus

from .conftest import relax_deadlines, set_deadline

pytestmark = pytest.mark.django_db


def test_filter_queue_api_and_export_call_the_same_cases_overdue(client, people, loop):
    now = timezone.now()
    relax_deadlines()
    set_deadline(loop.dispatched_a, warn=now - timedelta(hours=2), due=now - timedelta(hours=1))  # late
    set_deadline(loop.registered, warn=now - timedelta(hours=3), due=now - timedelta(minutes=1))  # late
    set_deadline(loop.pending, warn=now - timedelta(hours=2), due=now - timedelta(hours=1))
    Case.objects.filter(pk=loop.pending.pk).update(status=CaseStatus.SUSPENDED)  # 挂账: the clock is paused
    expected = {loop.dispatched_a.number, loop.registered.number}
    client.force_login(people.leader)

    listed = {row.case.number for row in client.get(reverse("case-list"), {"overdue": "true"}).context["rows"]}
    queued = {row.case.number for row in client.get(reverse("case-list"), {"queue": "overdue"}).context["rows"]}
    key = token_create(user=people.leader, name="测试")[1]
    answer = client.get("/api/v1/cases", {"page_size": 100}, headers={"Authorization": f"Bearer {key}"}).json()
    by_api = {row["number"] for row in answer["results"] if row["overdue"]}
    filtered = client.get("/api/v1/cases", {"overdue": "true", "page_size": 100},
                          headers={"Authorization": f"Bearer {key}"}).json()
    sheet = load_workbook(io.BytesIO(client.get(reverse("case-export")).content))["案卷"]
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("已超期")
    exported = {row[0] for row in rows[1:] if row[column] == "是"}

    assert listed == expected
    assert queued == expected
    assert by_api == expected
    assert {row["number"] for row in filtered["results"]} == expected
    assert exported == expected
