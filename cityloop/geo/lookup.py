"""Point → unit grid lookup in memory, without a spatial database.

``GridIndex`` holds every grid (sorted by code) and answers "which grid contains this point" for
one point or a million at once. Candidates come from a uniform bucket grid over the grids' bounding
boxes, built with numpy (buckets of about half a grid, each listing the grids whose bounding box
touches it, in code order); a bounding-box test and an exact ``shapely.intersects_xy`` against
the prepared boundaries decide. Working on coordinate arrays avoids creating a shapely Point per
query point, which is what makes this faster than ``STRtree.query(points)`` (that path is kept as
``locate_many_strtree`` for reference and tests). A point on the boundary of several grids (shared
edge or corner) gets the grid with the smallest code, always.

``get_grid_index()`` returns the process-wide index. It is rebuilt when the grids change: the geo
services call ``reset_grid_index()`` after every grid write (immediately and on commit), and every
``CHECK_SECONDS`` at most the cached index compares its key (the ``GridSetVersion`` token, the
grids' count and highest id; one indexed row plus one aggregate) with the database, so other
processes pick up changes within a few seconds, including writes that bypassed the services
(count or id change). An in-place update that bypasses the services and does not call
``services.grids_changed()`` is the one change this cannot see.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db.models import Count, Max
from numpy.typing import ArrayLike, NDArray

#: Largest number of buckets (memory: 8 bytes each, plus one entry per grid and bucket it touches).
MAX_BUCKETS = 4_000_000
#: Seconds between two checks of the database for grid changes (settings.CITYLOOP_GRID_INDEX_CHECK_SECONDS).
CHECK_SECONDS = 2.0

IntArray = NDArray[np.int64]


class GridIndex:
    """All unit grids in memory: ``codes``, ``ids`` and ``community_ids`` arrays in code order, and their boundaries."""

    def __init__(
        self,
        *,
        codes: Sequence[str],
        ids: ArrayLike,
        community_ids: ArrayLike,
        geometries: Sequence[shapely.Geometry] | NDArray[np.object_],
        key: Any = None,
    ) -> None:
        code_array = np.asarray(codes, dtype=object)
        order = np.argsort(code_array.astype(str), kind="stable") if len(code_array) else np.zeros(0, dtype=np.int64)
        self.codes: NDArray[np.object_] = code_array[order]
        self.ids: IntArray = np.asarray(ids, dtype=np.int64).reshape(-1)[order]
        self.community_ids: IntArray = np.asarray(community_ids, dtype=np.int64).reshape(-1)[order]
        self.geometries: NDArray[np.object_] = np.asarray(geometries, dtype=object).reshape(-1)[order]
        self.key = key
        shapely.prepare(self.geometries)
        bounds = shapely.bounds(self.geometries) if len(self.geometries) else np.zeros((0, 4))
        self.min_x = np.ascontiguousarray(bounds[:, 0])
        self.min_y = np.ascontiguousarray(bounds[:, 1])
        self.max_x = np.ascontiguousarray(bounds[:, 2])
        self.max_y = np.ascontiguousarray(bounds[:, 3])
        self._build_buckets()

    @classmethod
    def from_db(cls, *, key: Any = None) -> GridIndex:
        """Every grid with a boundary, straight from the database."""
        from cityloop.geo.models import Grid

        rows = list(
            Grid.objects.filter(boundary_wkb__isnull=False)
            .order_by("code")
            .values_list("id", "code", "community_id", "boundary_wkb")
        )
        geometries = shapely.from_wkb([bytes(row[3] or b"") for row in rows]) if rows else np.zeros(0, dtype=object)
        return cls(
            codes=[row[1] for row in rows],
            ids=[row[0] for row in rows],
            community_ids=[row[2] for row in rows],
            geometries=geometries,
            key=key,
        )

    def __len__(self) -> int:
        return len(self.codes)

    # --- bucket grid -------------------------------------------------------------------------------

    def _build_buckets(self) -> None:
        n = len(self)
        if n == 0:
            self.origin_x = self.origin_y = 0.0
            self.cell_w = self.cell_h = 1.0
            self.n_cols = self.n_rows = 0
            self.bucket_starts: IntArray = np.zeros(1, dtype=np.int64)
            self.bucket_grids: IntArray = np.zeros(0, dtype=np.int64)
            return
        self.origin_x, self.origin_y = float(self.min_x.min()), float(self.min_y.min())
        extent_w = float(self.max_x.max()) - self.origin_x
        extent_h = float(self.max_y.max()) - self.origin_y
        widths, heights = self.max_x - self.min_x, self.max_y - self.min_y
        cell_w = float(np.median(widths)) / 2 or extent_w / 1000 or 1e-6
        cell_h = float(np.median(heights)) / 2 or extent_h / 1000 or 1e-6
        while True:
            n_cols = int(extent_w / cell_w) + 1
            n_rows = int(extent_h / cell_h) + 1
            if n_cols * n_rows <= MAX_BUCKETS:
                break
            cell_w, cell_h = cell_w * 1.5, cell_h * 1.5
        self.cell_w, self.cell_h, self.n_cols, self.n_rows = cell_w, cell_h, n_cols, n_rows
        col0, col1 = self._cols(self.min_x), self._cols(self.max_x)
        row0, row1 = self._rows(self.min_y), self._rows(self.max_y)
        span_w = col1 - col0 + 1
        per_grid = span_w * (row1 - row0 + 1)
        grid = np.repeat(np.arange(n, dtype=np.int64), per_grid)
        k = np.arange(len(grid), dtype=np.int64) - np.repeat(np.cumsum(per_grid) - per_grid, per_grid)
        bucket = (row0[grid] + k // span_w[grid]) * n_cols + col0[grid] + k % span_w[grid]
        order = np.lexsort((grid, bucket))  # by bucket, then by code inside a bucket
        self.bucket_grids = grid[order]
        self.bucket_starts = np.zeros(n_cols * n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(bucket, minlength=n_cols * n_rows), out=self.bucket_starts[1:])

    def _cols(self, x: NDArray[np.float64]) -> IntArray:
        return np.clip(((x - self.origin_x) / self.cell_w).astype(np.int64), 0, self.n_cols - 1)

    def _rows(self, y: NDArray[np.float64]) -> IntArray:
        return np.clip(((y - self.origin_y) / self.cell_h).astype(np.int64), 0, self.n_rows - 1)

    # --- queries -------------------------------------------------------------------------------------

    def locate_many(self, lons: ArrayLike, lats: ArrayLike) -> IntArray:
        """For each WGS-84 point, the index (into ``codes``/``ids``…) of its grid, or -1 outside every grid."""
        x = np.asarray(lons, dtype=np.float64).reshape(-1)
        y = np.asarray(lats, dtype=np.float64).reshape(-1)
        if x.shape != y.shape:
            raise ValueError("lons and lats must have the same length")
        result = np.full(len(x), -1, dtype=np.int64)
        if len(self) == 0 or len(x) == 0:
            return result
        fx = (x - self.origin_x) / self.cell_w
        fy = (y - self.origin_y) / self.cell_h
        points = np.flatnonzero((fx >= 0) & (fx < self.n_cols) & (fy >= 0) & (fy < self.n_rows))
        bucket = fy[points].astype(np.int64) * self.n_cols + fx[points].astype(np.int64)
        start = self.bucket_starts[bucket]
        count = self.bucket_starts[bucket + 1] - start
        point = np.repeat(points, count)
        offset = np.arange(len(point), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
        grid = self.bucket_grids[np.repeat(start, count) + offset]
        px, py = x[point], y[point]
        inside_box = (
            (px >= self.min_x[grid]) & (px <= self.max_x[grid]) & (py >= self.min_y[grid]) & (py <= self.max_y[grid])
        )
        point, grid, px, py = point[inside_box], grid[inside_box], px[inside_box], py[inside_box]
        hit = shapely.intersects_xy(self.geometries[grid], px, py)
        point, grid = point[hit], grid[hit]
        if len(point) == 0:
            return result
        # Candidates are in point order and, for each point, in code order: the first hit is the smallest code.
        first = np.empty(len(point), dtype=bool)
        first[0] = True
        np.not_equal(point[1:], point[:-1], out=first[1:])
        result[point[first]] = grid[first]
        return result

    def locate_one(self, lon: float, lat: float) -> int:
        """The index of the grid containing one WGS-84 point (smallest code on shared edges), or -1."""
        if not len(self):
            return -1
        fx = (lon - self.origin_x) / self.cell_w
        fy = (lat - self.origin_y) / self.cell_h
        if not (0 <= fx < self.n_cols and 0 <= fy < self.n_rows):  # also False for NaN
            return -1
        bucket = int(fy) * self.n_cols + int(fx)
        starts = self.bucket_starts
        for k in range(int(starts[bucket]), int(starts[bucket + 1])):
            grid = int(self.bucket_grids[k])
            if (
                self.min_x[grid] <= lon <= self.max_x[grid]
                and self.min_y[grid] <= lat <= self.max_y[grid]
                and shapely.intersects_xy(self.geometries[grid], lon, lat)
            ):
                return grid
        return -1

    @cached_property
    def tree(self) -> shapely.STRtree:
        """An STRtree of the boundaries (index order = code order), for queries other than point lookup."""
        return shapely.STRtree(self.geometries)

    def grids_near(self, lons: ArrayLike, lats: ArrayLike, *, margin_lon: float, margin_lat: float) -> list[IntArray]:
        """For each point, the ids of the grids whose bounding box comes within the margins (degrees) of it:
        every grid a place that near could lie in."""
        x = np.asarray(lons, dtype=np.float64).reshape(-1)
        y = np.asarray(lats, dtype=np.float64).reshape(-1)
        if not len(self) or not len(x):
            return [np.zeros(0, dtype=np.int64) for _ in x]
        boxes = shapely.box(x - margin_lon, y - margin_lat, x + margin_lon, y + margin_lat)
        point, grid = self.tree.query(boxes)
        order = np.argsort(point, kind="stable")
        point, grid = point[order], grid[order]
        cuts = np.searchsorted(point, np.arange(1, len(x)))
        return [self.ids[found] for found in np.split(grid, cuts)]

    def locate_many_strtree(self, lons: ArrayLike, lats: ArrayLike) -> IntArray:
        """Reference implementation of :meth:`locate_many` with ``STRtree.query(points, "intersects")``."""
        x = np.asarray(lons, dtype=np.float64).reshape(-1)
        y = np.asarray(lats, dtype=np.float64).reshape(-1)
        result = np.full(len(x), np.iinfo(np.int64).max, dtype=np.int64)
        if len(self):
            point, grid = self.tree.query(shapely.points(x, y), predicate="intersects")
            np.minimum.at(result, point, grid)
        result[result == np.iinfo(np.int64).max] = -1
        return result


# --- the process-wide index --------------------------------------------------------------------------

_lock = threading.RLock()
_index: GridIndex | None = None
_checked_at = 0.0


def _database_key() -> tuple[str, int, int]:
    from cityloop.geo.models import Grid, GridSetVersion

    token = GridSetVersion.objects.filter(pk=1).values_list("token", flat=True).first() or ""
    stats = Grid.objects.aggregate(count=Count("id"), max_id=Max("id"))
    return token, int(stats["count"] or 0), int(stats["max_id"] or 0)


def get_grid_index() -> GridIndex:
    """The cached index of all grids, rebuilt when they changed (checked at most every few seconds)."""
    global _index, _checked_at
    interval = float(getattr(settings, "CITYLOOP_GRID_INDEX_CHECK_SECONDS", CHECK_SECONDS))
    index = _index
    if index is not None and time.monotonic() - _checked_at < interval:
        return index
    with _lock:
        if _index is not None and time.monotonic() - _checked_at < interval:
            return _index
        key = _database_key()  # read before the grids: a change in between is seen at the next check
        if _index is None or _index.key != key:
            _index = GridIndex.from_db(key=key)
        _checked_at = time.monotonic()
        return _index


def reset_grid_index() -> None:
    """Drop the cached index; the next ``get_grid_index()`` rebuilds it."""
    global _index, _checked_at
    with _lock:
        _index = None
        _checked_at = 0.0
