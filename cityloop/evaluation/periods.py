"""Evaluation periods (考评周期): a month, a quarter, a year or any run of days, in local time.

A period is the half-open interval [start 00:00, end 00:00) of local (``TIME_ZONE``) time; ``end`` is the
day *after* the last day, so periods laid end to end neither overlap nor leave a gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from cityloop.core.errors import ValidationFailed

MONTH, QUARTER, YEAR, CUSTOM = "month", "quarter", "year", "custom"
KIND_LABELS = {MONTH: "月度", QUARTER: "季度", YEAR: "年度", CUSTOM: "自定义"}
#: The longest custom period accepted (a little more than a leap year).
MAX_DAYS = 400


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


#: The years a period may name (its previous period, for the change column, must exist too).
FIRST_YEAR, LAST_YEAR = 1970, 2200


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # exclusive
    #: The moment the figures are taken at ("统计截至"): outcomes of the period's cases as of then.
    as_of: datetime | None = field(default=None, compare=False)

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        return cls(MONTH, first, _add_months(first, 1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise ValidationFailed("季度应为 1–4", field="quarter")
        first = date(year, 3 * (quarter - 1) + 1, 1)
        return cls(QUARTER, first, _add_months(first, 3))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(YEAR, date(year, 1, 1), date(year + 1, 1, 1))

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        """The days ``first`` … ``last`` (both included); a whole month, quarter or year is recognised."""
        if last < first:
            raise ValidationFailed("结束日期不能早于开始日期", field="to")
        end = last + timedelta(days=1)
        if (end - first).days > MAX_DAYS:
            raise ValidationFailed(f"自定义周期不能超过 {MAX_DAYS} 天", field="to")
        if first.day == 1:
            if end == _add_months(first, 1):
                return cls(MONTH, first, end)
            if first.month % 3 == 1 and end == _add_months(first, 3):
                return cls(QUARTER, first, end)
            if first.month == 1 and end == date(first.year + 1, 1, 1):
                return cls(YEAR, first, end)
        return cls(CUSTOM, first, end)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026Q3`` (quarter), ``2026-10`` (month), ``2026`` (year) or ``2026-09-20~2026-10-10`` (days)."""
        value = (text or "").strip().upper().replace("－", "-")
        year = re.match(r"\d{4}", value)
        if year and not FIRST_YEAR <= int(year[0]) <= LAST_YEAR:
            raise ValidationFailed(f"考评周期的年份须在 {FIRST_YEAR}–{LAST_YEAR} 之间", field="period")
        try:
            if m := re.fullmatch(r"(\d{4})-?Q([1-4])", value):
                return cls.quarter(int(m[1]), int(m[2]))
            if m := re.fullmatch(r"(\d{4})-(\d{1,2})", value):
                return cls.month(int(m[1]), int(m[2]))
            if re.fullmatch(r"\d{4}", value):
                return cls.year(int(value))
            if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*(?:~|TO|至|/)\s*(\d{4}-\d{2}-\d{2})", value):
                return cls.between(date.fromisoformat(m[1]), date.fromisoformat(m[2]))
        except ValueError as exc:
            raise ValidationFailed(f"无法识别的考评周期“{text}”", field="period") from exc
        raise ValidationFailed(
            f"无法识别的考评周期“{text}”：可用 2026Q3（季度）、2026-10（月）、2026（年）或 2026-09-20~2026-10-10",
            field="period",
        )

    @classmethod
    def containing(cls, kind: str, day: date) -> Period:
        if kind == MONTH:
            return cls.month(day.year, day.month)
        if kind == QUARTER:
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        if kind == YEAR:
            return cls.year(day.year)
        raise ValidationFailed(f"未知的周期类型“{kind}”", field="kind")

    # --- properties ----------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """``as_of``, or the current time when none was fixed."""
        return self.as_of or timezone.now()

    def at(self, moment: datetime | None) -> Period:
        """This period with the figures taken at ``moment`` (now when None)."""
        return replace(self, as_of=moment or timezone.now())

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last(self) -> date:
        """The last day included."""
        return self.end - timedelta(days=1)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=timezone.get_current_timezone())

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(0), tzinfo=timezone.get_current_timezone())

    @property
    def key(self) -> str:
        """The text ``parse`` reads back: 2026Q3, 2026-10, 2026 or 2026-09-20~2026-10-10."""
        if self.kind == MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == QUARTER:
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == YEAR:
            return f"{self.start.year}"
        return f"{self.start.isoformat()}~{self.last.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == QUARTER:
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        if self.kind == YEAR:
            return f"{self.start.year}年"
        return f"{self.start:%Y年%m月%d日}至{self.last:%Y年%m月%d日}"

    @property
    def short_label(self) -> str:
        if self.kind == MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == QUARTER:
            return self.key
        if self.kind == YEAR:
            return self.key
        return f"{self.start:%m-%d}~{self.last:%m-%d}"

    def shift(self, steps: int) -> Period:
        """The period ``steps`` periods later (negative: earlier) of the same kind and length."""
        if self.kind == MONTH:
            first = _add_months(self.start, steps)
            return Period(MONTH, first, _add_months(first, 1), self.as_of)
        if self.kind == QUARTER:
            first = _add_months(self.start, 3 * steps)
            return Period(QUARTER, first, _add_months(first, 3), self.as_of)
        if self.kind == YEAR:
            return Period(YEAR, date(self.start.year + steps, 1, 1), date(self.start.year + steps + 1, 1, 1),
                          self.as_of)
        length = timedelta(days=self.days)
        return Period(CUSTOM, self.start + steps * length, self.end + steps * length, self.as_of)

    def previous(self) -> Period:
        return self.shift(-1)

    def history(self, count: int) -> list[Period]:
        """The ``count`` periods ending with this one, oldest first (for trend lines)."""
        return [self.shift(-n) for n in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return self.label


def default_period(kind: str = QUARTER, today: date | None = None) -> Period:
    """The last complete period of ``kind`` before ``today`` (the one a report is usually wanted for)."""
    day = today or timezone.localdate()
    return Period.containing(kind, day).previous()
