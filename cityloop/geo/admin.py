"""Admin for regions, unit grids and inspectors' beats.

Boundaries are never shown (WKB); area and bounding box are read-only. Every relation to a grid or
region uses autocomplete or raw ids, so the pages stay fast with 80,000 grids.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from cityloop.geo import services
from cityloop.geo.models import Grid, Region, ResponsibilityGrid


class _GeometryAdmin(admin.ModelAdmin):
    readonly_fields = ("area_display", "bbox_display")

    @admin.display(description="面积(平方米)", ordering="area_m2")
    def area_display(self, obj: Region | Grid) -> str:
        return "—" if obj.area_m2 is None else f"{obj.area_m2:,.0f}"

    @admin.display(description="范围（最小经纬度 — 最大经纬度）")
    def bbox_display(self, obj: Region | Grid) -> str:
        if obj.min_lon is None:
            return "无边界"
        return f"{obj.min_lon:.6f}, {obj.min_lat:.6f} — {obj.max_lon:.6f}, {obj.max_lat:.6f}"


@admin.register(Region)
class RegionAdmin(_GeometryAdmin):
    list_display = ("code", "name", "level", "parent", "is_demo", "area_display")
    list_filter = ("level", "is_demo")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    fields = ("code", "name", "level", "parent", "is_demo", "area_display", "bbox_display")
    ordering = ("code",)


@admin.register(Grid)
class GridAdmin(_GeometryAdmin):
    list_display = ("code", "community", "management_level", "is_demo", "area_display")
    list_filter = ("management_level", "is_demo")
    search_fields = ("code",)
    list_select_related = ("community",)
    autocomplete_fields = ("community",)
    fields = ("code", "community", "management_level", "is_demo", "area_display", "bbox_display")
    ordering = ("code",)
    show_full_result_count = False
    list_per_page = 100

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        # Grid codes are searched by prefix, which uses the unique index instead of a LIKE %…% scan.
        term = search_term.strip()
        if term.isdigit():
            return queryset.filter(code__startswith=term), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request: HttpRequest, obj: Grid, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.grids_changed()

    def delete_model(self, request: HttpRequest, obj: Grid) -> None:
        super().delete_model(request, obj)
        services.grids_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        services.grids_changed()


@admin.register(ResponsibilityGrid)
class ResponsibilityGridAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "grid_count")
    search_fields = ("code", "name")
    autocomplete_fields = ("grids", "inspectors")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        from django.db.models import Count

        return super().get_queryset(request).annotate(_grid_count=Count("grids", distinct=True))

    @admin.display(description="单元网格数", ordering="_grid_count")
    def grid_count(self, obj: ResponsibilityGrid) -> int:
        return int(getattr(obj, "_grid_count", 0))
