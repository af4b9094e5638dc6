"""Admin of the catalogue. Every save and delete drops the routing/limit snapshot (``catalog.cache``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from cityloop.catalog import cache
from cityloop.catalog.models import (
    Category,
    Department,
    LegacyCategoryCode,
    RoutingRule,
    StageLimit,
    TimeLimit,
)
from cityloop.geo.models import Region


def _region_autocomplete_ready() -> bool:
    """Region autocomplete needs geo's RegionAdmin with search_fields (geo.admin is loaded before us)."""
    region_admin = admin.site._registry.get(Region)
    return bool(region_admin is not None and region_admin.search_fields)


#: Until geo registers a searchable RegionAdmin, region pickers fall back to a raw id field.
REGION_WIDGET = "autocomplete_fields" if _region_autocomplete_ready() else "raw_id_fields"


class InvalidatingAdmin(admin.ModelAdmin):
    """Drops the catalogue snapshot after every admin write (on commit, see ``catalog.cache``)."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        cache.invalidate()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        cache.invalidate()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        cache.invalidate()

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        cache.invalidate()


class MajorClassFilter(admin.SimpleListFilter):
    title = "大类"
    parameter_name = "major"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(c.pk), f"{c.code} {c.name}") for c in Category.objects.filter(parent__isnull=True).order_by("code")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(parent_id=self.value())
        return queryset


class LevelFilter(admin.SimpleListFilter):
    title = "层级"
    parameter_name = "level"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("major", "大类"), ("minor", "小类")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("major", "minor"):
            return queryset.filter(parent__isnull=self.value() == "major")
        return queryset


class TimeLimitInline(admin.TabularInline):
    model = TimeLimit
    extra = 0


@admin.register(Category)
class CategoryAdmin(InvalidatingAdmin):
    list_display = ["code", "name", "kind", "parent", "limits", "is_active"]
    list_filter = ["kind", LevelFilter, MajorClassFilter, "is_active"]
    search_fields = ["code", "name", "pinyin_initials"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    inlines = [TimeLimitInline]
    readonly_fields = ["pinyin_initials"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("time_limits")

    @admin.display(description="处置时限")
    def limits(self, obj: Category) -> str:
        parts = [
            f"{limit.get_urgency_display()} {limit.value.normalize():f}{limit.get_unit_display()}"
            for limit in obj.time_limits.all()
        ]
        return "；".join(parts) or "—"

    def save_model(self, request: HttpRequest, obj: Category, form: ModelForm, change: bool) -> None:
        from cityloop.catalog.services import pinyin_initials

        obj.pinyin_initials = pinyin_initials(obj.name)
        super().save_model(request, obj, form, change)


@admin.register(LegacyCategoryCode)
class LegacyCategoryCodeAdmin(InvalidatingAdmin):
    list_display = ["code", "name", "kind", "major_name", "category"]
    list_filter = ["kind", ("category", admin.EmptyFieldListFilter)]
    search_fields = ["code", "name", "major_name", "category__code", "category__name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]


@admin.register(TimeLimit)
class TimeLimitAdmin(InvalidatingAdmin):
    list_display = ["category", "urgency", "value", "unit", "is_demo"]
    list_filter = ["urgency", "unit", "is_demo"]
    search_fields = ["category__code", "category__name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]


@admin.register(StageLimit)
class StageLimitAdmin(InvalidatingAdmin):
    list_display = ["stage", "value", "unit", "is_demo"]
    list_filter = ["is_demo"]


@admin.register(Department)
class DepartmentAdmin(InvalidatingAdmin):
    list_display = ["code", "name", "kind", "parent", "region", "phone", "is_active", "is_demo"]
    list_filter = ["kind", "is_active", "is_demo"]
    search_fields = ["code", "name"]
    list_select_related = ["parent", "region"]
    autocomplete_fields = ["parent"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(InvalidatingAdmin):
    list_display = ["id", "category", "region", "department", "priority", "note", "is_active", "is_demo"]
    list_filter = ["is_active", "is_demo", "department__kind"]
    search_fields = ["category__code", "category__name", "region__name", "department__name", "note"]
    list_select_related = ["category", "region", "department"]
    autocomplete_fields = ["category", "department"]


def _set_region_widget(*model_admins: type[admin.ModelAdmin[Model]]) -> None:
    for model_admin in model_admins:
        fields = list(getattr(model_admin, REGION_WIDGET, ()))
        setattr(model_admin, REGION_WIDGET, [*fields, "region"])


_set_region_widget(DepartmentAdmin, RoutingRuleAdmin)
