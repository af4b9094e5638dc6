from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.template import engines
from django.utils.safestring import SafeData

from cityloop.accounts.models import Role, User
from cityloop.core.errors import ValidationFailed
from cityloop.notifications.checks import check_transports
from cityloop.notifications.models import DeliveryAttempt, Notification, NotificationKind
from cityloop.notifications.selectors import notifications_for, unread_count
from cityloop.notifications.services import deliveries_send, notification_mark_read, notify
from cityloop.notifications.transports import EmailTransport, WebhookTransport, get_transports

# --- fixtures -----------------------------------------------------------------------------------


def make_user(username: str, *, email: str = "", is_active: bool = True) -> User:
    user = User.objects.create_user(username=username, email=email, password=None, role=Role.HANDLER)
    if not is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return user


class ExplodingTransport:
    """A transport with a bug: raises something that is not DeliveryFailed."""

    name = "exploding"

    def send(self, notification: Notification) -> None:
        raise RuntimeError("boom")


# --- after commit -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_notification_is_created_only_when_the_transaction_commits():
    handler = make_user("handler_a")
    with transaction.atomic():
        notify(recipients=[handler], kind="case_dispatched", title="案卷 2026000001 已派遣", link="/cases/1/")
        assert Notification.objects.count() == 0
    notification = Notification.objects.get()
    assert notification.recipient == handler
    assert notification.kind == NotificationKind.CASE_DISPATCHED
    assert notification.title == "案卷 2026000001 已派遣"
    assert notification.body == ""
    assert notification.link == "/cases/1/"
    assert notification.read_at is None


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_creates_and_sends_nothing(settings, hook_server):
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": hook_server.url}]
    handler = make_user("handler_a")

    def dispatch_then_fail() -> None:
        with transaction.atomic():
            notify(recipients=[handler], kind="case_dispatched", title="不会发出")
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError, match="rollback"):
        dispatch_then_fail()
    deliveries_send()
    assert Notification.objects.count() == 0
    assert DeliveryAttempt.objects.count() == 0
    assert hook_server.requests == []


@pytest.mark.django_db(transaction=True)
def test_notify_outside_a_transaction_runs_at_once():
    handler = make_user("handler_a")
    notify(recipients=[handler], kind="task_reminder", title="请提交周报")
    assert list(Notification.objects.values_list("recipient__username", "title")) == [
        ("handler_a", "请提交周报")
    ]


@pytest.mark.django_db
def test_notify_schedules_one_callback_and_writes_nothing_before_it_runs(django_capture_on_commit_callbacks):
    handler = make_user("handler_a")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(recipients=[handler], kind="case_warning", title="案卷即将超时")
    assert len(callbacks) == 1
    assert Notification.objects.count() == 0
    callbacks[0]()
    assert list(Notification.objects.values_list("title", flat=True)) == ["案卷即将超时"]


@pytest.mark.django_db
def test_one_notification_per_distinct_active_recipient(django_capture_on_commit_callbacks):
    a = make_user("handler_a")
    b = make_user("handler_b")
    gone = make_user("handler_gone", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[a, b, a, gone, b], kind="case_overdue", title="案卷已超期", body="请尽快处置")
    rows = list(
        Notification.objects.order_by("recipient__username").values_list("recipient__username", "body")
    )
    assert rows == [("handler_a", "请尽快处置"), ("handler_b", "请尽快处置")]


@pytest.mark.django_db
def test_case_reference_is_stored(django_capture_on_commit_callbacks):
    leader_target = make_user("handler_a")
    case = SimpleNamespace(pk=4711, number="2026000123")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[leader_target], kind="case_supervised", title="案卷被督办", case=case)
    notification = Notification.objects.get()
    assert (notification.case_id, notification.case_number) == (4711, "2026000123")


@pytest.mark.django_db
def test_no_recipients_schedules_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(recipients=[], kind="case_updated", title="无人接收")
    assert callbacks == []
    assert Notification.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "case_exploded"}, "kind"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "//evil.example.com/"}, "link"),
        ({"link": "https://evil.example.com/"}, "link"),
    ],
)
def test_bad_kind_or_link_is_refused_at_once(kwargs, field, django_capture_on_commit_callbacks):
    handler = make_user("handler_a")
    arguments = {"recipients": [handler], "kind": "case_updated", "title": "标题", **kwargs}
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationFailed) as error,
    ):
        notify(**arguments)
    assert error.value.field == field
    assert callbacks == []


# --- reading and marking read -------------------------------------------------------------------


