"""Counts taken for the present serve the next few minutes' reports, which say when they were taken."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cityloop.cases.models import Case
from cityloop.evaluation import selectors
from cityloop.evaluation.models import Level
from cityloop.evaluation.tests.scenario import AS_OF, PERIOD

pytestmark = pytest.mark.django_db


def rated(report: selectors.LevelReport) -> int:
    return next(r.values["rated"] for r in report.rows if r.unit is not None and r.unit.name == "市政中心")


def test_counts_are_reused_within_the_refresh_interval_and_the_report_says_when_they_were_taken(scenario, settings):
    settings.CITYLOOP_EVALUATION_CACHE_SECONDS = 300
    now = timezone.now()
    first = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(now), compare=False)
    assert rated(first) == 0 and first.period.now == now
    Case.objects.filter(pk=scenario.C1.pk).update(satisfaction=3)  # 市政中心's cohort gets its first rating

    later = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(now + timedelta(seconds=200)), compare=False)
    assert rated(later) == 0 and later.period.now == now  # the same counts, dated when they were taken

    stale = now + timedelta(seconds=301)
    fresh = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(stale), compare=False)
    assert rated(fresh) == 1 and fresh.period.now == stale
    # A report of an earlier moment is counted afresh, never served from counts taken after it.
    past = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD, compare=False)
    assert past.period.now == AS_OF and rated(past) == 1


def test_reuse_can_be_turned_off(scenario, settings):
    settings.CITYLOOP_EVALUATION_CACHE_SECONDS = 0
    now = timezone.now()
    assert rated(selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(now), compare=False)) == 0
    Case.objects.filter(pk=scenario.C1.pk).update(satisfaction=3)
    again = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(now + timedelta(seconds=1)), compare=False)
    assert rated(again) == 1


def test_recounting_replaces_the_kept_counts(scenario, settings):
    settings.CITYLOOP_EVALUATION_CACHE_SECONDS = 300
    now = timezone.now()
    assert rated(selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(now), compare=False)) == 0
    Case.objects.filter(pk=scenario.C1.pk).update(satisfaction=3)
    with selectors.recounting():
        recounted = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(now + timedelta(seconds=60)),
                                       compare=False)
    assert rated(recounted) == 1
    after = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD.at(now + timedelta(seconds=90)), compare=False)
    assert rated(after) == 1 and after.period.now == now + timedelta(seconds=60)


def test_the_scheduler_warms_this_months_pages_so_a_leader_gets_counts_already_taken(scenario, settings):
    from cityloop.evaluation.periods import MONTH, Period
    from cityloop.evaluation.services import cache_is_shared, evaluations_warm

    settings.CITYLOOP_EVALUATION_CACHE_SECONDS = 300
    today = timezone.localdate()
    this_month = Period.containing(MONTH, today)
    began = timezone.now()
    done = evaluations_warm(levels=(Level.DEPARTMENT, Level.DISTRICT), kinds=(MONTH,), today=today)
    ended = timezone.now()
    assert [(w.level, w.period.key) for w in done] == [(Level.DEPARTMENT, this_month.key),
                                                        (Level.DISTRICT, this_month.key)]
    # Opened a little later (within the 300 s the counts are kept, however long the warming took):
    opened = selectors.evaluate(level=Level.DISTRICT, period=this_month.at(ended + timedelta(seconds=1)),
                                compare=False)
    assert began <= opened.period.now <= ended  # dated when the scheduler counted, not when opened
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not cache_is_shared()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/15"}}
    assert cache_is_shared()
