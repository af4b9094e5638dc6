"""The working calendar (工作日历): which days are working days and how time limits (时限) are counted.

``WorkingCalendar`` is pure: it gets its working periods and admin overrides from the caller and never
touches the database. ``get_calendar()`` builds one from the database and caches it in-process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from time import monotonic
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings

from cityloop.core.choices import TimeUnit

CACHE_SECONDS = 60.0

_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND
_US_PER_DAY = 24 * _US_PER_HOUR
_WORKING_UNITS = (TimeUnit.WORK_HOUR, TimeUnit.WORK_DAY)

PeriodInput = tuple[time | str, time | str]


@cache
def package_knows_year(year: int) -> bool:
    """Whether the chinese_calendar package has the official holidays (法定节假日) of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    except (ValueError, OverflowError):  # pragma: no cover - year outside date's range
        return False
    return True


def unknown_year_message(year: int) -> str:
    """The admin-facing warning for a year whose holidays are unknown (shared by the system check and admin)."""
    return (
        f"{year} 年的法定节假日和调休上班日尚未录入：内置节假日数据不含 {year} 年，"
        f"期限计算暂按周一至周五上班、周六周日休息处理。"
        f"请在“工作日历调整”中录入国务院公布的 {year} 年法定节假日和调休上班日。"
    )


def _parse_time(value: time | str) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("工作时段的时间不能带时区")
        return value
    try:
        return time.fromisoformat(value.strip())
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"无法识别的时间：{value!r}（应为 HH:MM）") from exc


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def validate_periods(periods: Iterable[PeriodInput]) -> list[tuple[time, time]]:
    """Parse and sort working periods (工作时段); raise ``ValueError`` (Chinese message) when empty or overlapping."""
    parsed = sorted((_parse_time(start), _parse_time(end)) for start, end in periods)
    if not parsed:
        raise ValueError("至少需要一个工作时段")
    for start, end in parsed:
        if end <= start:
            raise ValueError(f"工作时段 {start:%H:%M}–{end:%H:%M} 的结束时间必须晚于开始时间")
    for (s1, e1), (s2, e2) in zip(parsed, parsed[1:], strict=False):
        if s2 < e1:
            raise ValueError(f"工作时段 {s1:%H:%M}–{e1:%H:%M} 与 {s2:%H:%M}–{e2:%H:%M} 重叠")
    return parsed


def _to_decimal(amount: Decimal | float | int) -> Decimal:
    if isinstance(amount, bool):
        raise ValueError("时限数值无效")
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValueError(f"时限数值无效：{amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"时限数值无效：{amount!r}")
    if value < 0:
        raise ValueError(f"时限不能为负数：{amount}")
    return value


def _to_unit(unit: TimeUnit | str) -> TimeUnit:
    try:
        return TimeUnit(unit)
    except ValueError:
        for choice in TimeUnit:
            if choice.label == unit:
                return choice
    raise ValueError(f"未知的时限单位：{unit!r}")


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} 必须是 datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} 必须带时区（aware datetime）")


