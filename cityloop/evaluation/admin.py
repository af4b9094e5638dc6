"""Admin of the evaluation configuration: scoring schemes with their weights and steps, region classes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from cityloop.evaluation.indicators import level_spec
from cityloop.evaluation.models import (
    IndicatorWeight,
    Level,
    RegionClass,
    SchemeKind,
    ScoringScheme,
    StepScore,
)

#: A level whose indicators a scheme kind may weight.
KIND_LEVEL: dict[str, Level] = {str(k): Level(str(k)) for k in SchemeKind if k != SchemeKind.REGION}
KIND_LEVEL[SchemeKind.REGION] = Level.DISTRICT


def indicator_choices(kind: str) -> list[tuple[str, str]]:
    spec = level_spec(KIND_LEVEL[str(kind)])
    return [(item.code, f"{item.label}（{item.code}）") for item in spec.items()]


class WeightFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        total = 0.0
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            total += float(form.cleaned_data.get("weight") or 0)
            kind = self.instance.kind
            code = form.cleaned_data.get("indicator")
            if kind and code and code not in dict(indicator_choices(kind)):
                form.add_error("indicator", f"“{code}”不是该评价对象的指标")
        if self.forms and abs(total - 100) > 0.001:
            raise forms.ValidationError(f"各指标权重之和应为 100%，现为 {total:g}%")


class WeightInline(admin.TabularInline):
    model = IndicatorWeight
    formset = WeightFormSet
    extra = 0
    fields = ("order", "indicator", "weight", "method", "monthly", "otherwise_score")
    show_change_link = True


@admin.register(ScoringScheme)
class ScoringSchemeAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "is_default", "updated_at")
    readonly_fields = ("is_default", "updated_at", "available_indicators")
    fields = ("kind", "name", "note", "is_default", "updated_at", "available_indicators")
    inlines = [WeightInline]

    @admin.display(description="可用指标")
    def available_indicators(self, obj: ScoringScheme) -> str:
        if not obj.kind:
            return "—"
        return "；".join(label for _code, label in indicator_choices(obj.kind))

    def save_model(self, request: HttpRequest, obj: ScoringScheme, form: ModelForm, change: bool) -> None:
        if change:
            obj.is_default = False
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            ScoringScheme.objects.filter(pk=form.instance.pk).update(is_default=False)


class StepInline(admin.TabularInline):
    model = StepScore
    extra = 0
    fields = ("region_class", "order", "comparison", "bound", "score")


@admin.register(IndicatorWeight)
class IndicatorWeightAdmin(admin.ModelAdmin):
    list_display = ("scheme", "indicator", "weight", "method", "monthly")
    list_filter = ("scheme",)
    inlines = [StepInline]

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        ScoringScheme.objects.filter(pk=form.instance.scheme_id).update(is_default=False)


@admin.register(RegionClass)
class RegionClassAdmin(admin.ModelAdmin):
    list_display = ("region", "klass")
    list_filter = ("klass",)
    autocomplete_fields = ("region",)
    search_fields = ("region__code", "region__name")
