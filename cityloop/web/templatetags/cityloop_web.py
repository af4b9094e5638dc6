"""Template helpers of the staff pages: grouped numbers, masked phones, traffic lights, badge, menu access."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cityloop.evaluation.selectors import viewer_for
from cityloop.notifications.selectors import unread_count

register = template.Library()


@register.filter
def num(value: Any) -> str:
    """1234567 → "1,234,567" (Django's zh-hans format has no thousands separator)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def masked_phone(value: str | None) -> str:
    """13800001234 → 138****1234; short numbers keep only their last two digits."""
    phone = (value or "").strip()
    if not phone:
        return ""
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * (len(phone) - 2) + phone[-2:]


LIGHT_TEXT = {"green": gettext_noop("绿灯"), "yellow": gettext_noop("黄灯"), "red": gettext_noop("红灯")}


@register.filter
def light_label(value: Any) -> str:
    """The traffic light as text (colour is never the only signal)."""
    key = str(value or "")
    return _(LIGHT_TEXT[key]) if key in LIGHT_TEXT else ""


@register.simple_tag(takes_context=True)
def unread_notifications(context: dict[str, Any]) -> int:
    """The header badge: the signed-in user's unread notifications (one indexed count per page)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return unread_count(user)


@register.filter
def may_view_evaluation(user: Any) -> bool:
    """Whether the top menu shows 综合评价: the roles the evaluation pages let in (every level or some rows)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(viewer_for(user).levels)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ lights|get_item:case.pk }}``."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def time_unit(value: Any) -> str:
    """work_day → 工作日."""
    from cityloop.core.choices import TimeUnit

    return _(TimeUnit(value).label) if value in TimeUnit.values else str(value or "")
