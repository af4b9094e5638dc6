"""The closed loop's writes: reporting a case and every workflow action.

``case_report`` turns any channel's input into a case; ``case_transition`` is the one guarded function
through which every later state change goes: it locks the case row, checks the transition table, the
actor's role and scope and the action's guards, applies the action's effect, writes the event in the
same transaction and schedules notifications after commit. The ``case_<verb>`` functions below are
typed conveniences over it that the pages, the API and the CLI call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import user_covers_region, user_department_ids
from cityloop.cases import deadlines
from cityloop.cases.errors import ActionForbidden, InvalidTransition, StaleCase
from cityloop.cases.models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseFollower,
    CaseNumberSequence,
    Satisfaction,
)
from cityloop.cases.statuses import (
    ACTION_LABELS,
    OPEN_STATUSES,
    SOURCES_NEEDING_VERIFICATION,
    Action,
    CaseStatus,
    Guard,
    Scope,
    Source,
    Transition,
    transition_for,
)
from cityloop.catalog import selectors as catalog_selectors
from cityloop.catalog.models import Category, Department, Stage, Urgency
from cityloop.catalog.selectors import RoutingFailed
from cityloop.core.choices import TimeUnit
from cityloop.core.crs import geodesic_distance_m
from cityloop.core.errors import NotFound, ValidationFailed
from cityloop.geo.selectors import locate_point

MAX_DESCRIPTION = 2000
PhotoInput = bytes | IO[bytes]


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


# --- reporting -------------------------------------------------------------------------------


@dataclass
class ReportResult:
    case: Case
    created: bool
    duplicates: list[int] = field(default_factory=list)


def _clean_text(value: str, *, field_name: str, label: str, required: bool, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(f"请填写{label}", field=field_name)
    if len(text) > limit:
        raise ValidationFailed(f"{label}不能超过 {limit} 个字", field=field_name)
    if "\x00" in text:
        raise ValidationFailed(f"{label}含有非法字符", field=field_name)
    return text


def _category(value: Category | str) -> Category:
    category = value if isinstance(value, Category) else (
        Category.objects.filter(code=str(value).strip()).select_related("parent").first()
    )
    if category is None:
        raise ValidationFailed(f"未知的案件分类“{value}”", field="category")
    if category.parent_id is None or not category.is_active:
        raise ValidationFailed(f"请选择具体的案件小类（“{category.name}”是大类或已停用）", field="category")
    return category


def _duplicate_distance_m() -> float:
    return float(getattr(settings, "CITYLOOP_DUPLICATE_DISTANCE_M", 50))


def _duplicate_days() -> int:
    return int(getattr(settings, "CITYLOOP_DUPLICATE_DAYS", 7))


def duplicate_candidates(*, category: Category, lon: float, lat: float, at: datetime,
                         exclude_id: int | None = None) -> list[int]:
    """Open cases of the same subclass within the duplicate distance reported in the last N days."""
    distance = _duplicate_distance_m()
    d_lat = distance / 111_000.0
    d_lon = distance / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))
    rows = (
        Case.objects.filter(
            category=category,
            status__in=OPEN_STATUSES,
            reported_at__gte=at - timedelta(days=_duplicate_days()),
            reported_at__lte=at,
            lon__range=(lon - d_lon, lon + d_lon),
            lat__range=(lat - d_lat, lat + d_lat),
        )
        .values_list("id", "lon", "lat")
    )
    return sorted(pk for pk, x, y in rows if pk != exclude_id and float(geodesic_distance_m(lon, lat, x, y)) <= distance)


def _take_numbers(year: int, count: int) -> list[str]:
    """Take ``count`` consecutive case numbers of ``year``; call inside the report's transaction (no gaps)."""
    CaseNumberSequence.objects.bulk_create([CaseNumberSequence(year=year)], ignore_conflicts=True)
    sequence = CaseNumberSequence.objects.select_for_update().get(year=year)
    first = sequence.last_value + 1
    sequence.last_value += count
    sequence.save(update_fields=["last_value"])
    return [f"{year}{n:06d}" for n in range(first, first + count)]


def _store_photos(photos: Iterable[PhotoInput]) -> list[Any]:
    from cityloop.cases.photos import photo_store

    return [photo_store(data=photo) for photo in photos]


def _attach(case: Case, event: CaseEvent | None, stored: Sequence[Any], kind: str, user: User | None) -> None:
    Attachment.objects.bulk_create(
        [
            Attachment(
                case=case, event=event, kind=kind, sha256=p.sha256, original_path=p.original_path,
                public_path=p.public_path, content_type=p.content_type, size=p.size, width=p.width,
                height=p.height, taken_at=p.taken_at, uploaded_by=user,
            )
            for p in stored
        ]
    )


