"""Open311 GeoReport v2 views (plain Django): discovery, services, definitions, requests, tokens.

GETs need no key; ``POST requests`` needs ``api_key`` (a CityLoop API token). ``jurisdiction_id`` may be
omitted (this endpoint serves one city); when given it must be ``CITYLOOP_CITY_CODE``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import OperationalError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from cityloop.accounts.models import User
from cityloop.api.models import Open311Submission
from cityloop.api.open311 import present
from cityloop.api.open311.definitions import (
    AnswerInvalid,
    attributes_for,
    check_answers,
    service_get,
    services,
)
from cityloop.api.open311.render import errors, respond
from cityloop.api.services import open311_fingerprint, open311_submit, token_authenticate
from cityloop.cases.models import Attachment, AttachmentKind, Case, CaseEvent
from cityloop.cases.photos import PhotoRejected
from cityloop.cases.selectors import PUBLIC_STATUSES as PUBLIC_MAP_STATUSES
from cityloop.cases.selectors import cases_visible_to
from cityloop.cases.statuses import FINAL_STATUSES, Source
from cityloop.core.errors import CityLoopError, NotFound, OutsideCity, PermissionDenied
from cityloop.core.text import decimal, printable
from cityloop.core.uploads import answers_oversized, too_large
from cityloop.geo.models import Grid, Region

logger = logging.getLogger("cityloop.api.open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00+08:00"  # when the service list's shape (codes, attributes) last changed
DEFAULT_WINDOW = timedelta(days=90)
MAX_ROWS = 1000
MAX_IDS = 1000
MAX_PHOTOS = 9
MAX_DESCRIPTION = 4000  # the spec's limit; the case itself keeps at most 2000 characters (longer: 400)


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _fmt_of(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    fmt = kwargs.get("fmt") or ("xml" if request.path.rstrip().endswith(".xml") else "json")
    return "xml" if fmt == "xml" else "json"


def open311_view(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Method and jurisdiction checks, and every failure as the spec's error array in the asked format."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            fmt = _fmt_of(request, kwargs)
            if request.method not in methods:
                response = errors(fmt, 405, f"不支持 {request.method} 请求")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                _check_body_size(request)
                _check_jurisdiction(request)
                return view(request, *args, **kwargs)
            except Open311Error as exc:
                return errors(fmt, exc.status, exc.description)
            except PhotoRejected as exc:
                return errors(fmt, 413 if exc.details.get("reason") == "too_large" else 400, exc.message)
            except CityLoopError as exc:
                status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400
                return errors(fmt, status, exc.message)
            except RequestDataTooBig:
                return errors(fmt, 413, "请求体过大")
            except (TooManyFieldsSent, SuspiciousOperation, MultiPartParserError, UnicodeDecodeError):
                return errors(fmt, 400, "请求格式不正确")
            except OperationalError as exc:  # the database is locked or overloaded
                logger.warning("Open311 请求遇到数据库繁忙：%s", exc)
                response = errors(fmt, 503, "服务繁忙，请稍后重试")
                response["Retry-After"] = "1"
                return response
            except Exception:
                logger.exception("Open311 请求出错：%s", request.path)
                return errors(fmt, 500, "服务暂时无法处理该请求，请稍后重试")

        return answers_oversized(csrf_exempt(wrapped))

    return decorate


def _check_body_size(request: HttpRequest) -> None:
    """The one limit of every channel (``CITYLOOP_MAX_UPLOAD_BYTES``), before the body is read."""
    if too_large(request):
        raise Open311Error(413, "请求体过大")


def _param(request: HttpRequest, name: str) -> str:
    """A parameter from the query string or the form body; empty means absent (as the spec says)."""
    value = request.GET.get(name)
    if (value is None or value == "") and request.method == "POST":
        value = request.POST.get(name)
    value = (value or "").strip()
    if "\x00" in value:
        raise Open311Error(400, f"参数 {name} 含有非法字符")
    return value


def _check_jurisdiction(request: HttpRequest) -> None:
    given = _param(request, "jurisdiction_id")
    if given and given != settings.CITYLOOP_CITY_CODE:
        raise Open311Error(404, f"jurisdiction_id “{given[:40]}” 不存在（本接口只服务 {settings.CITYLOOP_CITY_CODE}）")


def service_type() -> str:
    kind = getattr(settings, "CITYLOOP_OPEN311_SERVICE_TYPE", "realtime")
    return kind if kind in ("realtime", "batch") else "realtime"


# --- discovery and services ----------------------------------------------------------------------


@open311_view("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    endpoint = request.build_absolute_uri(reverse("open311-discovery", kwargs={"fmt": fmt})).rsplit("/", 1)[0]
    contact = getattr(settings, "CITYLOOP_OPEN311_CONTACT", "") or (
        f"{settings.CITYLOOP_CITY_NAME}城市管理服务热线 12319"
    )
    return respond(fmt, "discovery", {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": request.build_absolute_uri(reverse("api-tokens")),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": endpoint,
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })


@open311_view("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    kind = service_type()
    items = [{**present.service(category), "type": kind} for category in services()]
    return respond(fmt, "services", items, item="service")


@open311_view("GET", "HEAD")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = service_get(code)
    if category is None:
        raise Open311Error(404, f"service_code “{code[:20]}” 不存在")
    if not attributes_for(category):
        raise Open311Error(404, f"服务 {category.code} 没有服务定义（metadata 为 false）")
    return respond(fmt, "service_definition", present.definition(category))


# --- requests ------------------------------------------------------------------------------------


def _requests_queryset() -> QuerySet[Case]:
    blobs = [f"{rel}__boundary_wkb" for rel in ("grid", "district", "street", "community")]
    return (
        Case.objects.select_related("category", "department", "grid", "district", "street", "community", "merged_into")
        .defer(*blobs)
        .prefetch_related(
            Prefetch(
                "attachments", queryset=Attachment.objects.filter(kind=AttachmentKind.BEFORE).order_by("created_at", "id"),
                to_attr="before_photos",
            )
        )
    )


def _moment(request: HttpRequest, name: str) -> datetime | None:
    text = _param(request, name)
    if not text:
        return None
    try:
        moment = parse_datetime(text.replace(" ", "+")) if "T" in text else None
        if moment is None:
            day = parse_date(text)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is None or not 1970 <= moment.year <= 2200:
        raise Open311Error(400, f"{name} 应为 W3C 日期时间，如 2026-01-01T00:00:00+08:00")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _extensions(request: HttpRequest) -> bool:
    return _param(request, "extensions").lower() in ("true", "1")


def _positive(request: HttpRequest, name: str, default: int, maximum: int) -> int:
    text = _param(request, name)
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise Open311Error(400, f"{name} 应为 1 到 {maximum} 之间的整数")
    return int(text)


def _list(request: HttpRequest, name: str) -> list[str]:
    return [part.strip() for part in _param(request, name).split(",") if part.strip()]


def _public_events(cases: list[Case]) -> dict[int, list[CaseEvent]]:
    by_case: dict[int, list[CaseEvent]] = {c.pk: [] for c in cases}
    events = CaseEvent.objects.filter(case_id__in=list(by_case), is_public=True).order_by("created_at", "id")
    for ev in events:
        by_case[ev.case_id].append(ev)
    return by_case


def _reader(request: HttpRequest) -> User | None:
    """Who reads: the API token's user (``api_key``), or None for an anonymous read. Anonymous reads see only
    what the public pages show, or nothing when ``CITYLOOP_OPEN311_ANONYMOUS_READS`` is "none"."""
    key = _param(request, "api_key")
    if key:
        token = token_authenticate(key=key)
        if token is None:
            raise Open311Error(403, "api_key 无效或已吊销")
        return token.user
    if getattr(settings, "CITYLOOP_OPEN311_ANONYMOUS_READS", "public") == "none":
        raise Open311Error(403, "本平台的 Open311 查询需要 api_key")
    return None


def _readable(queryset: QuerySet[Case], reader: User | None) -> QuerySet[Case]:
    """A key's user reads its own scope; an anonymous reader reads the cases the public reported."""
    if reader is not None:
        return queryset.filter(pk__in=cases_visible_to(reader).values("pk"))
    sources = getattr(settings, "CITYLOOP_OPEN311_PUBLIC_SOURCES", (Source.PUBLIC, Source.OPEN311))
    return queryset.filter(source__in=list(sources), status__in=list(PUBLIC_MAP_STATUSES))


