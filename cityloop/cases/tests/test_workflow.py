"""The closed loop as the people in it see it: each test walks one path with named personas."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cityloop.cases import services
from cityloop.cases.errors import ActionForbidden, InvalidTransition, StaleCase
from cityloop.cases.models import ApprovalKind, Case, CaseEvent, CaseStage
from cityloop.cases.services import allowed_actions
from cityloop.cases.statuses import Action, CaseStatus, Source
from cityloop.catalog.models import Stage
from cityloop.core.errors import OutsideCity, ValidationFailed

from .conftest import at

pytestmark = pytest.mark.django_db

MONDAY_9 = at(2026, 3, 2, 9, 0)


def report(city, people, *, source=Source.INSPECTOR, when=MONDAY_9, grid=0, category=None, **kwargs):
    lon, lat = city.point(grid)
    reporter = kwargs.pop("reporter", people.inspector if source == Source.INSPECTOR else None)
    return services.case_report(
        source=source, category=category or city.manhole, description=kwargs.pop("description", "井盖缺失，有安全隐患"),
        lon=lon, lat=lat, reporter=reporter, at=when, **kwargs,
    ).case


def dispatched(city, people, *, when=MONDAY_9, **kwargs):
    case = report(city, people, when=when, **kwargs)
    services.case_register(case=case, actor=people.operator, at=when + timedelta(minutes=5))
    return services.case_dispatch(case=case, actor=people.dispatcher, at=when + timedelta(minutes=10))


def test_inspector_report_goes_round_the_whole_loop(city, people):
    case = report(city, people)
    assert case.number == "2026000001"
    assert case.status == CaseStatus.REPORTED
    assert case.grid == city.grids[0] and case.district == city.lixia
    assert case.stage == Stage.REGISTER
    assert case.proposed_department == city.municipal

    services.case_register(case=case, actor=people.operator, at=at(2026, 3, 2, 9, 10))
    case = services.case_dispatch(case=case, actor=people.dispatcher, at=at(2026, 3, 2, 9, 20))
    assert case.status == CaseStatus.DISPATCHED and case.department == city.municipal
    assert "供水井盖" in case.routing_reason or "市政公用设施" in case.routing_reason
    # 4 工作时 from 09:20: 2 h 40 min until 12:00, then 1 h 20 min after 13:30.
    assert case.handling_due_at == at(2026, 3, 2, 14, 50)

    services.case_handle(case=case, actor=people.handler_a, note="已更换井盖", at=at(2026, 3, 2, 11, 0))
    services.case_send_check(case=case, actor=people.operator, inspector=people.inspector, at=at(2026, 3, 2, 11, 5))
    services.case_check(case=case, actor=people.inspector, passed=True, at=at(2026, 3, 2, 11, 30))
    case = services.case_close(case=case, actor=people.shift_leader, at=at(2026, 3, 2, 11, 40))

    assert case.status == CaseStatus.CLOSED and case.closed_at == at(2026, 3, 2, 11, 40)
    events = list(case.events.values_list("action", "from_status", "to_status", "actor__username", "actor_role"))
    assert events == [
        ("report", "", "reported", "inspector", "inspector"),
        ("register", "reported", "registered", "operator", "operator"),
        ("dispatch", "registered", "dispatched", "dispatcher", "dispatcher"),
        ("handle", "dispatched", "handled", "handler", "handler"),
        ("send_check", "handled", "checking", "operator", "operator"),
        ("check_pass", "checking", "checking", "inspector", "inspector"),
        ("close", "checking", "closed", "shiftlead", "shift_leader"),
    ]
    handle_stage = case.stages.get(stage=Stage.HANDLE)
    assert handle_stage.on_time is True and handle_stage.ended_at == at(2026, 3, 2, 11, 0)
    assert not case.stages.filter(ended_at__isnull=True).exists()


def test_public_report_is_verified_by_the_assigned_inspector_before_registration(city, people):
    case = report(city, people, source=Source.PUBLIC, reporter=people.citizen, reporter_phone="13800001234")
    assert case.stage == Stage.ACCEPT
    services.case_send_verify(case=case, actor=people.operator, inspector=people.inspector,
                              at=MONDAY_9 + timedelta(minutes=3))
    with pytest.raises(ActionForbidden, match="其他监督员"):
        services.case_verify(case=case, actor=people.other_inspector, valid=True)
    case = services.case_verify(case=case, actor=people.inspector, valid=True, at=MONDAY_9 + timedelta(minutes=30))
    assert case.status == CaseStatus.REPORTED and case.verified and case.stage == Stage.REGISTER
    verify_stage = case.stages.get(stage=Stage.VERIFY)
    assert verify_stage.on_time is True
    assert services.case_register(case=case, actor=people.operator).status == CaseStatus.REGISTERED


def test_report_found_untrue_on_site_cannot_be_registered(city, people):
    case = report(city, people, source=Source.HOTLINE, reporter_phone="13900009999")
    services.case_send_verify(case=case, actor=people.operator, inspector=people.inspector)
    services.case_verify(case=case, actor=people.inspector, valid=False, note="现场无此问题")
    with pytest.raises(ValidationFailed, match="不属实"):
        services.case_register(case=case, actor=people.operator)
    assert services.case_reject(case=case, actor=people.operator, note="核实不属实").status == CaseStatus.REJECTED


def test_handler_of_another_department_is_refused_and_nothing_is_written(city, people):
    case = dispatched(city, people)
    events_before = CaseEvent.objects.count()
    with pytest.raises(ActionForbidden, match="处置单位"):
        services.case_handle(case=case, actor=people.handler_b, note="不是我们的")
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED and CaseEvent.objects.count() == events_before
    assert allowed_actions(case, people.handler_b) == []
    assert set(allowed_actions(case, people.handler_a)) == {
        Action.HANDLE, Action.REQUEST_RETURN, Action.REQUEST_EXTENSION, Action.REQUEST_SUSPENSION}


def test_operator_of_another_district_cannot_register(city, people):
    case = report(city, people)
    with pytest.raises(ActionForbidden, match="区域"):
        services.case_register(case=case, actor=people.outsider)
    other = report(city, people, grid=4, reporter=None, source=Source.HOTLINE)
    assert services.case_register(case=other, actor=people.outsider).status == CaseStatus.REGISTERED


def test_wrong_role_and_wrong_state_are_typed_errors(city, people):
    case = report(city, people)
    with pytest.raises(ActionForbidden, match="监督员不能"):
        services.case_register(case=case, actor=people.inspector)
    services.case_register(case=case, actor=people.operator)
    with pytest.raises(InvalidTransition, match="已立案"):
        services.case_register(case=case, actor=people.shift_leader)
    with pytest.raises(StaleCase):
        services.case_transition(case=case, action=Action.DISPATCH, actor=people.dispatcher, expected_version=0)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.REGISTERED


def test_failed_check_sends_the_case_back_for_rework(city, people):
    case = dispatched(city, people)
    services.case_handle(case=case, actor=people.handler_a, note="已处理")
    services.case_send_check(case=case, actor=people.operator, inspector=people.inspector)
    with pytest.raises(ValidationFailed, match="原因"):
        services.case_check(case=case, actor=people.inspector, passed=False)
    case = services.case_check(case=case, actor=people.inspector, passed=False, note="井盖仍未盖好")
    assert case.status == CaseStatus.DISPATCHED and case.rework_count == 1
    assert case.stages.filter(stage=Stage.HANDLE).count() == 2
    assert case.stages.get(stage=Stage.CHECK).outcome == "check_failed"
    with pytest.raises(InvalidTransition):
        services.case_close(case=case, actor=people.shift_leader)


def test_return_is_refused_then_approved_and_the_case_is_redispatched(city, people):
    case = dispatched(city, people)
    services.case_request(case=case, actor=people.handler_a, kind=ApprovalKind.RETURN, reason="非本单位职责")
    with pytest.raises(InvalidTransition, match="待审批"):
        services.case_request(case=case, actor=people.handler_a, kind=ApprovalKind.EXTENSION, reason="x", value=1)
    services.case_decide(case=case, actor=people.dispatcher, approve=False, note="属于市政")
    services.case_request(case=case, actor=people.handler_a, kind=ApprovalKind.RETURN, reason="确非本单位职责")
    case = services.case_decide(case=case, actor=people.dispatcher, approve=True)
    assert case.status == CaseStatus.REGISTERED and case.department is None and case.return_count == 1
    case = services.case_dispatch(case=case, actor=people.dispatcher, department=city.sanitation)
    assert case.department == city.sanitation and case.routing_reason == "派遣员指定"
    last = case.events.last()
    assert last.data["overridden"] is True and last.data["proposed"] == "市政中心"
    assert list(case.approval_requests.values_list("state", flat=True)) == ["approved", "refused"]


def test_extension_moves_the_deadline_across_the_weekend(city, people):
    case = dispatched(city, people, when=at(2026, 3, 6, 15, 50))  # dispatched Friday 16:00
    # 4 工作时 from Friday 16:00: 1.5 h on Friday, 2.5 h from Monday 08:30.
    assert case.handling_due_at == at(2026, 3, 9, 11, 0)
    services.case_request(case=case, actor=people.handler_a, kind=ApprovalKind.EXTENSION, reason="需要采购井盖",
                          value="1", unit="work_day")
    case = services.case_decide(case=case, actor=people.dispatcher, approve=True)
    assert case.handling_due_at == at(2026, 3, 10, 11, 0)
    assert case.stages.get(stage=Stage.HANDLE).extended is True


def test_suspension_pauses_the_clock_until_resumed(city, people):
    case = dispatched(city, people, when=at(2026, 3, 2, 8, 50))  # dispatched Monday 09:00
    assert case.handling_due_at == at(2026, 3, 2, 14, 30)  # 3 h before noon, 1 h after 13:30
    services.case_request(case=case, actor=people.handler_a, kind=ApprovalKind.SUSPENSION, reason="需列入改造计划")
    case = services.case_decide(case=case, actor=people.dispatcher, approve=True, at=at(2026, 3, 2, 10, 0))
    assert case.status == CaseStatus.SUSPENDED
    case = services.case_resume(case=case, actor=people.dispatcher, at=at(2026, 3, 4, 10, 0))
    # Paused for two working days (15 working hours): the deadline moves from Monday 14:30 to Wednesday 14:30.
    assert case.status == CaseStatus.DISPATCHED and case.handling_due_at == at(2026, 3, 4, 14, 30)


def test_deadline_skips_the_national_day_holiday_and_counts_the_make_up_day(city, people):
    case = report(city, people, category=city.garbage, when=at(2026, 9, 30, 9, 50))
    services.case_register(case=case, actor=people.operator, at=at(2026, 9, 30, 9, 55))
    case = services.case_dispatch(case=case, actor=people.dispatcher, at=at(2026, 9, 30, 10, 0))
    # 2 工作日 from Wed 30 Sep 10:00; 1–7 Oct are holidays, Thu 8 Oct is the first working day after.
    assert case.handling_due_at == at(2026, 10, 9, 10, 0)
    assert case.department == city.sanitation


def test_void_needs_the_shift_leader_and_a_reason(city, people):
    case = dispatched(city, people)
    with pytest.raises(ActionForbidden):
        services.case_void(case=case, actor=people.operator, note="重复")
    with pytest.raises(ValidationFailed, match="理由"):
        services.case_void(case=case, actor=people.shift_leader, note="")
    case = services.case_void(case=case, actor=people.shift_leader, note="重复案卷")
    assert case.status == CaseStatus.VOIDED
    assert case.stages.get(stage=Stage.HANDLE).outcome == "voided"


def test_leader_supervises_and_the_department_is_notified(city, people, django_capture_on_commit_callbacks):
    from cityloop.notifications.models import Notification

    case = dispatched(city, people)
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_supervise(case=case, actor=people.leader, note="尽快处理")
    assert case.supervised and case.status == CaseStatus.DISPATCHED
    assert Notification.objects.filter(recipient=people.handler_a, kind="case_supervised").count() == 1
    assert not Notification.objects.filter(recipient=people.handler_b).exists()
    with pytest.raises(InvalidTransition, match="已在督办"):
        services.case_supervise(case=case, actor=people.leader)
    with pytest.raises(ActionForbidden):
        services.case_supervise(case=case, actor=people.dispatcher)
    assert services.case_supervise(case=case, actor=people.leader, on=False).supervised is False


def test_citizen_rates_after_close_by_phone_digits_once(city, people):
    case = report(city, people, source=Source.PUBLIC, reporter=None, reporter_phone="13800001234")
    services.case_send_verify(case=case, actor=people.operator, inspector=people.inspector)
    services.case_verify(case=case, actor=people.inspector, valid=True)
    services.case_register(case=case, actor=people.operator)
    with pytest.raises(InvalidTransition):
        services.case_rate(case=case, rating=3, phone_last4="1234")
    services.case_dispatch(case=case, actor=people.dispatcher)
    services.case_handle(case=case, actor=people.handler_a, note="已处理")
    services.case_send_check(case=case, actor=people.operator, inspector=people.inspector)
    services.case_check(case=case, actor=people.inspector, passed=True)
    services.case_close(case=case, actor=people.shift_leader)
    with pytest.raises(ActionForbidden, match="后四位"):
        services.case_rate(case=case, rating=3, phone_last4="0000")
    case = services.case_rate(case=case, rating=1, phone_last4="1234", note="处理太慢")
    assert case.satisfaction == 1
    with pytest.raises(InvalidTransition, match="评价"):
        services.case_rate(case=case, rating=3, phone_last4="1234")


def test_case_numbers_run_per_year_without_gaps(city, people):
    numbers = [report(city, people, when=MONDAY_9 + timedelta(minutes=i)).number for i in range(3)]
    assert numbers == ["2026000001", "2026000002", "2026000003"]
    with pytest.raises(ValidationFailed):
        report(city, people, description="   ")
    assert report(city, people).number == "2026000004"
    assert report(city, people, when=at(2027, 1, 4, 9, 0)).number == "2027000001"


def test_same_idempotency_key_returns_the_first_case(city, people):
    first = services.case_report(source=Source.HOTLINE, category="01001", description="井盖", lon=city.point()[0],
                                 lat=city.point()[1], idempotency_key="hotline-42")
    again = services.case_report(source=Source.HOTLINE, category="01001", description="井盖（重复提交）",
                                 lon=city.point()[0], lat=city.point()[1], idempotency_key="hotline-42")
    assert first.created and not again.created and again.case.pk == first.case.pk
    assert Case.objects.count() == 1 and again.case.description == "井盖"


def test_a_duplicate_across_a_grid_edge_is_flagged_and_one_60_m_away_is_not(city, people):
    """Grids 1 and 2 share the edge at 117.001°E; 0.0004° of longitude there is about 36 m."""
    from .conftest import CELL, WEST

    edge = WEST + CELL
    lat = city.point(0)[1]

    def at_lon(lon, minutes):
        return services.case_report(source=Source.HOTLINE, category=city.manhole, description="井盖缺失", lon=lon,
                                    lat=lat, at=MONDAY_9 + timedelta(minutes=minutes))

    west_of_edge = at_lon(edge - 0.0002, 0)
    assert west_of_edge.case.grid == city.grids[0]
    east_of_edge = at_lon(edge + 0.0002, 1)
    assert east_of_edge.case.grid == city.grids[1] and east_of_edge.duplicates == [west_of_edge.case.pk]
    farther = at_lon(edge + 0.00048, 2)  # 60 m from the first, 25 m from the second
    assert farther.duplicates == [east_of_edge.case.pk]
    assert services.duplicate_candidates(category=city.manhole, lon=edge - 0.0002, lat=lat,
                                         at=MONDAY_9 + timedelta(minutes=3)) == [west_of_edge.case.pk,
                                                                                  east_of_edge.case.pk]


def test_nearby_report_of_same_subclass_is_flagged_and_merged(city, people):
    first = report(city, people)
    lon, lat = city.point(0)
    near = services.case_report(source=Source.PUBLIC, category=city.manhole, description="这里井盖没了",
                                lon=lon + 0.0002, lat=lat, reporter=people.citizen, at=MONDAY_9 + timedelta(hours=1))
    assert near.duplicates == [first.pk]
    other_kind = report(city, people, category=city.garbage)
    assert other_kind.duplicate_candidates == []
    later = report(city, people, when=MONDAY_9 + timedelta(days=8))
    assert first.pk not in later.duplicate_candidates
    merged = services.case_merge(case=near.case, into=first, actor=people.operator)
    assert merged.status == CaseStatus.MERGED and merged.merged_into == first
    assert first.followers.filter(user=people.citizen).exists()


def test_inspector_self_handling_is_reviewed(city, people, jpeg_bytes):
    with pytest.raises(ValidationFailed, match="处置后的照片"):
        report(city, people, self_handled=True)
    case = report(city, people, self_handled=True, after_photos=[jpeg_bytes])
    assert case.attachments.filter(kind="after").count() == 1
    assert Action.APPROVE_SELF_HANDLING in allowed_actions(case, people.shift_leader)
    case = services.case_review_self_handling(case=case, actor=people.shift_leader, approve=True)
    assert case.status == CaseStatus.CLOSED


def test_bad_input_gets_clear_errors_and_writes_nothing(city, people):
    with pytest.raises(OutsideCity):
        services.case_report(source=Source.HOTLINE, category="01001", description="x", lon=116.0, lat=36.0)
    with pytest.raises(ValidationFailed, match="未知的案件分类"):
        services.case_report(source=Source.HOTLINE, category="99999", description="x", lon=city.point()[0],
                             lat=city.point()[1])
    with pytest.raises(ValidationFailed, match="小类"):
        services.case_report(source=Source.HOTLINE, category="01", description="x", lon=city.point()[0],
                             lat=city.point()[1])
    with pytest.raises(ValidationFailed, match="经纬度"):
        services.case_report(source=Source.HOTLINE, category="01001", description="x", lon="abc", lat=36.6)
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0 and CaseStage.objects.count() == 0
    script = '<script>alert("x")</script>井盖'
    case = report(city, people, description=script)
    assert Case.objects.get(pk=case.pk).description == script


def test_event_log_cannot_be_changed(city, people):
    case = report(city, people)
    event = case.events.get()
    event.note = "篡改"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        CaseEvent.objects.filter(case=case).update(note="篡改")
    with pytest.raises(PermissionError):
        CaseEvent.objects.filter(case=case).delete()
    assert case.events.get().note == "井盖缺失，有安全隐患"


def test_urgent_case_uses_the_urgent_limit(city, people):
    case = dispatched(city, people, urgency="urgent", when=at(2026, 3, 2, 8, 50))
    assert case.handling_due_at == at(2026, 3, 2, 10, 0)
    assert Decimal(case.stages.get(stage=Stage.HANDLE).limit_value) == Decimal(1)


def test_a_case_naming_an_asset_goes_to_its_maintainer(city, people):
    from cityloop.assets.models import Asset

    lon, lat = city.point(0)
    Asset.objects.create(code="3701020101000001", category=city.manhole, lon=lon, lat=lat,
                         maintainer=city.sanitation)
    case = report(city, people, asset_code="3701020101000001")
    assert case.asset.code == "3701020101000001"
    assert case.proposed_department == city.sanitation and "部件养护单位" in case.routing_reason
    services.case_register(case=case, actor=people.operator)
    assert services.case_dispatch(case=case, actor=people.dispatcher).department == city.sanitation
    with pytest.raises(ValidationFailed, match="部件标识码"):
        report(city, people, asset_code="3701029999999999")


def test_three_working_days_end_on_the_make_up_saturday(city, people):
    case = report(city, people, category=city.garbage, when=at(2026, 9, 30, 9, 50))
    services.case_register(case=case, actor=people.operator, at=at(2026, 9, 30, 9, 55))
    case = services.case_dispatch(case=case, actor=people.dispatcher, at=at(2026, 9, 30, 10, 0))
    services.case_request(case=case, actor=people.handler_b, kind="extension", reason="节后人手紧张", value="1",
                          unit="work_day", at=at(2026, 9, 30, 11, 0))
    case = services.case_decide(case=case, actor=people.dispatcher, approve=True, at=at(2026, 9, 30, 11, 30))
    # 2 + 1 工作日 from Wed 30 Sep 10:00: Thu 8, Fri 9 and the make-up Saturday 10 October.
    assert case.handling_due_at == at(2026, 10, 10, 10, 0)


def test_fake_or_oversized_photo_is_refused_and_nothing_is_written(city, people, settings):
    from cityloop.cases.photos import PhotoRejected

    with pytest.raises(PhotoRejected, match="不是有效的照片"):
        report(city, people, photos=[b"<html>not a photo</html>"])
    settings.CITYLOOP_MAX_PHOTO_BYTES = 100
    with pytest.raises(PhotoRejected, match="上限"):
        report(city, people, photos=[b"\xff\xd8\xff" + b"0" * 200])
    assert Case.objects.count() == 0 and CaseEvent.objects.count() == 0


def test_control_characters_in_a_handling_note_are_cleaned_and_nul_is_refused(city, people):
    case = dispatched(city, people)
    with pytest.raises(ValidationFailed):
        services.case_handle(case=case, actor=people.handler_a, note="已\x00处理")
    services.case_handle(case=case, actor=people.handler_a, note="已更换井盖\x0b见照片\x1b")
    assert CaseEvent.objects.filter(case=case).latest("id").note == "已更换井盖\n见照片"
