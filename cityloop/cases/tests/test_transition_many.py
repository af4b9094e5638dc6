"""Many actions at once (the simulation, imports): each applies exactly as it would alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cityloop.cases.errors import ActionForbidden, InvalidTransition
from cityloop.cases.models import Case, CaseEvent, CaseStage
from cityloop.cases.services.workflow import TransitionInput, case_transition_many
from cityloop.cases.statuses import Action, CaseStatus
from cityloop.catalog.models import Stage
from cityloop.core.bulk import bulk_insert, bulk_save
from cityloop.notifications.models import Notification

from .test_workflow import MONDAY_9, report

pytestmark = pytest.mark.django_db

LATER = MONDAY_9 + timedelta(minutes=10)


def test_a_batch_registers_many_cases_with_their_events_and_stages(city, people):
    cases = [report(city, people, grid=i % 4) for i in range(5)]
    results = case_transition_many(
        [TransitionInput(case=c, action=Action.REGISTER, actor=people.operator, at=LATER) for c in cases]
    )
    assert all(isinstance(r, Case) for r in results)
    for case in cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.REGISTERED and case.version == 1 and case.registered_at == LATER
        stages = list(case.stages.order_by("started_at", "id").values_list("stage", "ended_at"))
        assert stages == [(Stage.REGISTER, LATER), (Stage.DISPATCH, None)]
        assert case.stage == Stage.DISPATCH
    assert CaseEvent.objects.filter(action=Action.REGISTER, actor=people.operator).count() == 5


def test_a_refused_action_leaves_its_case_alone_and_the_others_apply(city, people):
    first, second = report(city, people), report(city, people, grid=1)
    results = case_transition_many([
        TransitionInput(case=first, action=Action.REGISTER, actor=people.operator, at=LATER),
        TransitionInput(case=second, action=Action.HANDLE, actor=people.handler_a, note="处置", at=LATER),
        TransitionInput(case=second, action=Action.REGISTER, actor=people.citizen, at=LATER),
    ])
    assert isinstance(results[0], Case)
    assert isinstance(results[1], InvalidTransition)
    assert isinstance(results[2], ActionForbidden)
    second.refresh_from_db()
    assert second.status == CaseStatus.REPORTED and second.version == 0
    assert list(second.events.values_list("action", flat=True)) == ["report"]
    assert Case.objects.get(pk=first.pk).status == CaseStatus.REGISTERED


def test_all_or_nothing_writes_nothing_when_one_action_is_refused(city, people):
    first, second = report(city, people), report(city, people, grid=1)
    with pytest.raises(ActionForbidden):
        case_transition_many([
            TransitionInput(case=first, action=Action.REGISTER, actor=people.operator, at=LATER),
            TransitionInput(case=second, action=Action.REGISTER, actor=people.citizen, at=LATER),
        ], all_or_nothing=True)
    assert set(Case.objects.values_list("status", flat=True)) == {CaseStatus.REPORTED}
    assert not CaseEvent.objects.exclude(action="report").exists()


def test_two_actions_on_one_case_in_a_batch_apply_in_order(city, people):
    case = report(city, people)
    results = case_transition_many([
        TransitionInput(case=case, action=Action.REGISTER, actor=people.operator, at=LATER),
        TransitionInput(case=case, action=Action.DISPATCH, actor=people.dispatcher, at=LATER + timedelta(minutes=5)),
    ])
    assert all(isinstance(r, Case) for r in results)
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED and case.version == 2 and case.department == city.municipal
    assert list(case.events.values_list("action", flat=True)) == ["report", "register", "dispatch"]
    # The dispatch stage opened and closed inside the batch is written once, closed.
    stages = list(CaseStage.objects.filter(case=case).order_by("started_at", "id").values_list("stage", "ended_at"))
    assert stages == [(Stage.REGISTER, LATER), (Stage.DISPATCH, LATER + timedelta(minutes=5)), (Stage.HANDLE, None)]


def test_notifications_go_out_after_the_batch_unless_switched_off(city, people, django_capture_on_commit_callbacks):
    quiet, loud = report(city, people), report(city, people, grid=1)
    for case in (quiet, loud):
        case_transition_many([TransitionInput(case=case, action=Action.REGISTER, actor=people.operator, at=LATER)])
    with django_capture_on_commit_callbacks(execute=True):
        case_transition_many([TransitionInput(case=quiet, action=Action.DISPATCH, actor=people.dispatcher, at=LATER)],
                             notify=False)
    assert not Notification.objects.filter(case_id=quiet.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        case_transition_many([TransitionInput(case=loud, action=Action.DISPATCH, actor=people.dispatcher, at=LATER)])
    told = set(Notification.objects.filter(case_id=loud.pk).values_list("recipient__username", "kind"))
    assert (people.handler_a.username, "case_dispatched") in told
    assert (people.inspector.username, "case_updated") in told  # the reporter follows the case


def test_bulk_save_and_bulk_insert_write_what_save_would(city, people):
    cases = [report(city, people, grid=i) for i in range(3)]
    for n, case in enumerate(cases):
        case.address = f"经十路 {n} 号"
        case.supervised = True
    assert bulk_save(cases, ["address", "supervised"]) == 3
    assert list(Case.objects.order_by("id").values_list("address", "supervised")) == [
        ("经十路 0 号", True), ("经十路 1 号", True), ("经十路 2 号", True)]
    events = [CaseEvent(case=c, action="warn", from_status=c.status, to_status=c.status, actor_role="system",
                        actor_name="系统", created_at=LATER, data={"level": 1}) for c in cases]
    assert bulk_insert(events) == 3
    stored = CaseEvent.objects.filter(action="warn").order_by("case_id")
    assert [(e.case_id, e.data, e.created_at) for e in stored] == [(c.pk, {"level": 1}, LATER) for c in cases]
