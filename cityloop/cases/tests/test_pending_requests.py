"""A department's pending request (return, extension, suspension) and its handling cannot both stand (#19 item
6): asked first, the request waits for the dispatcher and the handling is refused; handled first, the request is
refused. No case is checked, closed or voided with a request pending."""

from __future__ import annotations

import pytest

from cityloop.cases import services
from cityloop.cases.errors import InvalidTransition
from cityloop.cases.models import ApprovalRequest, ApprovalState
from cityloop.cases.statuses import CaseStatus

from .conftest import at

pytestmark = pytest.mark.django_db


def test_with_a_request_pending_the_handling_is_refused_until_the_dispatcher_decides(handling, people):
    services.case_request(case=handling, actor=people.handler_a, kind="suspension", reason="需列入改造计划",
                          at=at(2026, 3, 2, 9, 30))

    with pytest.raises(InvalidTransition, match="还有待审批的申请"):
        services.case_handle(case=handling, actor=people.handler_a, note="已更换", at=at(2026, 3, 2, 9, 40))
    with pytest.raises(InvalidTransition, match="还有待审批的申请"):
        services.case_void(case=handling, actor=people.shift_leader, note="重复", at=at(2026, 3, 2, 9, 45))

    handling.refresh_from_db()
    assert handling.status == CaseStatus.DISPATCHED and handling.pending_request == "suspension"
    services.case_decide(case=handling, actor=people.dispatcher, approve=False, note="请先处置",
                         at=at(2026, 3, 2, 10, 0))
    handled = services.case_handle(case=handling, actor=people.handler_a, note="已更换", at=at(2026, 3, 2, 10, 30))
    assert handled.status == CaseStatus.HANDLED
    assert not ApprovalRequest.objects.filter(case=handling, state=ApprovalState.PENDING).exists()


def test_once_handled_a_request_is_refused(handling, people):
    services.case_handle(case=handling, actor=people.handler_a, note="已更换", at=at(2026, 3, 2, 9, 40))

    with pytest.raises(InvalidTransition):
        services.case_request(case=handling, actor=people.handler_a, kind="return", reason="非本单位",
                              at=at(2026, 3, 2, 9, 50))
    assert not ApprovalRequest.objects.filter(case=handling).exists()
