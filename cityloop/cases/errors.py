"""Typed errors of the case workflow."""

from cityloop.core.errors import Conflict, PermissionDenied


class InvalidTransition(Conflict):
    """The action is not allowed in the case's current status (often: someone else acted first)."""

    code = "invalid_transition"


class StaleCase(Conflict):
    """The case changed since the actor loaded it."""

    code = "stale_case"


class ActionForbidden(PermissionDenied):
    """The actor's role may not take this action, or the case lies outside the actor's scope."""

    code = "forbidden"
