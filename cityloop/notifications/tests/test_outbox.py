"""Notifications leave the request: the action writes the message and its deliveries; the worker sends them,
retries failures with a growing delay, and the admin sees and re-sends what failed for good."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Notification
from cityloop.notifications.services import deliveries_send, notify, retry_delay
from cityloop.notifications.tests.test_notifications import make_user


def webhook(settings, url: str, timeout: float = 5) -> None:
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": url, "timeout": timeout}]


@pytest.mark.django_db
def test_a_slow_webhook_does_not_delay_the_action(settings, hook_server, django_capture_on_commit_callbacks):
    hook_server.delay = 3.0
    webhook(settings, hook_server.url)
    handler = make_user("handler_a")

    began = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[handler], kind="case_dispatched", title="案卷已派遣")
    spent = time.monotonic() - began

    assert hook_server.requests == []  # nothing was sent by the action
    assert spent < hook_server.delay
    delivery = Delivery.objects.get()
    assert (delivery.transport, delivery.status, delivery.attempts) == ("webhook", DeliveryStatus.PENDING, 0)
    assert Notification.objects.get().recipient == handler  # the in-app message is there at once

    report = deliveries_send()

    assert (report.sent, len(hook_server.requests)) == (1, 1)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.finished_at is not None


@pytest.mark.django_db
def test_a_failing_webhook_is_retried_later_and_marked_failed_after_the_last_try(
    settings, hook_server, django_capture_on_commit_callbacks
):
    hook_server.status = 503
    settings.CITYLOOP_NOTIFICATION_MAX_ATTEMPTS = 3
    webhook(settings, hook_server.url)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[make_user("handler_a")], kind="case_warning", title="预警")
    now = timezone.now()

    assert deliveries_send(now=now).retrying == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.next_attempt_at == now + timedelta(seconds=30)
    assert delivery.last_error == "webhook 返回 HTTP 503：answer!"

    # Not before its time; then the wait doubles.
    assert deliveries_send(now=now + timedelta(seconds=29)).retrying == 0
    assert len(hook_server.requests) == 1
    second = now + timedelta(seconds=31)
    assert deliveries_send(now=second).retrying == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, second + timedelta(minutes=1))

    assert deliveries_send(now=second + timedelta(minutes=2)).failed == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 3, None)
    assert deliveries_send(now=second + timedelta(days=1)).failed == 0  # failed for good: not tried again
    assert len(hook_server.requests) == 3
    assert list(DeliveryAttempt.objects.values_list("succeeded", flat=True)) == [False, False, False]


def test_the_wait_between_tries_doubles_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the test database on SQLite is one in-memory file "
                    "whose tables lock across connections at once; a deployment on SQLite runs one worker")
def test_two_workers_never_send_one_delivery_twice(settings, hook_server):
    hook_server.delay = 0.3
    webhook(settings, hook_server.url)
    notify(recipients=[make_user(f"handler_{n}") for n in range(4)], kind="case_warning", title="预警")
    reports = []

    def worker() -> None:
        try:
            reports.append(deliveries_send())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(report.sent for report in reports) == 4
    assert len(hook_server.requests) == 4
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [DeliveryStatus.SENT] * 4
    assert DeliveryAttempt.objects.count() == 4


@pytest.mark.django_db
def test_the_admin_lists_failed_deliveries_and_sends_them_again(
    settings, client, closed_port_url, django_capture_on_commit_callbacks
):
    settings.CITYLOOP_NOTIFICATION_MAX_ATTEMPTS = 1
    webhook(settings, closed_port_url, timeout=2)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[make_user("handler_a")], kind="case_overdue", title="案卷已超期")
    deliveries_send()
    delivery = Delivery.objects.get(status=DeliveryStatus.FAILED)
    admin = User.objects.create_superuser(username="root", password="x", role=Role.ADMIN)
    client.force_login(admin)

    page = client.get(reverse("admin:notifications_delivery_changelist"), {"status__exact": "failed"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "案卷已超期" in text and "无法连接 webhook" in text
    client.post(reverse("admin:notifications_delivery_changelist"),
                {"action": "send_again", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


# --- Apprise ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_apprise_sends_to_a_group_robot_and_to_each_recipients_own_address(
    settings, hook_server, django_capture_on_commit_callbacks
):
    """Two Apprise URLs: a JSON hook for everyone (a group robot), and one naming ``{phone}`` that only
    recipients with a phone number get; a recipient without one is reached through the first alone."""
    port = hook_server.url.split(":")[2].split("/")[0]
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{
        "name": "apprise", "base_url": "https://cityloop.example.cn",
        "urls": [f"json://127.0.0.1:{port}/group", f"json://127.0.0.1:{port}/sms/{{phone}}"],
    }]
    with_phone = make_user("handler_a")
    with_phone.phone = "13912345678"
    with_phone.save(update_fields=["phone"])
    without_phone = make_user("handler_b")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[with_phone, without_phone], kind="case_dispatched", title="案卷 2026000012 已派遣",
               body="井盖缺失，请处置", link="/cases/12/")

    assert deliveries_send().sent == 2

    paths = sorted(request["path"] for request in hook_server.requests)
    assert paths == ["/group", "/group", "/sms/13912345678"]
    message = json.loads(hook_server.requests[0]["body"])
    assert message["title"] == "案卷 2026000012 已派遣"
    assert message["message"] == "井盖缺失，请处置\n\n详情：https://cityloop.example.cn/cases/12/"


@pytest.mark.django_db
def test_apprise_failure_is_recorded_with_its_reason(settings, closed_port_url, django_capture_on_commit_callbacks):
    port = closed_port_url.split(":")[2].split("/")[0]
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "apprise", "urls": [f"json://127.0.0.1:{port}/x"]}]
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[make_user("handler_a")], kind="case_warning", title="预警")

    assert deliveries_send().retrying == 1

    delivery = Delivery.objects.get()
    assert delivery.last_error.startswith("Apprise 发送失败：") and "Connection error" in delivery.last_error


def test_an_address_apprise_does_not_know_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    from cityloop.notifications.checks import check_transports
    from cityloop.notifications.transports import get_transports

    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "apprise", "urls": ["pigeon://loft/"]}]
    with pytest.raises(ImproperlyConfigured, match="pigeon"):
        get_transports()
    assert [error.id for error in check_transports()] == ["notifications.E001"]
