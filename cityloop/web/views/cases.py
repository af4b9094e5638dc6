"""The case list (案卷): shared filters, sorting, paging, HTMX table refresh, bulk dispatch, Excel export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cityloop.accounts.models import Role
from cityloop.cases.deadlines import Light
from cityloop.cases.filters import search_terms
from cityloop.cases.models import Case
from cityloop.cases.selectors import (
    capped_count,
    case_get_for_user,
    cases_visible_count,
    deep_page_ids,
    page_rows,
)
from cityloop.cases.services import case_dispatch
from cityloop.catalog.models import Department
from cityloop.core.errors import CityLoopError
from cityloop.web import exports, selectors
from cityloop.web.forms import CaseFilterForm
from cityloop.web.views.common import current_user, is_htmx

PAGE_SIZE = 50
BULK_LIMIT = 200
SORTABLE = {"number": "number", "reported_at": "reported_at", "due": "due"}


class DeepPaginator(Paginator):
    """A paginator that reads a page in two steps (``deep_page_ids``): first the page's ids, then those rows
    with their joins (``page_rows``)."""

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        queryset = cast(QuerySet[Case], self.object_list)
        ids = deep_page_ids(queryset, bottom, top)
        if ids is None:
            return super().page(number)
        rows = {row.pk: row for row in page_rows(queryset, ids)}
        return Page([rows[pk] for pk in ids if pk in rows], number, self)


@dataclass(frozen=True)
class CaseRow:
    case: Case
    light: Light | None


@dataclass
class BulkResult:
    dispatched: list[Case]
    errors: list[tuple[str, str]]  # (case number or id, message)


def _table_context(request: HttpRequest, params: QueryDict, *, bulk: BulkResult | None = None) -> dict[str, Any]:
    user = current_user(request)
    now = timezone.now()
    query = selectors.case_query(user, params, now=now)
    queryset = query.queryset.select_related("category", "district", "street", "department", "proposed_department")
    paginator = DeepPaginator(queryset, PAGE_SIZE)
    total_exact = True
    if not query.narrowed:
        paginator.count = cases_visible_count(user)  # the cached property, filled in
    elif terms := search_terms(query.filterset):
        # A text search counts up to SEARCH_COUNT_CAP matches and pages through those (the first 20 pages).
        paginator.count, total_exact = capped_count(queryset, terms=terms)
    page = paginator.get_page(params.get("page"))
    cases = list(page.object_list)
    lights = selectors.open_stage_lights([c.pk for c in cases], now=now) if cases else {}
    ordering = params.get("ordering", "")
    state = params.copy()
    state.pop("page", None)
    return {
        "page_obj": page,
        "rows": [CaseRow(c, lights.get(c.pk)) for c in cases],
        "total": paginator.count,
        "total_capped": not total_exact,  # more than ``total`` cases match a text search
        "params": state,
        "query_string": state.urlencode(),
        "ordering": ordering,
        "queue": query.queue,
        "queue_key": params.get("queue", ""),
        "filter_errors": [
            (str(CaseFilterForm.base_fields[name].label) if name in CaseFilterForm.base_fields else name, message)
            for name, messages_ in query.filterset.errors.items() for message in messages_
        ],
        "can_bulk": user.role == Role.DISPATCHER,
        "export_limit": exports.EXPORT_LIMIT,
        "bulk": bulk,
    }


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    context = _table_context(request, request.GET)
    if is_htmx(request):
        return render(request, "web/_case_table.html", context)
    context["form"] = CaseFilterForm(request.GET)
    context["bulk_departments"] = list(Department.objects.filter(is_active=True).order_by("name").values_list("pk", "name"))
    return render(request, "web/case_list.html", context)


@login_required
@require_POST
def bulk_dispatch(request: HttpRequest) -> HttpResponse:
    """Dispatch each selected case to its routing proposal or the chosen department, one service call each."""
    user = current_user(request)
    back = QueryDict(request.POST.get("return_query", ""), mutable=True)
    result = BulkResult([], [])
    ids = []
    for raw in request.POST.getlist("ids"):
        try:
            ids.append(int(raw))
        except ValueError:
            result.errors.append((raw, _("无效的案卷编号")))
    department: Department | None = None
    raw_department = request.POST.get("department", "").strip()
    if raw_department:
        department = Department.objects.filter(pk=raw_department if raw_department.isdigit() else 0).first()
        if department is None:
            result.errors.append(("", _("处置单位不存在")))
            ids = []
    if not ids and not result.errors:
        result.errors.append(("", _("请先勾选要派遣的案卷")))
    note = request.POST.get("note", "")
    if len(ids) > BULK_LIMIT:
        result.errors.append(("", _("每次最多派遣 %(n)d 件，其余未处理") % {"n": BULK_LIMIT}))
        ids = ids[:BULK_LIMIT]
    for pk in ids:
        label = str(pk)
        try:
            case = case_get_for_user(user=user, case_id=pk)
            label = case.number
            case = case_dispatch(case=case, actor=user, department=department, note=note)
        except CityLoopError as exc:
            result.errors.append((label, exc.message))
        else:
            result.dispatched.append(case)
    if is_htmx(request):
        return render(request, "web/_case_table.html", _table_context(request, back, bulk=result))
    if result.dispatched:
        messages.success(request, _("已派遣 %(n)d 件案卷") % {"n": len(result.dispatched)})
    for label, message in result.errors:
        messages.error(request, f"{label}：{message}" if label else message)
    url = reverse("case-list")
    return redirect(f"{url}?{back.urlencode()}" if back else url)


def _filter_notes(params: QueryDict) -> list[str]:
    """The filters of an export in words, for its "说明" sheet."""
    notes = []
    for key in sorted(params):
        values = [v for v in params.getlist(key) if v]
        if values and key != "page":
            notes.append(f"{key} = {', '.join(values)}")
    return notes


@login_required
@require_GET
def case_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as .xlsx (the same scope, queue and filters as the page; at most EXPORT_LIMIT rows)."""
    user = current_user(request)
    query = selectors.case_query(user, request.GET)
    queryset = query.queryset
    total = queryset.count()
    content = exports.build_workbook(queryset, total=total, notes=_filter_notes(request.GET),
                                     limit=exports.EXPORT_LIMIT)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    chinese = quote(f"{_('案卷')}-{stamp}.xlsx")
    response["Content-Disposition"] = f"attachment; filename=\"cases-{stamp}.xlsx\"; filename*=UTF-8''{chinese}"
    if total > exports.EXPORT_LIMIT:
        response["X-CityLoop-Truncated"] = str(exports.EXPORT_LIMIT)
    return response