@pytest.mark.django_db
def test_unread_count_list_and_mark_read(django_capture_on_commit_callbacks):
    a = make_user("handler_a")
    b = make_user("handler_b")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[a, b], kind="case_updated", title="第一条")
        notify(recipients=[a], kind="case_updated", title="第二条")
        notify(recipients=[a], kind="case_updated", title="第三条")
    assert unread_count(a) == 3
    assert unread_count(b) == 1
    assert [n.title for n in notifications_for(a)] == ["第三条", "第二条", "第一条"]
    assert [n.title for n in notifications_for(a, limit=2)] == ["第三条", "第二条"]

    first_of_a = Notification.objects.get(recipient=a, title="第一条")
    assert notification_mark_read(user=a, notification_ids=[first_of_a.pk]) == 1
    assert unread_count(a) == 2
    assert [n.title for n in notifications_for(a, unread_only=True)] == ["第三条", "第二条"]
    assert notification_mark_read(user=a, notification_ids=[first_of_a.pk]) == 0  # already read
    assert notification_mark_read(user=a, notification_ids=[]) == 0
    assert notification_mark_read(user=a) == 2
    assert unread_count(a) == 0
    assert unread_count(b) == 1


@pytest.mark.django_db
def test_user_cannot_mark_another_users_notification_read(django_capture_on_commit_callbacks):
    a = make_user("handler_a")
    b = make_user("handler_b")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[b], kind="case_dispatched", title="给 b 的通知")
    of_b = Notification.objects.get(recipient=b)
    assert notification_mark_read(user=a, notification_ids=[of_b.pk]) == 0
    assert notification_mark_read(user=a) == 0
    of_b.refresh_from_db()
    assert of_b.read_at is None
    assert unread_count(b) == 1


# --- plain text ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_markup_stays_plain_text(django_capture_on_commit_callbacks):
    handler = make_user("handler_a")
    title = "<script>alert('t')</script> 井盖缺失"
    body = "<b>描述</b><script>alert(1)</script>"
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[handler], kind="case_updated", title=title, body=body)
    notification = Notification.objects.get()
    assert notification.title == title
    assert notification.body == body
    assert not isinstance(notification.title, SafeData)
    rendered = engines["django"].from_string("{{ n.title }}|{{ n.body }}").render({"n": notification})
    assert rendered == (
        "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt; 井盖缺失|"
        "&lt;b&gt;描述&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    )


@pytest.mark.django_db
def test_long_multiline_title_becomes_one_line_that_fits(django_capture_on_commit_callbacks):
    handler = make_user("handler_a")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[handler], kind="case_updated", title="第一行\n第二行 " + "长" * 300)
    title = Notification.objects.get().title
    assert len(title) == 200
    assert title.startswith("第一行 第二行 长长")
    assert title.endswith("长…")


# --- webhook ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_webhook_posts_the_notification_as_json(settings, hook_server, django_capture_on_commit_callbacks):
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": hook_server.url}]
    handler = make_user("handler_a", email="a@example.cn")
    case = SimpleNamespace(pk=12, number="2026000012")
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=[handler],
            kind="case_dispatched",
            title="案卷 2026000012 已派遣",
            body="井盖缺失，请处置",
            link="/cases/12/",
            case=case,
        )
    deliveries_send()  # the worker's step: nothing was sent in the action itself
    notification = Notification.objects.get()
    assert len(hook_server.requests) == 1
    request = hook_server.requests[0]
    assert request["path"] == "/hooks/cityloop"
    assert request["content_type"] == "application/json; charset=utf-8"
    payload = json.loads(request["body"].decode("utf-8"))
    assert payload == {
        "id": notification.pk,
        "kind": "case_dispatched",
        "title": "案卷 2026000012 已派遣",
        "body": "井盖缺失，请处置",
        "link": "/cases/12/",
        "recipient": "handler_a",
        "case_number": "2026000012",
        "created_at": notification.created_at.isoformat(),
    }
    assert datetime.fromisoformat(payload["created_at"]) == notification.created_at
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.notification_id, attempt.transport, attempt.succeeded, attempt.detail) == (
        notification.pk,
        "webhook",
        True,
        "",
    )


@pytest.mark.django_db
def test_webhook_error_status_is_a_failed_attempt(settings, hook_server, django_capture_on_commit_callbacks):
    hook_server.status = 500
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": hook_server.url}]
    handler = make_user("handler_a")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[handler], kind="case_warning", title="预警")
    deliveries_send()  # the worker's step: nothing was sent in the action itself
    attempt = DeliveryAttempt.objects.get()
    assert attempt.succeeded is False
    assert attempt.detail == "webhook 返回 HTTP 500：answer!"
    assert len(hook_server.requests) == 1


