"""一张图: the map page and its JSON layers (regions, grids in view, case markers, open cases per grid)."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cityloop.cases.statuses import CaseStatus
from cityloop.core.errors import ValidationFailed
from cityloop.geo import selectors as geo_selectors
from cityloop.web import selectors
from cityloop.web.forms import MapFilterForm
from cityloop.web.views.common import current_user, parse_bbox

#: Grids are drawn from this zoom level on (the page asks only then; the server caps the count).
GRID_MIN_ZOOM = 15
GRID_LIMIT = 5_000
#: Marker and choropleth data may be reused by the browser this long (seconds).
MAP_DATA_MAX_AGE = 15


def _bad_request(exc: ValidationFailed) -> JsonResponse:
    return JsonResponse({"code": exc.code, "message": exc.message, "field": exc.field}, status=400)


def _cached(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = f"private, max-age={MAP_DATA_MAX_AGE}"
    return response


@login_required
@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if "is_open" not in params:
        params["is_open"] = "true"  # the map shows open cases unless asked otherwise
    context = {
        "form": MapFilterForm(params),
        "query_string": params.urlencode(),
        "tile_url": settings.TILE_URL,
        "grid_min_zoom": GRID_MIN_ZOOM,
        "status_labels": {value: _(label) for value, label in CaseStatus.choices},
        "map_text": {
            "district": _("区县边界"), "street": _("街道边界"), "community": _("社区边界"),
            "grids": _("单元网格（放大后显示）"), "counts": _("未办结案件数（按网格）"), "cases": _("案件点位"),
            "tiles": _("底图"), "open": _("查看案卷"), "loading": _("正在加载……"),
            "loaded": _("地图上共 {n} 件案卷"), "truncated": _("（数量过多，只显示了一部分，请缩小范围）"),
            "failed": _("加载失败，请稍后重试"), "gridCount": _("{n} 件未办结案卷"),
            "lights": {"green": _("绿灯"), "yellow": _("黄灯"), "red": _("红灯"), "": _("无进行中的环节")},
        },
    }
    return render(request, "web/map.html", context)


@login_required
@require_GET
def regions_geojson(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("level", "district")
    try:
        data = geo_selectors.regions_geojson(level=level, bbox=parse_bbox(request.GET.get("bbox")))
    except ValidationFailed as exc:
        return _bad_request(exc)
    return JsonResponse(data)


@login_required
@require_GET
def grids_geojson(request: HttpRequest) -> HttpResponse:
    try:
        bbox = parse_bbox(request.GET.get("bbox"))
        if bbox is None:
            raise ValidationFailed(_("需要指定 bbox"), field="bbox")
        data = geo_selectors.grids_geojson(bbox, limit=GRID_LIMIT)
    except ValidationFailed as exc:
        return _bad_request(exc)
    return JsonResponse(data)


@login_required
@require_GET
def map_cases(request: HttpRequest) -> HttpResponse:
    """Markers: ``{"fields": [id, lon, lat, status, light], "rows": [...]}`` within the user's scope."""
    try:
        bbox = parse_bbox(request.GET.get("bbox"))
    except ValidationFailed as exc:
        return _bad_request(exc)
    query = selectors.case_query(current_user(request), request.GET)
    data = selectors.map_case_points(query.queryset, bbox=bbox)
    response = HttpResponse(json.dumps(data, separators=(",", ":")), content_type="application/json")
    return _cached(response)


@login_required
@require_GET
def map_grid_counts(request: HttpRequest) -> HttpResponse:
    """The choropleth: grids holding open cases of the user's scope and filters, with their counts."""
    try:
        bbox = parse_bbox(request.GET.get("bbox"))
    except ValidationFailed as exc:
        return _bad_request(exc)
    query = selectors.case_query(current_user(request), request.GET)
    return _cached(JsonResponse(selectors.grid_case_counts(query.queryset, bbox=bbox)))
