"""The one guarded transition function and the notifications it schedules after commit."""


from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import user_covers_region, user_department_ids
from cityloop.cases.errors import ActionForbidden, InvalidTransition, StaleCase
from cityloop.cases.models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    AttachmentKind,
    Case,
    CaseEvent,
)
from cityloop.cases.services.reporting import (
    MAX_DESCRIPTION,
    PhotoInput,
    actor_name,
    attach_photos,
    clean_text,
    now_or,
    store_photos,
)
from cityloop.cases.statuses import (
    ACTION_LABELS,
    Action,
    Guard,
    Scope,
    Transition,
    transition_for,
)
from cityloop.catalog.models import Department
from cityloop.core.errors import NotFound

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
    at = now_or(at)
    t = transition_for(action)
    note = clean_text(note, field_name="note", label="意见", required=False, limit=MAX_DESCRIPTION)
    stored = store_photos(photos)
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
            actor_name=actor_name(actor, "系统" if system else "市民"), created_at=at, note=note,
            data=ctx.event_data, department=ctx.event_department or locked.department,
            is_public=ctx.is_public or (t.target is not None),
        )
        if stored:
            attach_photos(locked, event, stored, photo_kind, actor)
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


