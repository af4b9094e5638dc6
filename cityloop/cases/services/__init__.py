"""The closed loop's writes.

``case_report`` (``reporting``) turns any channel's input into a case; ``case_transition`` (``workflow``) is
the one guarded function through which every later state change goes: it locks the case row, checks the
transition table, the actor's role and scope and the action's guards, applies the action's effect
(``effects``), writes the event in the same transaction and schedules notifications after commit. The
``case_<verb>`` functions (``actions``) are typed conveniences over it that the pages, the API and the
CLI call.
"""

from cityloop.cases.services import effects as _effects  # noqa: F401  (registers every action's effect)
from cityloop.cases.services.actions import (
    case_check,
    case_close,
    case_decide,
    case_dispatch,
    case_handle,
    case_merge,
    case_rate,
    case_register,
    case_reject,
    case_request,
    case_resume,
    case_review_self_handling,
    case_send_check,
    case_send_verify,
    case_supervise,
    case_verify,
    case_void,
)
from cityloop.cases.services.reporting import ReportResult, case_report, duplicate_candidates
from cityloop.cases.services.workflow import (
    allowed_actions,
    case_transition,
    department_users,
    send_notification,
    users_covering,
)

__all__ = [
    "ReportResult",
    "allowed_actions",
    "case_check",
    "case_close",
    "case_decide",
    "case_dispatch",
    "case_handle",
    "case_merge",
    "case_rate",
    "case_register",
    "case_reject",
    "case_report",
    "case_request",
    "case_resume",
    "case_review_self_handling",
    "case_send_check",
    "case_send_verify",
    "case_supervise",
    "case_transition",
    "case_verify",
    "case_void",
    "department_users",
    "duplicate_candidates",
    "send_notification",
    "users_covering",
]
