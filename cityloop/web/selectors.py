"""Reads for the staff pages: workbench queues, the case list, the map layers and the export.

Everything here only reads, and always starts from ``cases_visible_to(user)``; filters come from the shared
``CaseFilterSet``. The queues are page-level views of the workflow (which cases wait for this role).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import numpy as np
import shapely
from django.db.models import Case as Case_
from django.db.models import CharField, Count, DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import user_department_ids
from cityloop.cases import deadlines
from cityloop.cases.filters import CaseFilterSet, filter_cases, narrows
from cityloop.cases.models import Case, CaseStage
from cityloop.cases.selectors import cases_visible_to
from cityloop.cases.statuses import OPEN_STATUSES, CaseStatus
from cityloop.catalog.models import Category, Department
from cityloop.geo.models import Grid, Region, RegionLevel

BBox = tuple[float, float, float, float]

# --- the city summary (admins) ---------------------------------------------------------------


@dataclass(frozen=True)
class SummaryItem:
    label: str
    value: int


def city_summary() -> list[SummaryItem]:
    """Counts of the city's reference data, shown on the admin's workbench."""
    level_counts = dict(
        Region.objects.values("level").annotate(n=Count("pk")).values_list("level", "n")
    )
    return [
        SummaryItem(str(_("区县")), level_counts.get(RegionLevel.DISTRICT, 0)),
        SummaryItem(str(_("街道")), level_counts.get(RegionLevel.STREET, 0)),
        SummaryItem(str(_("社区")), level_counts.get(RegionLevel.COMMUNITY, 0)),
        SummaryItem(str(_("单元网格")), Grid.objects.count()),
        SummaryItem(str(_("案件小类")), Category.objects.filter(parent__isnull=False).count()),
        SummaryItem(str(_("处置单位")), Department.objects.count()),
        SummaryItem(str(_("用户")), User.objects.count()),
    ]


# --- workbench queues ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueDef:
    key: str
    label: Any  # lazy translation
    hint: Any
    warn: bool = False  # shown in the warning colour when not empty


QUEUES: dict[str, QueueDef] = {
    q.key: q
    for q in [
        QueueDef("verifying", _("待核实"), _("核实中的公众举报")),
        QueueDef("reported", _("待立案"), _("已上报，等待立案或不予立案")),
        QueueDef("registered", _("待派遣"), _("已立案，等待派遣")),
        QueueDef("dispatched", _("待处置"), _("已派遣到本单位，等待处置")),
        QueueDef("to_check", _("待核查"), _("已处置或核查中、尚未核查通过")),
        QueueDef("to_close", _("待结案"), _("核查通过，等待结案")),
        QueueDef("approvals", _("待审批"), _("回退、延期、挂账申请")),
        QueueDef("suspended", _("挂账中"), _("已挂账，可恢复处置")),
        QueueDef("supervised", _("督办中"), _("领导督办、尚未办结")),
        QueueDef("due_soon", _("即将超期"), _("当前环节已过 80% 时限、尚未到期"), warn=True),
        QueueDef("overdue", _("已超期"), _("当前环节已超过时限"), warn=True),
    ]
}

#: The queues each role works from, in the order shown. ``due_soon``/``overdue`` are computed within the
#: union of the role's other queues (its own work); roles without work queues get the whole scope.
ROLE_QUEUES: dict[str, list[str]] = {
    Role.INSPECTOR: ["verifying", "to_check", "due_soon", "overdue"],
    Role.OPERATOR: ["reported", "verifying", "to_check", "due_soon", "overdue"],
    Role.SHIFT_LEADER: ["reported", "verifying", "to_check", "to_close", "due_soon", "overdue"],
    Role.DISPATCHER: ["registered", "approvals", "suspended", "due_soon", "overdue"],
    Role.HANDLER: ["dispatched", "due_soon", "overdue"],
    Role.LEADER: ["supervised", "due_soon", "overdue"],
    Role.ADMIN: ["reported", "verifying", "registered", "dispatched", "to_check", "to_close", "approvals",
                 "suspended", "supervised", "due_soon", "overdue"],
    Role.CITIZEN: [],
}

_TIMING = {"due_soon", "overdue"}


def role_queue_keys(user: User) -> list[str]:
    keys = ROLE_QUEUES.get(user.role, [])
    if user.is_superuser and not keys:
        keys = ROLE_QUEUES[Role.ADMIN]
    return keys


def _status_q(user: User, key: str) -> Q:
    """The condition of one work queue (not the timing queues) for ``user``'s role."""
    inspector = user.role == Role.INSPECTOR
    if key == "verifying":
        q = Q(status=CaseStatus.VERIFYING)
        return q & Q(assignee=user) if inspector else q
    if key == "reported":
        return Q(status=CaseStatus.REPORTED)
    if key == "registered":
        return Q(status=CaseStatus.REGISTERED)
    if key == "dispatched":
        q = Q(status=CaseStatus.DISPATCHED)
        return q & Q(department_id__in=user_department_ids(user)) if user.role == Role.HANDLER else q
    if key == "to_check":
        if inspector:
            return Q(status=CaseStatus.CHECKING, check_passed=False, assignee=user)
        return Q(status=CaseStatus.HANDLED) | Q(status=CaseStatus.CHECKING, check_passed=False)
    if key == "to_close":
        return Q(status=CaseStatus.CHECKING, check_passed=True)
    if key == "approvals":
        return Q(status__in=OPEN_STATUSES) & ~Q(pending_request="")
    if key == "suspended":
        return Q(status=CaseStatus.SUSPENDED)
    if key == "supervised":
        return Q(status__in=OPEN_STATUSES, supervised=True)
    raise KeyError(key)


