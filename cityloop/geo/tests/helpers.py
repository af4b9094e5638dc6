"""Small builders for geo tests: GeoJSON files, metric rectangles and model snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry

from cityloop.core.crs import local_metric_transformer
from cityloop.geo.geometry import project
from cityloop.geo.models import Grid, Region


def feature(geometry: shapely.Geometry | dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    geo = shapely.geometry.mapping(geometry) if isinstance(geometry, shapely.Geometry) else geometry
    return {"type": "Feature", "properties": properties, "geometry": geo}


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    return path


def metric_rect(lon0: float, lat0: float, width_m: float, height_m: float, *, dx: float = 0.0, dy: float = 0.0) -> shapely.Geometry:
    """A WGS-84 rectangle of width × height metres in the local equal-area projection centred at (lon0, lat0).

    Centred on that point (lon0, lat0 multiples of 0.1°, as ``metric_transformer_for`` rounds) plus an offset (dx, dy) in metres, so
    grid generation uses the very same projection and cells line up with its edges.
    """
    transformer = local_metric_transformer(lon0, lat0)
    rect = shapely.box(dx - width_m / 2, dy - height_m / 2, dx + width_m / 2, dy + height_m / 2)
    return project(rect, transformer, inverse=True)


def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every region and grid row, to check that a failed import changed nothing."""
    regions = [{**r, "boundary_wkb": bytes(r["boundary_wkb"] or b"")} for r in Region.objects.order_by("code").values()]
    grids = [{**g, "boundary_wkb": bytes(g["boundary_wkb"] or b"")} for g in Grid.objects.order_by("code").values()]
    return regions, grids
