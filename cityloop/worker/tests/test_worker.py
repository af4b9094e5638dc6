"""The worker runs what must not run in a request: deadline warnings, notification delivery (a webhook answers
only when the worker sends), evaluation warming and plan reminders; it stops cleanly when asked."""

from __future__ import annotations

import dataclasses
import io
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cityloop.cases.tests.conftest import at
from cityloop.catalog.models import Stage
from cityloop.notifications.models import Delivery, DeliveryStatus, Notification
from cityloop.worker.jobs import JOBS
from cityloop.worker.management.commands import worker as command


def worker(*args: str) -> str:
    out = io.StringIO()
    call_command("worker", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_once_the_worker_warns_of_deadlines_and_delivers_what_the_warnings_notified(
    handling, people, settings, hook_server, monkeypatch, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": hook_server.url}]
    case = handling  # dispatched Monday 2026-03-02 09:00, due 14:30
    monkeypatch.setattr(timezone, "now", lambda: at(2026, 3, 2, 15, 0))

    with django_capture_on_commit_callbacks(execute=True):
        out = worker("--once", "--only", "sweep")
    assert "时限检查：黄灯预警 0 件，红灯预警 1 件" in out
    assert case.stages.get(stage=Stage.HANDLE).warning_level == 2
    overdue = Notification.objects.filter(kind="case_overdue")
    assert overdue.filter(recipient=people.handler_a).exists()
    assert hook_server.requests == []  # written, not yet sent

    out = worker("--once", "--only", "deliver")

    assert f"通知发送：成功 {overdue.count()}，待重试 0，失败 0" in out
    assert len(hook_server.requests) == overdue.count()
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.django_db
def test_once_runs_every_enabled_job_and_names_a_failing_one(city, people, monkeypatch, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert worker("--once") == ""  # nothing to do: nothing said
    out = worker("--once", "-v", "2")
    assert out.splitlines() == ["[deliver] 无事可做", "[sweep] 无事可做", "[reminders] 无事可做"]  # warm: no shared cache

    def broken() -> str:
        raise RuntimeError("boom")

    # The sweep breaks: the others still run, and the command fails naming it.
    monkeypatch.setattr(command, "JOBS", tuple(dataclasses.replace(job, run=broken) if job.name == "sweep" else job
                                               for job in JOBS))
    with pytest.raises(CommandError, match="任务出错：sweep"):
        out = worker("--once")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the jobs run on threads with connections of their "
                    "own, which SQLite's in-memory test database locks out")
def test_the_scheduled_worker_sends_what_is_notified_while_it_runs_and_stops_when_asked(
    city, people, settings, hook_server
):
    from cityloop.notifications.services import notify

    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": hook_server.url}]
    settings.CITYLOOP_WORKER_DELIVER_SECONDS = 0.5

    def notify_meanwhile() -> None:
        time.sleep(1)
        try:
            notify(recipients=[people.handler_a], kind="case_warning", title="预警")  # while the worker runs
        finally:
            connection.close()

    other = threading.Thread(target=notify_meanwhile)
    other.start()
    out = worker("--only", "deliver", "--for", "4")
    other.join(30)

    assert len(hook_server.requests) == 1
    assert "[deliver] 通知发送：成功 1，待重试 0，失败 0，无需发送 0" in out.splitlines()
    assert "正在停止：等待正在运行的任务完成……" in out and out.splitlines()[-1] == "后台任务已停止"
