"""Admin for the working calendar: working periods (工作时段) and per-date overrides (工作日历调整)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from cityloop.core import services
from cityloop.core.checks import missing_calendar_years
from cityloop.core.models import CalendarDay, WorkingPeriod
from cityloop.core.workcal import unknown_year_message, validate_periods

_WEEKDAYS = "一二三四五六日"


class WorkingPeriodForm(forms.ModelForm):
    class Meta:
        model = WorkingPeriod
        fields = ["start", "end"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None:
            others = WorkingPeriod.objects.exclude(pk=self.instance.pk).values_list("start", "end")
            try:
                validate_periods([*others, (start, end)])
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(WorkingPeriod)
class WorkingPeriodAdmin(admin.ModelAdmin):
    form = WorkingPeriodForm
    list_display = ["__str__", "start", "end", "length"]
    ordering = ["start"]

    @admin.display(description="时长")
    def length(self, obj: WorkingPeriod) -> str:
        minutes = (obj.end.hour * 60 + obj.end.minute) - (obj.start.hour * 60 + obj.start.minute)
        return f"{minutes // 60} 小时 {minutes % 60} 分" if minutes % 60 else f"{minutes // 60} 小时"

    def save_model(self, request: HttpRequest, obj: WorkingPeriod, form: Any, change: bool) -> None:
        saved = services.working_period_set(
            start=obj.start, end=obj.end, period_id=obj.pk if change else None
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: WorkingPeriod) -> None:
        services.working_period_delete(period_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WorkingPeriod]) -> None:
        for pk in list(queryset.values_list("pk", flat=True)):
            services.working_period_delete(period_id=pk)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET" and not WorkingPeriod.objects.exists():
            default = "、".join(f"{s}–{e}" for s, e in settings.CITYLOOP_WORKING_PERIODS)
            messages.info(request, f"尚未设置工作时段，当前使用默认工作时段：{default}。")
        return super().changelist_view(request, extra_context)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"
    search_fields = ["note"]
    ordering = ["-date"]

    @admin.display(description="星期", ordering="date")
    def weekday(self, obj: CalendarDay) -> str:
        return f"星期{_WEEKDAYS[obj.date.weekday()]}"

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        original = form.initial.get("date") if change else None
        if original is not None and original != obj.date:
            services.calendar_day_delete(day=original)
        saved = services.calendar_day_set(day=obj.date, is_workday=obj.is_workday, note=obj.note)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        services.calendar_day_delete(day=obj.date)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        for day in list(queryset.values_list("date", flat=True)):
            services.calendar_day_delete(day=day)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET":
            for year in missing_calendar_years():
                messages.warning(request, unknown_year_message(year))
        return super().changelist_view(request, extra_context)