def case_report(
    *,
    source: Source | str,
    category: Category | str,
    description: str,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    address: str = "",
    urgency: Urgency | str = Urgency.NORMAL,
    reporter: User | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    photos: Sequence[PhotoInput] = (),
    self_handled: bool = False,
    after_photos: Sequence[PhotoInput] = (),
    idempotency_key: str | None = None,
    external_id: str = "",
    asset_code: str = "",
    at: datetime | None = None,
) -> ReportResult:
    """Report a problem: validate, locate its grid, propose a department, start the clock, log the event.

    The same ``idempotency_key`` twice returns the first case. Nothing is written when anything is invalid.
    """
    at = _now(at)
    if idempotency_key:
        existing = Case.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return ReportResult(existing, created=False, duplicates=list(existing.duplicate_candidates))
    source = Source(source)
    if urgency not in Urgency.values:
        raise ValidationFailed(f"未知的紧急程度“{urgency}”", field="urgency")
    description = _clean_text(description, field_name="description", label="问题描述", required=True,
                              limit=MAX_DESCRIPTION)
    address = _clean_text(address, field_name="address", label="地址", required=False, limit=300)
    reporter_name = _clean_text(reporter_name, field_name="reporter_name", label="姓名", required=False, limit=50)
    reporter_phone = _clean_text(reporter_phone, field_name="reporter_phone", label="电话", required=False, limit=20)
    cat = _category(category)
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("经纬度必须是数字", field="lon") from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValidationFailed("经纬度必须是有限的数字", field="lon")
    location = locate_point(lon=x, lat=y, crs=crs)
    if self_handled:
        if source != Source.INSPECTOR or reporter is None or reporter.role != Role.INSPECTOR:
            raise ValidationFailed("只有监督员上报的问题可以自处理", field="self_handled")
        if not after_photos:
            raise ValidationFailed("自处理需要上传处置后的照片", field="after_photos")
    if source == Source.INSPECTOR and (reporter is None or reporter.role != Role.INSPECTOR):
        raise ValidationFailed("监督员上报需要监督员账号", field="source")
    try:
        proposal = catalog_selectors.route_case(category=cat, region=location.community)
    except RoutingFailed:
        proposal = None
    before = _store_photos(photos)
    after = _store_photos(after_photos)
    try:
        with transaction.atomic():
            number = _take_numbers(at.astimezone(timezone.get_current_timezone()).year, 1)[0]
            case = Case(
                number=number, source=source, category=cat, urgency=urgency, description=description,
                address=address, lon=location.lon, lat=location.lat, grid=location.grid,
                community=location.community, street=location.street, district=location.district,
                asset_code=asset_code, reporter=reporter, reporter_name=reporter_name,
                reporter_phone=reporter_phone, status=CaseStatus.REPORTED, self_handled=self_handled,
                proposed_department=proposal.department if proposal else None,
                routing_reason=proposal.reason[:300] if proposal else "未找到派遣规则，需人工指定",
                idempotency_key=idempotency_key or None, external_id=external_id, reported_at=at, updated_at=at,
            )
            first_stage = Stage.ACCEPT if source in SOURCES_NEEDING_VERIFICATION else Stage.REGISTER
            stage = deadlines.stage_start(case, first_stage, at=at, save=False)
            case.duplicate_candidates = duplicate_candidates(category=cat, lon=case.lon, lat=case.lat, at=at)
            case.save()
            stage.save()
            event = CaseEvent.objects.create(
                case=case, action=Action.REPORT, from_status="", to_status=CaseStatus.REPORTED, actor=reporter,
                actor_role=reporter.role if reporter else Role.CITIZEN, actor_name=_name(reporter, reporter_name),
                created_at=at, note=description[:200], is_public=True,
                data={"source": source, "category": cat.code, "grid": location.grid.code,
                      "self_handled": self_handled, "duplicates": case.duplicate_candidates,
                      "routing": case.routing_reason},
            )
            _attach(case, event, before, AttachmentKind.BEFORE, reporter)
            _attach(case, event, after, AttachmentKind.AFTER, reporter)
            CaseFollower.objects.create(case=case, user=reporter, name=reporter_name, phone=reporter_phone)
    except IntegrityError:
        if idempotency_key:
            existing = Case.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return ReportResult(existing, created=False, duplicates=list(existing.duplicate_candidates))
        raise
    return ReportResult(case, created=True, duplicates=list(case.duplicate_candidates))


