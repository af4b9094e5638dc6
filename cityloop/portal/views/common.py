"""What the inspector's and the citizen's pages share: the report flow, JSON helpers, map layers, photos."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from cityloop.cases.services import ReportResult, case_report
from cityloop.catalog.models import Category
from cityloop.core.errors import CityLoopError, ValidationFailed
from cityloop.geo import selectors as geo_selectors
from cityloop.portal import forms, ratelimit
from cityloop.portal.selectors import category_choices

#: Public photo variants are named ``photos/public/ab/cd/<sha256>.jpg|png`` (see ``cases.photos``).
PUBLIC_PHOTO_RE = re.compile(r"^(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P=a)(?P=b)[0-9a-f]{60}\.(?:jpg|png)$")
PUBLIC_PHOTO_DIR = "photos/public"
LAYER_CACHE_SECONDS = 600
MAX_GRID_BBOX_DEG = 0.03  # about 3 km: the grid layer is only for a zoomed-in map
MAX_GRIDS = 600


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def too_many_requests(request: HttpRequest, result: ratelimit.RateLimitResult) -> HttpResponse:
    minutes = max(1, (result.retry_after + 59) // 60)
    message = _("操作过于频繁，请 %(minutes)d 分钟后再试") % {"minutes": minutes}
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"ok": False, "code": "rate_limited", "message": message}, status=429)
    else:
        response = render(request, "portal/error.html", {"title": _("操作过于频繁"), "message": message}, status=429)
    response["Retry-After"] = str(result.retry_after)
    return response


# --- reporting ------------------------------------------------------------------------------------


def report_flow(
    request: HttpRequest,
    *,
    public: bool,
    template: str,
    context: dict[str, Any],
    report_kwargs: dict[str, Any],
    key_prefix: str,
    done_url: str,
    session_key: str,
) -> HttpResponse:
    """Show the report form (GET) or turn it into ``case_report`` (POST): JSON for fetch(), HTML without JS."""
    context = {**context, "public": public}
    if request.method != "POST":
        values = {"idempotency_key": forms.new_idempotency_key(), "urgency": "normal"}
        return render(request, template, {**context, "values": values, "errors": {},
                                          "category_options": _category_options(context)})

    form = forms.parse_report(request.POST, request.FILES, public=public)
    result: ReportResult | None = None
    if not form.errors:
        after_names = {f.name for f in form.kwargs.get("after_photos", ())}
        try:
            result = case_report(**form.kwargs, **report_kwargs, idempotency_key=f"{key_prefix}:{form.key}")
        except CityLoopError as exc:
            form.add(forms.field_for_error(exc, after_names=after_names), forms.error_message(exc))
    if result is None:
        return _report_errors(request, form, template, context)

    case = result.case
    request.session[session_key] = {"id": case.pk, "number": case.number, "created": result.created}
    if wants_json(request):
        return JsonResponse({"ok": True, "number": case.number, "created": result.created, "next": done_url},
                            status=201 if result.created else 200)
    return HttpResponseRedirect(done_url)


def _report_errors(request: HttpRequest, form: forms.ReportForm, template: str,
                   context: dict[str, Any]) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(
            {"ok": False, "code": "invalid", "message": _("请修改标出的内容后再提交"), "errors": form.errors},
            status=422,
        )
    options = _category_options(context, form.category, *form.candidates)
    return render(
        request, template,
        {**context, "values": form.values, "errors": form.errors, "category_options": options,
         "chosen_category": form.category, "photos_lost": bool(request.FILES)},
        status=422,
    )


def _category_options(context: dict[str, Any], *extra: Category | None) -> list[Category]:
    """The radio choices of the category field: the common problems, the chosen one and any candidates."""
    options: list[Category] = list(context.get("common_categories", ()))
    for category in extra:
        if category is not None and category.parent_id is not None and category not in options:
            options.append(category)
    return options


# --- categories and map layers ------------------------------------------------------------------


def categories_json(request: HttpRequest) -> JsonResponse:
    query = request.GET.get("q", "")[:50]
    return JsonResponse({"results": category_choices(query) if query.strip() else []})


def _cached(key: str, build: Callable[[], Any]) -> Any:
    data = cache.get(key)
    if data is None:
        data = build()
        cache.set(key, data, LAYER_CACHE_SECONDS)
    return data


@require_GET
@cache_control(public=True, max_age=LAYER_CACHE_SECONDS)
def regions_geojson(request: HttpRequest) -> JsonResponse:
    """District (or street) boundaries for the vector base map; public information."""
    level = request.GET.get("level", "district")
    if level not in ("district", "street"):
        return JsonResponse({"ok": False, "message": _("不支持的区划级别")}, status=400)
    return JsonResponse(_cached(f"cityloop:portal:regions:{level}",
                                lambda: geo_selectors.regions_geojson(level=level)))


@require_GET
def grids_geojson(request: HttpRequest) -> JsonResponse:
    """Unit grids in a small bbox, so a pin can be placed in the right grid on a map without tiles."""
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in request.GET.get("bbox", "").split(","))
    except ValueError:
        return JsonResponse({"ok": False, "message": _("bbox 应为 最小经度,最小纬度,最大经度,最大纬度")}, status=400)
    if not (0 <= max_lon - min_lon <= MAX_GRID_BBOX_DEG and 0 <= max_lat - min_lat <= MAX_GRID_BBOX_DEG):
        return JsonResponse({"type": "FeatureCollection", "features": [], "too_large": True})
    try:
        data = geo_selectors.grids_geojson((min_lon, min_lat, max_lon, max_lat), limit=MAX_GRIDS)
    except ValidationFailed as exc:
        return JsonResponse({"ok": False, "message": exc.message}, status=400)
    for feature in data["features"]:  # the map needs the outline and the code only
        feature["properties"] = {"code": feature["properties"]["code"]}
    return JsonResponse(data)


def map_settings() -> dict[str, str]:
    return {"tile_url": getattr(settings, "TILE_URL", "") or ""}


# --- photos ---------------------------------------------------------------------------------------


@require_GET
def public_photo(request: HttpRequest, path: str) -> FileResponse:
    """Serve a public photo variant (no EXIF/GPS) from ``photos/public/``; nothing else, ever."""
    if not PUBLIC_PHOTO_RE.fullmatch(path):
        raise Http404("not a public photo")
    name = f"{PUBLIC_PHOTO_DIR}/{path}"
    try:
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("no such photo") from None
    content_type = "image/png" if path.endswith(".png") else "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"  # named by content hash
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    return response
