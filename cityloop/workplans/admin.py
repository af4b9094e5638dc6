"""Admin of the work plans: corrections after import (titles, units ↔ departments, targets, deadlines).
Reports, close-out and the log go through the pages (services); the log is read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cityloop.workplans.models import Leader, PlanSection, PlanTask, Target, TaskLogEntry, TaskUnit, WorkPlan


class SectionInline(admin.TabularInline):
    model = PlanSection
    extra = 0
    fields = ("order", "key", "number", "title", "level", "parent")


@admin.register(WorkPlan)
class WorkPlanAdmin(admin.ModelAdmin):
    list_display = ("title", "issuer", "year", "doc_number", "imported_at", "is_active")
    list_filter = ("year", "is_active")
    search_fields = ("title", "issuer", "doc_number")
    readonly_fields = ("imported_at", "imported_by", "source_name", "warnings")
    inlines = [SectionInline]


class UnitInline(admin.TabularInline):
    model = TaskUnit
    extra = 0
    fields = ("order", "role", "name", "department")
    autocomplete_fields = ()


class TargetInline(admin.TabularInline):
    model = Target
    extra = 0
    fields = ("order", "what", "kind", "value", "unit", "baseline", "deadline", "indicator", "current_value")
    readonly_fields = ("current_value",)


@admin.register(PlanTask)
class PlanTaskAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "plan", "section", "status", "deadline")
    list_filter = ("plan", "status")
    search_fields = ("title", "text", "code")
    filter_horizontal = ("leaders",)
    readonly_fields = ("status", "status_before_close", "closed_at", "closed_by", "evidence", "evidence_file", "warnings")
    inlines = [UnitInline, TargetInline]


@admin.register(Leader)
class LeaderAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(TaskLogEntry)
class TaskLogEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "task", "kind", "from_status", "to_status", "actor")
    list_filter = ("kind",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
