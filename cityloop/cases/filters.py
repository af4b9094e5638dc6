"""The one FilterSet of cases, shared by the workbench list, the API list and the Excel export."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import QuerySet
from django.utils import timezone

from cityloop.cases import deadlines
from cityloop.cases.models import Case
from cityloop.cases.selectors import case_text_q
from cityloop.cases.statuses import OPEN_STATUSES, CaseStatus, Source

#: A text search uses its first words only.
SEARCH_TERMS = 5


class CaseFilterSet(filters.FilterSet):
    """Filters of the case lists: every parameter is optional and they combine with AND."""

    q = filters.CharFilter(method="filter_search", label="搜索（编号、地址、描述）")
    status = filters.MultipleChoiceFilter(choices=CaseStatus.choices, label="状态", distinct=False)
    category = filters.CharFilter(method="filter_category", label="分类编码（大类或小类）")
    region = filters.CharFilter(method="filter_region", label="区划代码（区县、街道或社区）")
    department = filters.NumberFilter(field_name="department_id", label="处置单位")
    source = filters.MultipleChoiceFilter(choices=Source.choices, label="来源", distinct=False)
    reported_from = filters.IsoDateTimeFilter(field_name="reported_at", lookup_expr="gte", label="上报时间起")
    reported_to = filters.IsoDateTimeFilter(field_name="reported_at", lookup_expr="lt", label="上报时间止")
    overdue = filters.BooleanFilter(method="filter_overdue", label="已超期")
    supervised = filters.BooleanFilter(field_name="supervised", label="督办")
    is_open = filters.BooleanFilter(method="filter_open", label="未办结")
    ordering = filters.OrderingFilter(
        fields=(("reported_at", "reported_at"), ("number", "number"), ("stage_due_at", "due"),
                ("handling_due_at", "handling_due")),
        field_labels={"reported_at": "上报时间", "number": "编号", "stage_due_at": "环节时限",
                      "handling_due_at": "处置时限"},
        label="排序",
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        terms = value.split()
        for term in terms[:SEARCH_TERMS]:
            queryset = queryset.filter(case_text_q(term))
        return queryset

    def filter_category(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        code = value.strip()
        if len(code) <= 2:
            return queryset.filter(category__parent__code=code)
        return queryset.filter(category__code=code)

    def filter_region(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        code = value.strip()
        if len(code) == 6 and code.endswith("00"):
            return queryset.filter(district__code__startswith=code[:4])
        if len(code) == 6:
            return queryset.filter(district__code=code)
        if len(code) == 9:
            return queryset.filter(street__code=code)
        return queryset.filter(community__code=code)

    def filter_overdue(self, queryset: QuerySet[Case], name: str, value: bool | None) -> QuerySet[Case]:
        if value is None:
            return queryset
        overdue = deadlines.overdue_q(timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_open(self, queryset: QuerySet[Case], name: str, value: bool | None) -> QuerySet[Case]:
        if value is None:
            return queryset
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)


def narrows(filterset: CaseFilterSet) -> bool:
    """Whether the filters in use leave out any case (the ordering alone does not)."""
    if not filterset.is_valid():
        return True
    return any(value not in (None, "", [], ()) for name, value in filterset.form.cleaned_data.items()
               if name != "ordering")


def search_terms(filterset: CaseFilterSet) -> list[str]:
    """The words of the text search (``q``) the filters apply (none without one), whose total the lists count
    only up to a cap (``cases.selectors.capped_count``)."""
    if not filterset.is_valid():
        return []
    return str(filterset.form.cleaned_data.get("q") or "").split()[:SEARCH_TERMS]


def filter_cases(queryset: QuerySet[Case], params: Any) -> tuple[QuerySet[Case], CaseFilterSet]:
    """Apply the list filters in ``params`` (a QueryDict or dict); invalid values are reported on the form."""
    filterset = CaseFilterSet(params, queryset=queryset)
    return filterset.qs, filterset
