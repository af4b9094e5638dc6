"""Reporting a case: validation, grid lookup, routing proposal, first deadline, event; idempotent."""


from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.assets.models import Asset
from cityloop.assets.selectors import asset_by_code
from cityloop.cases import deadlines
from cityloop.cases.models import (
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseFollower,
    CaseNumberSequence,
    CaseStage,
)
from cityloop.cases.selectors import routing_proposal
from cityloop.cases.services.batchwrite import insert_rows
from cityloop.cases.statuses import (
    OPEN_STATUSES,
    SOURCES_NEEDING_VERIFICATION,
    Action,
    CaseStatus,
    Source,
)
from cityloop.catalog import selectors as catalog_selectors
from cityloop.catalog.models import Category, Stage, Urgency
from cityloop.core.crs import geodesic_distance_m, to_wgs84
from cityloop.core.errors import OutsideCity, ValidationFailed
from cityloop.core.group_commit import GroupCommit, write_turn
from cityloop.core.text import printable
from cityloop.core.workcal import get_calendar
from cityloop.geo.lookup import get_grid_index
from cityloop.geo.models import Region
from cityloop.geo.selectors import OUTSIDE_MESSAGE

MAX_DESCRIPTION = 2000
PhotoInput = bytes | IO[bytes]


def now_or(at: datetime | None) -> datetime:
    return at or timezone.now()


# --- reporting -------------------------------------------------------------------------------


@dataclass
class ReportResult:
    case: Case
    created: bool
    duplicates: list[int] = field(default_factory=list)


def clean_text(value: str, *, field_name: str, label: str, required: bool, limit: int, one_line: bool = False) -> str:
    """Text as every channel hands it over: NUL refused, other control characters cleaned (``core.text``)."""
    if "\x00" in (value or ""):
        raise ValidationFailed(f"{label}含有非法字符", field=field_name)
    text = printable(value or "", one_line=one_line).strip()
    if required and not text:
        raise ValidationFailed(f"请填写{label}", field=field_name)
    if len(text) > limit:
        raise ValidationFailed(f"{label}不能超过 {limit} 个字", field=field_name)
    return text


def _category(value: Category | str) -> Category:
    if isinstance(value, Category):
        category: Category | None = value
    else:
        code = str(value).strip()
        category = catalog_selectors.categories_by_code().get(code)
        if category is None:  # added since the snapshot was taken
            category = Category.objects.filter(code=code).select_related("parent").first()
    if category is None:
        raise ValidationFailed(f"未知的案件分类“{value}”", field="category")
    if category.parent_id is None or not category.is_active:
        raise ValidationFailed(f"请选择具体的案件小类（“{category.name}”是大类或已停用）", field="category")
    return category


def _duplicate_distance_m() -> float:
    return float(getattr(settings, "CITYLOOP_DUPLICATE_DISTANCE_M", 50))


def _duplicate_days() -> int:
    return int(getattr(settings, "CITYLOOP_DUPLICATE_DAYS", 7))


def duplicate_candidates(*, category: Category, lon: float, lat: float, at: datetime,
                         exclude_id: int | None = None) -> list[int]:
    """Open cases of the same subclass within the duplicate distance reported in the last N days."""
    found = _duplicates_for([(category.pk, lon, lat, at)])[0]
    return [pk for pk in found if pk != exclude_id]


def _take_numbers(year: int, count: int) -> list[str]:
    """Take ``count`` consecutive case numbers of ``year``; call inside the report's transaction (no gaps)."""
    table = connection.ops.quote_name(CaseNumberSequence._meta.db_table)
    with connection.cursor() as cursor:
        # One statement takes the block and locks the row until commit (no gap, no duplicate).
        cursor.execute(f"UPDATE {table} SET last_value = last_value + %s WHERE year = %s RETURNING last_value",
                       [count, year])
        row = cursor.fetchone()
    if row is None:
        CaseNumberSequence.objects.bulk_create([CaseNumberSequence(year=year)], ignore_conflicts=True)
        return _take_numbers(year, count)
    last = int(row[0])
    return [f"{year}{n:06d}" for n in range(last - count + 1, last + 1)]


def store_photos(photos: Iterable[PhotoInput]) -> list[Any]:
    from cityloop.cases.photos import photo_store

    return [photo_store(data=photo, filename=getattr(photo, "name", "") or "") for photo in photos]


