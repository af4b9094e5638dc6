"""The inspector's phone pages (/m/): report, my tasks (核实/核查), my reports, one case."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cityloop.accounts.models import Role, User
from cityloop.cases.models import Case
from cityloop.cases.selectors import case_get_for_user, case_timeline
from cityloop.cases.services import allowed_actions, case_check, case_verify
from cityloop.cases.statuses import Action, Source
from cityloop.catalog.models import Urgency
from cityloop.core.errors import CityLoopError
from cityloop.portal import forms
from cityloop.portal import selectors as portal_selectors
from cityloop.portal.views import common

SESSION_LAST_REPORT = "portal_m_last_report"

View = Callable[..., HttpResponse]


def inspector_required(view: View) -> View:
    """Logged in as an inspector; others get a Chinese 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if cast(User, request.user).role != Role.INSPECTOR:
            return render(request, "portal/error.html",
                          {"title": _("无权访问"), "message": _("此页面仅供监督员使用。")}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@inspector_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("portal_m:tasks")


@inspector_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    return common.report_flow(
        request,
        public=False,
        template="portal/m/report.html",
        context={"urgencies": Urgency.choices, "max_photos": forms.max_photos(),
                 "draft_key": f"cityloop-draft:m:{request.user.pk}", "search_url": reverse("portal_m:categories"),
                 **common.map_settings()},
        report_kwargs={"source": Source.INSPECTOR, "reporter": _user(request)},
        key_prefix=f"m:{request.user.pk}",
        done_url=reverse("portal_m:report-done"),
        session_key=SESSION_LAST_REPORT,
    )


@inspector_required
@require_GET
def report_done(request: HttpRequest) -> HttpResponse:
    last = request.session.get(SESSION_LAST_REPORT)
    if not last:
        return redirect("portal_m:report")
    return render(request, "portal/m/report_done.html", {"last": last})


@inspector_required
@require_GET
def categories_json(request: HttpRequest) -> HttpResponse:
    return common.categories_json(request)


@inspector_required
@require_GET
def tasks(request: HttpRequest) -> HttpResponse:
    found = portal_selectors.inspector_tasks(_user(request))
    return render(request, "portal/m/tasks.html", {"verify_tasks": found["verify"], "check_tasks": found["check"]})


@inspector_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/m/mine.html", {"cases": portal_selectors.inspector_reports(_user(request))})


def _case_page(request: HttpRequest, case: Case, *, errors: dict[str, list[str]] | None = None,
               values: dict[str, str] | None = None, status: int = 200) -> HttpResponse:
    actions = set(allowed_actions(case, _user(request)))
    context = {
        "case": case,
        "timeline": case_timeline(case),
        "photos": portal_selectors.public_photos(case),
        "can_verify": Action.VERIFY in actions,
        "can_check": bool(actions & {Action.CHECK_PASS, Action.REWORK}),
        "errors": errors or {},
        "values": values or {},
        **common.map_settings(),
    }
    return render(request, "portal/m/case.html", context, status=status)


def _get_case(request: HttpRequest, pk: int) -> Case | HttpResponse:
    try:
        return case_get_for_user(user=_user(request), case_id=pk)
    except CityLoopError as exc:
        return render(request, "portal/error.html", {"title": _("无法查看"), "message": exc.message},
                      status=exc.http_status)


@inspector_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = _get_case(request, pk)
    return found if isinstance(found, HttpResponse) else _case_page(request, found)


def _task_action(request: HttpRequest, pk: int, *, field: str, run: Callable[[Case, bool, str, list], Case],
                 done: Callable[[Case, bool], str]) -> HttpResponse:
    found = _get_case(request, pk)
    if isinstance(found, HttpResponse):
        return found
    choice = request.POST.get(field, "")
    note = request.POST.get("note", "")
    photos = request.FILES.getlist("photos")
    values = {"note": note}
    if choice not in ("1", "0"):
        return _case_page(request, found, errors={field: [_("请选择办理结果")]}, values=values, status=422)
    if len(photos) > forms.max_photos():
        message = _("最多上传 %(count)d 张照片") % {"count": forms.max_photos()}
        return _case_page(request, found, errors={"photos": [message]}, values=values, status=422)
    try:
        case = run(found, choice == "1", note, photos)
    except CityLoopError as exc:
        name = forms.field_for_error(exc)
        return _case_page(request, found, errors={name: [forms.error_message(exc)]}, values=values,
                          status=exc.http_status)
    messages.success(request, done(case, choice == "1"))
    return HttpResponseRedirect(reverse("portal_m:tasks"))


@inspector_required
@require_POST
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    """核实属实/不属实 (``case_verify``)."""
    user = _user(request)
    return _task_action(
        request, pk, field="valid",
        run=lambda case, yes, note, photos: case_verify(case=case, actor=user, valid=yes, note=note, photos=photos),
        done=lambda case, yes: (_("案卷 %(number)s 已核实：属实") if yes else _("案卷 %(number)s 已核实：不属实"))
        % {"number": case.number},
    )


@inspector_required
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    """核查通过/不通过 (``case_check``)."""
    user = _user(request)
    return _task_action(
        request, pk, field="passed",
        run=lambda case, yes, note, photos: case_check(case=case, actor=user, passed=yes, note=note, photos=photos),
        done=lambda case, yes: (_("案卷 %(number)s 核查通过") if yes else _("案卷 %(number)s 核查不通过，已退回返工"))
        % {"number": case.number},
    )
