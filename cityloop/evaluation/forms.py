"""The period picker (月度、季度、年度、自定义) of the evaluation pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from cityloop.core.errors import ValidationFailed
from cityloop.evaluation.periods import CUSTOM, KIND_LABELS, MONTH, QUARTER, YEAR, Period

QUARTERS = [(1, "第一季度"), (2, "第二季度"), (3, "第三季度"), (4, "第四季度")]
MONTHS = [(m, f"{m}月") for m in range(1, 13)]


class PeriodForm(forms.Form):
    kind = forms.ChoiceField(label="考评周期", choices=list(KIND_LABELS.items()), initial=MONTH)
    year = forms.IntegerField(label="年份", min_value=2000, max_value=2100, required=False)
    quarter = forms.TypedChoiceField(label="季度", choices=QUARTERS, coerce=int, required=False, empty_value=None)
    month = forms.TypedChoiceField(label="月份", choices=MONTHS, coerce=int, required=False, empty_value=None)
    date_from = forms.DateField(label="开始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label="结束日期（含）", required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    @staticmethod
    def initial_for(period: Period) -> dict[str, Any]:
        return {"kind": period.kind, "year": period.start.year, "quarter": (period.start.month - 1) // 3 + 1,
                "month": period.start.month, "date_from": period.start, "date_to": period.last}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        today = timezone.localdate()
        year = data.get("year") or today.year
        try:
            if kind == MONTH:
                data["period"] = Period.month(year, data.get("month") or today.month)
            elif kind == QUARTER:
                data["period"] = Period.quarter(year, data.get("quarter") or (today.month - 1) // 3 + 1)
            elif kind == YEAR:
                data["period"] = Period.year(year)
            elif kind == CUSTOM:
                first: date | None = data.get("date_from")
                last: date | None = data.get("date_to")
                if first is None or last is None:
                    raise forms.ValidationError("自定义周期请填写开始日期和结束日期")
                data["period"] = Period.between(first, last)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from exc
        return data
