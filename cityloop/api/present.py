"""Turn cases, events, stages and photos into the plain dicts of the API schemas (no personal data)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.cases.deadlines import is_overdue
from cityloop.cases.models import Attachment, Case, CaseEvent
from cityloop.cases.photos import public_url
from cityloop.cases.selectors import case_stages, case_timeline
from cityloop.cases.services import allowed_actions
from cityloop.cases.statuses import ACTION_LABELS, OPEN_STATUSES, CaseStatus, Source
from cityloop.catalog.models import Stage

STATUS_LABELS = dict(CaseStatus.choices)
SOURCE_LABELS = dict(Source.choices)
STAGE_LABELS = dict(Stage.choices)

#: The columns of a list row: one table, read with ``values()`` (no model instances, no joins — an eight-table
#: join costs PostgreSQL's planner more than the query itself). Names come from ``reference_names``.
LIST_COLUMNS = (
    "id", "number", "status", "source", "urgency", "description", "address", "lon", "lat", "stage",
    "stage_due_at", "handling_due_at", "pending_request", "supervised", "reported_at", "updated_at", "version",
    "category_id", "grid_id", "district_id", "street_id", "community_id", "department_id",
)


@dataclass
class ReferenceNames:
    """Codes and names of regions, categories and departments (a few hundred rows each), and grid codes."""

    regions: dict[int, tuple[str, str]] = field(default_factory=dict)
    categories: dict[int, tuple[str, str, int | None]] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)
    grids: dict[int, str] = field(default_factory=dict)
    loaded_at: float = float("-inf")


#: How long the names are reused before they are read again (a renamed region shows within this time).
NAMES_SECONDS = 60.0
MAX_GRID_CODES = 200_000
_names = ReferenceNames()
_names_lock = threading.Lock()


def reset_reference_names() -> None:
    global _names
    _names = ReferenceNames()


def _load_names() -> ReferenceNames:
    from cityloop.catalog.models import Category, Department
    from cityloop.geo.models import Region

    return ReferenceNames(
        regions={pk: (code, name) for pk, code, name in Region.objects.values_list("id", "code", "name")},
        categories={pk: (code, name, parent) for pk, code, name, parent in
                    Category.objects.values_list("id", "code", "name", "parent_id")},
        departments=dict(Department.objects.values_list("id", "name")),
        grids=_names.grids if len(_names.grids) < MAX_GRID_CODES else {},
        loaded_at=time.monotonic(),
    )


def reference_names(rows: list[dict[str, Any]]) -> ReferenceNames:
    """The names for ``rows`` (reloaded when stale or when a row names something not seen yet)."""
    global _names
    names = _names
    stale = time.monotonic() - names.loaded_at > NAMES_SECONDS
    unknown = any(
        row["category_id"] not in names.categories
        or any(row[k] not in names.regions for k in ("district_id", "street_id", "community_id"))
        or (row["department_id"] is not None and row["department_id"] not in names.departments)
        for row in rows
    )
    if stale or unknown:
        with _names_lock:
            names = _names = _load_names()
    missing = {row["grid_id"] for row in rows} - names.grids.keys()
    if missing:
        from cityloop.geo.models import Grid

        names.grids.update(Grid.objects.filter(pk__in=missing).values_list("id", "code"))
    return names


@lru_cache(maxsize=1)
def _zone() -> tzinfo:
    return ZoneInfo(settings.TIME_ZONE)


def local(moment: datetime | None) -> str | None:
    """ISO 8601 in local time (``2026-05-01T09:30:00.123456+08:00``): responses are dumped without Ninja's
    per-field validation (the hot paths), so values are JSON-ready here."""
    return moment.astimezone(_zone()).isoformat() if moment is not None else None


def _code_name(pair: tuple[str, str] | None) -> dict[str, str]:
    return {"code": pair[0], "name": pair[1]} if pair else {"code": "", "name": ""}


def case_rows(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """``CaseItem``s from ``values(*LIST_COLUMNS)`` rows."""
    names = reference_names(rows)
    return [case_row(row, now, names) for row in rows]


def case_row(row: dict[str, Any], now: datetime, names: ReferenceNames) -> dict[str, Any]:
    """A ``CaseItem`` from a ``values(*LIST_COLUMNS)`` row."""
    code, name, parent = names.categories.get(row["category_id"], ("", "", None))
    major = names.categories.get(parent) if parent else None
    department = row["department_id"]
    return {
        "id": row["id"],
        "number": row["number"],
        "status": row["status"],
        "status_label": STATUS_LABELS.get(row["status"], row["status"]),
        "source": row["source"],
        "source_label": SOURCE_LABELS.get(row["source"], row["source"]),
        "category": {"code": code, "name": name},
        "major_category": {"code": major[0], "name": major[1]} if major else None,
        "urgency": row["urgency"],
        "description": row["description"],
        "address": row["address"],
        "lon": row["lon"],
        "lat": row["lat"],
        "grid": names.grids.get(row["grid_id"], ""),
        "district": _code_name(names.regions.get(row["district_id"])),
        "street": _code_name(names.regions.get(row["street_id"])),
        "community": _code_name(names.regions.get(row["community_id"])),
        "department": {"id": department, "name": names.departments.get(department, "")} if department else None,
        "stage": row["stage"] or "",
        "stage_due_at": local(row["stage_due_at"]),
        "handling_due_at": local(row["handling_due_at"]),
        "pending_request": row["pending_request"] or "",
        "supervised": row["supervised"],
        "is_open": row["status"] in OPEN_STATUSES,
        "overdue": is_overdue(row["status"], row["stage_due_at"], now),
        "reported_at": local(row["reported_at"]),
        "updated_at": local(row["updated_at"]),
        "version": row["version"],
    }


def case_item(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """A ``CaseItem`` of one case, as its list row reads (from the object the service returned)."""
    row = {column: getattr(case, column) for column in LIST_COLUMNS}
    return case_rows([row], now or timezone.now())[0]


def photo(attachment: Attachment, request: HttpRequest | None) -> dict[str, Any]:
    url = public_url(attachment.public_path)
    if request is not None and not url.startswith(("http://", "https://")):
        url = request.build_absolute_uri(url if url.startswith("/") else "/" + url)
    return {
        "kind": attachment.kind,
        "url": url,
        "width": attachment.width,
        "height": attachment.height,
        "event_id": attachment.event_id,
    }


def _department(dept: Any) -> dict[str, Any] | None:
    return {"id": dept.pk, "name": dept.name} if dept is not None else None


def event(ev: CaseEvent, request: HttpRequest | None) -> dict[str, Any]:
    return {
        "id": ev.pk,
        "action": ev.action,
        "action_label": ACTION_LABELS.get(ev.action, ev.action),
        "from_status": ev.from_status,
        "to_status": ev.to_status,
        "actor_name": ev.actor_name,
        "actor_role": ev.actor_role,
        "created_at": local(ev.created_at),
        "note": ev.note,
        "data": _jsonable(ev.data),
        "department": _department(ev.department),
        "is_public": ev.is_public,
        "photos": [photo(a, request) for a in ev.attachments.all()],
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def case_detail(case: Case, user: User, request: HttpRequest | None) -> dict[str, Any]:
    """A ``CaseDetail``: the item plus the workflow state, photos, stages and the timeline.

    Citizens see only the public part of the timeline (as on the public pages).
    """
    now = timezone.now()
    public_only = user.role == Role.CITIZEN
    events = list(case_timeline(case, public_only=public_only))
    attachments: Iterable[Attachment] = case.attachments.all()
    if public_only:
        public_ids = {e.pk for e in events}
        attachments = [a for a in attachments if a.event_id is None or a.event_id in public_ids]
    data = case_item(case, now)
    data.update(
        {
            "asset_code": case.asset_code,
            "external_id": case.external_id,
            "verified": case.verified,
            "verification_valid": case.verification_valid,
            "self_handled": case.self_handled,
            "check_passed": case.check_passed,
            "assignee": {"id": case.assignee.pk, "name": case.assignee.display_name} if case.assignee else None,
            "proposed_department": _department(case.proposed_department),
            "routing_reason": case.routing_reason,
            "merged_into": {"id": case.merged_into.pk, "number": case.merged_into.number} if case.merged_into else None,
            "duplicate_candidates": [int(pk) for pk in (case.duplicate_candidates or [])],
            "satisfaction": case.satisfaction,
            "rework_count": case.rework_count,
            "return_count": case.return_count,
            "dispatch_count": case.dispatch_count,
            "registered_at": local(case.registered_at),
            "closed_at": local(case.closed_at),
            "allowed_actions": [str(a) for a in allowed_actions(case, user)],
            "photos": [photo(a, request) for a in attachments],
            "stages": [
                {
                    "stage": view.stage.stage,
                    "stage_label": STAGE_LABELS.get(view.stage.stage, view.stage.stage),
                    "started_at": local(view.stage.started_at),
                    "warn_at": local(view.stage.warn_at),
                    "due_at": local(view.stage.due_at),
                    "paused_at": local(view.stage.paused_at),
                    "ended_at": local(view.stage.ended_at),
                    "on_time": view.stage.on_time,
                    "extended": view.stage.extended,
                    "light": str(view.light),
                    "used_share": round(float(view.used_share), 4),
                    "department": _department(view.stage.department),
                }
                for view in case_stages(case, now=now)
            ],
            "timeline": [event(e, request) for e in events],
        }
    )
    return data
