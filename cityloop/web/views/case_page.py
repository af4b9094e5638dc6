"""The case page (案卷详情): every field, the map, photos, stages with traffic lights, the timeline, and a form
for each action the user may take now; actions post through HTMX and swap the case panel."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from cityloop.accounts.models import Role, User
from cityloop.cases.errors import StaleCase
from cityloop.cases.models import ApprovalState, Attachment, AttachmentKind, Case, CaseEvent
from cityloop.cases.photos import public_url
from cityloop.cases.selectors import (
    StageView,
    case_get_for_user,
    case_stages,
    case_timeline,
    cases_visible_to,
)
from cityloop.cases.services import allowed_actions, users_covering
from cityloop.cases.statuses import OPEN_STATUSES, Action
from cityloop.catalog import selectors as catalog_selectors
from cityloop.catalog.models import Department, Stage
from cityloop.catalog.selectors import RoutingFailed
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import CityLoopError, NotFound, PermissionDenied, ValidationFailed
from cityloop.web import actions as page_actions
from cityloop.web.selectors import grid_geojson
from cityloop.web.views.common import current_user, is_htmx

ROLE_LABELS = {**dict(Role.choices), "system": gettext_noop("系统")}


@dataclass
class Photo:
    url: str
    kind: str
    kind_label: str
    width: int
    height: int


@dataclass
class StageRow:
    view: StageView
    label: str
    limit_text: str
    used_text: str
    state_text: str

    @property
    def light(self) -> str:
        return str(self.view.light)


@dataclass
class TimelineEntry:
    event: CaseEvent
    role_label: str
    stage: StageRow | None
    photos: list[Photo] = field(default_factory=list)


@dataclass
class ActionForm:
    spec: page_actions.ActionSpec
    note_label: str
    error: CityLoopError | None = None
    posted: QueryDict | None = None

    @property
    def key(self) -> str:
        return str(self.spec.action)

    @property
    def label(self) -> str:
        return _(self.spec.label)

    @property
    def error_message(self) -> str:
        return error_text(self.error)

    def value(self, name: str) -> str:
        return self.posted.get(name, "") if self.posted is not None else ""


def error_text(error: CityLoopError | None) -> str:
    if error is None:
        return ""
    if isinstance(error, StaleCase):
        return _("案卷已被他人更新，请刷新")
    return error.message


def _number(value: Decimal | float) -> str:
    text = f"{Decimal(str(value)).quantize(Decimal('0.1')):f}"
    return text.removesuffix(".0")


def _stage_row(view: StageView) -> StageRow:
    stage = view.stage
    unit = _(TimeUnit(stage.limit_unit).label) if stage.limit_unit in TimeUnit.values else stage.limit_unit
    limit = Decimal(stage.limit_value)
    used = limit * Decimal(str(round(view.used_share, 3)))
    if stage.ended_at is not None:
        state = _("按时完成") if stage.on_time else _("超时完成")
    elif stage.paused_at is not None:
        state = _("已暂停（挂账）")
    else:
        state = _("进行中")
    return StageRow(
        view=view,
        label=_(Stage(stage.stage).label) if stage.stage in Stage.values else stage.stage,
        limit_text=f"{_number(limit)} {unit}",
        used_text=_("用时约 %(used)s %(unit)s（%(share)d%%）") % {
            "used": _number(used), "unit": unit, "share": round(view.used_share * 100)},
        state_text=state,
    )


def _photo(attachment: Attachment) -> Photo | None:
    try:
        url = public_url(attachment.public_path)
    except ValueError:
        return None  # never link an original
    return Photo(url, attachment.kind, _(AttachmentKind(attachment.kind).label), attachment.width, attachment.height)


def _panel_context(case: Case, user: User, *, error: CityLoopError | None = None,
                   error_action: str = "", posted: QueryDict | None = None, success: str = "") -> dict[str, Any]:
    now = timezone.now()
    stages = [_stage_row(v) for v in case_stages(case, now=now)]
    ended = {row.view.stage.ended_at: row for row in stages if row.view.stage.ended_at is not None}
    attachments = list(case.attachments.all())
    photos_by_event: dict[int | None, list[Photo]] = defaultdict(list)
    photos: list[Photo] = []
    for attachment in attachments:
        photo = _photo(attachment)
        if photo is not None:
            photos.append(photo)
            photos_by_event[attachment.event_id].append(photo)
    timeline = [
        TimelineEntry(
            event=event,
            role_label=_(ROLE_LABELS.get(event.actor_role, event.actor_role or "")),
            stage=ended.get(event.created_at) if event.action != Action.REPORT else None,
            photos=photos_by_event.get(event.pk, []),
        )
        for event in case_timeline(case)
    ]
    allowed = [a for a in allowed_actions(case, user) if a in page_actions.PAGE_ACTIONS]
    forms = [
        ActionForm(
            spec=page_actions.SPECS[a],
            note_label=str(page_actions.NOTE_LABELS.get(a, _("意见"))),
            error=error if error_action == a else None,
            posted=posted if error_action == a else None,
        )
        for a in allowed
    ]
    context: dict[str, Any] = {
        "case": case,
        "action_forms": forms,
        "stages": stages,
        "open_stage": next((s for s in stages if s.view.stage.ended_at is None), None),
        "timeline": timeline,
        "before_photos": [p for p in photos if p.kind == AttachmentKind.BEFORE],
        "after_photos": [p for p in photos if p.kind == AttachmentKind.AFTER],
        "success": success,
        "general_error": error_text(error) if error is not None and not any(f.error for f in forms) else "",
        "general_error_stale": isinstance(error, StaleCase),
        "pending": case.approval_requests.filter(state=ApprovalState.PENDING).select_related("requested_by").first()
        if case.pending_request else None,
    }
    visible = cases_visible_to(user)
    if case.duplicate_candidates:
        context["duplicates"] = list(
            visible.filter(pk__in=[int(pk) for pk in case.duplicate_candidates]).only("pk", "number", "status")
        )
    context["merged_cases"] = list(visible.filter(merged_into=case).only("pk", "number", "status"))
    if Action.SEND_VERIFY in allowed or Action.SEND_CHECK in allowed:
        context["inspectors"] = sorted(users_covering(case, [Role.INSPECTOR]), key=lambda u: u.username)
    if Action.DISPATCH in allowed:
        context["departments"] = list(Department.objects.filter(is_active=True).order_by("name"))
        try:
            context["proposal"] = catalog_selectors.route_case(category=case.category, region=case.community)
        except RoutingFailed as exc:
            context["routing_error"] = exc.message
    if Action.MERGE in allowed:
        context["merge_candidates"] = [
            c for c in context.get("duplicates", []) if c.status in OPEN_STATUSES and c.pk != case.pk
        ]
    if Action.REQUEST_EXTENSION in allowed:
        context["time_units"] = [(value, _(label)) for value, label in TimeUnit.choices]
    return context


def _load(user: User, pk: int) -> Case:
    try:
        return case_get_for_user(user=user, case_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _forbidden(request: HttpRequest, exc: CityLoopError) -> HttpResponse:
    return render(request, "web/error.html", {"message": exc.message, "title": _("无权访问")}, status=403)


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    try:
        case = _load(user, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    context = _panel_context(case, user)
    context.update(grid_geometry=grid_geojson(case.grid), tile_url=settings.TILE_URL)
    return render(request, "web/case_detail.html", context)


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Apply one action from the case page; the answer is the updated panel (HTMX) or a redirect."""
    user = current_user(request)
    try:
        case = _load(user, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    try:
        act = Action(action)
    except ValueError:
        raise Http404(_("未知的操作")) from None
    if act not in page_actions.PAGE_ACTIONS:
        raise Http404(_("未知的操作"))
    error: CityLoopError | None = None
    try:
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            raise ValidationFailed(_("页面缺少案卷版本，请刷新后重试"), field="version") from None
        case = page_actions.perform(case=case, action=act, actor=user, post=request.POST,
                                    photos=request.FILES.getlist("photos"), expected_version=version)
    except CityLoopError as exc:
        error = exc
    label = _(page_actions.SPECS[act].label)
    if error is None:
        success = _("已完成“%(action)s”") % {"action": label}
        if not cases_visible_to(user).filter(pk=pk).exists():  # e.g. a case that left the user's scope
            messages.success(request, success)
            if is_htmx(request):
                return HttpResponse(headers={"HX-Redirect": reverse("case-list")})
            return redirect("case-list")
        case = case_get_for_user(user=user, case_id=pk)
        if is_htmx(request):
            return render(request, "web/_case_panel.html", _panel_context(case, user, success=success))
        messages.success(request, success)
        return redirect("case-detail", pk=pk)
    case = _load(user, pk)
    context = _panel_context(case, user, error=error, error_action=act, posted=request.POST)
    status = error.http_status
    if is_htmx(request):
        return render(request, "web/_case_panel.html", context, status=status)
    context.update(grid_geometry=grid_geojson(case.grid), tile_url=settings.TILE_URL)
    return render(request, "web/case_detail.html", context, status=status)

