"""The workbench shows each role its own queues, counted within what the user may see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from .conftest import set_deadline

pytestmark = pytest.mark.django_db

QUEUE = re.compile(r'data-queue="(\w+)">\s*<span class="label">[^<]*</span>\s*<span class="value">([\d,]+)</span>')


def queues(client, user) -> dict[str, int]:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return {key: int(n.replace(",", "")) for key, n in QUEUE.findall(response.content.decode())}


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("inspector", {"verifying": 1, "to_check": 1, "due_soon": 0, "overdue": 0}),
        ("operator", {"reported": 2, "verifying": 1, "to_check": 2, "due_soon": 0, "overdue": 0}),
        ("shift_leader", {"reported": 2, "verifying": 1, "to_check": 2, "to_close": 1, "due_soon": 0, "overdue": 0}),
        ("dispatcher", {"registered": 1, "approvals": 1, "suspended": 0, "due_soon": 0, "overdue": 0}),
        ("handler_a", {"dispatched": 2, "due_soon": 0, "overdue": 0}),
        ("handler_b", {"dispatched": 1, "due_soon": 0, "overdue": 0}),
        ("leader", {"supervised": 0, "due_soon": 0, "overdue": 0}),
        # An operator of 市中区 counts only 市中区's cases.
        ("outsider", {"reported": 1, "verifying": 0, "to_check": 0, "due_soon": 0, "overdue": 0}),
    ],
)
def test_each_role_sees_its_own_queues_and_counts(client, people, loop, persona, expected):
    assert queues(client, getattr(people, persona)) == expected


def test_due_soon_and_overdue_count_the_roles_own_work(client, people, loop):
    now = timezone.now()
    set_deadline(loop.dispatched_a, warn=now - timedelta(hours=1), due=now + timedelta(hours=1))
    set_deadline(loop.registered, warn=now - timedelta(hours=2), due=now - timedelta(hours=1))
    handler = queues(client, people.handler_a)
    assert (handler["due_soon"], handler["overdue"]) == (1, 0)
    dispatcher = queues(client, people.dispatcher)
    assert (dispatcher["due_soon"], dispatcher["overdue"]) == (0, 1)
    leader = queues(client, people.leader)
    assert (leader["due_soon"], leader["overdue"]) == (1, 1)
    # The department that does not hold those cases sees nothing late.
    other = queues(client, people.handler_b)
    assert (other["due_soon"], other["overdue"]) == (0, 0)
    # The workbench lists the most urgent cases with their light in words.
    text = client.get(reverse("home")).content.decode()
    assert "最紧急的案卷" not in text  # handler_b has none
    client.force_login(people.leader)
    text = client.get(reverse("home")).content.decode()
    assert loop.dispatched_a.number in text and loop.registered.number in text
    assert "黄灯" in text and "红灯" in text


def test_each_queue_links_to_a_list_with_the_same_count(client, people, loop):
    for persona in ("operator", "dispatcher", "handler_a", "inspector", "shift_leader"):
        user = getattr(people, persona)
        for key, count in queues(client, user).items():
            response = client.get(reverse("case-list"), {"queue": key})
            assert response.status_code == 200
            assert response.context["total"] == count, (persona, key)


def test_a_queue_of_another_role_lists_nothing(client, people, loop):
    client.force_login(people.handler_a)
    assert client.get(reverse("case-list"), {"queue": "registered"}).context["total"] == 0


def test_citizen_is_pointed_to_the_portal(client, people):
    client.force_login(people.citizen)
    text = client.get(reverse("home")).content.decode()
    assert "/public/" in text and 'data-queue' not in text


def test_admin_sees_every_queue_and_the_reference_data(client, loop):
    from cityloop.accounts.services import user_upsert

    admin = user_upsert(username="admin", role="admin", full_name="管理员")
    counts = queues(client, admin)
    assert counts["reported"] == 2 and counts["registered"] == 1 and counts["dispatched"] == 3
    text = client.get(reverse("home")).content.decode()
    assert "单元网格" in text


def test_admin_is_told_on_the_workbench_when_a_years_holidays_are_missing(client, people, monkeypatch):
    """The calendar warning reaches the admin where they work, not every command's output."""
    from datetime import date

    from cityloop.accounts.services import user_upsert
    from cityloop.core import checks
    from cityloop.core.services import calendar_day_set

    monkeypatch.setattr(checks, "_today", lambda: date(2026, 11, 23))  # the built-in data ends with 2026
    admin = user_upsert(username="admin", role="admin", full_name="管理员")
    client.force_login(admin)
    text = client.get(reverse("home")).content.decode()
    assert "2027 年的法定节假日和调休上班日尚未录入" in text
    assert reverse("admin:core_calendarday_changelist") in text

    client.force_login(people.dispatcher)  # nothing for those who cannot fix it
    assert "尚未录入" not in client.get(reverse("home")).content.decode()

    calendar_day_set(day=date(2027, 1, 1), is_workday=False, note="元旦")
    client.force_login(admin)
    assert "尚未录入" not in client.get(reverse("home")).content.decode()
