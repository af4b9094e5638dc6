"""The working calendar: deadlines (时限) in working time, holidays, admin overrides and unknown years."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from django.contrib import admin
from django.core import checks as django_checks
from django.db import OperationalError, connection
from django.urls import path, reverse
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cityloop.core import checks, services, workcal
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import NotFound, ValidationFailed
from cityloop.core.models import CalendarDay, WorkingPeriod
from cityloop.core.workcal import WorkingCalendar, get_calendar, reset_calendar_cache

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
DEFAULT_PERIODS = [(time(8, 30), time(12, 0)), (time(13, 30), time(17, 30))]

# The admin tests use only the admin's URLs, so they don't depend on the other apps' pages.
urlpatterns = [path("admin/", admin.site.urls)]
admin_urls = pytest.mark.urls(__name__)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar(DEFAULT_PERIODS)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    reset_calendar_cache()
    yield
    reset_calendar_cache()


def official_workday(d: date) -> bool:
    """Independent oracle: the package for the years it knows, Monday–Friday otherwise."""
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return d.weekday() < 5


# --- concrete deadlines -------------------------------------------------------------------------


def test_dates_used_below_are_what_the_tests_assume():
    # 2026-03-06 is an ordinary Friday, 2026-03-09 an ordinary Monday, 2026-03-10 an ordinary Tuesday.
    assert date(2026, 3, 6).weekday() == 4
    assert chinese_calendar.is_workday(date(2026, 3, 6))
    assert not chinese_calendar.is_workday(date(2026, 3, 7))
    assert not chinese_calendar.is_workday(date(2026, 3, 8))
    assert chinese_calendar.is_workday(date(2026, 3, 9))
    assert chinese_calendar.is_workday(date(2026, 3, 10))
    # 2026 National Day: 10-01..10-07 off; Sunday 09-20 and Saturday 10-10 are make-up working days (调休).
    for day in range(1, 8):
        assert chinese_calendar.get_holiday_detail(date(2026, 10, day)) == (True, "National Day")
    assert date(2026, 9, 20).weekday() == 6
    assert chinese_calendar.get_holiday_detail(date(2026, 9, 20)) == (False, "National Day")
    assert date(2026, 10, 10).weekday() == 5
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 10)) == (False, "National Day")
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 9))


def test_four_working_hours_from_friday_afternoon_end_monday_morning(cal):
    # Friday 16:00–17:30 gives 1.5 h, Monday 08:30 + 2.5 h.
    assert cal.add_working_time(sh(2026, 3, 6, 16, 0), 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 9, 11, 0)


def test_one_working_day_is_one_days_periods(cal):
    assert cal.day_length == timedelta(hours=7, minutes=30)
    assert cal.add_working_time(sh(2026, 3, 9, 10, 0), 1, TimeUnit.WORK_DAY) == sh(2026, 3, 10, 10, 0)
    assert cal.add_working_time(sh(2026, 3, 6, 16, 0), 2, "work_day") == sh(2026, 3, 10, 16, 0)
    assert cal.add_working_time(sh(2026, 3, 9, 8, 30), 1, "工作日") == sh(2026, 3, 9, 17, 30)


def test_deadline_across_national_day_skips_holiday_and_counts_make_up_saturday(cal):
    # Wed 09-30 16:00: 1.5 h; 10-01..10-07 off; Thu 10-08 and Fri 10-09 7.5 h each; Sat 10-10 (调休) 6 h.
    deadline = cal.add_working_time(sh(2026, 9, 30, 16, 0), 3, TimeUnit.WORK_DAY)
    assert deadline == sh(2026, 10, 10, 16, 0)
    assert cal.working_time_between(sh(2026, 9, 30, 12, 0), sh(2026, 10, 8, 12, 0)) == timedelta(
        hours=7, minutes=30
    )
    # 8 工作时 from Wed 16:00 land on Thu 10-08 after the holiday, not on a holiday day.
    assert cal.add_working_time(sh(2026, 9, 30, 16, 0), 8, TimeUnit.WORK_HOUR) == sh(2026, 10, 8, 16, 30)


def test_make_up_sunday_before_national_day_is_a_working_day(cal):
    assert cal.is_workday(date(2026, 9, 20))
    assert not cal.is_workday(date(2026, 9, 19))
    # Friday 09-18 16:00 + 4 工作时: Saturday off, Sunday 09-20 is a make-up working day.
    assert cal.add_working_time(sh(2026, 9, 18, 16, 0), 4, TimeUnit.WORK_HOUR) == sh(2026, 9, 20, 11, 0)


def test_start_outside_working_time_counts_from_next_period(cal):
    assert cal.add_working_time(sh(2026, 3, 7, 20, 0), 1, TimeUnit.WORK_HOUR) == sh(2026, 3, 9, 9, 30)
    assert cal.add_working_time(sh(2026, 3, 9, 12, 30), 1, TimeUnit.WORK_HOUR) == sh(2026, 3, 9, 14, 30)
    assert cal.add_working_time(sh(2026, 3, 9, 6, 0), Decimal("0.5"), TimeUnit.WORK_HOUR) == sh(
        2026, 3, 9, 9, 0
    )
    assert cal.add_working_time(sh(2026, 3, 9, 18, 0), 1, TimeUnit.WORK_HOUR) == sh(2026, 3, 10, 9, 30)


def test_deadline_at_end_of_period_stays_there(cal):
    assert cal.add_working_time(sh(2026, 3, 9, 8, 30), Decimal("3.5"), TimeUnit.WORK_HOUR) == sh(
        2026, 3, 9, 12, 0
    )
    assert cal.add_working_time(sh(2026, 3, 6, 13, 30), 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 6, 17, 30)


def test_fractional_and_float_amounts(cal):
    assert cal.add_working_time(sh(2026, 3, 9, 9, 0), 0.1, TimeUnit.WORK_HOUR) == sh(2026, 3, 9, 9, 6)
    assert cal.add_working_time(sh(2026, 3, 9, 9, 0), Decimal("0.5"), TimeUnit.WORK_DAY) == sh(
        2026, 3, 9, 14, 15
    )


def test_zero_amount_returns_start_in_shanghai(cal):
    start = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    result = cal.add_working_time(start, 0, TimeUnit.WORK_HOUR)
    assert result == start
    assert result.tzinfo == SH
    assert result.hour == 20


def test_natural_hours_and_days_ignore_the_calendar(cal):
    start = sh(2026, 10, 2, 10, 0)  # a National Day holiday
    assert cal.add_working_time(start, 24, TimeUnit.HOUR) == sh(2026, 10, 3, 10, 0)
    assert cal.add_working_time(start, Decimal("1.5"), TimeUnit.DAY) == sh(2026, 10, 3, 22, 0)
    assert cal.add_working_time(start, 3, "天") == sh(2026, 10, 5, 10, 0)


def test_other_timezone_input_is_computed_in_shanghai(cal):
    start = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)  # Friday 16:00 in Shanghai
    result = cal.add_working_time(start, 4, TimeUnit.WORK_HOUR)
    assert result == sh(2026, 3, 9, 11, 0)
    assert result.tzinfo == SH
    assert result.utcoffset() == timedelta(hours=8)


def test_admin_override_turning_a_weekday_into_a_holiday_moves_the_deadline():
    holiday = WorkingCalendar(DEFAULT_PERIODS, {date(2026, 3, 9): False})
    assert not holiday.is_workday(date(2026, 3, 9))
    assert holiday.add_working_time(sh(2026, 3, 6, 16, 0), 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 10, 11, 0)
    make_up = WorkingCalendar(DEFAULT_PERIODS, {date(2026, 3, 7): True})
    assert make_up.add_working_time(sh(2026, 3, 6, 16, 0), 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 7, 11, 0)


def test_override_wins_over_the_package_in_a_known_year():
    cal = WorkingCalendar(DEFAULT_PERIODS, {date(2026, 10, 1): True, date(2026, 10, 10): False})
    assert cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 10))


def test_unknown_year_falls_back_to_weekends_without_raising(cal):
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))
    assert cal.is_workday(date(2027, 1, 1))  # a Friday: no holiday data, so a working day
    assert not cal.is_workday(date(2028, 1, 1))  # a Saturday
    assert not cal.is_workday(date(2028, 1, 2))
    assert cal.is_workday(date(2028, 1, 3))
    assert cal.add_working_time(sh(2027, 1, 8, 16, 0), 4, TimeUnit.WORK_HOUR) == sh(2027, 1, 11, 11, 0)
    assert cal.add_working_time(sh(2026, 12, 31, 16, 0), 2, TimeUnit.WORK_DAY) == sh(2027, 1, 4, 16, 0)
    for d in (date.min, date(2003, 12, 31), date(2100, 6, 7), date.max):
        assert cal.is_workday(d) == (d.weekday() < 5)


def test_is_workday_is_cached(cal, monkeypatch):
    calls: list[date] = []
    real = chinese_calendar.is_workday

    def counting(d: date) -> bool:
        calls.append(d)
        return real(d)

    monkeypatch.setattr(workcal.chinese_calendar, "is_workday", counting)
    for _ in range(3):
        cal.add_working_time(sh(2026, 3, 2, 9, 0), 20, TimeUnit.WORK_DAY)
    assert len(calls) == len(set(calls))
    assert date(2026, 3, 9) in calls


def test_working_time_between(cal):
    assert cal.working_time_between(sh(2026, 3, 9, 10, 0), sh(2026, 3, 9, 9, 0)) == timedelta(0)
    assert cal.working_time_between(sh(2026, 3, 9, 10, 0), sh(2026, 3, 9, 10, 0)) == timedelta(0)
    assert cal.working_time_between(sh(2026, 3, 9, 11, 0), sh(2026, 3, 9, 14, 0)) == timedelta(
        hours=1, minutes=30
    )
    assert cal.working_time_between(sh(2026, 3, 6, 16, 0), sh(2026, 3, 9, 11, 0)) == timedelta(hours=4)
    assert cal.working_time_between(sh(2026, 3, 7, 0, 0), sh(2026, 3, 9, 0, 0)) == timedelta(0)
    # a whole ordinary week: 5 × 7.5 h
    assert cal.working_time_between(sh(2026, 3, 9), sh(2026, 3, 16)) == timedelta(hours=37, minutes=30)


def test_invalid_input_is_rejected(cal):
    with pytest.raises(ValueError, match="时区"):
        cal.add_working_time(datetime(2026, 3, 9, 9, 0), 1, TimeUnit.WORK_HOUR)
    with pytest.raises(ValueError, match="时区"):
        cal.working_time_between(datetime(2026, 3, 9, 9, 0), sh(2026, 3, 9, 10, 0))
    with pytest.raises(ValueError, match="负数"):
        cal.add_working_time(sh(2026, 3, 9, 9, 0), -1, TimeUnit.WORK_HOUR)
    with pytest.raises(ValueError, match="负数"):
        cal.add_working_time(sh(2026, 3, 9, 9, 0), Decimal("-0.01"), TimeUnit.HOUR)
    with pytest.raises(ValueError, match="无效"):
        cal.add_working_time(sh(2026, 3, 9, 9, 0), float("nan"), TimeUnit.WORK_HOUR)
    with pytest.raises(ValueError, match="单位"):
        cal.add_working_time(sh(2026, 3, 9, 9, 0), 1, "week")
    with pytest.raises(ValueError, match="超出"):
        cal.add_working_time(sh(2026, 3, 9, 9, 0), 10**9, TimeUnit.DAY)


def test_periods_must_not_overlap():
    with pytest.raises(ValueError, match="重叠"):
        WorkingCalendar([("08:30", "12:00"), ("11:00", "17:00")])
    with pytest.raises(ValueError, match="晚于"):
        WorkingCalendar([("12:00", "08:30")])
    with pytest.raises(ValueError, match="至少"):
        WorkingCalendar([])
    unsorted = WorkingCalendar([("13:30", "17:30"), ("08:30", "12:00")])
    assert unsorted.periods == tuple(DEFAULT_PERIODS)


def test_unknown_years_lists_years_without_package_data_or_overrides(cal):
    assert cal.unknown_years([2024, 2025, 2026, 2027, 2028, 2027]) == [2027, 2028]
    entered = WorkingCalendar(DEFAULT_PERIODS, {date(2027, 1, 1): False})
    assert entered.unknown_years([2026, 2027, 2028]) == [2028]


# --- properties -------------------------------------------------------------------------------

PERIOD_SETS = [
    DEFAULT_PERIODS,
    [(time(9, 0), time(12, 0)), (time(14, 0), time(18, 0))],
    [(time(0, 0), time(23, 59, 59, 999999))],
    [(time(7, 15, 30), time(9, 0)), (time(9, 0), time(11, 45)), (time(19, 0), time(21, 30))],
]
CALENDARS = [WorkingCalendar(p) for p in PERIOD_SETS]

starts = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([SH, UTC, NY]),
)
working_units = st.sampled_from([TimeUnit.WORK_HOUR, TimeUnit.WORK_DAY])
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("60"), places=2)
calendars = st.sampled_from(CALENDARS)


def expected_duration(cal: WorkingCalendar, amount: Decimal, unit: TimeUnit) -> timedelta:
    """The amount as a timedelta, rounded half up to the microsecond (only the 23:59:59.999999 period rounds)."""
    per_unit_us = 3_600_000_000 if unit == TimeUnit.WORK_HOUR else cal.day_length // timedelta(microseconds=1)
    return timedelta(microseconds=int((amount * per_unit_us).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def in_a_period(cal: WorkingCalendar, local: datetime) -> bool:
    t = local.time()
    return any(start <= t <= end for start, end in cal.periods)


@hsettings(max_examples=300, deadline=None)
@given(cal=calendars, start=starts, amount=amounts, unit=working_units)
def test_property_deadline_is_exactly_the_amount_of_working_time(cal, start, amount, unit):
    deadline = cal.add_working_time(start, amount, unit)
    wanted = expected_duration(cal, amount, unit)
    assert cal.working_time_between(start, deadline) == wanted
    # the earliest such instant: one microsecond earlier is not enough
    assert cal.working_time_between(start, deadline - timedelta(microseconds=1)) < wanted
    assert deadline > start
    assert deadline.tzinfo == SH
    assert deadline.utcoffset() == timedelta(hours=8)
    local = deadline.astimezone(SH)
    assert official_workday(local.date())
    assert in_a_period(cal, local)
    assert cal.is_working_time(deadline)


@hsettings(max_examples=200, deadline=None)
@given(cal=calendars, start=starts, a=amounts, b=amounts, unit=working_units)
def test_property_larger_amount_gives_later_or_equal_deadline(cal, start, a, b, unit):
    small, large = sorted((a, b))
    assert cal.add_working_time(start, small, unit) <= cal.add_working_time(start, large, unit)


@hsettings(max_examples=200, deadline=None)
@given(
    cal=calendars,
    a=starts,
    gaps=st.tuples(
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    ),
)
def test_property_working_time_between_is_additive_and_bounded(cal, a, gaps):
    b = a.astimezone(UTC) + gaps[0]  # elapsed time (wall-clock arithmetic in New York would jump at DST)
    c = (b + gaps[1]).astimezone(SH)
    ab, bc, ac = (
        cal.working_time_between(a, b),
        cal.working_time_between(b, c),
        cal.working_time_between(a, c),
    )
    assert ab + bc == ac
    assert timedelta(0) <= ac <= c - a
    assert cal.working_time_between(c, a) == timedelta(0)


@hsettings(max_examples=200, deadline=None)
@given(start=starts, amount=st.decimals(min_value=0, max_value=1000, places=2))
def test_property_natural_hours_are_elapsed_time(start, amount):
    cal = CALENDARS[0]
    result = cal.add_working_time(start, amount, TimeUnit.HOUR)
    assert result - start == timedelta(microseconds=int(amount * 3_600_000_000))
    assert result.tzinfo == SH


@hsettings(max_examples=300, deadline=None)
@given(d=st.dates())
def test_property_is_workday_never_raises_and_matches_the_oracle(d):
    assert CALENDARS[0].is_workday(d) == official_workday(d)


# --- the installation's calendar (database) -----------------------------------------------------


@pytest.mark.django_db
def test_get_calendar_uses_settings_default_then_database_periods():
    assert get_calendar().periods == tuple(DEFAULT_PERIODS)
    WorkingPeriod.objects.create(start=time(9, 0), end=time(12, 0))
    WorkingPeriod.objects.create(start=time(14, 0), end=time(17, 0))
    assert get_calendar().periods == tuple(DEFAULT_PERIODS)  # still cached
    reset_calendar_cache()
    cal = get_calendar()
    assert cal.periods == ((time(9, 0), time(12, 0)), (time(14, 0), time(17, 0)))
    assert cal.day_length == timedelta(hours=6)


@pytest.mark.django_db
def test_get_calendar_cache_expires_after_60_seconds(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(workcal, "monotonic", lambda: now[0])
    first = get_calendar()
    CalendarDay.objects.create(date=date(2026, 3, 9), is_workday=False)
    now[0] += 59
    assert get_calendar() is first
    assert first.is_workday(date(2026, 3, 9))
    now[0] += 2
    reloaded = get_calendar()
    assert reloaded is not first
    assert not reloaded.is_workday(date(2026, 3, 9))


@pytest.mark.django_db
def test_calendar_day_set_moves_deadline_after_commit(django_capture_on_commit_callbacks):
    start = sh(2026, 3, 6, 16, 0)
    assert get_calendar().add_working_time(start, 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 9, 11, 0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        day = services.calendar_day_set(day=date(2026, 3, 9), is_workday=False, note="临时停工")
    assert len(callbacks) == 1
    assert day.note == "临时停工"
    assert get_calendar().add_working_time(start, 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 10, 11, 0)

    with django_capture_on_commit_callbacks(execute=True):
        services.calendar_day_set(day=date(2026, 3, 9), is_workday=True)
    assert CalendarDay.objects.get().is_workday is True
    assert CalendarDay.objects.get().note == ""

    with django_capture_on_commit_callbacks(execute=True):
        assert services.calendar_day_delete(day=date(2026, 3, 9)) is True
    assert services.calendar_day_delete(day=date(2026, 3, 9)) is False
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_calendar_day_note_too_long_is_rejected():
    with pytest.raises(ValidationFailed, match="100"):
        services.calendar_day_set(day=date(2026, 3, 9), is_workday=False, note="长" * 101)
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_working_period_services(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        morning = services.working_period_set(start=time(9, 0), end=time(12, 0))
        services.working_period_set(start=time(13, 0), end=time(17, 0))
    assert get_calendar().day_length == timedelta(hours=7)
    with pytest.raises(ValidationFailed, match="重叠"):
        services.working_period_set(start=time(11, 0), end=time(14, 0))
    with django_capture_on_commit_callbacks(execute=True):
        services.working_period_set(start=time(8, 0), end=time(12, 0), period_id=morning.pk)
    assert get_calendar().day_length == timedelta(hours=8)
    with django_capture_on_commit_callbacks(execute=True):
        services.working_period_delete(period_id=morning.pk)
    assert get_calendar().day_length == timedelta(hours=4)
    with pytest.raises(NotFound):
        services.working_period_delete(period_id=morning.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.working_periods_replace(periods=[])
    assert get_calendar().periods == tuple(DEFAULT_PERIODS)


# --- system check and admin ---------------------------------------------------------------------


@pytest.mark.django_db
def test_system_check_warns_for_unknown_next_year_until_days_are_entered(monkeypatch):
    monkeypatch.setattr(checks, "_today", lambda: date(2026, 11, 23))
    warnings = checks.check_calendar_years()
    assert [w.id for w in warnings] == ["cityloop.W001"]
    assert "2027 年" in warnings[0].msg
    assert "调休" in warnings[0].msg
    assert "工作日历调整" in warnings[0].msg
    assert warnings[0].level == django_checks.WARNING
    # registered with Django's check framework as a deployment check (tag "cityloop"; untagged checks of other
    # apps are not run here): `check --deploy` reports it, every other command stays quiet
    assert "cityloop.W001" in [m.id for m in django_checks.run_checks(tags=["cityloop"], include_deployment_checks=True)]
    assert "cityloop.W001" not in [m.id for m in django_checks.run_checks(tags=["cityloop"])]

    services.calendar_day_set(day=date(2027, 1, 1), is_workday=False, note="元旦")
    assert checks.check_calendar_years() == []
    assert "cityloop.W001" not in [m.id for m in django_checks.run_checks(tags=["cityloop"], include_deployment_checks=True)]


@pytest.mark.django_db
def test_system_check_reports_both_years_when_both_unknown(monkeypatch):
    monkeypatch.setattr(checks, "_today", lambda: date(2027, 6, 1))
    assert [w.msg.split(" 年")[0] for w in checks.check_calendar_years()] == ["2027", "2028"]
    CalendarDay.objects.create(date=date(2027, 10, 1), is_workday=False)
    assert ["2028" in w.msg for w in checks.check_calendar_years()] == [True]


@pytest.mark.django_db
def test_system_check_is_silent_for_known_years(monkeypatch):
    monkeypatch.setattr(checks, "_today", lambda: date(2025, 5, 1))
    assert checks.check_calendar_years() == []


@pytest.mark.django_db
def test_system_check_skips_without_tables(monkeypatch):
    monkeypatch.setattr(checks, "_today", lambda: date(2026, 11, 23))
    monkeypatch.setattr(connection.introspection, "table_names", lambda *a, **k: [])
    assert checks.check_calendar_years() == []

    def broken(*args, **kwargs):
        raise OperationalError("no such table: core_calendarday")

    monkeypatch.setattr(connection.introspection, "table_names", broken)
    assert checks.check_calendar_years() == []


@admin_urls
@pytest.mark.django_db
def test_admin_changelist_warns_about_unknown_year(admin_client, monkeypatch):
    monkeypatch.setattr(checks, "_today", lambda: date(2026, 11, 23))
    response = admin_client.get(reverse("admin:core_calendarday_changelist"))
    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert texts == [workcal.unknown_year_message(2027)]

    CalendarDay.objects.create(date=date(2027, 1, 1), is_workday=False)
    response = admin_client.get(reverse("admin:core_calendarday_changelist"))
    assert [str(m) for m in response.context["messages"]] == []


@admin_urls
@pytest.mark.django_db
def test_admin_save_and_delete_reset_the_cache(admin_client, django_capture_on_commit_callbacks):
    start = sh(2026, 3, 6, 16, 0)
    assert get_calendar().add_working_time(start, 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 9, 11, 0)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:core_calendarday_add"), {"date": "2026-03-09", "is_workday": "", "note": "停水"}
        )
    assert response.status_code == 302, response.content
    day = CalendarDay.objects.get()
    assert get_calendar().add_working_time(start, 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 10, 11, 0)

    # moving the override to another date removes the old date
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:core_calendarday_change", args=[day.pk]),
            {"date": "2026-03-10", "is_workday": "", "note": "停水"},
        )
    assert response.status_code == 302
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [date(2026, 3, 10)]
    assert get_calendar().add_working_time(start, 4, TimeUnit.WORK_HOUR) == sh(2026, 3, 9, 11, 0)

    moved = CalendarDay.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:core_calendarday_delete", args=[moved.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not CalendarDay.objects.exists()
    assert get_calendar().is_workday(date(2026, 3, 10))


@admin_urls
@pytest.mark.django_db
def test_admin_rejects_overlapping_working_period(admin_client, django_capture_on_commit_callbacks):
    url = reverse("admin:core_workingperiod_add")
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, {"start": "09:00", "end": "12:00"}).status_code == 302
    assert get_calendar().periods == ((time(9, 0), time(12, 0)),)
    response = admin_client.post(url, {"start": "11:00", "end": "14:00"})
    assert response.status_code == 200
    assert "重叠" in response.content.decode()
    assert WorkingPeriod.objects.count() == 1
