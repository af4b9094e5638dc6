"""Reads about users: what part of the city a user may see and act in."""

from __future__ import annotations

from cityloop.accounts.models import Role, User
from cityloop.geo.models import Region

_UNSET = object()

#: Roles whose empty region scope means the whole city.
CITYWIDE_ROLES = {Role.OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.LEADER, Role.ADMIN}


def user_region_codes(user: User) -> list[str] | None:
    """Codes of the regions ``user`` is scoped to; ``None`` means the whole city.

    Remembered on the user object for its lifetime (one request or one job), so repeated scope checks
    cost no queries; ``user_upsert`` forgets it when it changes the scope.
    """
    cached = user.__dict__.get("_region_codes", _UNSET)
    if cached is not _UNSET:
        return cached
    codes: list[str] | None = list(user.regions.values_list("code", flat=True))
    if not codes and (user.role in CITYWIDE_ROLES or user.is_superuser):
        codes = None
    user.__dict__["_region_codes"] = codes
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
    """Ids of the user's departments, remembered on the user object like ``user_region_codes``."""
    cached = user.__dict__.get("_department_ids")
    if cached is None:
        cached = set(user.departments.values_list("id", flat=True))
        user.__dict__["_department_ids"] = cached
    return cached


def forget_scope(user: User) -> None:
    """Drop the remembered scope after the user's regions or departments changed."""
    user.__dict__.pop("_region_codes", None)
    user.__dict__.pop("_department_ids", None)


def users_with_published_password() -> list[User]:
    """Active accounts whose password is still the one that was published (e.g. the demo's)."""
    from django.db.models import F

    return list(User.objects.filter(is_active=True, published_password__password_hash=F("password"))
                .order_by("username"))
