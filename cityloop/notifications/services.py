"""Writes of notifications: :func:`notify` (after commit) and :func:`notification_mark_read`.

``notify`` is called by other apps' services inside their transaction. Nothing happens until that
transaction commits: then one Notification row is created per distinct active recipient and each is
delivered through every configured transport (see ``transports.py``), recording each attempt in
DeliveryAttempt. If the transaction rolls back, nothing is created or sent. Delivery runs in the
committing thread, right after the commit; a failing transport is recorded and logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, Protocol

from django.db import connection, transaction
from django.utils import timezone

from cityloop.accounts.models import User
from cityloop.core.bulk import bulk_insert
from cityloop.core.errors import ValidationFailed
from cityloop.notifications.models import DeliveryAttempt, Notification, NotificationKind
from cityloop.notifications.transports import (
    DETAIL_MAX_LENGTH,
    DeliveryFailed,
    DeliverySkipped,
    Transport,
    get_transports,
)

logger = logging.getLogger(__name__)

TITLE_MAX_LENGTH = Notification._meta.get_field("title").max_length or 200
LINK_MAX_LENGTH = Notification._meta.get_field("link").max_length or 500
CASE_NUMBER_MAX_LENGTH = Notification._meta.get_field("case_number").max_length or 20


class CaseRef(Protocol):
    """What notify needs of a case (``cases.Case`` fits): its id and its number."""

    pk: Any
    number: str


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    case: CaseRef | None = None,
) -> None:
    """Notify each distinct active recipient once, after the current transaction commits.

    ``title`` and ``body`` are plain text (escaped wherever they are shown); ``link`` is a relative URL
    inside CityLoop (``/cases/12/``). Raises ValidationFailed at once for an unknown ``kind`` or a link
    that is not relative, so the caller's bug surfaces in the caller's transaction.
    """
    if kind not in NotificationKind.values:
        raise ValidationFailed(f"未知的通知类型「{kind}」", field="kind")
    link = link.strip()
    if link and (
        not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > LINK_MAX_LENGTH
    ):
        raise ValidationFailed("通知链接必须是站内相对地址（以 / 开头）", field="link")
    recipient_ids = list(
        dict.fromkeys(user.pk for user in recipients if user is not None and user.pk is not None)
    )
    if not recipient_ids:
        return
    batch = _batch.get()
    in_transaction = transaction.get_connection().in_atomic_block
    send = _create_and_deliver if batch is None or in_transaction else partial(_collect, batch)
    transaction.on_commit(
        partial(
            send,
            recipient_ids=recipient_ids,
            kind=kind,
            title=_one_line(title, TITLE_MAX_LENGTH),
            body=body,
            link=link,
            case_id=case.pk if case is not None else None,
            case_number=(case.number or "")[:CASE_NUMBER_MAX_LENGTH] if case is not None else "",
        ),
        robust=True,
    )


_batch: ContextVar[list[dict[str, Any]] | None] = ContextVar("notification_batch", default=None)


def _collect(batch: list[dict[str, Any]], **spec: Any) -> None:
    batch.append(spec)


@contextmanager
def notifications_batched() -> Iterator[None]:
    """Collect the notifications sent (outside a transaction) inside the block and create and deliver them
    together at its end: one query for the recipients, one insert, one pass of each transport."""
    if _batch.get() is not None:
        yield
        return
    batch: list[dict[str, Any]] = []
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    if batch:
        _create_and_deliver_many(batch)


def _one_line(text: str, max_length: int) -> str:
    """Titles are single-line (mail subjects forbid newlines) and fit the column."""
    text = " ".join(text.split())
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


def _create_and_deliver(**spec: Any) -> None:
    _create_and_deliver_many([spec])


def _create_and_deliver_many(specs: list[dict[str, Any]]) -> None:
    """Create one Notification per active recipient of every spec and deliver them all."""
    wanted = {pk for spec in specs for pk in spec["recipient_ids"]}
    transports = get_transports()
    users = (User.objects.filter(pk__in=wanted, is_active=True).in_bulk() if transports else
             dict.fromkeys(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True)))
    notifications = [
        Notification(
            recipient_id=pk,
            kind=spec["kind"],
            title=spec["title"],
            body=spec["body"],
            link=spec["link"],
            case_id=spec["case_id"],
            case_number=spec["case_number"],
        )
        for spec in specs
        for pk in spec["recipient_ids"]
        if pk in users
    ]
    if not notifications:
        return
    if not transports:  # in-app only: nothing reads the new ids
        with transaction.atomic():
            bulk_insert(notifications)
        return
    for notification in notifications:
        notification.recipient = users[notification.recipient_id]  # type: ignore[assignment]
    with transaction.atomic():
        if connection.features.can_return_rows_from_bulk_insert:
            Notification.objects.bulk_create(notifications)
        else:  # the ids are needed for delivery
            for notification in notifications:
                notification.save(force_insert=True)
    deliver(notifications=notifications, transports=transports)


def deliver(*, notifications: list[Notification], transports: list[Transport]) -> list[DeliveryAttempt]:
    """Send saved notifications through ``transports`` and record every attempt; never raises for a send."""
    attempts: list[DeliveryAttempt] = []
    for transport in transports:
        unreachable = False
        for notification in notifications:
            if unreachable:
                attempts.append(
                    _attempt(notification, transport, False, "同一批次中此前无法连接，本条未发送")
                )
                continue
            try:
                transport.send(notification)
            except DeliverySkipped:
                continue
            except DeliveryFailed as exc:
                logger.warning("通知 %s 经 %s 发送失败：%s", notification.pk, transport.name, exc.message)
                attempts.append(_attempt(notification, transport, False, exc.message))
                if exc.unreachable:
                    unreachable = True
            except Exception as exc:
                logger.exception("通知 %s 经 %s 发送时出错", notification.pk, transport.name)
                attempts.append(_attempt(notification, transport, False, f"{type(exc).__name__}: {exc}"))
            else:
                attempts.append(_attempt(notification, transport, True, ""))
    if attempts:
        DeliveryAttempt.objects.bulk_create(attempts)
    return attempts


def _attempt(
    notification: Notification, transport: Transport, succeeded: bool, detail: str
) -> DeliveryAttempt:
    return DeliveryAttempt(
        notification=notification,
        transport=transport.name[:30],
        succeeded=succeeded,
        detail=detail[:DETAIL_MAX_LENGTH],
    )


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s unread notifications read (all of them when ``notification_ids`` is None).

    Ids of other users' notifications are ignored. Returns how many were marked.
    """
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())
