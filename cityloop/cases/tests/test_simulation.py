"""The simulated city: deterministic for a seed, and built only from real workflow events."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import transaction

from cityloop.cases.models import Case, CaseEvent
from cityloop.cases.simulation import simulate
from cityloop.cases.statuses import CaseStatus

pytestmark = pytest.mark.django_db


def snapshot():
    cases = list(Case.objects.order_by("number").values_list("number", "status", "category__code", "lon", "lat"))
    events = list(CaseEvent.objects.order_by("id").values_list("case__number", "action", "to_status", "created_at"))
    return cases, events


def test_same_seed_gives_the_same_city(city, people):
    with transaction.atomic():
        simulate(days=2, seed=7, rate=25, start=date(2026, 3, 2))
        first = snapshot()
        transaction.set_rollback(True)
    assert Case.objects.count() == 0
    simulate(days=2, seed=7, rate=25, start=date(2026, 3, 2))
    assert snapshot() == first
    assert len(first[0]) == 50


def test_simulated_cases_walk_the_loop(city, people):
    report = simulate(days=3, seed=1, rate=30, start=date(2026, 3, 2))
    assert report.reports == 90 and report.days == 3
    statuses = set(Case.objects.values_list("status", flat=True))
    assert CaseStatus.CLOSED in statuses
    # Every case starts with a report event and every closed one went through dispatch, handling and a check.
    assert CaseEvent.objects.filter(action="report").count() == 90
    for case in Case.objects.filter(status=CaseStatus.CLOSED)[:10]:
        actions = list(case.events.values_list("action", flat=True))
        # Closing is the last change of state; only the reporter's rating may follow it.
        assert actions[0] == "report" and [a for a in actions if a != "rate"][-1] == "close"
        assert {"dispatch", "handle", "check_pass"} <= set(actions)
    assert sum(report.actions.values()) == CaseEvent.objects.exclude(action="report").count()


def test_simulate_command_prints_a_summary(city, people, capsys):
    call_command("simulate", days=1, rate=10, seed=3, start=date(2026, 3, 3))
    out = capsys.readouterr().out
    assert "上报 10 件" in out
    assert Case.objects.count() == 10


def test_simulate_without_notifications_writes_the_record_but_no_messages(
        city, people, django_capture_on_commit_callbacks):
    from cityloop.notifications.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        call_command("simulate", days=1, rate=10, seed=3, start=date(2026, 3, 3), no_notify=True)
    assert Case.objects.count() == 10 and CaseEvent.objects.exclude(action="report").exists()
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("simulate", days=1, rate=10, seed=3, start=date(2026, 3, 4))
    assert Notification.objects.filter(kind="case_dispatched").exists()