def _name(user: User | None, fallback: str = "") -> str:
    if user is None:
        return fallback or "市民"
    return user.display_name


# --- the guarded transition ----------------------------------------------------------------


@dataclass
class ActionContext:
    """What an action's effect may read and change."""

    case: Case
    actor: User | None
    at: datetime
    data: dict[str, Any]
    note: str
    event_data: dict[str, Any] = field(default_factory=dict)
    notify: list[Callable[[], None]] = field(default_factory=list)
    event_department: Department | None = None
    is_public: bool = False


Effect = Callable[[ActionContext], None]
EFFECTS: dict[Action, Effect] = {}


def effect(action: Action) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[action] = fn
        return fn

    return register


def _check_role_and_scope(t: Transition, case: Case, actor: User | None, *, as_reporter: bool, system: bool) -> None:
    label = ACTION_LABELS[t.action]
    if t.scope == Scope.SYSTEM:
        if not system:
            raise ActionForbidden(f"“{label}”只能由系统执行")
        return
    if t.scope == Scope.REPORTER:
        if as_reporter or (actor is not None and actor.pk == case.reporter_id):
            return
        raise ActionForbidden(f"只有举报人可以进行“{label}”")
    if actor is None:
        raise ActionForbidden(f"“{label}”需要登录")
    if actor.role not in t.roles:
        raise ActionForbidden(f"{actor.get_role_display()}不能进行“{label}”")
    if t.scope == Scope.DEPARTMENT:
        if case.department_id is None or case.department_id not in user_department_ids(actor):
            raise ActionForbidden("该案卷不属于您所在的处置单位")
    elif t.scope == Scope.ASSIGNEE:
        if case.assignee_id is not None and case.assignee_id != actor.pk:
            raise ActionForbidden("该任务已派发给其他监督员")
        if case.assignee_id is None and not user_covers_region(actor, case.community):
            raise ActionForbidden("该案卷不在您负责的区域内")
    elif not user_covers_region(actor, case.community):
        raise ActionForbidden("该案卷不在您负责的区域内")


def _pending(case: Case) -> ApprovalRequest | None:
    return case.approval_requests.filter(state=ApprovalState.PENDING).first()


def _check_guards(t: Transition, case: Case) -> None:
    label = ACTION_LABELS[t.action]
    for guard in t.guards:
        ok = {
            Guard.SELF_HANDLED: lambda: case.self_handled,
            Guard.CHECK_PASSED: lambda: case.check_passed,
            Guard.NOT_CHECK_PASSED: lambda: not case.check_passed,
            Guard.PENDING_RETURN: lambda: case.pending_request == ApprovalKind.RETURN,
            Guard.PENDING_EXTENSION: lambda: case.pending_request == ApprovalKind.EXTENSION,
            Guard.PENDING_SUSPENSION: lambda: case.pending_request == ApprovalKind.SUSPENSION,
            Guard.NO_PENDING_REQUEST: lambda: not case.pending_request,
            Guard.NOT_SUPERVISED: lambda: not case.supervised,
            Guard.SUPERVISED: lambda: case.supervised,
            Guard.NOT_RATED: lambda: case.satisfaction is None,
        }[guard]()
        if not ok:
            raise InvalidTransition(f"案卷 {case.number} 当前不能“{label}”（{_guard_reason(guard)}）")


def _guard_reason(guard: Guard) -> str:
    return {
        Guard.SELF_HANDLED: "不是自处理案卷",
        Guard.CHECK_PASSED: "尚未核查通过",
        Guard.NOT_CHECK_PASSED: "已核查通过",
        Guard.PENDING_RETURN: "没有待审批的回退申请",
        Guard.PENDING_EXTENSION: "没有待审批的延期申请",
        Guard.PENDING_SUSPENSION: "没有待审批的挂账申请",
        Guard.NO_PENDING_REQUEST: "还有待审批的申请",
        Guard.NOT_SUPERVISED: "已在督办中",
        Guard.SUPERVISED: "未被督办",
        Guard.NOT_RATED: "已评价过",
    }[guard]


def allowed_actions(case: Case, actor: User | None) -> list[Action]:
    """The actions ``actor`` may take on ``case`` now (for showing only the right buttons)."""
    result = []
    for action, t in _transitions().items():
        if t.scope == Scope.SYSTEM or case.status not in t.sources:
            continue
        try:
            _check_role_and_scope(t, case, actor, as_reporter=False, system=False)
            _check_guards(t, case)
        except (ActionForbidden, InvalidTransition):
            continue
        result.append(action)
    return result


