"""Helpers shared by the page views: HTMX detection, error → HTTP status, bbox parsing."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from django.utils.translation import gettext as _

from cityloop.accounts.models import User
from cityloop.core.errors import ValidationFailed

BBox = tuple[float, float, float, float]


def current_user(request: HttpRequest) -> User:
    """The signed-in user (views using this are behind ``login_required``)."""
    return cast(User, request.user)


def is_htmx(request: HttpRequest) -> bool:
    """An HTMX request that wants a fragment (a history restore wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def parse_bbox(raw: str | None) -> BBox | None:
    if not raw:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in raw.split(","))
    except ValueError as exc:
        raise ValidationFailed(_("bbox 应为 最小经度,最小纬度,最大经度,最大纬度"), field="bbox") from exc
    if not (min_lon <= max_lon and min_lat <= max_lat) or any(v != v for v in (min_lon, min_lat, max_lon, max_lat)):
        raise ValidationFailed(_("bbox 应为 最小经度,最小纬度,最大经度,最大纬度（最小值不大于最大值）"), field="bbox")
    return min_lon, min_lat, max_lon, max_lat