def attach_photos(case: Case, event: CaseEvent | None, stored: Sequence[Any], kind: str, user: User | None) -> None:
    Attachment.objects.bulk_create(
        [
            Attachment(
                case=case, event=event, kind=kind, sha256=p.sha256, original_path=p.original_path,
                public_path=p.public_path, content_type=p.content_type, size=p.size, width=p.width,
                height=p.height, taken_at=p.taken_at, uploaded_by=user,
            )
            for p in stored
        ]
    )


@dataclass
class ReportInput:
    """One report as any channel hands it over (see ``case_report`` for the fields)."""

    source: Source | str
    category: Category | str
    description: str
    lon: float
    lat: float
    crs: str = "wgs84"
    address: str = ""
    urgency: Urgency | str = Urgency.NORMAL
    reporter: User | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    photos: Sequence[PhotoInput] = ()
    self_handled: bool = False
    after_photos: Sequence[PhotoInput] = ()
    idempotency_key: str | None = None
    external_id: str = ""
    asset_code: str = ""
    at: datetime | None = None


@dataclass
class _Checked:
    """A validated report, ready to be written."""

    item: ReportInput
    source: Source
    category: Category
    description: str
    address: str
    reporter_name: str
    reporter_phone: str
    at: datetime
    lon: float = 0.0
    lat: float = 0.0
    asset: Asset | None = None
    before: list[Any] = field(default_factory=list)
    after: list[Any] = field(default_factory=list)


def case_report(
    *,
    source: Source | str,
    category: Category | str,
    description: str,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    address: str = "",
    urgency: Urgency | str = Urgency.NORMAL,
    reporter: User | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    photos: Sequence[PhotoInput] = (),
    self_handled: bool = False,
    after_photos: Sequence[PhotoInput] = (),
    idempotency_key: str | None = None,
    external_id: str = "",
    asset_code: str = "",
    at: datetime | None = None,
) -> ReportResult:
    """Report a problem: validate, locate its grid, propose a department, start the clock, log the event.

    The same ``idempotency_key`` twice returns the first case. Nothing is written when anything is invalid.
    Reports made at the same moment on other threads of this process (a web worker's concurrent requests)
    share one transaction with this one (``REPORT_GROUP``); inside a caller's transaction it is written alone.
    """
    item = ReportInput(
        source=source, category=category, description=description, lon=lon, lat=lat, crs=crs, address=address,
        urgency=urgency, reporter=reporter, reporter_name=reporter_name, reporter_phone=reporter_phone,
        photos=photos, self_handled=self_handled, after_photos=after_photos, idempotency_key=idempotency_key,
        external_id=external_id, asset_code=asset_code, at=at,
    )
    if connection.in_atomic_block or not settings.CITYLOOP_REPORT_GROUP_COMMIT:
        # The caller's transaction could still roll back: nobody else's report may ride in it.
        return case_report_many([item])[0]
    return REPORT_GROUP.submit(item)


def _check(item: ReportInput) -> _Checked:
    try:
        source = Source(item.source)
    except ValueError as exc:
        raise ValidationFailed(f"未知的来源“{item.source}”", field="source") from exc
    if item.urgency not in Urgency.values:
        raise ValidationFailed(f"未知的紧急程度“{item.urgency}”", field="urgency")
    checked = _Checked(
        item=item, source=source,
        category=_category(item.category),
        description=clean_text(item.description, field_name="description", label="问题描述", required=True,
                               limit=MAX_DESCRIPTION),
        address=clean_text(item.address, field_name="address", label="地址", required=False, limit=300,
                           one_line=True),
        reporter_name=clean_text(item.reporter_name, field_name="reporter_name", label="姓名", required=False, limit=50,
                                 one_line=True),
        reporter_phone=clean_text(item.reporter_phone, field_name="reporter_phone", label="电话", required=False,
                                  limit=20, one_line=True),
        at=now_or(item.at),
    )
    try:
        x, y = float(item.lon), float(item.lat)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("经纬度必须是数字", field="lon") from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValidationFailed("经纬度必须是有限的数字", field="lon")
    wx, wy = to_wgs84(x, y, item.crs)
    checked.lon, checked.lat = float(wx), float(wy)
    if item.asset_code:
        checked.asset = asset_by_code(item.asset_code)
    reporter = item.reporter
    if item.self_handled:
        if source != Source.INSPECTOR or reporter is None or reporter.role != Role.INSPECTOR:
            raise ValidationFailed("只有监督员上报的问题可以自处理", field="self_handled")
        if not item.after_photos:
            raise ValidationFailed("自处理需要上传处置后的照片", field="after_photos")
    if source == Source.INSPECTOR and (reporter is None or reporter.role != Role.INSPECTOR):
        raise ValidationFailed("监督员上报需要监督员账号", field="source")
    return checked