def _transitions() -> dict[Action, Transition]:
    from cityloop.cases.statuses import TRANSITIONS

    return TRANSITIONS


def case_transition(
    *,
    case: Case | int,
    action: Action | str,
    actor: User | None,
    note: str = "",
    data: dict[str, Any] | None = None,
    photos: Sequence[PhotoInput] = (),
    photo_kind: str = AttachmentKind.AFTER,
    expected_version: int | None = None,
    as_reporter: bool = False,
    system: bool = False,
    at: datetime | None = None,
) -> Case:
    """Apply ``action`` to ``case`` as ``actor``: the one guarded way a case changes.

    Locks the case row (``SELECT … FOR UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE``), so of
    two concurrent actions exactly one applies and the other sees the new status and gets a conflict.
    """
    at = _now(at)
    t = transition_for(action)
    note = _clean_text(note, field_name="note", label="意见", required=False, limit=MAX_DESCRIPTION)
    stored = _store_photos(photos)
    case_id = case.pk if isinstance(case, Case) else case
    with transaction.atomic():
        locked = Case.objects.select_for_update().filter(pk=case_id).first()
        if locked is None:
            raise NotFound(f"案卷不存在（{case_id}）")
        if expected_version is not None and locked.version != expected_version:
            raise StaleCase(f"案卷 {locked.number} 已被他人更新，请刷新后重试")
        if locked.status not in t.sources:
            raise InvalidTransition(
                f"案卷 {locked.number} 当前状态为“{locked.get_status_display()}”，不能“{ACTION_LABELS[t.action]}”"
            )
        _check_role_and_scope(t, locked, actor, as_reporter=as_reporter, system=system)
        _check_guards(t, locked)
        ctx = ActionContext(case=locked, actor=actor, at=at, data=dict(data or {}), note=note)
        from_status = locked.status
        EFFECTS.get(t.action, lambda _ctx: None)(ctx)
        if t.target is not None:
            locked.status = t.target
        locked.version += 1
        locked.updated_at = at
        locked.save()
        event = CaseEvent.objects.create(
            case=locked, action=t.action, from_status=from_status, to_status=locked.status, actor=actor,
            actor_role=(actor.role if actor else (Role.CITIZEN if as_reporter else "system")),
            actor_name=_name(actor, "系统" if system else "市民"), created_at=at, note=note,
            data=ctx.event_data, department=ctx.event_department or locked.department,
            is_public=ctx.is_public or (t.target is not None),
        )
        if stored:
            _attach(locked, event, stored, photo_kind, actor)
        for callback in ctx.notify:
            transaction.on_commit(callback)
        if t.target is not None and t.target != from_status:
            transaction.on_commit(_follower_notice(locked, event))
    return locked


# --- notifications -------------------------------------------------------------------------


def send_notification(recipients: Iterable[User], kind: str, title: str, body: str, case: Case) -> None:
    """Notify ``recipients`` about ``case`` (in-app plus the configured transports), after commit."""
    from cityloop.notifications.services import notify

    notify(recipients=recipients, kind=kind, title=title, body=body, link=f"/cases/{case.pk}/", case=case)


def department_users(department_id: int | None) -> list[User]:
    if department_id is None:
        return []
    return list(User.objects.filter(departments__id=department_id, is_active=True, role=Role.HANDLER))


def users_covering(case: Case, roles: Iterable[Role]) -> list[User]:
    users = User.objects.filter(role__in=list(roles), is_active=True).prefetch_related("regions")
    return [u for u in users if user_covers_region(u, case.community)]


def _follower_notice(case: Case, event: CaseEvent) -> Callable[[], None]:
    return lambda: _notify_followers(case, event)


def _notify_followers(case: Case, event: CaseEvent) -> None:
    users = [f.user for f in case.followers.select_related("user") if f.user is not None]
    if users:
        send_notification(users, "case_updated", f"您关注的案卷 {case.number} {event.action_label}",
              f"当前状态：{case.get_status_display()}", case)


# --- effects of each action ------------------------------------------------------------------


def _inspector(ctx: ActionContext) -> User:
    inspector = ctx.data.get("inspector")
    if inspector is None:
        raise ValidationFailed("请选择监督员", field="inspector")
    if not isinstance(inspector, User):
        inspector = User.objects.filter(pk=inspector).first()
    if inspector is None or inspector.role != Role.INSPECTOR or not inspector.is_active:
        raise ValidationFailed("请选择有效的监督员", field="inspector")
    if not user_covers_region(inspector, ctx.case.community):
        raise ValidationFailed(f"监督员 {inspector.display_name} 不负责该案卷所在区域", field="inspector")
    return inspector


