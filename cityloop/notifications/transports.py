"""Ways a notification leaves CityLoop, all behind one interface (:class:`Transport`).

The in-app message is the :class:`~cityloop.notifications.models.Notification` row itself; the transports
configured in ``settings.CITYLOOP_NOTIFICATION_TRANSPORTS`` deliver it elsewhere as well::

    CITYLOOP_NOTIFICATION_TRANSPORTS = [
        {"name": "email"},                                    # optional "base_url" for absolute links
        {"name": "webhook", "url": "https://example.cn/hook", "timeout": 5},
        {"name": "apprise", "urls": ["wxwork://KEY/", "mailto://user:pass@mail.example.cn?to={email}"]},
        {"name": "sms", "class": "myproject.sms.SmsTransport", ...},  # any class with name/send()
    ]

The default ``[]`` means in-app only. Every other key of an entry is passed to the class as a keyword
argument. A transport raises :class:`DeliveryFailed` when it could not deliver and
:class:`DeliverySkipped` when there was nothing to deliver to (a user without an email address).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from cityloop.notifications.models import Notification

#: At most this many characters of a failure's explanation are kept (DeliveryAttempt.detail).
DETAIL_MAX_LENGTH = 1000


class DeliveryFailed(Exception):
    """A transport could not deliver; the message says why (stored in ``DeliveryAttempt.detail``).

    ``unreachable`` is True when the destination could not be reached at all (connection refused,
    timeout): the rest of the same batch is then not sent through that transport, so one dead webhook
    costs one timeout per ``notify`` call, not one per recipient.
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable


class DeliverySkipped(Exception):
    """There was nothing to deliver to (e.g. the recipient has no email address); nothing is recorded."""


