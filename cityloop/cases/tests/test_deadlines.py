"""Traffic lights and the sweeper's warnings, as the department and the centre see them."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from cityloop.cases import deadlines, services
from cityloop.cases.models import CaseEvent
from cityloop.cases.selectors import case_stages
from cityloop.cases.sweeper import sweep
from cityloop.catalog.models import Stage
from cityloop.notifications.models import Notification

from .conftest import at

pytestmark = pytest.mark.django_db


def test_traffic_light_turns_yellow_at_80_percent_and_red_when_overdue(handling):
    stage = handling.stages.get(stage=Stage.HANDLE, ended_at__isnull=True)
    assert stage.warn_at == at(2026, 3, 2, 13, 42)
    assert stage.due_at == at(2026, 3, 2, 14, 30)
    assert deadlines.light(stage, now=at(2026, 3, 2, 11, 0)) == deadlines.Light.GREEN
    assert deadlines.light(stage, now=at(2026, 3, 2, 13, 45)) == deadlines.Light.YELLOW
    assert deadlines.light(stage, now=at(2026, 3, 2, 14, 31)) == deadlines.Light.RED
    assert deadlines.used_share(stage, now=at(2026, 3, 2, 12, 0)) == pytest.approx(0.75)
    # The lunch break does not count: at 13:30 the share is still 3 h of 4.
    assert deadlines.used_share(stage, now=at(2026, 3, 2, 13, 30)) == pytest.approx(0.75)


def test_stage_ended_late_is_recorded_overdue(handling, people):
    services.case_handle(case=handling, actor=people.handler_a, note="已处理", at=at(2026, 3, 3, 9, 0))
    stage = handling.stages.get(stage=Stage.HANDLE)
    assert stage.on_time is False
    views = case_stages(handling, now=at(2026, 3, 3, 9, 0))
    assert [v.light for v in views if v.stage.stage == Stage.HANDLE] == [deadlines.Light.RED]


def test_sweeper_warns_once_yellow_then_once_red_and_notifies(handling, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=at(2026, 3, 2, 12, 0)).yellow == 0
        first = sweep(now=at(2026, 3, 2, 13, 50))
        again = sweep(now=at(2026, 3, 2, 13, 55))
        red = sweep(now=at(2026, 3, 2, 15, 0))
        red_again = sweep(now=at(2026, 3, 2, 16, 0))
    assert (first.yellow, again.yellow, red.red, red_again.red) == (1, 0, 1, 0)
    warnings = CaseEvent.objects.filter(case=handling, action="warn").order_by("id")
    assert [e.data["level"] for e in warnings] == [1, 2]
    assert warnings[0].actor is None and warnings[0].actor_role == "system"
    kinds = list(Notification.objects.filter(recipient=people.handler_a).values_list("kind", flat=True))
    assert kinds.count("case_warning") == 1 and kinds.count("case_overdue") == 1
    assert Notification.objects.filter(recipient=people.dispatcher, kind="case_overdue").count() == 1
    assert not Notification.objects.filter(recipient=people.handler_b).exists()


def test_suspended_case_is_not_warned(handling, people):
    services.case_request(case=handling, actor=people.handler_a, kind="suspension", reason="需列入改造计划",
                          at=at(2026, 3, 2, 9, 30))
    services.case_decide(case=handling, actor=people.dispatcher, approve=True, at=at(2026, 3, 2, 10, 0))
    report = sweep(now=at(2026, 3, 5, 10, 0))
    assert (report.yellow, report.red) == (0, 0)


def test_extension_after_a_red_warning_turns_the_light_back(handling, people):
    sweep(now=at(2026, 3, 2, 15, 0))
    services.case_request(case=handling, actor=people.handler_a, kind="extension", reason="需采购", value="2",
                          unit="work_day", at=at(2026, 3, 2, 15, 10))
    services.case_decide(case=handling, actor=people.dispatcher, approve=True, at=at(2026, 3, 2, 15, 20))
    stage = handling.stages.get(stage=Stage.HANDLE, ended_at__isnull=True)
    assert stage.due_at == at(2026, 3, 4, 14, 30) and stage.warning_level == 0
    assert deadlines.light(stage, now=at(2026, 3, 2, 15, 30)) == deadlines.Light.GREEN


def test_sweep_command_reports_counts(handling, capsys, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: at(2026, 3, 2, 15, 0))
    call_command("sweep")
    assert "红灯预警 1 件" in capsys.readouterr().out
    assert handling.stages.get(stage=Stage.HANDLE).warning_level == 2
