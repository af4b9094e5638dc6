"""Case statuses, workflow actions and the one transition table (DESIGN §2).

Every state change of a case goes through ``cases.services.case_transition``, which looks the action
up in ``TRANSITIONS`` and refuses anything the table does not allow. Actions whose ``target`` is
``None`` leave the status unchanged (requests, approvals that only move a deadline, supervision,
ratings) but are still written to the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models

from cityloop.accounts.models import Role


class CaseStatus(models.TextChoices):
    REPORTED = "reported", "已上报"  # waiting for the intake operator: verify, register, reject or merge
    VERIFYING = "verifying", "核实中"  # an inspector verifies a public report on site
    REGISTERED = "registered", "已立案"  # waiting for the dispatcher
    DISPATCHED = "dispatched", "处置中"  # the department handles it within its limit
    SUSPENDED = "suspended", "挂账中"  # parked with the dispatcher's approval; the clock is paused
    HANDLED = "handled", "已处置"  # the department reported its result; waiting for a check task
    CHECKING = "checking", "核查中"  # an inspector checks on site; after a pass, waiting to be closed
    CLOSED = "closed", "已结案"
    REJECTED = "rejected", "不予立案"
    MERGED = "merged", "已合并"  # a duplicate, merged into another case
    VOIDED = "voided", "已作废"


OPEN_STATUSES = frozenset(
    {
        CaseStatus.REPORTED,
        CaseStatus.VERIFYING,
        CaseStatus.REGISTERED,
        CaseStatus.DISPATCHED,
        CaseStatus.SUSPENDED,
        CaseStatus.HANDLED,
        CaseStatus.CHECKING,
    }
)
FINAL_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.MERGED, CaseStatus.VOIDED})


class Source(models.TextChoices):
    """Where a report came from (信息来源)."""

    INSPECTOR = "inspector", "监督员上报"
    PUBLIC = "public", "公众举报"
    HOTLINE = "hotline", "12345热线"
    SENSOR = "sensor", "物联感知"
    CAMERA = "camera", "视频智能识别"
    SUPERIOR = "superior", "上级交办"
    OPEN311 = "open311", "Open311 接口"


#: Sources whose reports an inspector verifies on site before registration.
SOURCES_NEEDING_VERIFICATION = frozenset({Source.PUBLIC, Source.HOTLINE, Source.OPEN311})


class Action(StrEnum):
    REPORT = "report"
    SEND_VERIFY = "send_verify"
    VERIFY = "verify"
    REGISTER = "register"
    REJECT = "reject"
    MERGE = "merge"
    APPROVE_SELF_HANDLING = "approve_self_handling"
    REFUSE_SELF_HANDLING = "refuse_self_handling"
    DISPATCH = "dispatch"
    HANDLE = "handle"
    SEND_CHECK = "send_check"
    CHECK_PASS = "check_pass"
    REWORK = "rework"
    CLOSE = "close"
    REQUEST_RETURN = "request_return"
    APPROVE_RETURN = "approve_return"
    REFUSE_RETURN = "refuse_return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    REQUEST_SUSPENSION = "request_suspension"
    APPROVE_SUSPENSION = "approve_suspension"
    REFUSE_SUSPENSION = "refuse_suspension"
    RESUME = "resume"
    VOID = "void"
    SUPERVISE = "supervise"
    UNSUPERVISE = "unsupervise"
    RATE = "rate"
    WARN = "warn"  # the sweeper's yellow/red warnings


ACTION_LABELS: dict[str, str] = {
    Action.REPORT: "上报",
    Action.SEND_VERIFY: "派发核实",
    Action.VERIFY: "核实回复",
    Action.REGISTER: "立案",
    Action.REJECT: "不予立案",
    Action.MERGE: "合并",
    Action.APPROVE_SELF_HANDLING: "自处理审核通过",
    Action.REFUSE_SELF_HANDLING: "自处理审核不通过",
    Action.DISPATCH: "派遣",
    Action.HANDLE: "处置反馈",
    Action.SEND_CHECK: "派发核查",
    Action.CHECK_PASS: "核查通过",
    Action.REWORK: "核查不通过（返工）",
    Action.CLOSE: "结案",
    Action.REQUEST_RETURN: "申请回退",
    Action.APPROVE_RETURN: "同意回退",
    Action.REFUSE_RETURN: "驳回回退",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.APPROVE_EXTENSION: "同意延期",
    Action.REFUSE_EXTENSION: "驳回延期",
    Action.REQUEST_SUSPENSION: "申请挂账",
    Action.APPROVE_SUSPENSION: "同意挂账",
    Action.REFUSE_SUSPENSION: "驳回挂账",
    Action.RESUME: "挂账恢复",
    Action.VOID: "作废",
    Action.SUPERVISE: "督办",
    Action.UNSUPERVISE: "取消督办",
    Action.RATE: "满意度评价",
    Action.WARN: "超时预警",
}


class Scope(StrEnum):
    """Whose cases an actor may act on."""

    REGION = "region"  # cases inside the actor's regions (the whole city for center roles without regions)
    DEPARTMENT = "department"  # cases currently with one of the actor's departments
    ASSIGNEE = "assignee"  # the inspector the task was sent to (or any inspector of the region when unassigned)
    REPORTER = "reporter"  # the citizen who reported it
    SYSTEM = "system"  # the sweeper and other internal jobs


class Guard(StrEnum):
    """Extra conditions beyond the status, checked by ``case_transition``."""

    SELF_HANDLED = "self_handled"
    CHECK_PASSED = "check_passed"
    NOT_CHECK_PASSED = "not_check_passed"
    PENDING_RETURN = "pending_return"
    PENDING_EXTENSION = "pending_extension"
    PENDING_SUSPENSION = "pending_suspension"
    NO_PENDING_REQUEST = "no_pending_request"
    NOT_SUPERVISED = "not_supervised"
    SUPERVISED = "supervised"
    NOT_RATED = "not_rated"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[CaseStatus]
    target: CaseStatus | None
    roles: frozenset[Role]
    scope: Scope
    guards: tuple[Guard, ...] = ()


def _t(action: Action, sources: set[CaseStatus] | frozenset[CaseStatus], target: CaseStatus | None,
       roles: set[Role], scope: Scope, *guards: Guard) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles), scope, guards)


S = CaseStatus
R = Role
CENTER = {R.OPERATOR, R.SHIFT_LEADER}
HANDLING = {S.DISPATCHED}

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in [
        _t(Action.SEND_VERIFY, {S.REPORTED}, S.VERIFYING, CENTER, Scope.REGION, Guard.NO_PENDING_REQUEST),
        _t(Action.VERIFY, {S.VERIFYING}, S.REPORTED, {R.INSPECTOR}, Scope.ASSIGNEE),
        _t(Action.REGISTER, {S.REPORTED}, S.REGISTERED, CENTER, Scope.REGION),
        _t(Action.REJECT, {S.REPORTED}, S.REJECTED, CENTER, Scope.REGION),
        _t(Action.MERGE, {S.REPORTED}, S.MERGED, CENTER, Scope.REGION),
        _t(Action.APPROVE_SELF_HANDLING, {S.REPORTED}, S.CLOSED, CENTER, Scope.REGION, Guard.SELF_HANDLED),
        _t(Action.REFUSE_SELF_HANDLING, {S.REPORTED}, None, CENTER, Scope.REGION, Guard.SELF_HANDLED),
        _t(Action.DISPATCH, {S.REGISTERED}, S.DISPATCHED, {R.DISPATCHER}, Scope.REGION),
        # A pending return/extension/suspension request is decided first: the request and the handling cannot
        # both stand (whichever commits first wins; the other is refused), so no case closes with one pending.
        _t(Action.HANDLE, HANDLING, S.HANDLED, {R.HANDLER}, Scope.DEPARTMENT, Guard.NO_PENDING_REQUEST),
        _t(Action.SEND_CHECK, {S.HANDLED}, S.CHECKING, CENTER, Scope.REGION),
        _t(Action.CHECK_PASS, {S.CHECKING}, None, {R.INSPECTOR}, Scope.ASSIGNEE, Guard.NOT_CHECK_PASSED),
        _t(Action.REWORK, {S.CHECKING}, S.DISPATCHED, {R.INSPECTOR}, Scope.ASSIGNEE, Guard.NOT_CHECK_PASSED),
        _t(Action.CLOSE, {S.CHECKING}, S.CLOSED, {R.SHIFT_LEADER}, Scope.REGION, Guard.CHECK_PASSED,
           Guard.NO_PENDING_REQUEST),
        _t(Action.REQUEST_RETURN, HANDLING, None, {R.HANDLER}, Scope.DEPARTMENT, Guard.NO_PENDING_REQUEST),
        _t(Action.APPROVE_RETURN, HANDLING, S.REGISTERED, {R.DISPATCHER}, Scope.REGION, Guard.PENDING_RETURN),
        _t(Action.REFUSE_RETURN, HANDLING, None, {R.DISPATCHER}, Scope.REGION, Guard.PENDING_RETURN),
        _t(Action.REQUEST_EXTENSION, HANDLING, None, {R.HANDLER}, Scope.DEPARTMENT, Guard.NO_PENDING_REQUEST),
        _t(Action.APPROVE_EXTENSION, HANDLING, None, {R.DISPATCHER}, Scope.REGION, Guard.PENDING_EXTENSION),
        _t(Action.REFUSE_EXTENSION, HANDLING, None, {R.DISPATCHER}, Scope.REGION, Guard.PENDING_EXTENSION),
        _t(Action.REQUEST_SUSPENSION, HANDLING, None, {R.HANDLER}, Scope.DEPARTMENT, Guard.NO_PENDING_REQUEST),
        _t(Action.APPROVE_SUSPENSION, HANDLING, S.SUSPENDED, {R.DISPATCHER}, Scope.REGION, Guard.PENDING_SUSPENSION),
        _t(Action.REFUSE_SUSPENSION, HANDLING, None, {R.DISPATCHER}, Scope.REGION, Guard.PENDING_SUSPENSION),
        _t(Action.RESUME, {S.SUSPENDED}, S.DISPATCHED, {R.DISPATCHER}, Scope.REGION),
        _t(Action.VOID, {S.REGISTERED, S.DISPATCHED, S.SUSPENDED}, S.VOIDED, {R.SHIFT_LEADER}, Scope.REGION,
           Guard.NO_PENDING_REQUEST),
        _t(Action.SUPERVISE, OPEN_STATUSES, None, {R.LEADER}, Scope.REGION, Guard.NOT_SUPERVISED),
        _t(Action.UNSUPERVISE, OPEN_STATUSES, None, {R.LEADER}, Scope.REGION, Guard.SUPERVISED),
        _t(Action.RATE, {S.CLOSED}, None, {R.CITIZEN}, Scope.REPORTER, Guard.NOT_RATED),
        _t(Action.WARN, OPEN_STATUSES, None, set(), Scope.SYSTEM),
    ]
}


def transition_for(action: Action | str) -> Transition:
    return TRANSITIONS[Action(action)]
