"""Geometry helpers shared by the geo services: metric projection, areas and polygon repair.

Areas are computed in ``local_metric_transformer``'s azimuthal *equal-area* projection, which
preserves areas everywhere (only shapes distort away from its centre), so one projection per file
or per community gives honest square metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from cityloop.core.crs import local_metric_transformer

#: A repaired polygon may differ in area from the original's absolute shoelace area by at most this share.
REPAIR_AREA_TOLERANCE = 0.01

GeometryArray = NDArray[np.object_]


def metric_transformer_for(
    bounds: tuple[float, float, float, float] | NDArray[np.float64], *, decimals: int = 1
) -> Transformer:
    """The local equal-area projection centred near a WGS-84 bounding box.

    The centre is rounded to 0.1° (about 10 km) so that neighbouring communities share one cached
    transformer (building one costs milliseconds): areas are exact anywhere in an equal-area
    projection, and within 10 km of its centre shapes are off by less than a millimetre per 100 m.
    """
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bounds)
    return local_metric_transformer(
        round((min_lon + max_lon) / 2, decimals), round((min_lat + max_lat) / 2, decimals)
    )


def project(geometries: Any, transformer: Transformer, *, inverse: bool = False) -> Any:
    """Apply ``transformer`` (forward: WGS-84 → metres; ``inverse``: back) to one geometry or an array of them."""
    direction = "INVERSE" if inverse else "FORWARD"

    def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1], direction=direction)
        return np.column_stack([x, y])

    return shapely.transform(geometries, apply)


def total_bounds(geometries: GeometryArray) -> NDArray[np.float64]:
    """(min_lon, min_lat, max_lon, max_lat) over an array of geometries."""
    bounds = shapely.bounds(geometries)
    return np.array([bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()])


#: Edges longer than this (degrees, about 500 m) are split before projecting, see :func:`densify`.
DENSIFY_DEGREES = 0.005


def densify(geometries: Any, max_degrees: float = DENSIFY_DEGREES) -> Any:
    """Split long edges so that a projection follows them.

    A straight edge in longitude/latitude is a curve in metres (meridians converge): a 3 km
    diagonal edge bows out by about 0.2 m from the chord between its projected ends. With edges
    of at most ~500 m the difference stays below a few millimetres.
    """
    return shapely.segmentize(geometries, max_degrees)


def areas_m2(geometries: GeometryArray, transformer: Transformer | None = None) -> NDArray[np.float64]:
    """Areas in m² of WGS-84 geometries (long edges densified), in one equal-area projection."""
    geometries = np.asarray(geometries, dtype=object)
    if len(geometries) == 0:
        return np.zeros(0)
    transformer = transformer or metric_transformer_for(total_bounds(geometries))
    return np.asarray(shapely.area(project(densify(geometries), transformer)), dtype=np.float64)


def boundary_fields(geometry: shapely.Geometry, area_m2: float | None = None) -> dict[str, object]:
    """The GeometryMixin columns for a WGS-84 geometry (WKB, bounding box, area; area computed when not given)."""
    if area_m2 is None:
        area_m2 = float(areas_m2(np.array([geometry], dtype=object))[0])
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in geometry.bounds)
    return {
        "boundary_wkb": shapely.to_wkb(geometry),
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
        "area_m2": float(area_m2),
    }


def polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry:
    """The Polygon/MultiPolygon part of ``geometry`` (e.g. of a make_valid or intersection result)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [
        part for part in shapely.get_parts(geometry)
        if part.geom_type in ("Polygon", "MultiPolygon") and not part.is_empty
    ]
    if not parts:
        return shapely.Polygon()
    if len(parts) == 1:
        return parts[0]
    return shapely.union_all(parts)


@dataclass(frozen=True)
class Repair:
    """The outcome of :func:`repair_polygon`: the usable geometry (None when unrepairable) and why."""

    geometry: shapely.Geometry | None
    repaired: bool = False
    reason: str = ""


def repair_polygon(geometry: shapely.Geometry) -> Repair:
    """Return a valid version of a (Multi)Polygon, or say why it cannot be used.

    A valid polygon is returned unchanged. An invalid one (self-intersecting ring, spike, touching
    or overlapping parts…) is passed through ``shapely.make_valid`` and its polygonal part kept.
    The repair is accepted when that part is a non-empty Polygon/MultiPolygon whose area differs
    from the original's absolute shoelace area (GEOS's area of the invalid polygon: |shell| minus
    |holes|, summed over parts) by at most 1 %. So spikes, duplicate points, self-touching rings
    and small twisted loops are repaired silently, while a bow-tie (whose lobes cancel out in the
    shoelace sum), a zero-area or line-like polygon, or a polygon whose parts largely overlap is
    rejected: guessing what such a boundary meant would be wrong more often than right.
    """
    if geometry.is_empty:
        return Repair(None, reason="几何为空")
    if shapely.is_valid(geometry):
        return Repair(geometry)
    where = shapely.is_valid_reason(geometry)
    original_area = abs(float(shapely.area(geometry)))
    fixed = polygonal_part(shapely.make_valid(geometry))
    if fixed.is_empty or fixed.area <= 0:
        return Repair(None, reason=f"多边形面积为零（退化为线或点），无法修复（{where}）")
    if original_area <= 0:
        return Repair(None, reason=f"多边形自相交（如“8”字形，各瓣面积相互抵消），无法可靠修复（{where}）")
    change = abs(float(fixed.area) - original_area) / original_area
    if change > REPAIR_AREA_TOLERANCE:
        return Repair(
            None,
            reason=f"多边形无效（自相交或各部分重叠），无法可靠修复：修复后面积变化 {change:.1%}，超过 {REPAIR_AREA_TOLERANCE:.0%}（{where}）",
        )
    return Repair(fixed, repaired=True, reason=where)


