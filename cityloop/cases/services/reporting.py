"""Reporting a case: validation, grid lookup, routing proposal, first deadline, event; idempotent."""


from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.cases import deadlines
from cityloop.cases.models import (
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseFollower,
    CaseNumberSequence,
)
from cityloop.cases.statuses import (
    OPEN_STATUSES,
    SOURCES_NEEDING_VERIFICATION,
    Action,
    CaseStatus,
    Source,
)
from cityloop.catalog import selectors as catalog_selectors
from cityloop.catalog.models import Category, Stage, Urgency
from cityloop.catalog.selectors import RoutingFailed
from cityloop.core.crs import geodesic_distance_m
from cityloop.core.errors import ValidationFailed
from cityloop.geo.selectors import locate_point

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


def clean_text(value: str, *, field_name: str, label: str, required: bool, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(f"请填写{label}", field=field_name)
    if len(text) > limit:
        raise ValidationFailed(f"{label}不能超过 {limit} 个字", field=field_name)
    if "\x00" in text:
        raise ValidationFailed(f"{label}含有非法字符", field=field_name)
    return text


def _category(value: Category | str) -> Category:
    category = value if isinstance(value, Category) else (
        Category.objects.filter(code=str(value).strip()).select_related("parent").first()
    )
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
    distance = _duplicate_distance_m()
    d_lat = distance / 111_000.0
    d_lon = distance / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))
    rows = (
        Case.objects.filter(
            category=category,
            status__in=OPEN_STATUSES,
            reported_at__gte=at - timedelta(days=_duplicate_days()),
            reported_at__lte=at,
            lon__range=(lon - d_lon, lon + d_lon),
            lat__range=(lat - d_lat, lat + d_lat),
        )
        .values_list("id", "lon", "lat")
    )
    return sorted(pk for pk, x, y in rows if pk != exclude_id and float(geodesic_distance_m(lon, lat, x, y)) <= distance)


def _take_numbers(year: int, count: int) -> list[str]:
    """Take ``count`` consecutive case numbers of ``year``; call inside the report's transaction (no gaps)."""
    CaseNumberSequence.objects.bulk_create([CaseNumberSequence(year=year)], ignore_conflicts=True)
    sequence = CaseNumberSequence.objects.select_for_update().get(year=year)
    first = sequence.last_value + 1
    sequence.last_value += count
    sequence.save(update_fields=["last_value"])
    return [f"{year}{n:06d}" for n in range(first, first + count)]


def store_photos(photos: Iterable[PhotoInput]) -> list[Any]:
    from cityloop.cases.photos import photo_store

    return [photo_store(data=photo) for photo in photos]


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
    """
    at = now_or(at)
    if idempotency_key:
        existing = Case.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return ReportResult(existing, created=False, duplicates=list(existing.duplicate_candidates))
    source = Source(source)
    if urgency not in Urgency.values:
        raise ValidationFailed(f"未知的紧急程度“{urgency}”", field="urgency")
    description = clean_text(description, field_name="description", label="问题描述", required=True,
                              limit=MAX_DESCRIPTION)
    address = clean_text(address, field_name="address", label="地址", required=False, limit=300)
    reporter_name = clean_text(reporter_name, field_name="reporter_name", label="姓名", required=False, limit=50)
    reporter_phone = clean_text(reporter_phone, field_name="reporter_phone", label="电话", required=False, limit=20)
    cat = _category(category)
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("经纬度必须是数字", field="lon") from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValidationFailed("经纬度必须是有限的数字", field="lon")
    location = locate_point(lon=x, lat=y, crs=crs)
    if self_handled:
        if source != Source.INSPECTOR or reporter is None or reporter.role != Role.INSPECTOR:
            raise ValidationFailed("只有监督员上报的问题可以自处理", field="self_handled")
        if not after_photos:
            raise ValidationFailed("自处理需要上传处置后的照片", field="after_photos")
    if source == Source.INSPECTOR and (reporter is None or reporter.role != Role.INSPECTOR):
        raise ValidationFailed("监督员上报需要监督员账号", field="source")
    try:
        proposal = catalog_selectors.route_case(category=cat, region=location.community)
    except RoutingFailed:
        proposal = None
    before = store_photos(photos)
    after = store_photos(after_photos)
    try:
        with transaction.atomic():
            number = _take_numbers(at.astimezone(timezone.get_current_timezone()).year, 1)[0]
            case = Case(
                number=number, source=source, category=cat, urgency=urgency, description=description,
                address=address, lon=location.lon, lat=location.lat, grid=location.grid,
                community=location.community, street=location.street, district=location.district,
                asset_code=asset_code, reporter=reporter, reporter_name=reporter_name,
                reporter_phone=reporter_phone, status=CaseStatus.REPORTED, self_handled=self_handled,
                proposed_department=proposal.department if proposal else None,
                routing_reason=proposal.reason[:300] if proposal else "未找到派遣规则，需人工指定",
                idempotency_key=idempotency_key or None, external_id=external_id, reported_at=at, updated_at=at,
            )
            first_stage = Stage.ACCEPT if source in SOURCES_NEEDING_VERIFICATION else Stage.REGISTER
            stage = deadlines.stage_start(case, first_stage, at=at, save=False)
            case.duplicate_candidates = duplicate_candidates(category=cat, lon=case.lon, lat=case.lat, at=at)
            case.save()
            stage.save()
            event = CaseEvent.objects.create(
                case=case, action=Action.REPORT, from_status="", to_status=CaseStatus.REPORTED, actor=reporter,
                actor_role=reporter.role if reporter else Role.CITIZEN, actor_name=actor_name(reporter, reporter_name),
                created_at=at, note=description[:200], is_public=True,
                data={"source": source, "category": cat.code, "grid": location.grid.code,
                      "self_handled": self_handled, "duplicates": case.duplicate_candidates,
                      "routing": case.routing_reason},
            )
            attach_photos(case, event, before, AttachmentKind.BEFORE, reporter)
            attach_photos(case, event, after, AttachmentKind.AFTER, reporter)
            CaseFollower.objects.create(case=case, user=reporter, name=reporter_name, phone=reporter_phone)
    except IntegrityError:
        if idempotency_key:
            existing = Case.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return ReportResult(existing, created=False, duplicates=list(existing.duplicate_candidates))
        raise
    return ReportResult(case, created=True, duplicates=list(case.duplicate_candidates))


def actor_name(user: User | None, fallback: str = "") -> str:
    if user is None:
        return fallback or "市民"
    return user.display_name


