"""Regions (行政区划), unit grids (单元网格) and inspectors' beats (责任网格).

Boundaries are stored as WKB in WGS-84 longitude/latitude, with a bounding box for cheap
prefiltering; point lookups run in memory over a shapely STRtree (see ``geo.lookup``), so
neither SQLite nor PostgreSQL needs a spatial extension.
"""

from __future__ import annotations

import shapely
from django.conf import settings
from django.db import models


class RegionLevel(models.TextChoices):
    CITY = "city", "市"
    DISTRICT = "district", "区县"
    STREET = "street", "街道"
    COMMUNITY = "community", "社区"


#: Length of the region code at each level: GB/T 2260 six digits, +3 street (GB/T 10114), +3 community.
CODE_LENGTH = {RegionLevel.CITY: 6, RegionLevel.DISTRICT: 6, RegionLevel.STREET: 9, RegionLevel.COMMUNITY: 12}
LEVEL_DEPTH = {RegionLevel.CITY: 0, RegionLevel.DISTRICT: 1, RegionLevel.STREET: 2, RegionLevel.COMMUNITY: 3}


class GeometryMixin(models.Model):
    """A polygon boundary kept as WKB (WGS-84) with its bounding box and area."""

    boundary_wkb = models.BinaryField("边界(WKB)", null=True, blank=True, editable=False)
    min_lon = models.FloatField("最小经度", null=True, blank=True, editable=False)
    min_lat = models.FloatField("最小纬度", null=True, blank=True, editable=False)
    max_lon = models.FloatField("最大经度", null=True, blank=True, editable=False)
    max_lat = models.FloatField("最大纬度", null=True, blank=True, editable=False)
    area_m2 = models.FloatField("面积(平方米)", null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def boundary(self) -> shapely.Geometry | None:
        if not self.boundary_wkb:
            return None
        return shapely.from_wkb(bytes(self.boundary_wkb))

    def set_boundary(self, geometry: shapely.Geometry, area_m2: float | None = None) -> None:
        """Store ``geometry`` (WGS-84) with its bounding box; ``area_m2`` is computed by the caller's projection."""
        self.boundary_wkb = shapely.to_wkb(geometry)
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = (float(v) for v in geometry.bounds)
        self.area_m2 = area_m2


class Region(GeometryMixin):
    """An administrative region (行政区划): 市, 区县, 街道 or 社区, with its parent."""

    code = models.CharField("区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("级别", max_length=10, choices=RegionLevel.choices, db_index=True)
    parent = models.ForeignKey(
        "self", verbose_name="上级区划", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    is_demo = models.BooleanField("演示数据", default=False, help_text="生成的演示边界，不是真实区划")

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def depth(self) -> int:
        return LEVEL_DEPTH[RegionLevel(self.level)]

    def ancestors(self) -> list[Region]:
        """This region and its parents, nearest first (社区 → 街道 → 区 → 市)."""
        chain: list[Region] = []
        node: Region | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class GridLevel(models.TextChoices):
    """Management level (管理等级) of a unit grid."""

    A = "A", "一类"
    B = "B", "二类"
    C = "C", "三类"


class Grid(GeometryMixin):
    """A unit grid (单元网格): about 100 m × 100 m, inside one community; 15-digit code."""

    code = models.CharField("网格编码", max_length=15, unique=True)
    community = models.ForeignKey(
        Region, verbose_name="所属社区", on_delete=models.PROTECT, related_name="grids"
    )
    management_level = models.CharField("管理等级", max_length=1, choices=GridLevel.choices, default=GridLevel.A)
    is_demo = models.BooleanField("演示数据", default=False)

    class Meta:
        verbose_name = "单元网格"
        verbose_name_plural = "单元网格"
        ordering = ["code"]
        indexes = [models.Index(fields=["min_lon", "min_lat"], name="grid_bbox_idx")]

    def __str__(self) -> str:
        return self.code


class ResponsibilityGrid(models.Model):
    """An inspector's beat (监督员责任网格): a set of unit grids patrolled by its inspectors."""

    code = models.CharField("责任网格编码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=100)
    grids = models.ManyToManyField(Grid, verbose_name="单元网格", related_name="beats", blank=True)
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="监督员", related_name="beats", blank=True
    )

    class Meta:
        verbose_name = "责任网格"
        verbose_name_plural = "责任网格"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class GridSetVersion(models.Model):
    """One row whose token changes whenever the geo services write unit grids.

    Every process keeps an in-memory ``GridIndex`` (see ``geo.lookup``); it compares this token
    (plus the grids' count and highest id, for writes that bypass the services) every few
    seconds and rebuilds its index when anything differs. A random token rather than a counter,
    so that a rolled-back change can never make two different grid sets look alike.
    """

    token = models.CharField("版本标识", max_length=32)
    changed_at = models.DateTimeField("变更时间", auto_now=True)

    class Meta:
        verbose_name = "网格版本"
        verbose_name_plural = "网格版本"

    def __str__(self) -> str:
        return self.token
