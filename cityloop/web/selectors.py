"""Reads for the workbench home."""

from __future__ import annotations

from dataclasses import dataclass

from cityloop.accounts.models import User
from cityloop.catalog.models import Category, Department
from cityloop.geo.models import Grid, Region, RegionLevel


@dataclass(frozen=True)
class SummaryItem:
    label: str
    value: int


def city_summary() -> list[SummaryItem]:
    """Counts of the city's reference data, shown on the workbench."""
    level_counts = {level: Region.objects.filter(level=level).count() for level in RegionLevel}
    return [
        SummaryItem("区县", level_counts[RegionLevel.DISTRICT]),
        SummaryItem("街道", level_counts[RegionLevel.STREET]),
        SummaryItem("社区", level_counts[RegionLevel.COMMUNITY]),
        SummaryItem("单元网格", Grid.objects.count()),
        SummaryItem("案件小类", Category.objects.filter(parent__isnull=False).count()),
        SummaryItem("处置单位", Department.objects.count()),
        SummaryItem("用户", User.objects.count()),
    ]