# --- square cells ------------------------------------------------------------------------------------

#: Cells smaller than this share of a full cell are merged into a neighbour.
SLIVER_SHARE = 0.01


class TooManyCells(Exception):
    """Covering a boundary would take more cells than allowed."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass(frozen=True)
class CellPlan:
    """Square cells covering one boundary, ordered row-major from the north-west (rows N→S, W→E inside a row)."""

    geometries: GeometryArray  # WGS-84
    areas_m2: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.geometries)


def square_cells(boundary: shapely.Geometry, size_m: float, *, max_cells: int = 999) -> CellPlan:
    """Cover a WGS-84 ``boundary`` with ``size_m`` squares clipped to it.

    The lattice is laid out in the equal-area projection centred on the boundary, anchored at the
    north-west corner of its bounding box (outer lines pushed out by 1 cm), and its corners are taken back to
    WGS-84, so adjacent cells share exactly the same vertices. Clipping happens in WGS-84 against
    the boundary itself, so the cells cover it exactly and cells of neighbouring communities meet
    on their common boundary. A clipped piece smaller than 1 % of a full cell (a sliver) is merged
    into the kept neighbour it shares the longest edge with or, when it touches none (an isolated
    speck of the boundary), into the nearest kept cell, so nothing is ever left uncovered. Pieces
    of zero area (the boundary only touching a square) are dropped. Raises ``TooManyCells`` when
    more than ``max_cells`` cells would remain.
    """
    transformer = metric_transformer_for(boundary.bounds)
    polygon = project(densify(boundary), transformer)  # densified: its bounds include the edges' bulge
    min_x, min_y, max_x, max_y = polygon.bounds
    n_cols = max(1, int(np.ceil((max_x - min_x) / size_m)))
    n_rows = max(1, int(np.ceil((max_y - min_y) / size_m)))
    if n_rows * n_cols > 100_000:
        # Do not build a huge lattice when the area alone shows there would be too many cells.
        estimate = int(polygon.area / (size_m * size_m))
        if estimate > max_cells or n_rows * n_cols > 5_000_000:
            raise TooManyCells(max(estimate, max_cells + 1))
    xs = min_x + np.arange(n_cols + 1) * size_m
    ys = max_y - np.arange(n_rows + 1) * size_m  # north to south
    # Push the lattice's outer lines out by 1 cm: the boundary's straight WGS-84 edges bulge slightly
    # in the projection, and must stay inside the lattice to be covered.
    margin = 0.01
    xs[0], ys[0] = min_x - margin, max_y + margin
    xs[-1], ys[-1] = max(xs[-1], max_x + margin), min(ys[-1], min_y - margin)
    rows = np.repeat(np.arange(n_rows), n_cols)  # row-major: rows outer, north first
    cols = np.tile(np.arange(n_cols), n_rows)
    boxes = project(shapely.box(xs[cols], ys[rows + 1], xs[cols + 1], ys[rows]), transformer, inverse=True)
    shapely.prepare(boundary)
    try:
        hit = shapely.intersects(boundary, boxes)
        boxes, cols, rows = boxes[hit], cols[hit], rows[hit]
        inside = shapely.contains_properly(boundary, boxes)
    finally:
        shapely.destroy_prepared(boundary)
    pieces = boxes.copy()
    edge = np.flatnonzero(~inside)
    if len(edge):
        clipped = shapely.intersection(boxes[edge], boundary)
        pieces[edge] = [polygonal_part(g) for g in clipped]
    areas = shapely.area(project(pieces, transformer))
    keep_any = areas > 0
    pieces, cols, rows, areas = pieces[keep_any], cols[keep_any], rows[keep_any], areas[keep_any]
    sliver = areas < SLIVER_SHARE * size_m * size_m
    if sliver.all():
        # A boundary smaller than a sliver: one cell holding all of it.
        pieces, cols, rows = np.array([shapely.union_all(pieces)], dtype=object), cols[:1], rows[:1]
        areas = shapely.area(project(pieces, transformer))
    elif sliver.any():
        pieces, cols, rows = _merge_slivers(pieces, cols, rows, sliver)
        areas = shapely.area(project(pieces, transformer))
    if len(pieces) > max_cells:
        raise TooManyCells(len(pieces))
    return CellPlan(geometries=pieces, areas_m2=np.asarray(areas, dtype=np.float64))


def _merge_slivers(
    pieces: GeometryArray, cols: NDArray[np.int64], rows: NDArray[np.int64], sliver: NDArray[np.bool_]
) -> tuple[GeometryArray, NDArray[np.int64], NDArray[np.int64]]:
    kept = np.flatnonzero(~sliver)
    position = {(int(rows[i]), int(cols[i])): int(i) for i in kept}
    pieces = pieces.copy()
    for i in np.flatnonzero(sliver):
        r, c = int(rows[i]), int(cols[i])
        best, best_length = -1, 0.0
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                j = position.get((r + dr, c + dc))
                if j is None:
                    continue
                shared = float(shapely.length(shapely.intersection(pieces[i], pieces[j])))
                if shared > best_length:
                    best, best_length = j, shared
        if best < 0:
            distances = shapely.distance(pieces[i], pieces[kept])
            best = int(kept[int(np.argmin(distances))])
        pieces[best] = polygonal_part(shapely.union(pieces[best], pieces[i]))
    return pieces[kept], cols[kept], rows[kept]