@effect(Action.SEND_VERIFY)
def _send_verify(ctx: ActionContext) -> None:
    inspector = _inspector(ctx)
    ctx.case.assignee = inspector
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="send_verify", actor=ctx.actor)
    deadlines.stage_start(ctx.case, Stage.VERIFY, at=ctx.at)
    ctx.event_data["inspector"] = inspector.username
    ctx.notify.append(lambda: send_notification([inspector], "task_verify", f"核实任务：{ctx.case.number}", ctx.case.address, ctx.case))


@effect(Action.VERIFY)
def _verify(ctx: ActionContext) -> None:
    valid = ctx.data.get("valid")
    if not isinstance(valid, bool):
        raise ValidationFailed("请选择核实结果（属实/不属实）", field="valid")
    ctx.case.verified = True
    ctx.case.verification_valid = valid
    ctx.case.assignee = None
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="verified" if valid else "not_valid", actor=ctx.actor)
    deadlines.stage_start(ctx.case, Stage.REGISTER, at=ctx.at)
    ctx.event_data["valid"] = valid


@effect(Action.REGISTER)
def _register(ctx: ActionContext) -> None:
    if ctx.case.source in SOURCES_NEEDING_VERIFICATION and ctx.case.verification_valid is False:
        raise ValidationFailed("核实结果为不属实的案卷不能立案", field="valid")
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="registered", actor=ctx.actor)
    ctx.case.registered_at = ctx.at
    deadlines.stage_start(ctx.case, Stage.DISPATCH, at=ctx.at)


@effect(Action.REJECT)
def _reject(ctx: ActionContext) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写不予立案的理由", field="note")
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="rejected", actor=ctx.actor)


@effect(Action.MERGE)
def _merge(ctx: ActionContext) -> None:
    into = ctx.data.get("into")
    if not isinstance(into, Case):
        into = Case.objects.filter(pk=into).first() if into else None
    if into is None or into.pk == ctx.case.pk:
        raise ValidationFailed("请选择要合并到的案卷", field="into")
    into = Case.objects.select_for_update().get(pk=into.pk)
    if into.status not in OPEN_STATUSES or into.merged_into_id is not None:
        raise ValidationFailed(f"案卷 {into.number} 已办结，不能合并到它", field="into")
    if ctx.actor is not None and not user_covers_region(ctx.actor, into.community):
        raise ActionForbidden("要合并到的案卷不在您负责的区域内")
    ctx.case.merged_into = into
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="merged", actor=ctx.actor)
    followers = [
        CaseFollower(case=into, user=f.user, name=f.name, phone=f.phone, via_case=ctx.case)
        for f in ctx.case.followers.all()
    ]
    CaseFollower.objects.bulk_create(followers)
    ctx.event_data["into"] = into.number


@effect(Action.APPROVE_SELF_HANDLING)
def _approve_self(ctx: ActionContext) -> None:
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="self_handled", actor=ctx.actor)
    ctx.case.registered_at = ctx.at
    ctx.case.closed_at = ctx.at


@effect(Action.REFUSE_SELF_HANDLING)
def _refuse_self(ctx: ActionContext) -> None:
    ctx.case.self_handled = False


@effect(Action.DISPATCH)
def _dispatch(ctx: ActionContext) -> None:
    case = ctx.case
    try:
        proposal = catalog_selectors.route_case(category=case.category, region=case.community)
    except RoutingFailed:
        proposal = None
    department = ctx.data.get("department")
    if department is not None and not isinstance(department, Department):
        department = Department.objects.filter(pk=department).first()
        if department is None:
            raise ValidationFailed("处置单位不存在", field="department")
    if department is None:
        if proposal is None:
            raise ValidationFailed("没有适用的派遣规则，请选择处置单位", field="department")
        department = proposal.department
    if not department.is_active:
        raise ValidationFailed(f"处置单位“{department.name}”已停用", field="department")
    previous = case.department_id
    deadlines.stage_end(case, at=ctx.at, outcome="dispatched", actor=ctx.actor)
    case.department = department
    case.dispatch_count += 1
    case.check_passed = False
    overridden = proposal is None or proposal.department.pk != department.pk
    case.routing_reason = ("派遣员指定" if overridden else proposal.reason)[:300]  # type: ignore[union-attr]
    deadlines.stage_start(case, Stage.HANDLE, at=ctx.at)
    ctx.event_department = department
    ctx.event_data.update(
        {
            "department": department.name,
            "proposed": proposal.department.name if proposal else None,
            "proposal_reason": proposal.reason if proposal else "",
            "overridden": overridden,
            "previous_department_id": previous,
            "due_at": case.handling_due_at.isoformat() if case.handling_due_at else None,
        }
    )
    ctx.notify.append(lambda: send_notification(department_users(department.pk), "case_dispatched",
                                    f"新派遣案卷 {case.number}", case.description[:100], case))