def _render_requests(request: HttpRequest, fmt: str, cases: list[Case], extensions: bool,
                     reader: User | None = None, **kw: Any) -> HttpResponse:
    events = _public_events(cases) if extensions else {}
    items = [present.request_item(c, request, extensions=extensions, public_events=events.get(c.pk),
                                  anonymous=reader is None) for c in cases]
    return respond(fmt, "service_requests", items, item="request", **kw)


@open311_view("GET", "HEAD", "POST")
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    extensions = _extensions(request)
    reader = _reader(request)
    queryset = _readable(_requests_queryset(), reader)
    ids = _list(request, "service_request_id")
    if ids:  # overrides every other filter
        if len(ids) > MAX_IDS:
            raise Open311Error(400, f"service_request_id 最多 {MAX_IDS} 个")
        cases = list(queryset.filter(number__in=ids).order_by("-reported_at", "-id"))
        return _render_requests(request, fmt, cases, extensions, reader)
    codes = _list(request, "service_code")
    if codes:
        queryset = queryset.filter(category__code__in=codes[:MAX_IDS])
    statuses = {s.lower() for s in _list(request, "status")}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status 只能是 open、closed（可用逗号分隔）")
    if statuses == {"open"}:
        queryset = queryset.exclude(status__in=FINAL_STATUSES)
    elif statuses == {"closed"}:
        queryset = queryset.filter(status__in=FINAL_STATUSES)
    start, end = _moment(request, "start_date"), _moment(request, "end_date")
    updated_after = _moment(request, "updated_after") if extensions else None
    if start and end:
        if end < start:
            raise Open311Error(400, "end_date 不能早于 start_date")
        if end - start > DEFAULT_WINDOW:
            raise Open311Error(400, "start_date 与 end_date 的间隔不能超过 90 天")
    elif start:
        end = start + DEFAULT_WINDOW
    elif end:
        start = end - DEFAULT_WINDOW
    elif updated_after is None:
        end = timezone.now()
        start = end - DEFAULT_WINDOW
    if start is not None and end is not None:
        queryset = queryset.filter(reported_at__gte=start, reported_at__lte=end)
    if updated_after is not None:
        queryset = queryset.filter(updated_at__gt=updated_after)
    queryset = queryset.order_by("-reported_at", "-id")
    if extensions:
        page = _positive(request, "page", 1, 100_000)
        size = _positive(request, "page_size", 100, MAX_ROWS)
        total = queryset.count()
        cases = list(queryset[(page - 1) * size: page * size])
        response = _render_requests(request, fmt, cases, extensions, reader)
        response["X-Total-Count"] = str(total)
        response["X-Total-Pages"] = str(math.ceil(total / size) if total else 0)
        return response
    return _render_requests(request, fmt, list(queryset[:MAX_ROWS]), extensions, reader)


