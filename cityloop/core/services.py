"""Services that change the working calendar; every change resets the cached calendar after commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from django.db import transaction

from cityloop.core.errors import NotFound, ValidationFailed
from cityloop.core.models import CalendarDay, WorkingPeriod
from cityloop.core.workcal import reset_calendar_cache, validate_periods

_NOTE_MAX = CalendarDay._meta.get_field("note").max_length or 100


def _reset_after_commit() -> None:
    transaction.on_commit(reset_calendar_cache)


def calendar_day_set(*, day: date, is_workday: bool, note: str = "") -> CalendarDay:
    """Enter an override for one date: a holiday (节假日, ``is_workday=False``) or a make-up working day (调休上班)."""
    note = (note or "").strip()
    if len(note) > _NOTE_MAX:
        raise ValidationFailed(f"说明不能超过 {_NOTE_MAX} 个字", field="note")
    with transaction.atomic():
        obj, _created = CalendarDay.objects.update_or_create(
            date=day, defaults={"is_workday": bool(is_workday), "note": note}
        )
        _reset_after_commit()
    return obj


def calendar_day_delete(*, day: date) -> bool:
    """Remove the override for ``day`` (the official calendar applies again); ``False`` when there was none."""
    with transaction.atomic():
        deleted, _ = CalendarDay.objects.filter(date=day).delete()
        if deleted:
            _reset_after_commit()
    return bool(deleted)


def _check_periods(periods: Iterable[tuple[time, time]]) -> None:
    try:
        validate_periods(periods)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="periods") from exc


def working_period_set(*, start: time, end: time, period_id: int | None = None) -> WorkingPeriod:
    """Create a working period (工作时段), or change the one with ``period_id``; it must not overlap the others."""
    with transaction.atomic():
        others = WorkingPeriod.objects.select_for_update()
        if period_id is not None:
            others = others.exclude(pk=period_id)
        _check_periods([*others.values_list("start", "end"), (start, end)])
        if period_id is None:
            period = WorkingPeriod.objects.create(start=start, end=end)
        else:
            try:
                period = WorkingPeriod.objects.select_for_update().get(pk=period_id)
            except WorkingPeriod.DoesNotExist as exc:
                raise NotFound("工作时段不存在") from exc
            period.start, period.end = start, end
            period.save(update_fields=["start", "end"])
        _reset_after_commit()
    return period


def working_period_delete(*, period_id: int) -> None:
    """Delete a working period; with none left, the default periods from settings apply."""
    with transaction.atomic():
        deleted, _ = WorkingPeriod.objects.filter(pk=period_id).delete()
        if not deleted:
            raise NotFound("工作时段不存在")
        _reset_after_commit()


def working_periods_replace(*, periods: Iterable[tuple[time, time]]) -> list[WorkingPeriod]:
    """Replace all working periods at once (e.g. summer/winter hours); an empty list restores the settings default."""
    wanted = list(periods)
    if wanted:
        _check_periods(wanted)
    with transaction.atomic():
        WorkingPeriod.objects.all().delete()
        created = WorkingPeriod.objects.bulk_create(WorkingPeriod(start=s, end=e) for s, e in sorted(wanted))
        _reset_after_commit()
    return created