@effect(Action.HANDLE)
def _handle(ctx: ActionContext) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写处置情况", field="note")
    row = deadlines.stage_end(ctx.case, at=ctx.at, outcome="handled", actor=ctx.actor)
    ctx.event_data["on_time"] = row.on_time if row else None
    deadlines.stage_start(ctx.case, Stage.CHECK, at=ctx.at)


@effect(Action.SEND_CHECK)
def _send_check(ctx: ActionContext) -> None:
    inspector = _inspector(ctx)
    ctx.case.assignee = inspector
    ctx.event_data["inspector"] = inspector.username
    ctx.notify.append(lambda: send_notification([inspector], "task_check", f"核查任务：{ctx.case.number}", ctx.case.address, ctx.case))


@effect(Action.CHECK_PASS)
def _check_pass(ctx: ActionContext) -> None:
    ctx.case.check_passed = True
    ctx.case.assignee = None
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="check_passed", actor=ctx.actor)
    deadlines.stage_start(ctx.case, Stage.CLOSE, at=ctx.at)
    ctx.is_public = True


@effect(Action.REWORK)
def _rework(ctx: ActionContext) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写核查不通过的原因", field="note")
    ctx.case.assignee = None
    ctx.case.rework_count += 1
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="check_failed", actor=ctx.actor)
    deadlines.stage_start(ctx.case, Stage.HANDLE, at=ctx.at)
    case = ctx.case
    ctx.notify.append(lambda: send_notification(department_users(case.department_id), "case_rework",
                                    f"案卷 {case.number} 核查不通过，请返工", ctx.note, case))


@effect(Action.CLOSE)
def _close(ctx: ActionContext) -> None:
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="closed", actor=ctx.actor)
    ctx.case.closed_at = ctx.at


def _open_request(ctx: ActionContext, kind: ApprovalKind, **extra: Any) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写申请理由", field="note")
    assert ctx.actor is not None
    ApprovalRequest.objects.create(
        case=ctx.case, kind=kind, reason=ctx.note, requested_by=ctx.actor, requested_at=ctx.at, **extra
    )
    ctx.case.pending_request = kind
    case = ctx.case
    ctx.notify.append(lambda: send_notification(users_covering(case, [Role.DISPATCHER]), "approval_waiting",
                                    f"案卷 {case.number} {kind.label}申请待审批", ctx.note, case))


def _decide(ctx: ActionContext, approved: bool) -> ApprovalRequest:
    request = _pending(ctx.case)
    if request is None:
        raise InvalidTransition("没有待审批的申请")
    request.state = ApprovalState.APPROVED if approved else ApprovalState.REFUSED
    request.decided_by = ctx.actor
    request.decided_at = ctx.at
    request.decision_note = ctx.note
    request.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    ctx.case.pending_request = ""
    ctx.event_data["request_id"] = request.pk
    case = ctx.case
    ctx.notify.append(lambda: send_notification(department_users(case.department_id), "approval_decided",
                                    f"案卷 {case.number} {request.get_kind_display()}申请{'已同意' if approved else '被驳回'}",
                                    ctx.note, case))
    return request


@effect(Action.REQUEST_RETURN)
def _request_return(ctx: ActionContext) -> None:
    _open_request(ctx, ApprovalKind.RETURN)


@effect(Action.APPROVE_RETURN)
def _approve_return(ctx: ActionContext) -> None:
    _decide(ctx, True)
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="returned", actor=ctx.actor)
    ctx.case.return_count += 1
    ctx.event_data["returned_from"] = ctx.case.department.name if ctx.case.department else None
    ctx.event_department = ctx.case.department
    ctx.case.department = None
    ctx.case.handling_due_at = None
    deadlines.stage_start(ctx.case, Stage.DISPATCH, at=ctx.at)


@effect(Action.REFUSE_RETURN)
def _refuse_return(ctx: ActionContext) -> None:
    _decide(ctx, False)