@pytest.mark.django_db
def test_webhook_redirect_is_not_followed_and_fails(
    settings, hook_server, django_capture_on_commit_callbacks
):
    hook_server.status = 302
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": hook_server.url}]
    handler = make_user("handler_a")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[handler], kind="case_warning", title="预警")
    deliveries_send()  # the worker's step: nothing was sent in the action itself
    attempt = DeliveryAttempt.objects.get()
    assert attempt.succeeded is False
    assert attempt.detail.startswith("webhook 返回 HTTP 302")


@pytest.mark.django_db
def test_unreachable_webhook_is_recorded_and_in_app_notification_kept(
    settings, closed_port_url, django_capture_on_commit_callbacks
):
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [{"name": "webhook", "url": closed_port_url, "timeout": 2}]
    a = make_user("handler_a")
    b = make_user("handler_b")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[a, b], kind="case_overdue", title="案卷已超期")  # must not raise
    deliveries_send()  # the worker's step: nothing was sent in the action itself
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == [
        "handler_a",
        "handler_b",
    ]
    attempts = list(DeliveryAttempt.objects.order_by("id"))
    assert [(x.transport, x.succeeded) for x in attempts] == [("webhook", False), ("webhook", False)]
    assert attempts[0].detail.startswith("无法连接 webhook：")
    assert "refused" in attempts[0].detail.lower() or "拒绝" in attempts[0].detail
    assert attempts[1].detail == "同一批次中此前无法连接，本条未发送"
    assert unread_count(a) == 1


# --- email --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_email_goes_to_recipients_with_an_address(settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [
        {"name": "email", "base_url": "https://cityloop.example.cn/"}
    ]
    settings.DEFAULT_FROM_EMAIL = "cityloop@example.cn"
    with_mail = make_user("handler_a", email="a@example.cn")
    without_mail = make_user("handler_b")
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=[with_mail, without_mail],
            kind="case_supervised",
            title="案卷 2026000007 被督办",
            body="请于今日内处置",
            link="/cases/7/",
        )
    deliveries_send()  # the worker's step: nothing was sent in the action itself
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["a@example.cn"]
    assert mail.from_email == "cityloop@example.cn"
    assert mail.subject == "案卷 2026000007 被督办"
    assert mail.body == "请于今日内处置\n\n详情：https://cityloop.example.cn/cases/7/"
    attempts = list(
        DeliveryAttempt.objects.values_list("notification__recipient__username", "transport", "succeeded")
    )
    assert attempts == [("handler_a", "email", True)]
    assert Notification.objects.filter(recipient=without_mail).count() == 1


@pytest.mark.django_db
def test_failing_transport_does_not_block_the_others(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [
        {"name": "exploding", "class": "cityloop.notifications.tests.test_notifications.ExplodingTransport"},
        {"name": "email"},
    ]
    handler = make_user("handler_a", email="a@example.cn")
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[handler], kind="case_updated", title="案卷已更新")
    deliveries_send()  # the worker's step: nothing was sent in the action itself
    assert [m.to for m in mailoutbox] == [["a@example.cn"]]
    attempts = sorted(DeliveryAttempt.objects.values_list("transport", "succeeded", "detail"))
    assert attempts == [("email", True, ""), ("exploding", False, "RuntimeError: boom")]


# --- configuration ------------------------------------------------------------------------------


def test_default_configuration_is_in_app_only(settings):
    del settings.CITYLOOP_NOTIFICATION_TRANSPORTS
    assert get_transports() == []


def test_configured_transports_are_built(settings):
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = [
        {"name": "email"},
        {"name": "webhook", "url": "https://hook.example.cn/x"},
    ]
    email, webhook = get_transports()
    assert isinstance(email, EmailTransport)
    assert isinstance(webhook, WebhookTransport)
    assert (webhook.url, webhook.timeout) == ("https://hook.example.cn/x", 5)
    assert check_transports() == []


@pytest.mark.parametrize(
    "configured",
    [
        [{"name": "pigeon"}],
        [{"name": "webhook"}],
        [{"name": "webhook", "url": "file:///etc/passwd"}],
        [{"name": "email", "colour": "red"}],
        [{"url": "http://x"}],
        {"name": "email"},
    ],
)
def test_wrong_configuration_is_reported(settings, configured):
    settings.CITYLOOP_NOTIFICATION_TRANSPORTS = configured
    with pytest.raises(ImproperlyConfigured):
        get_transports()
    errors = check_transports()
    assert [e.id for e in errors] == ["notifications.E001"]
