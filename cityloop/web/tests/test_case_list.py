"""The case list: scope, every filter, sorting, paging, the HTMX partial and bulk dispatch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cityloop.cases import services
from cityloop.cases.models import Case
from cityloop.cases.statuses import CaseStatus, Source

from .conftest import MONDAY_9, at, report, set_deadline

pytestmark = pytest.mark.django_db


def listed(client, **params) -> list[str]:
    response = client.get(reverse("case-list"), params)
    assert response.status_code == 200
    return [row.case.number for row in response.context["rows"]]


def test_handler_of_another_department_sees_none_of_department_as_cases(client, people, loop):
    client.force_login(people.handler_b)
    numbers = listed(client)
    assert numbers == [loop.dispatched_b.number]
    # Not even by searching for them.
    assert listed(client, q=loop.dispatched_a.number) == []


def test_a_handlers_total_counts_each_case_of_their_department_once_with_and_without_filters(client, people, loop):
    """The unfiltered total is counted from the stages (one per case, however many stages it has)."""
    from cityloop.cases.models import CaseStage
    from cityloop.cases.selectors import cases_visible_count, cases_visible_to

    services.case_check(case=loop.checking, actor=people.inspector, passed=False, note="仍有异响")  # 返工: a 2nd stage
    assert CaseStage.objects.filter(case=loop.checking, department__isnull=False).count() == 2
    client.force_login(people.handler_a)
    everything = client.get(reverse("case-list"))
    mine = cases_visible_to(people.handler_a)
    assert everything.context["total"] == mine.count() == cases_visible_count(people.handler_a) >= 2
    assert loop.dispatched_b.pk not in set(mine.values_list("pk", flat=True))
    ordered = client.get(reverse("case-list"), {"ordering": "number"})
    assert ordered.context["total"] == everything.context["total"]
    narrowed = client.get(reverse("case-list"), {"status": CaseStatus.DISPATCHED})
    assert narrowed.context["total"] == mine.filter(status=CaseStatus.DISPATCHED).count() < everything.context["total"]
    api = client.get("/api/v1/cases").json()
    assert api["count"] == everything.context["total"]


def test_search_finds_letters_in_any_case_numbers_by_prefix_and_follows_edits(client, people, city, loop):
    client.force_login(people.operator)
    lamp = report(city, people, description="LED路灯闪烁")
    assert listed(client, q="led路灯") == [lamp.number]
    assert listed(client, q=lamp.number[:-1]) == sorted(
        (c.number for c in Case.objects.filter(number__startswith=lamp.number[:-1])), reverse=True)
    assert lamp.number in listed(client, q=lamp.number[:4])
    Case.objects.filter(pk=lamp.pk).update(description="广告牌歪斜", address="泉城路 88 号")
    assert listed(client, q="led路灯") == []
    assert listed(client, q="广告牌") == [lamp.number] == listed(client, q="泉城路")
    Case.objects.filter(pk=loop.pending.pk).update(description="路灯需要整体更换")
    assert listed(client, q="整体更换") == [loop.pending.number]


def test_operator_of_a_district_sees_only_that_district(client, people, loop):
    client.force_login(people.outsider)
    assert listed(client) == [loop.other_district.number]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "暴露垃圾"}, ["dispatched_b"]),
        ({"q": "路灯"}, ["reported"]),
        ({"q": "松动"}, ["handled"]),
        ({"q": "窨井盖缺失"}, ["dispatched_a"]),  # three characters or more: the trigram index
        ({"q": "需要 整体更换"}, ["pending"]),
        ({"q": "\"窨井盖"}, []),  # quotes are text, not search syntax
        ({"status": ["registered"]}, ["registered"]),
        ({"status": ["reported", "verifying"]}, ["reported", "verifying", "other_district"]),
        ({"category": "06"}, ["dispatched_b"]),
        ({"category": "06010"}, ["dispatched_b"]),
        ({"region": "370103"}, ["other_district"]),
        ({"region": "370103001"}, ["other_district"]),
        ({"region": "370103001001"}, ["other_district"]),
        ({"source": ["hotline"]}, ["verifying", "other_district"]),
        ({"supervised": "true"}, []),
        ({"is_open": "false"}, []),
    ],
)
def test_each_filter_narrows_the_list(client, people, loop, params, expected):
    client.force_login(people.operator)
    assert sorted(listed(client, **params)) == sorted(getattr(loop, name).number for name in expected)


def test_department_filter(client, people, loop, city):
    client.force_login(people.operator)
    assert listed(client, department=city.sanitation.pk) == [loop.dispatched_b.number]
    assert len(listed(client, department=city.municipal.pk)) == 5


def test_date_range_includes_the_last_day(client, people, loop, city):
    later = report(city, people, when=at(2026, 3, 5, 10, 0), description="三天后的问题")
    client.force_login(people.operator)
    assert listed(client, reported_from="2026-03-05") == [later.number]
    assert later.number in listed(client, reported_to="2026-03-05")
    assert later.number not in listed(client, reported_to="2026-03-04")
    assert len(listed(client, reported_from="2026-03-02", reported_to="2026-03-02")) == 10


def test_overdue_and_supervised_filters(client, people, loop):
    now = timezone.now()
    set_deadline(loop.dispatched_a, warn=now - timedelta(hours=2), due=now - timedelta(hours=1))
    services.case_supervise(case=loop.pending, actor=people.leader)
    client.force_login(people.operator)
    assert listed(client, overdue="true") == [loop.dispatched_a.number]
    assert listed(client, supervised="true") == [loop.pending.number]
    assert loop.dispatched_a.number not in listed(client, overdue="false")


def test_sorting_and_paging(client, people, loop, monkeypatch):
    monkeypatch.setattr("cityloop.web.views.cases.PAGE_SIZE", 4)
    client.force_login(people.operator)
    all_numbers = sorted(c.number for c in Case.objects.all())
    first = listed(client, ordering="number")
    second = listed(client, ordering="number", page=2)
    third = listed(client, ordering="number", page=3)
    assert first + second + third == all_numbers
    assert listed(client, ordering="-number")[0] == all_numbers[-1]
    text = client.get(reverse("case-list"), {"ordering": "number", "page": 2}).content.decode()
    assert "第 2 / 3 页" in text and "page=3" in text and "ordering=number" in text


def test_filters_refresh_only_the_table_over_htmx(client, people, loop):
    client.force_login(people.operator)
    response = client.get(reverse("case-list"), {"status": "registered"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith('<section id="case-results"') and "<html" not in text
    assert loop.registered.number in text and loop.reported.number not in text
    # The export link carries the same filters.
    assert "export.xlsx?status=registered" in text
    # A browser restoring history gets the whole page.
    full = client.get(reverse("case-list"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in full.content.decode()


def test_full_page_has_labelled_filters(client, people, loop):
    client.force_login(people.operator)
    text = client.get(reverse("case-list")).content.decode()
    for name in ("q", "category", "region", "department", "reported_from", "reported_to", "overdue", "supervised"):
        assert f'<label for="id_{name}">' in text, name
    assert 'hx-get="/cases/"' in text and 'hx-target="#case-results"' in text


def test_bad_filter_value_is_reported_not_a_crash(client, people, loop):
    client.force_login(people.operator)
    response = client.get(reverse("case-list"), {"reported_from": "not-a-date"})
    assert response.status_code == 200 and response.context["filter_errors"]


def test_dispatcher_dispatches_in_bulk_and_sees_each_failure(client, people, loop, city):
    second = report(city, people, grid=2, category=city.garbage, description="又一处垃圾")
    services.case_register(case=second, actor=people.operator)
    client.force_login(people.dispatcher)
    page = client.get(reverse("case-list"), {"status": "registered"}).content.decode()
    assert 'form="bulk-dispatch"' in page and "批量派遣" in page
    response = client.post(
        reverse("case-bulk-dispatch"),
        {"ids": [loop.registered.pk, second.pk, loop.reported.pk], "return_query": "status=registered"},
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "已派遣 2 件案卷" in text
    assert loop.reported.number in text and "已上报" in text  # the case that could not be dispatched, and why
    loop.registered.refresh_from_db()
    second.refresh_from_db()
    assert loop.registered.status == CaseStatus.DISPATCHED and loop.registered.department == city.municipal
    assert second.department == city.sanitation  # each to its own routing proposal
    assert response.context["total"] == 0  # the refreshed table keeps the filter (no registered case left)


def test_bulk_dispatch_to_a_chosen_department_without_htmx(client, people, loop, city):
    client.force_login(people.dispatcher)
    response = client.post(reverse("case-bulk-dispatch"), {"ids": [loop.registered.pk], "department": city.sanitation.pk})
    assert response.status_code == 302
    loop.registered.refresh_from_db()
    assert loop.registered.department == city.sanitation and loop.registered.routing_reason == "派遣员指定"


def test_bulk_dispatch_is_refused_to_other_roles_case_by_case(client, people, loop):
    client.force_login(people.operator)
    response = client.post(reverse("case-bulk-dispatch"), {"ids": [loop.registered.pk]}, HTTP_HX_REQUEST="true")
    assert "不能进行“派遣”" in response.content.decode()
    loop.registered.refresh_from_db()
    assert loop.registered.status == CaseStatus.REGISTERED
    assert 'id="bulk-dispatch"' not in client.get(reverse("case-list")).content.decode()


def test_inspector_report_is_listed_for_the_inspector(client, people, city):
    case = report(city, people, source=Source.INSPECTOR, when=MONDAY_9)
    client.force_login(people.inspector)
    assert listed(client) == [case.number]
