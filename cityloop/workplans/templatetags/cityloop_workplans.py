"""Template helpers of the work-plan pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def plain(value: Any) -> str:
    """A decimal without trailing zeros (67.0000 → 67); empty for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None
