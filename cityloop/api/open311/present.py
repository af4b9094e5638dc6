"""Cases as Open311 service requests: ``open``/``closed`` with Chinese ``status_notes``, no personal data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from cityloop.api.open311.definitions import attributes_for
from cityloop.api.open311.render import w3c
from cityloop.cases.models import AttachmentKind, Case, CaseEvent
from cityloop.cases.photos import public_url
from cityloop.cases.selectors import case_timeline, is_public_photo, public_position
from cityloop.cases.statuses import ACTION_LABELS, FINAL_STATUSES, CaseStatus, Source
from cityloop.catalog.models import Category

#: Internal status → the note shown beside ``open``/``closed``.
STATUS_NOTES = {
    CaseStatus.REPORTED: "已收到，等待受理",
    CaseStatus.VERIFYING: "正在现场核实",
    CaseStatus.REGISTERED: "已立案，等待派遣",
    CaseStatus.DISPATCHED: "已派遣，正在处置",
    CaseStatus.SUSPENDED: "已挂账，暂缓处置",
    CaseStatus.HANDLED: "已处置，等待核查",
    CaseStatus.CHECKING: "正在核查处置结果",
    CaseStatus.CLOSED: "已处置完毕并结案",
    CaseStatus.REJECTED: "经审核不予立案",
    CaseStatus.MERGED: "与其他相同问题合并处理",
    CaseStatus.VOIDED: "已作废",
}
SOURCE_LABELS = dict(Source.choices)


def open_or_closed(status: str) -> str:
    return "closed" if status in FINAL_STATUSES else "open"


def status_notes(case: Case) -> str:
    if case.status == CaseStatus.CHECKING and case.check_passed:
        return "核查通过，等待结案"
    if case.status == CaseStatus.DISPATCHED and case.department_id and case.department:
        return f"已派遣至{case.department.name}，正在处置"
    if case.status == CaseStatus.MERGED and case.merged_into_id and case.merged_into:
        return f"与相同问题合并处理，见 {case.merged_into.number}"
    return STATUS_NOTES.get(CaseStatus(case.status), case.get_status_display())


def absolute(request: HttpRequest, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return request.build_absolute_uri(url if url.startswith("/") else "/" + url)


def service(category: Category) -> dict[str, Any]:
    major = category.parent
    keywords = [category.get_kind_display(), major.name if major else "", category.pinyin_initials]
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.registration_condition or f"{category.get_kind_display()}：{category.name}",
        "metadata": bool(attributes_for(category)),
        "type": "realtime",
        "keywords": ",".join(k for k in keywords if k),
        "group": major.name if major else "",
    }


def definition(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description or None,
                "order": a.order,
                "description": a.description,
                "values": [{"key": k, "name": n} for k, n in a.values] if a.values else None,
            }
            for a in attributes_for(category)
        ],
    }


def _address(case: Case) -> str:
    if case.address:
        return case.address
    return "".join(r.name for r in (case.district, case.street, case.community) if r is not None)


def _note(event: CaseEvent, *, with_text: bool = True) -> dict[str, Any]:
    label = ACTION_LABELS.get(event.action, event.action)
    return {
        "datetime": w3c(event.created_at),
        "summary": label,
        "description": event.note if with_text and event.action != "report" and event.note else label,
        "type": event.action,
        "status": open_or_closed(event.to_status) if event.to_status else None,
    }


def request_item(case: Case, request: HttpRequest, *, extensions: bool = False,
                 public_events: Iterable[CaseEvent] | None = None, anonymous: bool = False) -> dict[str, Any]:
    """One service request. ``case`` needs category, department, regions, merged_into and its
    before-photos (``before_photos`` prefetched) loaded.

    ``anonymous`` (a read without an API key) gives only what the public pages show: the grid's centre rounded
    to ~100 m instead of the point, the street instead of the address, no description, no staff notes (each
    step's name only), and only photos cleared for the public."""
    photos = getattr(case, "before_photos", None)
    if photos is None:
        photos = [a for a in case.attachments.all() if a.kind == AttachmentKind.BEFORE]
    if anonymous:
        photos = [p for p in photos if is_public_photo(p)]
    media_url = absolute(request, public_url(photos[0].public_path)) if photos else None
    closed = case.status in FINAL_STATUSES
    item: dict[str, Any] = {
        "service_request_id": case.number,
        "status": "closed" if closed else "open",
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": case.department.name if case.department_id and case.department else None,
        "service_notice": None,
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(case.closed_at if closed and case.closed_at else case.updated_at),
        "expected_datetime": w3c(case.handling_due_at),
        "address": _address(case),
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": media_url,
    }
    if anonymous:
        grid = case.grid if case.grid_id else None
        position = public_position(grid.min_lon, grid.max_lon, grid.min_lat, grid.max_lat) if grid else None
        item.update(description="", address="".join(r.name for r in (case.district, case.street) if r is not None),
                    long=position[0] if position else None, lat=position[1] if position else None)
    if extensions:
        events = public_events if public_events is not None else case_timeline(case, public_only=True)
        item["extended_attributes"] = {
            "channel": case.source,
            "channel_name": SOURCE_LABELS.get(case.source, case.source),
            "internal_status": case.status,
            "internal_status_name": case.get_status_display(),
            "grid": case.grid.code if case.grid_id else None,
            "district": case.district.name if case.district_id else None,
            "parent_service_request_id": case.merged_into.number if case.merged_into_id and case.merged_into else None,
            "duplicate": case.status == CaseStatus.MERGED,
            "media_urls": [absolute(request, public_url(p.public_path)) for p in photos],
        }
        item["notes"] = [_note(e, with_text=not anonymous) for e in events]
    return item
