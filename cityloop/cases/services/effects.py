"""What each workflow action does to a case besides changing its status (registered in ``EFFECTS``)."""


from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import user_covers_region
from cityloop.cases import deadlines
from cityloop.cases.errors import ActionForbidden, InvalidTransition
from cityloop.cases.models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalState,
    Case,
    CaseFollower,
    Satisfaction,
)
from cityloop.cases.selectors import routing_proposal
from cityloop.cases.services.workflow import (
    PENDING_REQUEST_ATTR,
    ActionContext,
    _pending,
    department_users,
    effect,
    send_notification,
    users_covering,
)
from cityloop.cases.statuses import (
    OPEN_STATUSES,
    SOURCES_NEEDING_VERIFICATION,
    Action,
)
from cityloop.catalog.models import Department, Stage
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import ValidationFailed

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
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="send_verify", actor=ctx.actor, writes=ctx.writes)
    deadlines.stage_start(ctx.case, Stage.VERIFY, at=ctx.at, writes=ctx.writes)
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
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="verified" if valid else "not_valid", actor=ctx.actor, writes=ctx.writes)
    deadlines.stage_start(ctx.case, Stage.REGISTER, at=ctx.at, writes=ctx.writes)
    ctx.event_data["valid"] = valid


@effect(Action.REGISTER)
def _register(ctx: ActionContext) -> None:
    if ctx.case.source in SOURCES_NEEDING_VERIFICATION and ctx.case.verification_valid is False:
        raise ValidationFailed("核实结果为不属实的案卷不能立案", field="valid")
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="registered", actor=ctx.actor, writes=ctx.writes)
    ctx.case.registered_at = ctx.at
    deadlines.stage_start(ctx.case, Stage.DISPATCH, at=ctx.at, writes=ctx.writes)


@effect(Action.REJECT)
def _reject(ctx: ActionContext) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写不予立案的理由", field="note")
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="rejected", actor=ctx.actor, writes=ctx.writes)


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
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="merged", actor=ctx.actor, writes=ctx.writes)
    followers = [
        CaseFollower(case=into, user=f.user, name=f.name, phone=f.phone, via_case=ctx.case)
        for f in ctx.case.followers.all()
    ]
    for follower in followers:
        ctx.writes.add(follower)
    ctx.event_data["into"] = into.number


@effect(Action.APPROVE_SELF_HANDLING)
def _approve_self(ctx: ActionContext) -> None:
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="self_handled", actor=ctx.actor, writes=ctx.writes)
    ctx.case.registered_at = ctx.at
    ctx.case.closed_at = ctx.at


@effect(Action.REFUSE_SELF_HANDLING)
def _refuse_self(ctx: ActionContext) -> None:
    ctx.case.self_handled = False


@effect(Action.DISPATCH)
def _dispatch(ctx: ActionContext) -> None:
    case = ctx.case
    proposal = routing_proposal(case)
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
    deadlines.stage_end(case, at=ctx.at, outcome="dispatched", actor=ctx.actor, writes=ctx.writes)
    case.department = department
    case.dispatch_count += 1
    case.check_passed = False
    overridden = proposal is None or proposal.department.pk != department.pk
    case.routing_reason = ("派遣员指定" if overridden else proposal.reason)[:300]  # type: ignore[union-attr]
    deadlines.stage_start(case, Stage.HANDLE, at=ctx.at, writes=ctx.writes)
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
    row = deadlines.stage_end(ctx.case, at=ctx.at, outcome="handled", actor=ctx.actor, writes=ctx.writes)
    ctx.event_data["on_time"] = row.on_time if row else None
    deadlines.stage_start(ctx.case, Stage.CHECK, at=ctx.at, writes=ctx.writes)


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
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="check_passed", actor=ctx.actor, writes=ctx.writes)
    deadlines.stage_start(ctx.case, Stage.CLOSE, at=ctx.at, writes=ctx.writes)
    ctx.is_public = True


@effect(Action.REWORK)
def _rework(ctx: ActionContext) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写核查不通过的原因", field="note")
    ctx.case.assignee = None
    ctx.case.rework_count += 1
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="check_failed", actor=ctx.actor, writes=ctx.writes)
    deadlines.stage_start(ctx.case, Stage.HANDLE, at=ctx.at, writes=ctx.writes)
    case = ctx.case
    ctx.notify.append(lambda: send_notification(department_users(case.department_id), "case_rework",
                                    f"案卷 {case.number} 核查不通过，请返工", ctx.note, case))


@effect(Action.CLOSE)
def _close(ctx: ActionContext) -> None:
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="closed", actor=ctx.actor, writes=ctx.writes)
    ctx.case.closed_at = ctx.at


def _open_request(ctx: ActionContext, kind: ApprovalKind, **extra: Any) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写申请理由", field="note")
    assert ctx.actor is not None
    request = ApprovalRequest(
        case=ctx.case, kind=kind, reason=ctx.note, requested_by=ctx.actor, requested_at=ctx.at, **extra
    )
    ctx.writes.add(request)
    setattr(ctx.case, PENDING_REQUEST_ATTR, request)
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
    ctx.writes.changed(request, ["state", "decided_by", "decided_at", "decision_note"])
    setattr(ctx.case, PENDING_REQUEST_ATTR, None)
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
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="returned", actor=ctx.actor, writes=ctx.writes)
    ctx.case.return_count += 1
    ctx.event_data["returned_from"] = ctx.case.department.name if ctx.case.department else None
    ctx.event_department = ctx.case.department
    ctx.case.department = None
    ctx.case.handling_due_at = None
    deadlines.stage_start(ctx.case, Stage.DISPATCH, at=ctx.at, writes=ctx.writes)


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
    row = deadlines.stage_extend(ctx.case, value=request.extension_value, unit=request.extension_unit, at=ctx.at, writes=ctx.writes)
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
    deadlines.stage_pause(ctx.case, at=ctx.at, writes=ctx.writes)


@effect(Action.REFUSE_SUSPENSION)
def _refuse_suspension(ctx: ActionContext) -> None:
    _decide(ctx, False)


@effect(Action.RESUME)
def _resume(ctx: ActionContext) -> None:
    row = deadlines.stage_resume(ctx.case, at=ctx.at, writes=ctx.writes)
    if row is not None:
        ctx.event_data["due_at"] = row.due_at.isoformat()


@effect(Action.VOID)
def _void(ctx: ActionContext) -> None:
    if not ctx.note:
        raise ValidationFailed("请填写作废理由", field="note")
    deadlines.stage_end(ctx.case, at=ctx.at, outcome="voided", actor=ctx.actor, writes=ctx.writes)
    request = _pending(ctx.case)
    if request is not None:
        request.state = ApprovalState.REFUSED
        request.decided_by = ctx.actor
        request.decided_at = ctx.at
        request.decision_note = "案卷作废"
        ctx.writes.changed(request, ["state", "decided_by", "decided_at", "decision_note"])
        setattr(ctx.case, PENDING_REQUEST_ATTR, None)
    ctx.case.pending_request = ""


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


@effect(Action.WARN)
def _warn(ctx: ActionContext) -> None:
    ctx.event_data.update({"stage": ctx.data.get("stage"), "level": ctx.data.get("level")})
