"""Writes of notifications: :func:`notify` (after commit), :func:`deliveries_send` (the worker) and
:func:`notification_mark_read`.

``notify`` is called by other apps' services inside their transaction. Nothing happens until that
transaction commits: then, in one transaction of their own, one Notification row is created per distinct
active recipient and one Delivery (the outbox) per configured transport (see ``transports.py``). If the
action's transaction rolls back, nothing is created or sent. Nothing is sent in the user's request:
``cityloop worker`` calls :func:`deliveries_send`, which sends the due deliveries, records each try in
DeliveryAttempt and retries failures with a growing delay; failed ones are listed in the admin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cityloop.accounts.models import User
from cityloop.core.bulk import bulk_insert
from cityloop.core.errors import ValidationFailed
from cityloop.notifications.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    NotificationKind,
)
from cityloop.notifications.transports import (
    DETAIL_MAX_LENGTH,
    DeliveryFailed,
    DeliverySkipped,
    get_transports,
    transport_names,
)

logger = logging.getLogger(__name__)

TITLE_MAX_LENGTH = Notification._meta.get_field("title").max_length or 200
LINK_MAX_LENGTH = Notification._meta.get_field("link").max_length or 500
CASE_NUMBER_MAX_LENGTH = Notification._meta.get_field("case_number").max_length or 20
#: Tries of one delivery before it is marked failed (``CITYLOOP_NOTIFICATION_MAX_ATTEMPTS`` overrides).
MAX_ATTEMPTS = 8
#: The wait after the first failure, doubled after each further one up to the longest.
RETRY_FIRST = timedelta(seconds=30)
RETRY_LONGEST = timedelta(hours=1)
#: A claimed delivery is not taken by another worker for this long (longer than any transport's timeout).
CLAIM_FOR = timedelta(minutes=5)


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
    """Create one Notification per active recipient of every spec and, in the same transaction, one
    Delivery per configured transport for the worker to send (nothing is sent here: a slow or failing
    transport never delays or fails the action that notified)."""
    wanted = {pk for spec in specs for pk in spec["recipient_ids"]}
    transports = transport_names()  # the names only: building an Apprise transport per action is not free
    active = set(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))
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
        if pk in active
    ]
    if not notifications:
        return
    if not transports:  # in-app only: nothing reads the new ids
        with transaction.atomic():
            bulk_insert(notifications)
        return
    now = timezone.now()
    with transaction.atomic():
        if connection.features.can_return_rows_from_bulk_insert:
            Notification.objects.bulk_create(notifications)
        else:  # the deliveries need the ids
            for notification in notifications:
                notification.save(force_insert=True)
        Delivery.objects.bulk_create(
            Delivery(notification=notification, transport=name[:30], next_attempt_at=now)
            for notification in notifications
            for name in transports
        )


def retry_delay(attempts: int) -> timedelta:
    """How long the worker waits before the next try after ``attempts`` failed ones: 30 s, 1, 2, 4 … minutes,
    at most an hour."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_LONGEST)


@dataclass
class DeliveryReport:
    sent: int = 0
    skipped: int = 0
    retrying: int = 0
    failed: int = 0


def deliveries_send(*, now: datetime | None = None, limit: int = 200) -> DeliveryReport:
    """Send the deliveries that are due (the worker's step), oldest first, at most ``limit``.

    Each one is claimed before it is sent (its next try moved past the send), so two workers never send
    the same one; sending happens outside any transaction, and each outcome is written as it comes:
    sent, skipped (nobody to send to), a failure retried after ``retry_delay``, or failed for good after
    ``CITYLOOP_NOTIFICATION_MAX_ATTEMPTS`` tries. Every try is a DeliveryAttempt. Never raises for a send."""
    now = now or timezone.now()
    report = DeliveryReport()
    transports = {transport.name[:30]: transport for transport in get_transports()}
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .select_related("notification__recipient")
        .order_by("next_attempt_at", "id")[:limit]
    )
    unreachable: set[str] = set()
    for delivery in due:
        claimed = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=delivery.next_attempt_at
        ).update(next_attempt_at=now + CLAIM_FOR)
        if not claimed:  # another worker took it
            continue
        transport = transports.get(delivery.transport)
        if transport is None:
            _finish(delivery, now, succeeded=False, detail=f"发送方式「{delivery.transport}」已不在配置中", final=True)
            report.failed += 1
            continue
        if delivery.transport in unreachable:
            outcome = _failed(delivery, now, "同一批次中此前无法连接，本条未发送")
        else:
            try:
                transport.send(delivery.notification)
            except DeliverySkipped:
                delivery.status, delivery.finished_at = DeliveryStatus.SKIPPED, now
                delivery.next_attempt_at = None
                delivery.save(update_fields=["status", "finished_at", "next_attempt_at"])
                report.skipped += 1
                continue
            except DeliveryFailed as exc:
                logger.warning("通知 %s 经 %s 发送失败：%s", delivery.notification_id, delivery.transport, exc.message)
                if exc.unreachable:
                    unreachable.add(delivery.transport)
                outcome = _failed(delivery, now, exc.message)
            except Exception as exc:
                logger.exception("通知 %s 经 %s 发送时出错", delivery.notification_id, delivery.transport)
                outcome = _failed(delivery, now, f"{type(exc).__name__}: {exc}")
            else:
                _finish(delivery, now, succeeded=True, detail="", final=True)
                report.sent += 1
                continue
        if outcome == DeliveryStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
    return report


def _failed(delivery: Delivery, now: datetime, detail: str) -> str:
    final = delivery.attempts + 1 >= max_attempts()
    _finish(delivery, now, succeeded=False, detail=detail, final=final)
    return delivery.status


def _finish(delivery: Delivery, now: datetime, *, succeeded: bool, detail: str, final: bool) -> None:
    """Record one try: the DeliveryAttempt, and the delivery's new state, in one transaction."""
    delivery.attempts += 1
    delivery.last_error = detail[:DETAIL_MAX_LENGTH]
    if succeeded:
        delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.SENT, now, None
    elif final:
        delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.FAILED, now, None
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    with transaction.atomic():
        delivery.save(update_fields=["attempts", "last_error", "status", "finished_at", "next_attempt_at"])
        DeliveryAttempt.objects.create(
            notification_id=delivery.notification_id, transport=delivery.transport, succeeded=succeeded,
            detail=detail[:DETAIL_MAX_LENGTH],
        )


def max_attempts() -> int:
    return int(getattr(settings, "CITYLOOP_NOTIFICATION_MAX_ATTEMPTS", MAX_ATTEMPTS))


def delivery_retry(*, delivery_ids: Iterable[int]) -> int:
    """Put failed deliveries back in the queue to be tried at once (the admin's 重新发送); returns how many."""
    return Delivery.objects.filter(pk__in=list(delivery_ids), status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), finished_at=None
    )


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s unread notifications read (all of them when ``notification_ids`` is None).

    Ids of other users' notifications are ignored. Returns how many were marked.
    """
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())
