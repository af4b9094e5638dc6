"""Reads about users: what part of the city a user may see and act in."""

from __future__ import annotations

from cityloop.accounts.models import Role, User
from cityloop.geo.models import Region

#: Roles whose empty region scope means the whole city.
CITYWIDE_ROLES = {Role.OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.LEADER, Role.ADMIN}


def user_region_codes(user: User) -> list[str] | None:
    """Codes of the regions ``user`` is scoped to; ``None`` means the whole city."""
    codes = list(user.regions.values_list("code", flat=True))
    if not codes and (user.role in CITYWIDE_ROLES or user.is_superuser):
        return None
    return codes


def user_covers_region(user: User, region: Region | None) -> bool:
    """True when ``region`` lies inside the user's region scope (region codes nest by prefix)."""
    codes = user_region_codes(user)
    if codes is None:
        return True
    if region is None:
        return False
    return any(region.code.startswith(_nesting_prefix(code)) for code in codes)


def _nesting_prefix(code: str) -> str:
    """The prefix every region inside ``code`` starts with: a city 370100 holds 3701xx, a district 370102 itself."""
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def user_department_ids(user: User) -> set[int]:
    return set(user.departments.values_list("id", flat=True))