def _own_work_q(user: User) -> Q:
    """The union of the role's work queues; the whole (open) scope for roles without any."""
    keys = [k for k in role_queue_keys(user) if k not in _TIMING]
    if user.role == Role.HANDLER:
        # A handler's own work is what lies with their departments now (dispatched or suspended).
        return Q(status__in=OPEN_STATUSES, department_id__in=user_department_ids(user))
    if not keys or user.role in (Role.LEADER, Role.ADMIN) or user.is_superuser:
        return Q(status__in=OPEN_STATUSES)
    q = Q(pk__in=[])
    for key in keys:
        q |= _status_q(user, key)
    return q


def queue_q(user: User, key: str, *, now: datetime | None = None) -> Q | None:
    """The condition of queue ``key`` for ``user``; None for a queue the role does not have."""
    if key not in role_queue_keys(user):
        return None
    moment = now or timezone.now()
    if key == "due_soon":
        warned = CaseStage.objects.filter(
            ended_at__isnull=True, paused_at__isnull=True, warn_at__lte=moment, due_at__gte=moment
        ).values("case_id")
        return _own_work_q(user) & Q(pk__in=warned)
    if key == "overdue":
        return _own_work_q(user) & deadlines.overdue_q(moment)
    return _status_q(user, key)


@dataclass(frozen=True)
class QueueCount:
    key: str
    label: Any
    hint: Any
    count: int
    warn: bool


def workbench_queues(user: User, *, now: datetime | None = None) -> list[QueueCount]:
    """The user's queues with their counts, all computed in one query within ``cases_visible_to(user)``.

    Every queue holds open cases only, so the query reads the open cases (the status index) rather than the
    whole table: the workbench costs what the open work costs, not what the years of closed cases weigh.
    """
    moment = now or timezone.now()
    keys = role_queue_keys(user)
    if not keys:
        return []
    conditions = {key: queue_q(user, key, now=moment) for key in keys}
    counts = cases_visible_to(user).filter(status__in=OPEN_STATUSES).aggregate(
        **{key: Count("pk", filter=cond) for key, cond in conditions.items() if cond is not None}
    )
    return [
        QueueCount(key, QUEUES[key].label, QUEUES[key].hint, counts.get(key) or 0, QUEUES[key].warn)
        for key in keys
    ]


# --- the case list --------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Request parameters that belong to the page, not to CaseFilterSet.
PAGE_PARAMS = ("page", "queue")