@open311_view("GET", "HEAD")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    reader = _reader(request)
    found = _readable(_requests_queryset(), reader)
    case = found.filter(number=request_id.strip()[:20]).first() if request_id.strip().isdigit() else None
    if case is None:
        raise Open311Error(404, f"service_request_id “{request_id[:20]}” 不存在")
    return _render_requests(request, fmt, [case], _extensions(request), reader)


@open311_view("GET", "HEAD")
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    submission = (
        Open311Submission.objects.select_related("case").filter(token=token.strip().lower()).first()
        if re.fullmatch(r"[0-9a-fA-F]{32}", token.strip()) else None
    )
    if submission is None:
        raise Open311Error(404, f"token “{token[:40]}” 不存在")
    return respond(fmt, "service_requests", [{"service_request_id": submission.case.number, "token": submission.token}],
                   item="request")


# --- POST requests -------------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,50})\](\[\])?$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CODE_IN_ADDRESS = re.compile(r"(?<!\d)(\d{15}|\d{12})(?!\d)")


def _text(request: HttpRequest, name: str, limit: int) -> str:
    """A text parameter, control characters cleaned as on every channel (``core.text``)."""
    value = printable(_param(request, name), one_line=name != "description").strip()
    if len(value) > limit:
        raise Open311Error(400, f"{name} 不能超过 {limit} 个字符")
    return value


def _coordinate(request: HttpRequest, name: str, bound: float) -> float | None:
    text = _param(request, name)
    if not text:
        return None
    value = decimal(text)  # full-width digits read as ASCII, as on every channel
    if value is None:
        raise Open311Error(400, f"{name} 应为数字（WGS-84 十进制度）")
    if abs(value) > bound:
        raise Open311Error(400, f"{name} 超出范围（±{bound:g}）")
    return value