def _in_batch(error: ValidationFailed, position: int, total: int) -> ValidationFailed:
    """Name the failing report when a batch has several."""
    if total > 1:
        error.message = f"第 {position + 1} 条：{error.message}"
        error.details = {**error.details, "index": position}
        error.args = (error.message,)
    return error


def case_report_many(items: Sequence[ReportInput]) -> list[ReportResult]:
    """Report many problems in one transaction (imports, the hotline's batches, the simulation).

    The one implementation behind ``case_report``: grids are looked up for all points at once,
    case numbers are taken as one block and rows are written with bulk inserts. All or nothing: the
    first invalid report raises (its position is in the message) and nothing is written. Reports
    whose idempotency key was seen before return the earlier case.
    """
    if not items:
        return []
    known = _known_keys([i.idempotency_key for i in items if i.idempotency_key])
    results: list[ReportResult | None] = [None] * len(items)
    fresh: list[tuple[int, _Checked]] = []
    seen_keys: dict[str, int] = {}
    for position, item in enumerate(items):
        key = item.idempotency_key
        if key and key in known:
            results[position] = ReportResult(known[key], created=False, duplicates=list(known[key].duplicate_candidates))
            continue
        if key and key in seen_keys:
            continue  # the same key twice in one batch: answered with the first one's case below
        try:
            checked = _check(item)
        except ValidationFailed as error:
            raise _in_batch(error, position, len(items)) from None
        if key:
            seen_keys[key] = position
        fresh.append((position, checked))
    located = _locate([c for _, c in fresh], total=len(items), positions=[p for p, _ in fresh])
    for _, checked in fresh:
        checked.before = store_photos(checked.item.photos)
        checked.after = store_photos(checked.item.after_photos)
    try:
        with write_turn(), transaction.atomic():  # SQLite: queued behind other processes' writes, not polling
            created = _write(fresh, located)
    except IntegrityError:
        # Another request stored one of these idempotency keys meanwhile: answer with its case.
        if not any(c.item.idempotency_key for _, c in fresh):
            raise
        again = _known_keys([c.item.idempotency_key for _, c in fresh if c.item.idempotency_key])
        if not again:
            raise
        return case_report_many(items)
    for position, case in created.items():
        results[position] = ReportResult(case, created=True, duplicates=list(case.duplicate_candidates))
    for position, item in enumerate(items):
        if results[position] is None and item.idempotency_key:
            first = results[seen_keys[item.idempotency_key]]
            assert first is not None
            results[position] = ReportResult(first.case, created=False, duplicates=first.duplicates)
    return [r for r in results if r is not None]


#: Concurrent ``case_report`` calls of this process, written in one transaction each time (group commit).
REPORT_GROUP: GroupCommit[ReportInput, ReportResult] = GroupCommit(case_report_many, max_batch=100)


def _known_keys(keys: list[str | None]) -> dict[str, Case]:
    wanted = [k for k in keys if k]
    if not wanted:
        return {}
    column = connection.ops.quote_name("idempotency_key")
    condition, params = _one_of(column, wanted)
    with connection.cursor() as cursor:  # one short statement: asked once per batch of reports
        cursor.execute(f"SELECT id FROM {_CASE_TABLE} WHERE {condition}", params)
        seen = [row[0] for row in cursor.fetchall()]
    if not seen:
        return {}
    return {c.idempotency_key: c for c in Case.objects.filter(pk__in=seen) if c.idempotency_key}


_CASE_TABLE = Case._meta.db_table