class WorkingCalendar:
    """Working days (工作日) and working periods (工作时段) of the city, with deadline arithmetic.

    A day is a working day by the admin override for that date, else by the official calendar of the
    chinese_calendar package, else (years the package does not know) Monday–Friday.
    """

    def __init__(
        self,
        periods: Iterable[PeriodInput],
        overrides: Mapping[date, bool] | None = None,
        *,
        tz: ZoneInfo | str | None = None,
    ) -> None:
        self._periods = tuple(validate_periods(periods))
        self._periods_us = tuple((_time_us(s), _time_us(e)) for s, e in self._periods)
        self._day_us = sum(e - s for s, e in self._periods_us)
        self._overrides = dict(overrides or {})
        self._override_years = frozenset(d.year for d in self._overrides)
        if tz is None:
            tz = settings.TIME_ZONE
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self._workday_cache: dict[date, bool] = {}

    def __repr__(self) -> str:
        periods = ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self._periods)
        return f"<WorkingCalendar [{periods}] overrides={len(self._overrides)} tz={self.tz.key}>"

    @property
    def periods(self) -> tuple[tuple[time, time], ...]:
        """The daily working periods, sorted."""
        return self._periods

    @property
    def day_length(self) -> timedelta:
        """Working time of one working day (1 工作日)."""
        return timedelta(microseconds=self._day_us)

    # --- working days -------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day (工作日); never raises for any date."""
        if isinstance(d, datetime):
            d = d.astimezone(self.tz).date() if d.tzinfo is not None else d.date()
        cached = self._workday_cache.get(d)
        if cached is not None:
            return cached
        result = self._overrides.get(d)
        if result is None:
            try:
                result = bool(chinese_calendar.is_workday(d))
            except NotImplementedError:
                result = d.weekday() < 5
        self._workday_cache[d] = result
        return result

    def unknown_years(self, years: Iterable[int]) -> list[int]:
        """Years the package does not know and for which the admin has entered no day (sorted, unique)."""
        return sorted({y for y in years if not package_knows_year(y) and y not in self._override_years})

    # --- deadlines ----------------------------------------------------------------------------

    def _local(self, value: datetime) -> tuple[date, int]:
        local = value.astimezone(self.tz)
        return local.date(), _time_us(local.time())

    def _at(self, d: date, us: int) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=self.tz) + timedelta(microseconds=us)

    def add_working_time(
        self, start: datetime, amount: Decimal | float | int, unit: TimeUnit | str
    ) -> datetime:
        """The deadline (截止时间) of a time limit of ``amount`` ``unit`` started at ``start``.

        Working units (工作时, 工作日) count only working periods on working days; 1 工作日 is one
        day's working periods. Natural units (小时, 天) are plain elapsed time.
        """
        _require_aware(start, "start")
        value = _to_decimal(amount)
        kind = _to_unit(unit)
        try:
            if kind == TimeUnit.HOUR:
                elapsed = timedelta(microseconds=int((value * _US_PER_HOUR).to_integral_value(ROUND_HALF_UP)))
                return (start.astimezone(ZoneInfo("UTC")) + elapsed).astimezone(self.tz)
            if kind == TimeUnit.DAY:
                elapsed = timedelta(microseconds=int((value * _US_PER_DAY).to_integral_value(ROUND_HALF_UP)))
                return start.astimezone(self.tz) + elapsed
            per_unit = _US_PER_HOUR if kind == TimeUnit.WORK_HOUR else self._day_us
            remaining = int((value * per_unit).to_integral_value(ROUND_HALF_UP))
            if remaining == 0:
                return start.astimezone(self.tz)
            return self._advance(start, remaining)
        except OverflowError as exc:
            raise ValueError("时限过长，截止时间超出可表示的日期范围") from exc

    def _advance(self, start: datetime, remaining: int) -> datetime:
        day, now_us = self._local(start)
        one_day = timedelta(days=1)
        while True:
            if self.is_workday(day):
                if now_us == 0 and remaining > self._day_us:
                    remaining -= self._day_us
                else:
                    for p_start, p_end in self._periods_us:
                        if now_us >= p_end:
                            continue
                        begin = max(now_us, p_start)
                        available = p_end - begin
                        if remaining <= available:
                            return self._at(day, begin + remaining)
                        remaining -= available
            day += one_day
            now_us = 0

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time (工作时间) from ``a`` to ``b``; zero when ``b`` is not after ``a``."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b <= a:
            return timedelta(0)
        day_a, us_a = self._local(a)
        day_b, us_b = self._local(b)
        if day_a == day_b:
            return timedelta(microseconds=self._overlap(day_a, us_a, us_b))
        total = self._overlap(day_a, us_a, _US_PER_DAY) + self._overlap(day_b, 0, us_b)
        one_day = timedelta(days=1)
        day = day_a + one_day
        while day < day_b:
            if self.is_workday(day):
                total += self._day_us
            day += one_day
        return timedelta(microseconds=total)

    def _overlap(self, day: date, lo: int, hi: int) -> int:
        """Working microseconds of ``day`` between the offsets ``lo`` and ``hi`` from midnight."""
        if hi <= lo or not self.is_workday(day):
            return 0
        total = 0
        for p_start, p_end in self._periods_us:
            begin, end = max(lo, p_start), min(hi, p_end)
            if end > begin:
                total += end - begin
        return total

    def is_working_time(self, instant: datetime) -> bool:
        """Whether ``instant`` lies inside (or at an edge of) a working period on a working day."""
        _require_aware(instant, "instant")
        day, us = self._local(instant)
        return self.is_workday(day) and any(s <= us <= e for s, e in self._periods_us)


# --- the calendar of this installation --------------------------------------------------------

_cache_lock = threading.Lock()
_cached: tuple[float, WorkingCalendar] | None = None


def load_calendar() -> WorkingCalendar:
    """Build the calendar from the database (WorkingPeriod rows, else settings; CalendarDay overrides); uncached."""
    from cityloop.core.models import CalendarDay, WorkingPeriod

    periods: Sequence[PeriodInput] = list(WorkingPeriod.objects.order_by("start").values_list("start", "end"))
    if not periods:
        periods = [(start, end) for start, end in settings.CITYLOOP_WORKING_PERIODS]
    overrides = dict(CalendarDay.objects.values_list("date", "is_workday"))
    return WorkingCalendar(periods, overrides)


def get_calendar() -> WorkingCalendar:
    """The installation's working calendar, cached in-process for ``CACHE_SECONDS``."""
    global _cached
    now = monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    with _cache_lock:
        cached = _cached
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        calendar = load_calendar()
        _cached = (monotonic(), calendar)
        return calendar


def reset_calendar_cache() -> None:
    """Forget the cached calendar; the next ``get_calendar()`` reloads it."""
    global _cached
    with _cache_lock:
        _cached = None
