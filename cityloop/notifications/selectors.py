"""Reads of a user's notifications."""

from __future__ import annotations

from cityloop.accounts.models import User
from cityloop.notifications.models import Notification


def unread_count(user: User) -> int:
    """How many of ``user``'s notifications are unread (uses the (recipient, read_at) index)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for(user: User, *, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    """``user``'s notifications, newest first, at most ``limit``."""
    notifications = Notification.objects.filter(recipient=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return list(notifications.order_by("-created_at", "-id")[: max(limit, 0)])