def _point_for_address(address: str) -> tuple[float, float]:
    """The point of a unit grid code (15 digits) or community code (12 digits) named in the address."""
    match = _CODE_IN_ADDRESS.search(address)
    if match:
        code = match.group(1)
        area = (Grid if len(code) == 15 else Region).objects.filter(code=code).first()
        shape = area.boundary if area is not None else None
        if shape is not None and not shape.is_empty:
            point = shape.point_on_surface()
            return point.x, point.y
    raise Open311Error(400, "需要 lat 和 long（WGS-84）。本平台不做地址解析：没有坐标时 address_string 须包含单元网格编码（15 位）或社区代码（12 位）")


def _answers(data: QueryDict) -> dict[str, list[str]]:
    answers: dict[str, list[str]] = {}
    for key in data:
        match = _ATTRIBUTE.match(key)
        if match:
            answers.setdefault(match.group(1), []).extend(data.getlist(key))
    return answers


def _name(first: str, last: str) -> str:
    if _CJK.search(first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    content_type = (request.content_type or "").lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        raise Open311Error(400, "请求体应为 application/x-www-form-urlencoded 或 multipart/form-data")
    client = token_authenticate(key=_param(request, "api_key"))
    if client is None:
        raise Open311Error(403, "api_key 无效或已吊销，不能提交服务请求")
    code = _param(request, "service_code")
    if not code:
        raise Open311Error(400, "缺少 service_code")
    category = service_get(code)
    if category is None:
        raise Open311Error(404, f"service_code “{code[:20]}” 不存在")
    lat, lon = _coordinate(request, "lat", 90), _coordinate(request, "long", 180)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat 和 long 须同时提供")
    address = _text(request, "address_string", 300)
    if lat is None or lon is None:
        if not address and _param(request, "address_id"):
            raise Open311Error(400, "不支持 address_id，请提供 lat 和 long")
        if not address:
            raise Open311Error(400, "需要位置：lat 和 long，或 address_string")
        lon, lat = _point_for_address(address)
    description = _text(request, "description", MAX_DESCRIPTION)
    answers = _answers(request.POST)
    try:
        lines = check_answers(category, answers)
    except AnswerInvalid as exc:
        raise Open311Error(400, str(exc)) from None
    first, last = _text(request, "first_name", 50), _text(request, "last_name", 50)
    phone = _text(request, "phone", 20)
    contact = {
        "email": _text(request, "email", 254),
        "device_id": _text(request, "device_id", 100),
        "account_id": _text(request, "account_id", 100),
        "media_url": _text(request, "media_url", 500),
    }
    media = request.FILES.getlist("media") + request.FILES.getlist("media[]")
    if len(media) > MAX_PHOTOS:
        raise Open311Error(400, f"最多上传 {MAX_PHOTOS} 张照片")
    fields = {
        "service_code": category.code, "lat": lat, "long": lon, "address_string": address, "description": description,
        "first_name": first, "last_name": last, "phone": phone, "answers": answers, **contact,
    }
    full_description = "\n".join([description or f"{category.name}（通过 Open311 上报）", *lines])
    try:
        result = open311_submit(
            client=client, fingerprint=open311_fingerprint(fields, [_sha256(f) for f in media]), category=category,
            description=full_description, lon=lon, lat=lat, address=address, reporter_name=_name(first, last),
            reporter_phone=phone, photos=media, email=contact["email"], device_id=contact["device_id"],
            account_id=contact["account_id"], media_url=contact["media_url"],
        )
    except OutsideCity:
        raise Open311Error(400, "该位置不在本市范围内（不在任何单元网格内）") from None
    submission = result.submission
    item: dict[str, Any] = (
        {"token": submission.token} if service_type() == "batch" else {"service_request_id": submission.case.number}
    )
    item["service_notice"] = f"已受理，案卷编号 {submission.case.number}。公众上报的问题经现场核实后立案处置。"
    item["account_id"] = contact["account_id"] or None
    return respond(fmt, "service_requests", [item], item="request", status=201 if result.created else 200)


def _sha256(upload: Any) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@open311_view("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    raise Open311Error(404, "没有这个接口；请以 .json 或 .xml 结尾，见 discovery.json")