class Transport(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``; raise DeliveryFailed (or DeliverySkipped) instead of returning."""
        ...


class InAppTransport:
    """The Notification row is the in-app message, so there is nothing more to do."""

    name = "in_app"

    def send(self, notification: Notification) -> None:
        return None


class EmailTransport:
    """Sends the notification with Django's ``send_mail`` (EMAIL_BACKEND, DEFAULT_FROM_EMAIL)."""

    name = "email"

    def __init__(self, *, base_url: str = "") -> None:
        #: Prefix that makes the relative link absolute in the mail, e.g. "https://cityloop.example.cn".
        self.base_url = base_url.rstrip("/")

    def send(self, notification: Notification) -> None:
        address = notification.recipient.email
        if not address:
            raise DeliverySkipped("收件人没有邮箱")
        message = notification.body
        if notification.link:
            message = f"{message}\n\n详情：{self.base_url}{notification.link}".lstrip()
        try:
            send_mail(
                subject=notification.title,
                message=message,
                from_email=None,
                recipient_list=[address],
                fail_silently=False,
            )
        except Exception as exc:  # smtplib errors, OSError, BadHeaderError …
            raise DeliveryFailed(f"邮件发送失败：{exc}", unreachable=isinstance(exc, OSError)) from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer the hook did not accept: report it instead of re-sending as GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def webhook_payload(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "recipient": notification.recipient.get_username(),
        "case_number": notification.case_number,
        "created_at": notification.created_at.isoformat(),
    }


class WebhookTransport:
    """POSTs the notification as JSON (UTF-8) to ``url``; anything but a 2xx answer is a failure."""

    name = "webhook"

    def __init__(self, *, url: str, timeout: float = 5) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(f"通知 webhook 地址必须是 http(s) 地址：{url!r}")
        self.url = url
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(self, notification: Notification) -> None:
        data = json.dumps(webhook_payload(notification), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "CityLoop-Notifications",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                answer = response.read(200)
        except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx
            answer = _read_error_body(exc)
            raise DeliveryFailed(f"webhook 返回 HTTP {exc.code}：{_text(answer)}".rstrip("：")) from exc
        except urllib.error.URLError as exc:
            raise DeliveryFailed(f"无法连接 webhook：{exc.reason}", unreachable=True) from exc
        except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, malformed answers
            raise DeliveryFailed(f"webhook 连接失败：{exc!r}", unreachable=True) from exc
        if not 200 <= status < 300:
            raise DeliveryFailed(f"webhook 返回 HTTP {status}：{_text(answer)}".rstrip("："))


def _read_error_body(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(200)
    except Exception:
        return b""
    finally:
        error.close()


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").strip()


class AppriseTransport:
    """Sends through Apprise, one library for the channels bureaus use: 企业微信 (``wxwork://``), 钉钉
    (``dingtalk://``), 飞书 (``feishu://``), mail, SMS gateways, ntfy, Matrix, JSON/XML webhooks …

    ``urls`` are Apprise URLs; one may name the recipient's ``{email}``, ``{phone}`` or ``{username}``
    (``mailto://…?to={email}``) and is then left out for a recipient without that field (nothing to send to:
    skipped). A URL without a field goes to the same place for every recipient (a group robot)."""

    name = "apprise"
    FIELDS = ("email", "phone", "username")
    _SAMPLE = {"email": "someone@example.cn", "phone": "13800000000", "username": "someone"}

    def __init__(self, *, urls: list[str] | str, base_url: str = "") -> None:
        import apprise

        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise ImproperlyConfigured("通知发送方式 apprise 需要至少一个地址（urls）")
        for url in self.urls:
            if not apprise.Apprise().add(self._fill(url, self._SAMPLE)):
                raise ImproperlyConfigured(f"Apprise 不认识这个地址：{url!r}")
        self.base_url = base_url.rstrip("/")

    @classmethod
    def _fill(cls, url: str, values: dict[str, str]) -> str:
        for field in cls.FIELDS:
            url = url.replace("{" + field + "}", quote(values.get(field, ""), safe="@+"))
        return url

    def send(self, notification: Notification) -> None:
        import apprise

        recipient = notification.recipient
        values = {"email": recipient.email, "phone": getattr(recipient, "phone", ""),
                  "username": recipient.get_username()}
        targets = [
            self._fill(url, values) for url in self.urls
            if all(values.get(field) for field in self.FIELDS if "{" + field + "}" in url)
        ]
        if not targets:
            raise DeliverySkipped("收件人没有这些地址所需的联系方式")
        sender = apprise.Apprise()
        for target in targets:
            sender.add(target)
        body = notification.body
        if notification.link:
            body = f"{body}\n\n详情：{self.base_url}{notification.link}".lstrip()
        with apprise.LogCapture(level=apprise.logging.WARNING) as log:
            delivered = sender.notify(title=notification.title, body=body or notification.title)
        if not delivered:
            raise DeliveryFailed(f"Apprise 发送失败：{log.getvalue().strip()[-500:] or '原因未知'}")


TRANSPORT_CLASSES: dict[str, type] = {
    "in_app": InAppTransport,
    "email": EmailTransport,
    "webhook": WebhookTransport,
    "apprise": AppriseTransport,
}


def transport_names() -> list[str]:
    """The names of the configured transports, without building them: what the outbox needs when a
    notification is written (after every action's commit); the system check builds them once at start."""
    configured = getattr(settings, "CITYLOOP_NOTIFICATION_TRANSPORTS", [])
    if not isinstance(configured, list | tuple):
        raise ImproperlyConfigured("CITYLOOP_NOTIFICATION_TRANSPORTS 必须是列表")
    return [str(entry["name"]) for entry in configured if isinstance(entry, dict) and entry.get("name")]


def get_transports() -> list[Transport]:
    """The transports of ``settings.CITYLOOP_NOTIFICATION_TRANSPORTS`` (ImproperlyConfigured when wrong)."""
    configured = getattr(settings, "CITYLOOP_NOTIFICATION_TRANSPORTS", [])
    if not isinstance(configured, list | tuple):
        raise ImproperlyConfigured("CITYLOOP_NOTIFICATION_TRANSPORTS 必须是列表")
    transports: list[Transport] = []
    for entry in configured:
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ImproperlyConfigured(
                f"CITYLOOP_NOTIFICATION_TRANSPORTS 的每一项必须是带 name 的字典：{entry!r}"
            )
        options = {key: value for key, value in entry.items() if key not in ("name", "class")}
        name = str(entry["name"])
        try:
            cls = import_string(entry["class"]) if entry.get("class") else TRANSPORT_CLASSES[name]
        except (KeyError, ImportError) as exc:
            raise ImproperlyConfigured(f"未知的通知发送方式：{entry!r}") from exc
        try:
            transport = cls(**options)
        except TypeError as exc:
            raise ImproperlyConfigured(f"通知发送方式 {name} 的参数有误：{exc}") from exc
        transport.name = name
        transports.append(transport)
    return transports