def _one_of(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (…)`` for raw SQL: on PostgreSQL ``= ANY(%s)`` with one array parameter, a statement
    that reads the same whatever the number of values (psycopg parses it once), elsewhere one ``%s`` each."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


@dataclass(frozen=True)
class _Place:
    grid_id: int
    community: Region
    street_id: int
    district_id: int


def _locate(checked: list[_Checked], *, total: int, positions: list[int]) -> list[_Place]:
    """The unit grid and regions of every report, with one vectorised lookup and two small queries."""
    if not checked:
        return []
    index = get_grid_index()
    found = index.locate_many(np.array([c.lon for c in checked]), np.array([c.lat for c in checked]))
    for i, hit in enumerate(found):
        if hit < 0:
            error = OutsideCity(OUTSIDE_MESSAGE, details={"lon": checked[i].lon, "lat": checked[i].lat})
            raise _in_batch(error, positions[i], total)
    grid_ids = [int(index.ids[i]) for i in found]
    community_ids = [int(index.community_ids[i]) for i in found]
    communities = catalog_selectors.communities_by_id()
    if not set(community_ids) <= communities.keys():  # regions changed since the snapshot was taken
        communities = {**communities, **Region.objects.only("id", "code", "name", "level", "parent_id")
                       .in_bulk(set(community_ids))}
    parents = catalog_selectors.region_parents()
    places = []
    for grid_id, community_id in zip(grid_ids, community_ids, strict=True):
        community = communities[community_id]
        street_id = community.parent_id
        assert street_id is not None
        district_id = parents[street_id][0] if street_id in parents else (
            Region.objects.filter(pk=street_id).values_list("parent_id", flat=True).first())
        places.append(_Place(grid_id, community, street_id, district_id))  # type: ignore[arg-type]
    return places


def _write(fresh: list[tuple[int, _Checked]], places: list[_Place]) -> dict[int, Case]:
    """Insert the cases, their first stages, events, photos and followers (inside the caller's transaction)."""
    calendar = get_calendar()
    duplicates = _duplicates_for([(c.category.pk, c.lon, c.lat, c.at) for _, c in fresh])
    cases: list[Case] = []
    stages: list[CaseStage] = []
    for n, ((_, c), place) in enumerate(zip(fresh, places, strict=True)):
        case = Case(
            source=c.source,
            category=c.category, urgency=c.item.urgency, description=c.description, address=c.address,
            lon=c.lon, lat=c.lat, grid_id=place.grid_id, community=place.community, street_id=place.street_id,
            district_id=place.district_id, asset_code=c.item.asset_code, asset=c.asset,
            reporter=c.item.reporter, reporter_name=c.reporter_name, reporter_phone=c.reporter_phone,
            status=CaseStatus.REPORTED, self_handled=c.item.self_handled,
            idempotency_key=c.item.idempotency_key or None, external_id=c.item.external_id, reported_at=c.at,
            updated_at=c.at, duplicate_candidates=duplicates[n],
        )
        proposal = routing_proposal(case)
        case.proposed_department = proposal.department if proposal else None
        case.routing_reason = proposal.reason[:300] if proposal else "未找到派遣规则，需人工指定"
        first_stage = Stage.ACCEPT if c.source in SOURCES_NEEDING_VERIFICATION else Stage.REGISTER
        stages.append(deadlines.stage_start(case, first_stage, at=c.at, calendar=calendar, save=False))
        cases.append(case)
    _number(cases)
    insert_rows(cases, read_ids=True)
    for stage, case in zip(stages, cases, strict=True):
        stage.case = case
    insert_rows(stages)
    events = [
        CaseEvent(
            case=case, action=Action.REPORT, from_status="", to_status=CaseStatus.REPORTED, actor=c.item.reporter,
            actor_role=c.item.reporter.role if c.item.reporter else Role.CITIZEN,
            actor_name=actor_name(c.item.reporter, c.reporter_name), created_at=c.at, note=c.description[:200],
            is_public=True,
            data={"source": c.source, "category": c.category.code, "grid_id": case.grid_id,
                  "self_handled": c.item.self_handled, "duplicates": case.duplicate_candidates,
                  "routing": case.routing_reason},
        )
        for (_, c), case in zip(fresh, cases, strict=True)
    ]
    insert_rows(events, read_ids=any(c.before or c.after for _, c in fresh))  # photos refer to their event
    insert_rows(
        [CaseFollower(case=case, user=c.item.reporter, name=c.reporter_name, phone=c.reporter_phone)
         for (_, c), case in zip(fresh, cases, strict=True)]
    )
    for (_, c), case, event in zip(fresh, cases, events, strict=True):
        if c.before:
            attach_photos(case, event, c.before, AttachmentKind.BEFORE, c.item.reporter)
        if c.after:
            attach_photos(case, event, c.after, AttachmentKind.AFTER, c.item.reporter)
    return {position: case for (position, _), case in zip(fresh, cases, strict=True)}


def _number(cases: list[Case]) -> None:
    """Give the new cases their numbers before they are inserted: the transaction's first write, so a
    concurrent writer waits on the year's sequence row before it has written (or locked) anything else.

    (Numbering after the inserts, under placeholder numbers, wrote every case row twice: on PostgreSQL the
    update of an indexed column adds a new entry to each of the table's indexes.)"""
    zone = timezone.get_current_timezone()
    by_year: dict[int, list[Case]] = {}
    for case in cases:
        by_year.setdefault(case.reported_at.astimezone(zone).year, []).append(case)
    for year, block in sorted(by_year.items()):
        for case, number in zip(block, _take_numbers(year, len(block)), strict=True):
            case.number = number


#: Grid ids per duplicate query (well under every database's limit on parameters).
_GRID_CHUNK = 500


def _duplicates_for(reports: list[tuple[int, float, float, datetime]]) -> list[list[int]]:
    """Duplicate candidates of each new report (category id, lon, lat, time) among open cases, with one
    query per 500 nearby grids.

    A case within the duplicate distance lies in a grid that comes within that distance of the report, so
    the query asks for those few grids and the time window only (read through the leading ``grid`` column of
    ``case_grid_category_time_idx``); its cost does not grow with the city's daily volume.
    """
    if not reports:
        return []
    distance = _duplicate_distance_m()
    window = timedelta(days=_duplicate_days())
    reach = distance * 1.01  # in degrees below; a little more, as 111 km per degree is rounded
    margin_lat = reach / 111_000.0
    margin_lon = reach / (111_000.0 * max(math.cos(math.radians(max(abs(r[2]) for r in reports))), 0.01))
    near = get_grid_index().grids_near([r[1] for r in reports], [r[2] for r in reports],
                                       margin_lon=margin_lon, margin_lat=margin_lat)
    grids = sorted({int(g) for found in near for g in found})
    rows: list[tuple[int, int, float, float, Any, str]] = []
    earliest = min(r[3] for r in reports) - window
    latest = max(r[3] for r in reports)
    time_field = Case._meta.get_field("reported_at")
    bounds = [time_field.get_db_prep_value(t, connection) for t in (earliest, latest)]
    with connection.cursor() as cursor:
        for start in range(0, len(grids), _GRID_CHUNK):
            condition, params = _one_of("grid_id", grids[start:start + _GRID_CHUNK])
            cursor.execute(
                f"SELECT id, category_id, lon, lat, reported_at, status FROM {_CASE_TABLE} "
                f"WHERE {condition} AND reported_at >= %s AND reported_at <= %s",
                [*params, *bounds],
            )
            rows.extend(cursor.fetchall())
    # Category and status are checked here: a condition on either in the query leads SQLite (which keeps no
    # statistics unless ANALYZE runs) to the index by category and time, i.e. every recent case of the category.
    categories = {r[0] for r in reports}
    by_category: dict[int, list[tuple[int, float, float, Any]]] = {}
    for pk, category_id, x, y, reported_at, status in rows:
        if category_id in categories and status in OPEN_STATUSES:
            by_category.setdefault(category_id, []).append((pk, x, y, reported_at))
    arrays = {
        category_id: (np.array([r[0] for r in found]), np.array([r[1] for r in found]),
                      np.array([r[2] for r in found]), np.array([_timestamp(r[3]) for r in found]))
        for category_id, found in by_category.items()
    }
    result: list[list[int]] = []
    for category_id, lon, lat, at in reports:
        if category_id not in arrays:
            result.append([])
            continue
        ids, xs, ys, times = arrays[category_id]
        moment = at.timestamp()
        close = (times >= moment - window.total_seconds()) & (times <= moment)
        close &= geodesic_distance_m(lon, lat, xs, ys) <= distance
        result.append(sorted(int(pk) for pk in ids[close]))
    return result


def _timestamp(value: datetime | str) -> float:
    """Seconds since the epoch of a time read with raw SQL (SQLite hands back the naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def actor_name(user: User | None, fallback: str = "") -> str:
    if user is None:
        return fallback or "市民"
    return user.display_name


