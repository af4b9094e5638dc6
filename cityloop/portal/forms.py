"""Reading the phone forms: what the HTML form carries, checked only as far as the transport needs.

Business rules (a description is required, a position must lie in the city, photos must be real photos,
self-handling needs after photos …) stay in ``cases.services``; their errors are mapped back onto the form
fields by ``field_for_error``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from cityloop.catalog.models import Category, Urgency
from cityloop.core.errors import CityLoopError
from cityloop.core.text import decimal
from cityloop.portal.selectors import category_resolve

DEFAULT_MAX_PHOTOS = 9
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
#: Fields of the report forms, in page order (errors are focused in this order).
REPORT_FIELDS = (
    "location", "photos", "category", "description", "address", "urgency", "self_handled", "after_photos",
    "reporter_name", "reporter_phone",
)


def max_photos() -> int:
    return int(getattr(settings, "CITYLOOP_PORTAL_MAX_PHOTOS", DEFAULT_MAX_PHOTOS))


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def clean_idempotency_key(value: str) -> str:
    """The form's UUID in canonical form; a fresh one when it is missing or malformed."""
    try:
        return str(uuid.UUID((value or "").strip()))
    except ValueError:
        return new_idempotency_key()


def normalize_phone(value: str) -> str:
    """Digits only, without a +86 / 0086 country prefix."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    return digits


@dataclass
class ReportForm:
    """A parsed report form: ``kwargs`` for ``case_report`` once ``errors`` is empty."""

    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    candidates: list[Category] = field(default_factory=list)
    category: Category | None = None

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def key(self) -> str:
        return str(self.values.get("idempotency_key", ""))


def _coordinate(raw: str, low: float, high: float) -> float | None:
    value = decimal(raw)  # full-width digits read as ASCII, as on every channel
    return value if value is not None and low <= value <= high else None


def parse_report(data: QueryDict, files: MultiValueDict[str, UploadedFile], *, public: bool) -> ReportForm:
    """Read a report form (inspector or citizen); transport-level checks only."""
    values: dict[str, Any] = {
        name: data.get(name, "")
        for name in ("idempotency_key", "category", "category_q", "description", "address", "lon", "lat",
                     "urgency", "reporter_name", "reporter_phone")
    }
    values["idempotency_key"] = clean_idempotency_key(values["idempotency_key"])
    values["self_handled"] = data.get("self_handled") in ("on", "1", "true")
    form = ReportForm(values=values)

    lon, lat = values["lon"].strip(), values["lat"].strip()
    x = y = None
    if not lon or not lat:
        form.add("location", _("请获取当前位置或在地图上选点（也可手动填写经纬度）"))
    else:
        x, y = _coordinate(lon, -180, 180), _coordinate(lat, -90, 90)
        if x is None or y is None:
            form.add("location", _("经纬度格式不正确：经度 -180～180，纬度 -90～90"))

    photos = files.getlist("photos")
    after_photos = files.getlist("after_photos") if not public and values["self_handled"] else []
    if public and not photos:
        form.add("photos", _("请至少上传一张现场照片"))
    for name, items in (("photos", photos), ("after_photos", after_photos)):
        if len(items) > max_photos():
            form.add(name, _("最多上传 %(count)d 张照片") % {"count": max_photos()})

    category, candidates = category_resolve(values["category"], values["category_q"])
    if category is None:
        if candidates:
            names = "、".join(f"{c.name}（{c.code}）" for c in candidates)
            form.add("category", _("请从候选分类中选择一个：%(names)s") % {"names": names})
            form.candidates = candidates
        elif values["category"].strip() or values["category_q"].strip():
            form.add("category", _("没有找到该分类，请换个关键词（名称、编码或拼音首字母）"))
        else:
            form.add("category", _("请选择问题分类"))
    form.category = category

    urgency = Urgency.NORMAL
    if not public:
        urgency = values["urgency"] or Urgency.NORMAL
    phone = ""
    if public:
        phone = normalize_phone(values["reporter_phone"])
        values["reporter_phone"] = phone or values["reporter_phone"]
        if not phone:
            form.add("reporter_phone", _("请填写手机号，查询办理进度时需要用到"))
        elif not PHONE_RE.match(phone):
            form.add("reporter_phone", _("请填写 11 位手机号（如 13800001234）"))

    if not form.errors:
        form.kwargs = {
            "category": category,
            "description": values["description"],
            "address": values["address"],
            "lon": x,
            "lat": y,
            "crs": "wgs84",  # the browser's geolocation and the vector map are both WGS-84
            "urgency": urgency,
            "photos": photos,
        }
        if public:
            form.kwargs.update(reporter_name=values["reporter_name"], reporter_phone=phone)
        else:
            form.kwargs.update(self_handled=values["self_handled"], after_photos=after_photos)
    return form


def field_for_error(exc: CityLoopError, *, after_names: set[str] | frozenset[str] = frozenset()) -> str:
    """The form field a service error belongs to (``general`` when none fits)."""
    if exc.code == "outside_city" or exc.field in ("lon", "lat"):
        return "location"
    if exc.code == "photo_rejected" or exc.field == "photo":
        filename = str(exc.details.get("filename") or "")
        return "after_photos" if filename and filename in after_names else "photos"
    if exc.field in REPORT_FIELDS or exc.field in ("note", "valid", "rating", "photos"):
        return str(exc.field)
    return "general"


def error_message(exc: CityLoopError) -> str:
    """The Chinese message; a rejected photo names its file."""
    filename = exc.details.get("filename") if exc.code == "photo_rejected" else ""
    return f"{filename}：{exc.message}" if filename else exc.message
