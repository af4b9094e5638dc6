"""System checks of the core app."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db import DatabaseError, connection
from django.utils import timezone


def _today() -> date:
    return timezone.localdate()


def missing_calendar_years(today: date | None = None) -> list[int]:
    """This year and next year when the built-in holidays don't cover them and the admin entered no days.

    Returns ``[]`` when the database is not usable yet (no tables before ``migrate``, server down).
    """
    from cityloop.core.models import CalendarDay
    from cityloop.core.workcal import package_knows_year

    year = (today or _today()).year
    candidates = [y for y in (year, year + 1) if not package_knows_year(y)]
    if not candidates:
        return []
    try:
        if CalendarDay._meta.db_table not in connection.introspection.table_names():
            return []
        entered = set(
            CalendarDay.objects.filter(date__year__in=candidates)
            .values_list("date__year", flat=True)
            .distinct()
        )
    except DatabaseError:
        return []
    return [y for y in candidates if y not in entered]


def check_calendar_years(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """cityloop.W001: the working calendar does not know this year's or next year's holidays."""
    from cityloop.core.workcal import unknown_year_message

    return [
        checks.Warning(
            unknown_year_message(year),
            hint="管理后台 → 基础设施 → 工作日历调整：逐日录入放假日期（是否上班=否）和调休上班日期（是否上班=是）。",
            id="cityloop.W001",
        )
        for year in missing_calendar_years()
    ]
