"""The inventory of public facilities (部件): manhole covers, streetlights, bins, benches …"""

from __future__ import annotations

from django.db import models


class AssetStatus(models.TextChoices):
    NORMAL = "normal", "完好"
    DAMAGED = "damaged", "损坏"
    MISSING = "missing", "丢失"
    REMOVED = "removed", "已拆除"


class Asset(models.Model):
    """A public facility (部件) with its 16-digit identification code: 区划(6) + 小类(4) + 流水号(6)."""

    code = models.CharField("部件标识码", max_length=16, unique=True)
    category = models.ForeignKey("catalog.Category", verbose_name="小类", on_delete=models.PROTECT, related_name="assets")
    name = models.CharField("名称", max_length=100, blank=True)
    lon = models.FloatField("经度(WGS-84)")
    lat = models.FloatField("纬度(WGS-84)")
    grid = models.ForeignKey("geo.Grid", verbose_name="所在单元网格", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="assets")
    authority = models.ForeignKey("catalog.Department", verbose_name="主管部门", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey("catalog.Department", verbose_name="权属单位", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    maintainer = models.ForeignKey("catalog.Department", verbose_name="养护单位", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="maintained_assets")
    status = models.CharField("状态", max_length=10, choices=AssetStatus.choices, default=AssetStatus.NORMAL)
    attributes = models.JSONField("属性", default=dict, blank=True)
    recorded_on = models.DateField("初始日期", null=True, blank=True)
    changed_on = models.DateField("变更日期", null=True, blank=True)

    class Meta:
        verbose_name = "部件"
        verbose_name_plural = "部件"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name or self.category.name}"
