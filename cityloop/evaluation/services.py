"""Evaluation actions: keeping the pages' counts ready (预先统计)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone

from cityloop.evaluation import selectors
from cityloop.evaluation.models import Level
from cityloop.evaluation.periods import MONTH, QUARTER, Period

#: The pages leaders open most: the department, district and street tables of this month and this quarter.
WARM_LEVELS = (Level.DEPARTMENT, Level.DISTRICT, Level.STREET)
WARM_KINDS = (MONTH, QUARTER)
#: Periods in a page's trend (the evaluation page shows six).
TREND_PERIODS = 6

_LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache")


def cache_is_shared() -> bool:
    """Whether counts kept by one process serve the others (Redis, memcached, database or file cache)."""
    return settings.CACHES["default"]["BACKEND"] not in _LOCAL_CACHES


@dataclass(frozen=True)
class Warmed:
    level: Level
    period: Period
    seconds: float


def evaluations_warm(*, levels: tuple[Level, ...] = WARM_LEVELS, kinds: tuple[str, ...] = WARM_KINDS,
                     today: date | None = None) -> list[Warmed]:
    """Count the evaluation pages leaders open most (with their six-period trends) afresh and keep the
    counts, so that a page opened within ``CITYLOOP_EVALUATION_CACHE_SECONDS`` needs no counting.

    The worker (``cityloop worker``, job ``warm``) calls this before the kept counts lapse, when the cache is
    shared by the web workers. ``today`` (default: the local date) picks the periods that contain it."""
    done = []
    today = today or timezone.localdate()
    with selectors.recounting():
        for kind in kinds:
            period = Period.containing(kind, today)
            for level in levels:
                began = time.perf_counter()
                selectors.trend(level=level, period=period, count=TREND_PERIODS)
                done.append(Warmed(level, period, time.perf_counter() - began))
    return done