def filter_params(params: Mapping[str, Any]) -> QueryDict:
    """The request's list parameters as CaseFilterSet expects them.

    A date-only ``reported_to`` (from a date input) means "up to and including that day"; the filter is
    exclusive, so it becomes the next day.
    """
    out = QueryDict(mutable=True)
    if isinstance(params, QueryDict):
        for key in params:
            out.setlist(key, [v for v in params.getlist(key) if v != ""])
    else:
        for key, value in params.items():
            values = value if isinstance(value, list | tuple) else [value]
            out.setlist(key, [str(v) for v in values if v not in ("", None)])
    to = out.get("reported_to", "")
    if to and _DATE_ONLY.match(to):
        with contextlib.suppress(ValueError):  # an impossible date is left as it is: the filter reports it
            out["reported_to"] = (date.fromisoformat(to) + timedelta(days=1)).isoformat()
    return out


@dataclass
class CaseQuery:
    queryset: QuerySet[Case]
    filterset: CaseFilterSet
    queue: QueueDef | None
    narrowed: bool = True  # False: the user's whole scope, which ``cases_visible_count`` counts cheaply


def case_query(user: User, params: Mapping[str, Any], *, now: datetime | None = None) -> CaseQuery:
    """The cases ``user`` may see, narrowed by the workbench queue (``queue``) and the shared filters."""
    base = cases_visible_to(user)
    queue: QueueDef | None = None
    key = params.get("queue") or ""
    if key:
        condition = queue_q(user, str(key), now=now)
        base = base.none() if condition is None else base.filter(condition)
        queue = QUEUES.get(str(key))
    queryset, filterset = filter_cases(base, filter_params(params))
    return CaseQuery(queryset, filterset, queue, narrowed=bool(key) or narrows(filterset))


class _StageTimes:
    """The four instants ``deadlines.light`` reads, without building CaseStage objects."""

    __slots__ = ("due_at", "ended_at", "paused_at", "warn_at")

    def __init__(self, warn_at: datetime, due_at: datetime, paused_at: datetime | None) -> None:
        self.warn_at, self.due_at, self.paused_at, self.ended_at = warn_at, due_at, paused_at, None


def open_stage_lights(case_ids: Iterable[int] | QuerySet[Any], *, now: datetime | None = None
                      ) -> dict[int, deadlines.Light]:
    """The traffic light of each case's open stage (cases without an open stage are left out)."""
    moment = now or timezone.now()
    rows = CaseStage.objects.filter(case_id__in=case_ids, ended_at__isnull=True).values_list(
        "case_id", "warn_at", "due_at", "paused_at"
    )
    return {
        case_id: deadlines.light(cast(CaseStage, _StageTimes(warn, due, paused)), now=moment)
        for case_id, warn, due, paused in rows
    }


# --- the map --------------------------------------------------------------------------------------

MAP_FIELDS = ("id", "lon", "lat", "status", "light")


def _in_bbox(queryset: QuerySet[Case], bbox: BBox | None) -> QuerySet[Case]:
    if bbox is None:
        return queryset
    min_lon, min_lat, max_lon, max_lat = bbox
    return queryset.filter(lon__gte=min_lon, lon__lte=max_lon, lat__gte=min_lat, lat__lte=max_lat)


def open_stage_light_sql(*, now: datetime) -> Case_:
    """``deadlines.light`` of a CaseStage row as a SQL expression, for an open stage (``ended_at`` NULL): the
    same rule (the moment is the pause, else now; red after the due time, yellow from the warning time), so a
    list of lights need not fetch and parse two timestamps per case. ``web/tests/test_map.py`` checks it
    against ``deadlines.light``."""
    moment = Coalesce(F("paused_at"), Value(now, output_field=DateTimeField()))
    return Case_(
        When(GreaterThan(moment, F("due_at")), then=Value(deadlines.Light.RED.value)),
        When(GreaterThanOrEqual(moment, F("warn_at")), then=Value(deadlines.Light.YELLOW.value)),
        default=Value(deadlines.Light.GREEN.value),
        output_field=CharField(),
    )