def _extension_amount(data: dict[str, Any]) -> tuple[Decimal, TimeUnit]:
    try:
        value = Decimal(str(data.get("value")))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("请填写延期时长", field="value") from exc
    if not value.is_finite() or value <= 0 or value > 1000:
        raise ValidationFailed("延期时长必须大于 0 且不超过 1000", field="value")
    unit = data.get("unit", TimeUnit.WORK_DAY)
    if unit not in TimeUnit.values:
        raise ValidationFailed(f"未知的时间单位“{unit}”", field="unit")
    return value, TimeUnit(unit)


@effect(Action.REQUEST_EXTENSION)
def _request_extension(ctx: ActionContext) -> None:
    value, unit = _extension_amount(ctx.data)
    _open_request(ctx, ApprovalKind.EXTENSION, extension_value=value, extension_unit=unit)
    ctx.event_data.update({"value": str(value), "unit": unit})


@effect(Action.APPROVE_EXTENSION)
def _approve_extension(ctx: ActionContext) -> None:
    request = _decide(ctx, True)
    assert request.extension_value is not None
    row = deadlines.stage_extend(ctx.case, value=request.extension_value, unit=request.extension_unit, at=ctx.at)
    ctx.event_data.update({"value": str(request.extension_value), "unit": request.extension_unit,
                           "due_at": row.due_at.isoformat()})


@effect(Action.REFUSE_EXTENSION)
def _refuse_extension(ctx: ActionContext) -> None:
    _decide(ctx, False)


@effect(Action.REQUEST_SUSPENSION)
def _request_suspension(ctx: ActionContext) -> None:
    _open_request(ctx, ApprovalKind.SUSPENSION)


@effect(Action.APPROVE_SUSPENSION)
def _approve_suspension(ctx: ActionContext) -> None:
    _decide(ctx, True)
    deadlines.stage_pause(ctx.case, at=ctx.at)


@effect(Action.REFUSE_SUSPENSION)
def _refuse_suspension(ctx: ActionContext) -> None:
    _decide(ctx, False)


@effect(Action.RESUME)
def _resume(ctx: ActionContext) -> None:
    row = deadlines.stage_resume(ctx.case, at=ctx.at)
    if row is not None:
        ctx.event_data["due_at"] = row.due_at.isoformat()


@effect(Action.VOID)
def _void(ctx: ActionContext) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写作废理由", field="note")
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="voided", actor=ctx.actor)
    ctx.case.pending_request = ""
    ctx.case.approval_requests.filter(state=ApprovalState.PENDING).update(
        state=ApprovalState.REFUSED, decided_by=ctx.actor, decided_at=ctx.at, decision_note="案卷作废"
    )


@effect(Action.SUPERVISE)
def _supervise(ctx: ActionContext) -> None:
    ctx.case.supervised = True
    case = ctx.case
    recipients = department_users(case.department_id) + users_covering(case, [Role.DISPATCHER])
    ctx.notify.append(lambda: send_notification(recipients, "case_supervised", f"领导督办：案卷 {case.number}",
                                    ctx.note or case.description[:100], case))


@effect(Action.UNSUPERVISE)
def _unsupervise(ctx: ActionContext) -> None:
    ctx.case.supervised = False


@effect(Action.RATE)
def _rate(ctx: ActionContext) -> None:
    rating = ctx.data.get("rating")
    if rating not in Satisfaction.values:
        raise ValidationFailed("请选择满意、基本满意或不满意", field="rating")
    ctx.case.satisfaction = rating
    ctx.event_data["rating"] = rating
    ctx.is_public = True


# --- typed conveniences --------------------------------------------------------------------


def case_send_verify(*, case: Case, actor: User, inspector: User, note: str = "", at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.SEND_VERIFY, actor=actor, note=note, data={"inspector": inspector}, at=at)


def case_verify(*, case: Case, actor: User, valid: bool, note: str = "", photos: Sequence[PhotoInput] = (),
                at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.VERIFY, actor=actor, note=note, data={"valid": valid},
                           photos=photos, photo_kind=AttachmentKind.BEFORE, at=at)


def case_register(*, case: Case, actor: User, note: str = "", at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.REGISTER, actor=actor, note=note, at=at)


def case_reject(*, case: Case, actor: User, note: str, at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.REJECT, actor=actor, note=note, at=at)


def case_merge(*, case: Case, into: Case, actor: User, note: str = "", at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.MERGE, actor=actor, note=note, data={"into": into}, at=at)


