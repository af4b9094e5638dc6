"""Reads of regions and grids: point location, region chains and GeoJSON layers for the maps."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.db.models import QuerySet

from cityloop.core.crs import CoordinateSystem, to_wgs84
from cityloop.core.errors import NotFound, OutsideCity, ValidationFailed
from cityloop.geo.lookup import get_grid_index, reset_grid_index
from cityloop.geo.models import Grid, Region, RegionLevel

OUTSIDE_MESSAGE = "该位置不在本市任何单元网格内"
#: Decimal places kept in GeoJSON coordinates (1e-7° ≈ 1 cm).
GEOJSON_DECIMALS = 7

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Location:
    """Where a point lies: its unit grid and the regions above it (None where the chain has no such level)."""

    grid: Grid
    community: Region | None
    street: Region | None
    district: Region | None
    city: Region | None
    lon: float  # WGS-84
    lat: float

    @property
    def regions(self) -> list[Region]:
        """City → district → street → community, skipping missing levels."""
        return [r for r in (self.city, self.district, self.street, self.community) if r is not None]


def region_get(code: str) -> Region:
    """The region with ``code``, or ``NotFound``."""
    region = Region.objects.select_related("parent").filter(code=str(code).strip()).first()
    if region is None:
        raise NotFound(f"区划 {code} 不存在", field="region")
    return region


def _chain_from(region: Region) -> list[Region]:
    """Top-down chain, following cached parents (select_related) and fetching the rest in one query."""
    nearest_first: list[Region] = []
    node: Region | None = region
    while node is not None:
        nearest_first.append(node)
        if node.parent_id is None:
            break
        if not Region.parent.is_cached(node):
            rest = Region.objects.select_related("parent__parent__parent").get(pk=node.parent_id)
            node = rest
            continue
        node = node.parent
    return list(reversed(nearest_first))


def region_chain(region: Region) -> list[Region]:
    """The region and its ancestors from the top: [city, district, street, community] (as far as they go)."""
    return _chain_from(region)


def _by_level(chain: list[Region]) -> dict[str, Region]:
    return {r.level: r for r in chain}


def locate_point(*, lon: float, lat: float, crs: str | CoordinateSystem = "wgs84") -> Location:
    """The unit grid containing a point (given in ``crs``) and its regions; ``OutsideCity`` when none does.

    A point on an edge or corner shared by several grids gets the one with the smallest code.
    """
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("经纬度应为数字", field="lon") from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValidationFailed("经纬度应为有限数字", field="lon")
    wx, wy = (float(v) for v in to_wgs84(x, y, crs))
    for _attempt in range(2):
        index = get_grid_index()
        i = index.locate_one(wx, wy)
        if i < 0:
            raise OutsideCity(OUTSIDE_MESSAGE, details={"lon": wx, "lat": wy})
        grid = (
            Grid.objects.select_related("community__parent__parent__parent").filter(pk=int(index.ids[i])).first()
        )
        if grid is not None:
            break
        reset_grid_index()  # the index is stale (grid deleted meanwhile): rebuild once
    else:  # pragma: no cover - only when grids keep changing under us
        raise OutsideCity(OUTSIDE_MESSAGE, details={"lon": wx, "lat": wy})
    levels = _by_level(_chain_from(grid.community))
    return Location(
        grid=grid,
        community=levels.get(RegionLevel.COMMUNITY),
        street=levels.get(RegionLevel.STREET),
        district=levels.get(RegionLevel.DISTRICT),
        city=levels.get(RegionLevel.CITY),
        lon=wx,
        lat=wy,
    )


def locate_points(lons: Any, lats: Any, *, crs: str | CoordinateSystem = "wgs84") -> list[str | None]:
    """Grid codes for many points at once (None outside every grid), e.g. for bulk imports of cases."""
    x, y = to_wgs84(lons, lats, crs)
    index = get_grid_index()
    found = index.locate_many(x, y)
    return [str(index.codes[i]) if i >= 0 else None for i in found]


# --- GeoJSON ----------------------------------------------------------------------------------------


def _check_bbox(bbox: BBox | None) -> BBox | None:
    if bbox is None:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("bbox 应为 最小经度,最小纬度,最大经度,最大纬度", field="bbox") from exc
    if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)) or min_lon > max_lon or min_lat > max_lat:
        raise ValidationFailed("bbox 应为 最小经度,最小纬度,最大经度,最大纬度（最小值不大于最大值）", field="bbox")
    return min_lon, min_lat, max_lon, max_lat


def _in_bbox(queryset: QuerySet[Any], bbox: BBox | None) -> QuerySet[Any]:
    if bbox is None:
        return queryset
    min_lon, min_lat, max_lon, max_lat = bbox
    return queryset.filter(min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat)


def _feature_collection(rows: list[tuple[Any, bytes, dict[str, Any]]]) -> dict[str, Any]:
    """FeatureCollection from (id, wkb, properties) rows; coordinates rounded to 1e-7°."""
    if not rows:
        return {"type": "FeatureCollection", "features": []}
    geometries = shapely.from_wkb([bytes(wkb) for _, wkb, _ in rows])
    geometries = shapely.transform(geometries, lambda c: np.round(c, GEOJSON_DECIMALS))
    texts = shapely.to_geojson(geometries)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": fid, "properties": props, "geometry": json.loads(text)}
            for (fid, _, props), text in zip(rows, texts, strict=True)
        ],
    }


def regions_geojson(*, level: str = RegionLevel.DISTRICT, bbox: BBox | None = None) -> dict[str, Any]:
    """Regions of one level (city/district/street/community) whose bounding box meets ``bbox``, as GeoJSON."""
    if level not in RegionLevel.values:
        names = "、".join(RegionLevel.values)
        raise ValidationFailed(f"未知的区划级别“{level}”：可用 {names}", field="level")
    queryset = _in_bbox(Region.objects.filter(level=level, boundary_wkb__isnull=False), _check_bbox(bbox))
    rows = [
        (
            code,
            wkb,
            {"code": code, "name": name, "level": lvl, "parent": parent_code, "area_m2": area, "is_demo": demo},
        )
        for code, name, lvl, parent_code, area, demo, wkb in queryset.order_by("code").values_list(
            "code", "name", "level", "parent__code", "area_m2", "is_demo", "boundary_wkb"
        )
    ]
    return _feature_collection(rows)


def grids_geojson(bbox: BBox, *, limit: int = 20_000) -> dict[str, Any]:
    """Unit grids whose bounding box meets ``bbox`` (at most ``limit``, by code), as GeoJSON."""
    checked = _check_bbox(bbox)
    if checked is None:
        raise ValidationFailed("需要指定 bbox", field="bbox")
    queryset = _in_bbox(Grid.objects.filter(boundary_wkb__isnull=False), checked).order_by("code")[:limit]
    rows = [
        (
            code,
            wkb,
            {
                "code": code,
                "community": community_code,
                "community_name": community_name,
                "management_level": level,
                "area_m2": area,
            },
        )
        for code, community_code, community_name, level, area, wkb in queryset.values_list(
            "code", "community__code", "community__name", "management_level", "area_m2", "boundary_wkb"
        )
    ]
    return _feature_collection(rows)
