"""The small city and personas of the closed-loop tests, and a set of cases in every queue."""
# ruff: noqa: F811  (the imported fixtures are used as arguments of the ones below)

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from cityloop.cases import services
from cityloop.cases.models import Case, CaseStage
from cityloop.cases.statuses import Source
from cityloop.cases.tests.conftest import City, Personas, at, city, jpeg_bytes, people  # noqa: F401

MONDAY_9 = at(2026, 3, 2, 9, 0)


def report(city: City, people: Personas, *, source: str = Source.INSPECTOR, when: datetime = MONDAY_9,
           grid: int = 0, category=None, description: str = "井盖缺失，有安全隐患", **kwargs) -> Case:
    lon, lat = city.point(grid)
    reporter = kwargs.pop("reporter", people.inspector if source == Source.INSPECTOR else None)
    return services.case_report(
        source=source, category=category or city.manhole, description=description, lon=lon, lat=lat,
        reporter=reporter, at=when, **kwargs,
    ).case


def set_deadline(case: Case, *, warn: datetime, due: datetime) -> None:
    """Move the open stage's deadlines (tests run at any wall-clock time; the queues read 'now')."""
    CaseStage.objects.filter(case=case, ended_at__isnull=True).update(warn_at=warn, due_at=due)
    Case.objects.filter(pk=case.pk).update(stage_due_at=due)


def relax_deadlines() -> None:
    """Every open stage due well in the future: nothing is late unless a test says so."""
    now = timezone.now()
    CaseStage.objects.filter(ended_at__isnull=True).update(warn_at=now + timedelta(days=1), due_at=now + timedelta(days=2))
    Case.objects.filter(stage_due_at__isnull=False).update(stage_due_at=now + timedelta(days=2))


@dataclass
class Loop:
    reported: Case  # 历下区, inspector report, waiting for registration
    verifying: Case  # a hotline report sent to people.inspector
    registered: Case  # waiting for the dispatcher (manhole → 市政中心)
    dispatched_a: Case  # with 市政中心 (handler_a)
    dispatched_b: Case  # garbage, with 环卫中心 (handler_b)
    handled: Case  # handled by 市政中心, waiting for a check task
    checking: Case  # check task with people.inspector
    to_close: Case  # check passed
    pending: Case  # 市政中心 asked for an extension
    other_district: Case  # 市中区, reported


@pytest.fixture
def loop(city, people) -> Loop:
    t = MONDAY_9
    op, disp, ha = people.operator, people.dispatcher, people.handler_a

    def registered(**kw) -> Case:
        case = report(city, people, **kw)
        return services.case_register(case=case, actor=op, at=t + timedelta(minutes=5))

    def dispatched(**kw) -> Case:
        case = registered(**kw)
        return services.case_dispatch(case=case, actor=disp, at=t + timedelta(minutes=10))

    reported = report(city, people, description="路灯不亮")
    verifying = report(city, people, source=Source.HOTLINE, reporter_phone="13900009999", grid=1)
    services.case_send_verify(case=verifying, actor=op, inspector=people.inspector, at=t + timedelta(minutes=2))
    reg = registered(grid=1, description="雨水井盖破损")
    dispatched_a = dispatched(grid=2, description="窨井盖缺失")
    dispatched_b = dispatched(grid=3, category=city.garbage, description="路边暴露垃圾")
    handled = dispatched(grid=2, description="井盖松动")
    services.case_handle(case=handled, actor=ha, note="已加固", at=t + timedelta(minutes=30))
    checking = dispatched(grid=3, description="井盖异响")
    services.case_handle(case=checking, actor=ha, note="已更换", at=t + timedelta(minutes=30))
    services.case_send_check(case=checking, actor=op, inspector=people.inspector, at=t + timedelta(minutes=35))
    to_close = dispatched(grid=0, description="井盖凹陷")
    services.case_handle(case=to_close, actor=ha, note="已修复", at=t + timedelta(minutes=30))
    services.case_send_check(case=to_close, actor=op, inspector=people.inspector, at=t + timedelta(minutes=35))
    services.case_check(case=to_close, actor=people.inspector, passed=True, at=t + timedelta(minutes=50))
    pending = dispatched(grid=1, description="井盖需要整体更换")
    services.case_request(case=pending, actor=ha, kind="extension", reason="需采购新井盖", value="2",
                          unit="work_day", at=t + timedelta(minutes=40))
    other = report(city, people, source=Source.HOTLINE, grid=4, reporter=None, description="市中区的问题")
    relax_deadlines()
    cases = [reported, verifying, reg, dispatched_a, dispatched_b, handled, checking, to_close, pending, other]
    fresh = {c.pk: c for c in Case.objects.filter(pk__in=[c.pk for c in cases])}
    return Loop(*(fresh[c.pk] for c in cases))
