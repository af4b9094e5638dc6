"""Deterministic, plausible subdivision of a polygon into N parts (demo streets and communities).

Real street and community boundaries are not in our data, so the demo city draws them: seed
points are sampled inside the polygon with a RNG seeded by the region code, relaxed with a few
Lloyd iterations so parts have similar sizes, and the Voronoi cells are clipped to the polygon.
Everything runs in a local equal-area projection (metres), so sizes are honest.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


def _sample_inside(polygon: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    min_x, min_y, max_x, max_y = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        xs = rng.uniform(min_x, max_x, count * 4)
        ys = rng.uniform(min_y, max_y, count * 4)
        inside = shapely.contains_xy(polygon, xs, ys)
        chunk = np.column_stack([xs[inside], ys[inside]])
        found.append(chunk)
        total += len(chunk)
    return np.concatenate(found)[:count]


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Keep only the polygon parts of a clipping result (drops stray lines and points)."""
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon") and g.area > 0]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def partition(polygon: BaseGeometry, parts: int, *, seed: int, lloyd_iterations: int = 4) -> list[BaseGeometry]:
    """Split ``polygon`` (metric coordinates) into ``parts`` cells ordered west→east, north→south by centroid.

    The cells cover the polygon exactly and do not overlap; the result is the same for the same seed.
    """
    if parts <= 1:
        return [polygon]
    rng = np.random.default_rng(seed)
    seeds = _sample_inside(polygon, parts, rng)
    envelope = polygon.envelope.buffer(max(polygon.bounds[2] - polygon.bounds[0], 1.0))
    cells: list[BaseGeometry] = []
    for iteration in range(lloyd_iterations + 1):
        diagram = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=envelope)
        raw = list(shapely.get_parts(diagram))
        # voronoi_polygons does not keep the input order: match each seed to the cell containing it.
        tree = shapely.STRtree(raw)
        idx = tree.query(shapely.points(seeds), predicate="intersects")
        order = np.full(len(seeds), -1)
        order[idx[0]] = idx[1]
        cells = [_polygonal(shapely.intersection(raw[j], polygon)) for j in order]
        if iteration == lloyd_iterations:
            break
        # Move each seed to its cell's centroid, keeping it inside the polygon.
        for i, cell in enumerate(cells):
            if not cell.is_empty:
                point = cell.centroid if cell.contains(cell.centroid) else cell.representative_point()
                seeds[i] = (point.x, point.y)
    cells = [cell for cell in cells if not cell.is_empty]
    # Order like grid codes: rows of about one cell's height from north to south, west to east inside a row.
    row_height = (polygon.bounds[3] - polygon.bounds[1]) / max(1, round(np.sqrt(len(cells))))
    top = polygon.bounds[3]

    def key(cell: BaseGeometry) -> tuple[int, float]:
        c = cell.representative_point()
        return int((top - c.y) // row_height), c.x

    return sorted(cells, key=key)


def partition_exact(
    boundary: BaseGeometry,
    parts: int,
    *,
    seed: int,
    to_metric: Callable[[BaseGeometry], BaseGeometry],
    to_source: Callable[[BaseGeometry], BaseGeometry],
) -> list[BaseGeometry]:
    """Split ``boundary`` (WGS-84) into parts that cover it exactly, without overlaps, in its own coordinates.

    The cells are drawn in metres (``to_metric``) and brought back (``to_source``) densified, then clipped
    in WGS-84, so projection curvature cannot make neighbours overlap or stick out of the parent; the
    slivers it leaves between cells join the neighbour they share the longest edge with.
    """
    metric = _polygonal(shapely.make_valid(to_metric(shapely.segmentize(boundary, 0.0005))))
    cells = partition(metric, parts, seed=seed)
    if len(cells) <= 1:
        return [boundary]
    taken = shapely.Polygon()
    result: list[BaseGeometry] = []
    for cell in cells:
        back = shapely.make_valid(to_source(shapely.segmentize(cell, 25.0)))
        piece = _polygonal(shapely.difference(shapely.intersection(back, boundary), taken))
        result.append(piece)
        taken = shapely.union(taken, piece)
    leftover = _polygonal(shapely.difference(boundary, taken))
    for sliver in shapely.get_parts(leftover):
        shared = [float(shapely.length(shapely.intersection(sliver.boundary, r.boundary))) for r in result]
        best = int(np.argmax(shared)) if max(shared) > 0 else int(np.argmin([sliver.distance(r) for r in result]))
        result[best] = _polygonal(shapely.union(result[best], sliver))
    return [r for r in result if not r.is_empty]
