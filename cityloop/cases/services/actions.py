"""Typed conveniences over ``case_transition`` that the pages, the API and the CLI call."""


from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from cityloop.accounts.models import User
from cityloop.cases.errors import ActionForbidden, InvalidTransition
from cityloop.cases.models import (
    ApprovalKind,
    AttachmentKind,
    Case,
)
from cityloop.cases.services.reporting import PhotoInput
from cityloop.cases.services.workflow import case_transition
from cityloop.cases.statuses import (
    Action,
)
from cityloop.catalog.models import Department
from cityloop.core.choices import TimeUnit

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


