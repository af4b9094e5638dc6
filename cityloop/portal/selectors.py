"""Reads for the phone pages: an inspector's tasks and reports, public case lookup and the public map."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from cityloop.accounts.models import User
from cityloop.cases.models import Attachment, Case, CaseFollower
from cityloop.cases.selectors import (
    PUBLIC_POSITION_DECIMALS,
    PUBLIC_STATUSES,
    is_public_photo,
    public_position,
)
from cityloop.cases.statuses import Action, CaseStatus
from cityloop.catalog.models import Category
from cityloop.catalog.selectors import category_search

#: Everyday problems offered to citizens as one-tap choices (codes of GB/T 47678.5 minor classes).
DEFAULT_PUBLIC_CATEGORIES = (
    "06010",  # 暴露垃圾
    "06042",  # 垃圾站（箱）满溢
    "06013",  # 道路破损
    "01023",  # 不明井盖
    "01037",  # 路灯
    "06036",  # 乱堆杂物
    "07001",  # 非法小广告
    "09006",  # 占道经营
    "09009",  # 机动车乱停放
    "09011",  # 共享单车乱象
    "06017",  # 绿地脏乱
    "06028",  # 噪声扰民
)
#: Public timeline entries whose note is shown to the citizen (reasons and results, not internal remarks).
PUBLIC_NOTE_ACTIONS = frozenset({Action.REJECT, Action.HANDLE, Action.CLOSE, Action.APPROVE_SELF_HANDLING, Action.VOID})
#: Statuses shown on the public map (real problems: open ones and closed ones).
PUBLIC_MAP_STATUSES = PUBLIC_STATUSES
PUBLIC_MAP_DAYS = 30
PUBLIC_MAP_LIMIT = 3000
#: The public map snaps each case to its unit grid's centre, rounded (cases.selectors.public_position).
PUBLIC_MAP_DECIMALS = PUBLIC_POSITION_DECIMALS
CASE_NUMBER_RE = re.compile(r"^\d{10}$")
LAST4_RE = re.compile(r"^\d{4}$")


# --- categories -----------------------------------------------------------------------------------


def category_choices(query: str, *, limit: int = 12) -> list[dict[str, str]]:
    """Minor classes matching ``query`` (Chinese name, code or pinyin initials) as small dicts for JSON."""
    found = category_search(query, limit=limit * 2)
    return [
        {"code": c.code, "name": c.name, "major": c.parent.name if c.parent else ""}
        for c in found if c.parent_id is not None
    ][:limit]


def public_categories() -> list[Category]:
    """The short list of common problems, in the configured order, skipping unknown or inactive codes."""
    codes = list(getattr(settings, "CITYLOOP_PUBLIC_CATEGORIES", DEFAULT_PUBLIC_CATEGORIES))
    found = {c.code: c for c in Category.objects.filter(code__in=codes, is_active=True, parent__isnull=False)}
    return [found[code] for code in codes if code in found]


def category_resolve(code: str, query: str) -> tuple[Category | None, list[Category]]:
    """The category a form means: its ``code`` if given, else the one clear match of the free text ``query``.

    Returns (category, candidates): the category, or None with up to 6 candidates to choose from.
    """
    code = (code or "").strip()
    if code:
        return Category.objects.filter(code=code).select_related("parent").first(), []
    text = (query or "").strip()
    if not text:
        return None, []
    minors = [c for c in category_search(text, limit=20) if c.parent_id is not None]
    for c in minors:
        if text in (c.code, c.name):
            return c, []
    by_initials = [c for c in minors if c.pinyin_initials and c.pinyin_initials == text.lower()]
    if len(by_initials) == 1:
        return by_initials[0], []
    if len(minors) == 1:
        return minors[0], []
    return None, minors[:6]


# --- the inspector's work ----------------------------------------------------------------------------


def inspector_tasks(user: User) -> dict[str, list[Case]]:
    """Verification tasks (核实中, assigned to ``user``) and check tasks (核查中, assigned, not yet passed)."""
    base = Case.objects.filter(assignee=user).select_related("category").order_by("stage_due_at", "reported_at")
    return {
        "verify": list(base.filter(status=CaseStatus.VERIFYING)),
        "check": list(base.filter(status=CaseStatus.CHECKING, check_passed=False)),
    }


def inspector_reports(user: User, *, limit: int = 50) -> QuerySet[Case]:
    return Case.objects.filter(reporter=user).select_related("category").order_by("-reported_at", "-id")[:limit]


# --- the citizen's view of a case --------------------------------------------------------------------


def normalize_number(number: str) -> str:
    return re.sub(r"\s+", "", number or "")


def public_case_lookup(*, number: str, phone_last4: str) -> Case | None:
    """The case with ``number`` whose reporter's (or a follower's) phone ends in ``phone_last4``; else None.

    A wrong number and wrong digits look the same to the caller (no enumeration of case numbers).
    """
    number, digits = normalize_number(number), (phone_last4 or "").strip()
    if not CASE_NUMBER_RE.match(number) or not LAST4_RE.match(digits):
        return None
    case = Case.objects.filter(number=number).select_related("category", "merged_into").first()
    if case is None:
        return None
    if case.reporter_phone.endswith(digits):
        return case
    followers = CaseFollower.objects.filter(case=case, phone__endswith=digits)
    return case if followers.exists() else None


def public_photos(case: Case) -> list[Attachment]:
    """The case's photos whose public variant (no EXIF/GPS) may be shown."""
    return [a for a in case.attachments.all() if is_public_photo(a)]


# --- the public map -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    lon: float
    lat: float
    category: str
    status: str
    status_label: str


def public_map_points(*, now: datetime | None = None, days: int = PUBLIC_MAP_DAYS,
                      limit: int = PUBLIC_MAP_LIMIT) -> list[MapPoint]:
    """Recent cases for the public map: category and status only, each at its grid's centre rounded to ~100 m."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = (
        Case.objects.filter(reported_at__gte=since, status__in=PUBLIC_MAP_STATUSES)
        .order_by("-reported_at")
        .values_list("category__name", "status", "grid__min_lon", "grid__max_lon", "grid__min_lat", "grid__max_lat")
    )[:limit]
    labels = dict(CaseStatus.choices)
    points = []
    for category, status, min_lon, max_lon, min_lat, max_lat in rows:
        position = public_position(min_lon, max_lon, min_lat, max_lat)
        if position is None:
            continue
        lon, lat = position
        points.append(MapPoint(lon, lat, category, status, str(labels.get(status, status))))
    return points


def public_map_geojson(**kwargs: Any) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                "properties": {"category": p.category, "status": p.status, "status_label": p.status_label},
            }
            for p in public_map_points(**kwargs)
        ],
    }