def map_case_points(queryset: QuerySet[Case], *, bbox: BBox | None = None, limit: int = 50_000,
                    now: datetime | None = None) -> dict[str, Any]:
    """Compact marker data: ``{"fields": [...], "rows": [[id, lon, lat, status, light], …]}``.

    One query of tuples (no model instances). Each case's light is a subquery of its open stage (the latest,
    as ``open_stage_lights`` takes it), one index-only probe of ``stage_open_case_idx`` per marker computed by the
    database, so the work follows the markers sent rather than every open stage of the city, and no timestamps
    are sent to be parsed. In a viewport the open cases are read from ``case_open_position_idx`` (PostgreSQL).
    ``light`` is empty for cases without an open stage.
    """
    moment = now or timezone.now()
    open_stage = (CaseStage.objects.filter(case_id=OuterRef("pk"), ended_at__isnull=True)
                  .order_by("-started_at", "-id").annotate(light=open_stage_light_sql(now=moment)))
    scoped = _in_bbox(queryset, bbox).order_by().annotate(
        map_light=Coalesce(Subquery(open_stage.values("light")[:1]), Value(""), output_field=CharField()))
    rows = list(scoped.values_list("id", "lon", "lat", "status", "map_light")[:limit])
    return {
        "fields": list(MAP_FIELDS),
        "rows": [[pk, round(lon, 6), round(lat, 6), status, light] for pk, lon, lat, status, light in rows],
        "truncated": len(rows) >= limit,
    }


def grid_case_counts(queryset: QuerySet[Case], *, bbox: BBox | None = None) -> dict[str, Any]:
    """GeoJSON of the unit grids that hold at least one of ``queryset``'s open cases, with ``count``.

    For the choropleth: only grids with cases are sent, so the layer stays small at any zoom.
    """
    counts = dict(
        queryset.filter(status__in=OPEN_STATUSES).order_by().values("grid_id").annotate(n=Count("pk"))
        .values_list("grid_id", "n")
    )
    if not counts:
        return {"type": "FeatureCollection", "features": [], "max": 0}
    grids = Grid.objects.filter(pk__in=list(counts), boundary_wkb__isnull=False)
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        grids = grids.filter(min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat)
    rows: list[tuple[int, str, Any]] = list(grids.values_list("pk", "code", "boundary_wkb"))
    features: list[dict[str, Any]] = []
    if rows:
        geometries = shapely.from_wkb([bytes(wkb) for _, _, wkb in rows])
        geometries = shapely.transform(geometries, lambda c: np.round(c, 6))
        texts = shapely.to_geojson(geometries)
        features = [
            {"type": "Feature", "id": code, "properties": {"code": code, "count": counts[pk]},
             "geometry": json.loads(text)}
            for (pk, code, _), text in zip(rows, texts, strict=True)
        ]
    return {"type": "FeatureCollection", "features": features, "max": max(counts.values())}


def grid_geojson(grid: Grid) -> dict[str, Any] | None:
    """One grid's boundary as a GeoJSON geometry (for the case page's map)."""
    geometry = grid.boundary
    if geometry is None:
        return None
    return cast(dict[str, Any], json.loads(shapely.to_geojson(geometry)))


# --- choices for the filter form -------------------------------------------------------------------


def category_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active categories grouped by major class: [(major label, [(code, label), …]), …]."""
    majors = {c.pk: c for c in Category.objects.filter(parent__isnull=True).order_by("code")}
    groups: dict[int, list[tuple[str, str]]] = {pk: [(m.code, f"{m.code} {m.name}（{_('全部')}）")]
                                                for pk, m in majors.items()}
    minors = Category.objects.filter(parent__isnull=False, is_active=True).order_by("code").values_list(
        "parent_id", "code", "name"
    )
    for parent_id, code, name in minors:
        if parent_id in groups:
            groups[parent_id].append((code, f"{code} {name}"))
    return [(f"{majors[pk].code} {majors[pk].name}", options) for pk, options in groups.items()]


def region_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Districts and their streets, for the region filter."""
    rows = Region.objects.filter(level__in=[RegionLevel.DISTRICT, RegionLevel.STREET]).order_by("code").values_list(
        "code", "name", "level", "parent__code"
    )
    groups: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, str] = {}
    for code, name, level, parent in rows:
        if level == RegionLevel.DISTRICT:
            names[code] = name
            groups[code] = [(code, f"{name}（{_('全区')}）")]
        elif parent in groups:
            groups[parent].append((code, name))
    return [(names[code], options) for code, options in groups.items()]


def department_choices() -> list[tuple[int, str]]:
    return list(Department.objects.filter(is_active=True).order_by("name").values_list("pk", "name"))
