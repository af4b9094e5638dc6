"""Pages that belong to no single domain app: the workbench home and the shared map layers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cityloop.core.errors import ValidationFailed
from cityloop.geo import selectors as geo_selectors
from cityloop.web import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "summary": selectors.city_summary(),
        "city_name": settings.CITYLOOP_CITY_NAME,
        "tile_url": settings.TILE_URL,
    }
    return render(request, "web/home.html", context)


@login_required
@require_GET
def regions_geojson(request: HttpRequest) -> HttpResponse:
    level = request.GET.get("level", "district")
    try:
        bbox = _parse_bbox(request.GET.get("bbox"))
        data = geo_selectors.regions_geojson(level=level, bbox=bbox)
    except ValidationFailed as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    return JsonResponse(data)


def _parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if not raw:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in raw.split(","))
    except ValueError as exc:
        raise ValidationFailed("bbox 应为 最小经度,最小纬度,最大经度,最大纬度", field="bbox") from exc
    return min_lon, min_lat, max_lon, max_lat
