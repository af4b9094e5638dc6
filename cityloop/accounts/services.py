"""Writes for users: creating them with a role and a scope."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from cityloop.accounts.models import Role, User
from cityloop.accounts.selectors import forget_scope
from cityloop.catalog.models import Department
from cityloop.core.errors import ValidationFailed
from cityloop.geo.models import Region

#: Roles that work for a handling unit and therefore need at least one department.
DEPARTMENT_ROLES = {Role.HANDLER}


@transaction.atomic
def user_upsert(
    *,
    username: str,
    role: Role | str,
    password: str | None = None,
    full_name: str = "",
    phone: str = "",
    regions: Iterable[Region] = (),
    departments: Iterable[Department] = (),
    is_staff: bool | None = None,
) -> User:
    """Create or update a user with ``role`` and scope (regions and/or departments).

    Admins get Django admin access; everybody else does not unless ``is_staff`` says so.
    ``full_name`` is split Chinese-style: the first character is the family name.
    """
    role = Role(role)
    region_list, department_list = list(regions), list(departments)
    if role in DEPARTMENT_ROLES and not department_list:
        raise ValidationFailed(f"{role.label}必须属于至少一个处置单位", field="departments")
    user, created = User.objects.get_or_create(username=username, defaults={"role": role})
    user.role = role
    user.last_name, user.first_name = (full_name[:1], full_name[1:]) if full_name else ("", "")
    user.phone = phone
    user.is_staff = (role == Role.ADMIN) if is_staff is None else is_staff
    user.is_superuser = role == Role.ADMIN
    if password is not None:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save()
    user.regions.set(region_list)
    user.departments.set(department_list)
    forget_scope(user)
    return user


def password_mark_published(*, user: User, note: str = "") -> None:
    """Record that ``user``'s current password was published (printed, written in a manual): until it is
    changed, the admin and the user are warned."""
    from cityloop.accounts.models import PublishedPassword

    PublishedPassword.objects.update_or_create(user=user, defaults={"password_hash": user.password, "note": note})