def case_review_self_handling(*, case: Case, actor: User, approve: bool, note: str = "",
                              at: datetime | None = None) -> Case:
    action = Action.APPROVE_SELF_HANDLING if approve else Action.REFUSE_SELF_HANDLING
    return case_transition(case=case, action=action, actor=actor, note=note, at=at)


def case_dispatch(*, case: Case, actor: User, department: Department | None = None, note: str = "",
                  at: datetime | None = None) -> Case:
    """Dispatch to ``department``, or to the routing rules' proposal when none is given."""
    return case_transition(case=case, action=Action.DISPATCH, actor=actor, note=note,
                           data={"department": department}, at=at)


def case_handle(*, case: Case, actor: User, note: str, photos: Sequence[PhotoInput] = (),
                at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.HANDLE, actor=actor, note=note, photos=photos, at=at)


def case_send_check(*, case: Case, actor: User, inspector: User, note: str = "", at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.SEND_CHECK, actor=actor, note=note, data={"inspector": inspector}, at=at)


def case_check(*, case: Case, actor: User, passed: bool, note: str = "", photos: Sequence[PhotoInput] = (),
               at: datetime | None = None) -> Case:
    """The inspector's on-site check: a pass waits for closing, a failure sends the case back (返工)."""
    action = Action.CHECK_PASS if passed else Action.REWORK
    return case_transition(case=case, action=action, actor=actor, note=note, photos=photos, at=at)


def case_close(*, case: Case, actor: User, note: str = "", at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.CLOSE, actor=actor, note=note, at=at)


def case_request(*, case: Case, actor: User, kind: ApprovalKind | str, reason: str,
                 value: Decimal | str | None = None, unit: str = TimeUnit.WORK_DAY, at: datetime | None = None) -> Case:
    """A department asks for a return (回退), an extension (延期, with ``value`` ``unit``) or a suspension (挂账)."""
    action = {ApprovalKind.RETURN: Action.REQUEST_RETURN, ApprovalKind.EXTENSION: Action.REQUEST_EXTENSION,
              ApprovalKind.SUSPENSION: Action.REQUEST_SUSPENSION}[ApprovalKind(kind)]
    return case_transition(case=case, action=action, actor=actor, note=reason, data={"value": value, "unit": unit}, at=at)


def case_decide(*, case: Case, actor: User, approve: bool, note: str = "", at: datetime | None = None) -> Case:
    """The dispatcher approves or refuses the case's pending request."""
    current = Case.objects.only("pending_request").get(pk=case.pk).pending_request
    table = {
        ApprovalKind.RETURN: (Action.APPROVE_RETURN, Action.REFUSE_RETURN),
        ApprovalKind.EXTENSION: (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION),
        ApprovalKind.SUSPENSION: (Action.APPROVE_SUSPENSION, Action.REFUSE_SUSPENSION),
    }
    if current not in table:
        raise InvalidTransition(f"案卷 {case.number} 没有待审批的申请")
    approve_action, refuse_action = table[ApprovalKind(current)]
    return case_transition(case=case, action=approve_action if approve else refuse_action, actor=actor, note=note, at=at)


def case_resume(*, case: Case, actor: User, note: str = "", at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.RESUME, actor=actor, note=note, at=at)


def case_void(*, case: Case, actor: User, note: str, at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.VOID, actor=actor, note=note, at=at)


def case_supervise(*, case: Case, actor: User, on: bool = True, note: str = "", at: datetime | None = None) -> Case:
    return case_transition(case=case, action=Action.SUPERVISE if on else Action.UNSUPERVISE, actor=actor,
                           note=note, at=at)


def case_rate(*, case: Case, rating: int, actor: User | None = None, phone_last4: str = "", note: str = "",
              at: datetime | None = None) -> Case:
    """The reporter rates the result after close: logged in as the reporter, or by the phone's last 4 digits."""
    as_reporter = False
    if actor is None or actor.pk != case.reporter_id:
        digits = (phone_last4 or "").strip()
        phones = [case.reporter_phone, *case.followers.values_list("phone", flat=True)]
        as_reporter = len(digits) == 4 and any(p and p.endswith(digits) for p in phones)
        if not as_reporter:
            raise ActionForbidden("手机号后四位不正确")
    return case_transition(case=case, action=Action.RATE, actor=actor, note=note, data={"rating": int(rating)},
                           as_reporter=as_reporter, at=at)


@effect(Action.WARN)
def _warn(ctx: ActionContext) -> None:
    ctx.event_data.update({"stage": ctx.data.get("stage"), "level": ctx.data.get("level")})
