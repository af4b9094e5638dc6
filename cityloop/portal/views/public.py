"""The citizen portal (/public/): 随手拍 report, follow a case, rate it, the public map. No login."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cityloop.cases.models import Case, Satisfaction
from cityloop.cases.selectors import case_timeline
from cityloop.cases.services import case_rate
from cityloop.cases.statuses import CaseStatus, Source
from cityloop.core.errors import CityLoopError
from cityloop.portal import forms, ratelimit
from cityloop.portal import selectors as portal_selectors
from cityloop.portal.views import common

SESSION_LAST_REPORT = "portal_public_last_report"
MAP_CACHE_SECONDS = 60


def _limited(request: HttpRequest, scope: str) -> HttpResponse | None:
    result = ratelimit.hit(request, scope)
    return None if result.allowed else common.too_many_requests(request, result)


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and (refused := _limited(request, "report")):
        return refused
    return common.report_flow(
        request,
        public=True,
        template="portal/public/report.html",
        context={"common_categories": portal_selectors.public_categories(), "max_photos": forms.max_photos(),
                 "draft_key": "cityloop-draft:public", "search_url": reverse("portal_public:categories"),
                 **common.map_settings()},
        report_kwargs={"source": Source.PUBLIC, "reporter": None},
        key_prefix="public",
        done_url=reverse("portal_public:report-done"),
        session_key=SESSION_LAST_REPORT,
    )


@require_GET
def report_done(request: HttpRequest) -> HttpResponse:
    last = request.session.get(SESSION_LAST_REPORT)
    if not last:
        return redirect("portal_public:report")
    return render(request, "portal/public/report_done.html", {"last": last})


@require_GET
def categories_json(request: HttpRequest) -> HttpResponse:
    return common.categories_json(request)


# --- follow and rate ----------------------------------------------------------------------------


def _track_page(request: HttpRequest, *, case: Case | None = None, values: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None, notice: str = "", status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {"values": values or {}, "errors": errors or {}, "notice": notice, "case": case}
    if case is not None:
        context.update(
            timeline=case_timeline(case, public_only=True),
            photos=portal_selectors.public_photos(case),
            note_actions=portal_selectors.PUBLIC_NOTE_ACTIONS,
            can_rate=case.status == CaseStatus.CLOSED and case.satisfaction is None,
            ratings=Satisfaction.choices,
            merged=case.status == CaseStatus.MERGED and case.merged_into is not None,
        )
    return render(request, "portal/public/track.html", context, status=status)


def _not_found() -> dict[str, list[str]]:
    """The one message for a wrong number and for wrong digits alike."""
    return {"general": [_("未找到该案卷，请核对案卷编号和手机号后四位")]}


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _track_page(request, values={"number": request.GET.get("number", "")[:20]})
    if refused := _limited(request, "track"):
        return refused
    values = {"number": request.POST.get("number", "")[:40], "phone_last4": request.POST.get("phone_last4", "")[:10]}
    case = portal_selectors.public_case_lookup(number=values["number"], phone_last4=values["phone_last4"])
    if case is None:
        return _track_page(request, values=values, errors=_not_found())
    return _track_page(request, case=case, values=values)


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    if refused := _limited(request, "rate"):
        return refused
    values = {"number": request.POST.get("number", "")[:40], "phone_last4": request.POST.get("phone_last4", "")[:10]}
    case = portal_selectors.public_case_lookup(number=values["number"], phone_last4=values["phone_last4"])
    if case is None:
        return _track_page(request, values=values, errors=_not_found())
    try:
        rating = int(request.POST.get("rating", ""))
    except ValueError:
        rating = 0
    try:
        case = case_rate(case=case, rating=rating, phone_last4=values["phone_last4"],
                         note=request.POST.get("note", ""))
    except CityLoopError as exc:
        name = "rating" if exc.field in ("rating", "note") else "general"
        return _track_page(request, case=case, values=values, errors={name: [forms.error_message(exc)]},
                           status=exc.http_status)
    return _track_page(request, case=case, values=values, notice=_("感谢您的评价！"))


# --- the public map ---------------------------------------------------------------------------------


@require_GET
def public_map(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/public/map.html", {"days": portal_selectors.PUBLIC_MAP_DAYS,
                                                      **common.map_settings()})


@require_GET
@cache_control(public=True, max_age=MAP_CACHE_SECONDS)
def public_map_json(request: HttpRequest) -> JsonResponse:
    """Recent cases: category and status only, positions coarsened to ~100 m; no number, text or person."""
    data = cache.get("cityloop:portal:public-map")
    if data is None:
        data = portal_selectors.public_map_geojson()
        cache.set("cityloop:portal:public-map", data, MAP_CACHE_SECONDS)
    return JsonResponse(data)
