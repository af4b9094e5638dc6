"""Deployment check: no account may keep a password that was published (the demo's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db import DatabaseError, connection


def check_published_passwords(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
                              ) -> list[checks.CheckMessage]:
    """cityloop.W002: accounts still use a published password (the demo city's ``Demo@2026``)."""
    from cityloop.accounts.models import PublishedPassword
    from cityloop.accounts.selectors import users_with_published_password

    try:
        if PublishedPassword._meta.db_table not in connection.introspection.table_names():
            return []
        users = users_with_published_password()
    except DatabaseError:
        return []
    if not users:
        return []
    names = "、".join(user.get_username() for user in users)
    return [checks.Warning(
        f"{len(users)} 个账号仍在使用公开过的密码（演示账号的密码印在 README 和终端里）：{names}",
        hint="上线前删除演示账号，或在管理后台 → 用户 中逐个修改密码。",
        id="cityloop.W002",
    )]
