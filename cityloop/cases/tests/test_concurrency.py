"""Concurrent actions on one case, and concurrent reports, with real threads and real connections."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, connections

from cityloop.cases import services
from cityloop.cases.errors import InvalidTransition
from cityloop.cases.models import Case, CaseEvent
from cityloop.cases.statuses import CaseStatus, Source

from .conftest import at

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across connections need PostgreSQL"),
]


def run_together(functions):
    """Start every function at once on its own thread (own DB connection); return results or exceptions."""
    barrier = threading.Barrier(len(functions))
    results: list[object] = [None] * len(functions)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_dispatchers_at_once_exactly_one_succeeds(city, people):
    lon, lat = city.point(0)
    case = services.case_report(source=Source.INSPECTOR, category=city.manhole, description="井盖缺失",
                                lon=lon, lat=lat, reporter=people.inspector, at=at(2026, 3, 2, 9, 0)).case
    services.case_register(case=case, actor=people.operator, at=at(2026, 3, 2, 9, 5))
    results = run_together([
        lambda: services.case_dispatch(case=case.pk, actor=people.dispatcher, department=city.municipal),
        lambda: services.case_dispatch(case=case.pk, actor=people.dispatcher, department=city.sanitation),
    ])
    successes = [r for r in results if isinstance(r, Case)]
    conflicts = [r for r in results if isinstance(r, InvalidTransition)]
    assert len(successes) == 1 and len(conflicts) == 1, results
    assert "不能“派遣”" in conflicts[0].message
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED and case.dispatch_count == 1
    assert CaseEvent.objects.filter(case=case, action="dispatch").count() == 1
    assert case.stages.filter(ended_at__isnull=True).count() == 1


def test_concurrent_reports_get_distinct_numbers_without_gaps(city, people):
    lon, lat = city.point(1)

    def reporter(i):
        return lambda: services.case_report(
            source=Source.HOTLINE, category=city.garbage, description=f"暴露垃圾 {i}", lon=lon, lat=lat,
            at=at(2026, 3, 2, 9, 0) + timedelta(seconds=i)).case.number

    numbers = run_together([reporter(i) for i in range(8)])
    assert all(isinstance(n, str) for n in numbers), numbers
    assert sorted(numbers) == [f"2026{n:06d}" for n in range(1, 9)]


def test_same_idempotency_key_sent_concurrently_makes_one_case(city, people):
    lon, lat = city.point(2)

    def send():
        return services.case_report(source=Source.HOTLINE, category=city.manhole, description="井盖", lon=lon,
                                    lat=lat, idempotency_key="ticket-7").case.pk

    ids = run_together([send for _ in range(5)])
    assert len(set(ids)) == 1 and all(isinstance(i, int) for i in ids), ids
    assert Case.objects.count() == 1
    assert Counter(Case.objects.values_list("number", flat=True)) == Counter({"2026000001": 1})


def test_reports_arriving_together_share_one_transaction_and_each_gets_its_own_answer(city, people):
    """Group commit (REPORT_GROUP): while one report is being written, the ones that arrive meanwhile wait
    and are written together next; a report outside the city fails alone."""
    import time

    from django.db import transaction

    from cityloop.cases.models import CaseNumberSequence
    from cityloop.cases.services.reporting import REPORT_GROUP
    from cityloop.core.errors import OutsideCity

    lon, lat = city.point(3)
    services.case_report(source=Source.HOTLINE, category=city.garbage, description="第一件", lon=lon, lat=lat)
    before = (REPORT_GROUP.stats.calls, REPORT_GROUP.stats.batches)

    def reporter(i, x=lon):
        return lambda: services.case_report(source=Source.HOTLINE, category=city.garbage,
                                            description=f"同时上报 {i}", lon=x, lat=lat).case.number

    first: list[object] = []
    results: list[object] = []
    with transaction.atomic():  # hold the year's number row: the first writer waits, the rest queue up
        CaseNumberSequence.objects.select_for_update().get(year=2026)
        leader = threading.Thread(target=lambda: first.extend(run_together([reporter(0)])))
        leader.start()
        deadline = time.monotonic() + 30
        while not (REPORT_GROUP._leading and not REPORT_GROUP._waiting) and time.monotonic() < deadline:
            time.sleep(0.01)
        runner = threading.Thread(target=lambda: results.extend(
            run_together([reporter(i) for i in range(1, 6)] + [reporter(6, x=lon + 5)])))
        runner.start()
        while len(REPORT_GROUP._waiting) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
    leader.join(60)
    runner.join(60)
    numbers = [r for r in first + results if isinstance(r, str)]
    assert len(numbers) == 6 and isinstance(results[5], OutsideCity), (first, results)
    assert sorted(numbers) == [f"2026{n:06d}" for n in range(2, 8)]
    calls, batches = REPORT_GROUP.stats.calls - before[0], REPORT_GROUP.stats.batches - before[1]
    assert calls == 7 and batches == 2, (calls, batches)
    assert Case.objects.count() == 7


@pytest.mark.parametrize("kind", ["suspension", "return", "extension"])
def test_a_request_and_the_handling_sent_at_once_never_both_stand(city, people, kind):
    """#19 item 6: whichever the case row takes first wins; the other is refused (409), so a case never goes on
    to be checked and closed with a request pending, and the dispatcher's decision still has a request to decide."""
    from cityloop.cases.models import ApprovalRequest, ApprovalState

    lon, lat = city.point(0)
    case = services.case_report(source=Source.INSPECTOR, category=city.manhole, description="井盖缺失",
                                lon=lon, lat=lat, reporter=people.inspector, at=at(2026, 3, 2, 9, 0)).case
    services.case_register(case=case, actor=people.operator, at=at(2026, 3, 2, 9, 5))
    services.case_dispatch(case=case, actor=people.dispatcher, at=at(2026, 3, 2, 9, 10))
    for _ in range(3):
        results = run_together([
            lambda: services.case_request(case=case.pk, actor=people.handler_a, kind=kind, reason="需协调",
                                          value="1"),
            lambda: services.case_handle(case=case.pk, actor=people.handler_a, note="已更换井盖"),
        ])
        refused = [r for r in results if isinstance(r, InvalidTransition)]
        assert len(refused) == 1, results
        case.refresh_from_db()
        pending = ApprovalRequest.objects.filter(case=case, state=ApprovalState.PENDING).exists()
        assert pending == (case.status != CaseStatus.HANDLED) == bool(case.pending_request)
        if case.status == CaseStatus.HANDLED:
            break
        services.case_decide(case=case, actor=people.dispatcher, approve=False, note="请先处置")
