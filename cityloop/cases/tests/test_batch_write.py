"""The transitions' write batch: a batch of actions writes what the same actions one by one write, and the
batch writer (``services.batchwrite``) sends the values ``core.bulk`` would send."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cityloop.cases.models import ApprovalRequest, Case, CaseEvent, CaseStage
from cityloop.cases.services.batchwrite import _converter, insert_rows, update_rows
from cityloop.cases.services.workflow import TransitionInput, case_transition, case_transition_many
from cityloop.cases.statuses import Action, CaseStatus, Source
from cityloop.core.bulk import bulk_insert, bulk_save
from cityloop.core.choices import TimeUnit
from cityloop.notifications.models import Notification

from .test_workflow import MONDAY_9, report

pytestmark = pytest.mark.django_db


def _plan(city, people):
    """The loop with an extension, a refused return, a failed check and a rating, as (action, actor, data, note)."""
    def handler(case: Case):
        return people.handler_a if case.department_id == city.municipal.pk else people.handler_b

    return [
        (Action.SEND_VERIFY, lambda c: people.operator, {"inspector": people.inspector}, ""),
        (Action.VERIFY, lambda c: people.inspector, {"valid": True}, "属实"),
        (Action.REGISTER, lambda c: people.operator, {}, ""),
        (Action.DISPATCH, lambda c: people.dispatcher, {"department": None}, ""),
        (Action.REQUEST_EXTENSION, handler, {"value": "1", "unit": TimeUnit.WORK_DAY}, "需协调"),
        (Action.APPROVE_EXTENSION, lambda c: people.dispatcher, {}, "同意"),
        (Action.REQUEST_RETURN, handler, {}, "非本单位职责"),
        (Action.REFUSE_RETURN, lambda c: people.dispatcher, {}, "请处置"),
        (Action.HANDLE, lambda c: people.handler_b, {}, "已处置"),  # 市政's cases: refused (not 环卫's case)
        (Action.HANDLE, handler, {}, "已处置"),
        (Action.SEND_CHECK, lambda c: people.operator, {"inspector": people.inspector}, ""),
        (Action.REWORK, lambda c: people.inspector, {}, "仍未处理"),
        (Action.HANDLE, handler, {}, "返工完毕"),
        (Action.SEND_CHECK, lambda c: people.operator, {"inspector": people.other_inspector}, ""),
        (Action.CHECK_PASS, lambda c: people.other_inspector, {}, ""),
        (Action.SUPERVISE, lambda c: people.leader, {}, "请加快"),
        (Action.CLOSE, lambda c: people.shift_leader, {}, ""),
        (Action.RATE, lambda c: None, {"rating": 1}, ""),
    ]


def _cases(city, people, n: int) -> list[Case]:
    categories = [city.manhole, city.garbage]
    return [report(city, people, source=Source.HOTLINE, grid=i % 4, category=categories[i % 2], reporter_phone="13800001234",
                   description=f"热线反映 {i}") for i in range(n)]


def _record(cases: list[Case]) -> list[Any]:
    """Everything the actions wrote for ``cases`` (ids, numbers and the reports themselves left out)."""
    out = []
    for case in cases:
        case.refresh_from_db(fields=["number"])
        row = Case.objects.filter(pk=case.pk).values().get()
        for name in ("id", "number", "duplicate_candidates"):  # the second set are duplicates of the first
            row.pop(name)
        events = list(CaseEvent.objects.filter(case=case).exclude(action="report").order_by("id").values_list(
            "action", "from_status", "to_status", "actor_id", "actor_role", "actor_name", "created_at", "note", "data",
            "department_id", "is_public"))
        events = [(*e[:8], {k: v for k, v in e[8].items() if k != "request_id"}, *e[9:]) for e in events]
        stages = list(CaseStage.objects.filter(case=case).order_by("started_at", "id").values_list(
            "stage", "started_at", "ended_at", "due_at", "warn_at", "on_time", "outcome", "actor_id", "department_id",
            "limit_value", "limit_unit", "limit_source", "paused_at", "extended", "warning_level"))
        requests = list(ApprovalRequest.objects.filter(case=case).order_by("id").values_list(
            "kind", "state", "reason", "extension_value", "extension_unit", "requested_by_id", "requested_at",
            "decided_by_id", "decided_at", "decision_note"))
        notes = sorted((user, kind, title.replace(case.number, "#"), body) for user, kind, title, body in
                       Notification.objects.filter(case_id=case.pk).values_list("recipient_id", "kind", "title", "body"))
        out.append((row, events, stages, requests, notes))
    return out


def test_a_batch_of_actions_writes_what_the_same_actions_one_by_one_write(city, people,
                                                                            django_capture_on_commit_callbacks):
    plan = _plan(city, people)
    one_by_one, batched = _cases(city, people, 4), _cases(city, people, 4)
    refused: dict[str, list[str]] = {"one_by_one": [], "batched": []}
    with django_capture_on_commit_callbacks(execute=True):
        for step, (action, actor, data, note) in enumerate(plan):
            at = MONDAY_9 + timedelta(minutes=10 * (step + 1))
            for case in one_by_one:
                try:
                    case_transition(case=case.pk, action=action, actor=actor(Case.objects.get(pk=case.pk)),
                                    data=dict(data), note=note, at=at, as_reporter=action == Action.RATE)
                except Exception as error:  # noqa: BLE001  (the refusals are compared below)
                    refused["one_by_one"].append(f"{action}:{type(error).__name__}")
    with django_capture_on_commit_callbacks(execute=True):
        for step, (action, actor, data, note) in enumerate(plan):
            at = MONDAY_9 + timedelta(minutes=10 * (step + 1))
            current = Case.objects.in_bulk([c.pk for c in batched])
            results = case_transition_many([
                TransitionInput(case=case.pk, action=action, actor=actor(current[case.pk]), data=dict(data), note=note,
                                at=at, as_reporter=action == Action.RATE)
                for case in batched
            ])
            refused["batched"] += [f"{action}:{type(r).__name__}" for r in results if not isinstance(r, Case)]
    assert refused["one_by_one"] == refused["batched"]
    assert sorted(refused["batched"]) == ["handle:ActionForbidden"] * 2 + ["handle:InvalidTransition"] * 2
    assert set(Case.objects.filter(pk__in=[c.pk for c in batched]).values_list("status", flat=True)) == {
        CaseStatus.CLOSED}
    got, expected = _record(batched), _record(one_by_one)
    for a, b in zip(got, expected, strict=True):
        for part_a, part_b in zip(a, b, strict=True):
            assert part_a == part_b


def _prepared(value: Any) -> Any:
    """A parameter as the driver will see it (psycopg's Jsonb wrapper compared by what it wraps)."""
    return (type(value).__name__, getattr(value, "obj", value))


def test_the_batch_writer_prepares_every_value_as_the_fields_do(city, people):
    case = _cases(city, people, 1)[0]
    case_transition(case=case, action=Action.SEND_VERIFY, actor=people.operator, data={"inspector": people.inspector})
    case_transition(case=case, action=Action.VERIFY, actor=people.inspector, data={"valid": True})
    case_transition(case=case, action=Action.REGISTER, actor=people.operator)
    case_transition(case=case, action=Action.DISPATCH, actor=people.dispatcher)
    case_transition(case=case, action=Action.REQUEST_EXTENSION, actor=people.handler_a, note="需协调",
                    data={"value": Decimal("1.5"), "unit": TimeUnit.WORK_DAY})
    samples: list[Any] = [
        *Case.objects.all(), *CaseStage.objects.all(), *CaseEvent.objects.all(), *ApprovalRequest.objects.all(),
        # Values of other types than the stored ones: enum members, bools, floats and a naive-free None mix.
        Case(number="X1", source=Source.PUBLIC, category=city.garbage, status=CaseStatus.REPORTED, lon=117, lat=36,
             reported_at=MONDAY_9, updated_at=MONDAY_9, satisfaction=None, version=True),
        CaseStage(case=case, stage="handle", started_at=MONDAY_9, limit_value=Decimal("2"), limit_unit=TimeUnit.WORK_DAY,
                  warn_at=MONDAY_9, due_at=MONDAY_9, on_time=None, warning_level=1, department_id=str(city.municipal.pk)),
    ]
    checked = 0
    for obj in samples:
        for field in obj._meta.concrete_fields:
            if field.primary_key:
                continue
            for add in (True, False):
                expected = field.get_db_prep_save(field.pre_save(obj, add), connection)
                assert _prepared(_converter(field, connection, add=add)(obj)) == _prepared(expected), (obj, field.name)
                checked += 1
    assert checked > 500


def test_insert_rows_and_update_rows_store_what_bulk_insert_and_bulk_save_store(city, people):
    cases = _cases(city, people, 3)
    for n, case in enumerate(cases):
        case.address, case.supervised, case.stage_due_at, case.department_id = f"经十路 {n} 号", True, None, None
        case.satisfaction, case.check_passed, case.updated_at = n or None, bool(n % 2), MONDAY_9 + timedelta(hours=n)
    fields = ["address", "supervised", "stage_due_at", "department", "satisfaction", "check_passed", "updated_at"]
    assert update_rows(cases[:2], fields) == 2
    assert bulk_save(cases[2:], fields) == 1
    stored = list(Case.objects.order_by("id").values_list(*[f.replace("department", "department_id") for f in fields]))
    assert stored == [(f"经十路 {n} 号", True, None, None, n or None, bool(n % 2), MONDAY_9 + timedelta(hours=n))
                      for n in range(3)]

    def events(tag: str) -> list[CaseEvent]:
        return [CaseEvent(case=c, action="warn", from_status=c.status, to_status=c.status, actor_role="system",
                          actor_name=tag, created_at=MONDAY_9, data={"level": n, "说明": "黄灯"}, is_public=bool(n))
                for n, c in enumerate(cases)]

    assert insert_rows(events("fast")) == 3 and bulk_insert(events("core")) == 3
    columns = ["case_id", "action", "from_status", "to_status", "actor_id", "actor_role", "created_at", "note", "data",
               "department_id", "is_public"]
    fast = list(CaseEvent.objects.filter(actor_name="fast").order_by("id").values_list(*columns))
    core = list(CaseEvent.objects.filter(actor_name="core").order_by("id").values_list(*columns))
    assert fast == core and len(fast) == 3


def test_insert_rows_reading_ids_gives_each_object_the_id_of_its_own_row(city, people):
    cases = _cases(city, people, 2)
    events = [CaseEvent(case=cases[n % 2], action="warn", from_status="", to_status="", actor_role="system",
                        actor_name=f"第 {n} 条", created_at=MONDAY_9) for n in range(5)]
    assert insert_rows(events, read_ids=True) == 5
    assert all(e.pk and not e._state.adding for e in events)
    stored = dict(CaseEvent.objects.filter(pk__in=[e.pk for e in events]).values_list("pk", "actor_name"))
    assert stored == {e.pk: e.actor_name for e in events}
    assert [e.pk for e in events] == sorted(e.pk for e in events)  # in the order given


def test_a_batch_asks_once_for_the_dispatchers_of_a_region(city, people, django_capture_on_commit_callbacks):
    cases = _cases(city, people, 6)
    for action, actor, data in [(Action.SEND_VERIFY, people.operator, {"inspector": people.inspector}),
                                (Action.VERIFY, people.inspector, {"valid": True}),
                                (Action.REGISTER, people.operator, {}), (Action.DISPATCH, people.dispatcher, {})]:
        case_transition_many([TransitionInput(case=c.pk, action=action, actor=actor, data=dict(data)) for c in cases])
    cases = list(Case.objects.filter(pk__in=[c.pk for c in cases]))
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        case_transition_many([TransitionInput(case=c.pk, action=Action.REQUEST_RETURN, note="非本单位职责",
                                              actor=people.handler_a if c.department_id == city.municipal.pk
                                              else people.handler_b) for c in cases])
    asked = [q["sql"] for q in queries.captured_queries if '"accounts_user"."role" IN' in q["sql"]]
    assert len(asked) == 1, asked
    told = Notification.objects.filter(kind="approval_waiting").values_list("recipient_id", flat=True)
    assert sorted(told) == [people.dispatcher.pk] * 6
