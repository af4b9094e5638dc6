"""Deep pages of the case list come in two steps (the page's ids, then the rows) and list the same cases."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cityloop.cases.models import Case

pytestmark = pytest.mark.django_db


def listed(client, **params) -> list[str]:
    response = client.get(reverse("case-list"), params)
    assert response.status_code == 200
    return [row.case.number for row in response.context["rows"]]


@pytest.mark.parametrize("ordering", ["", "number", "-number", "due", "-reported_at"])
def test_two_step_pages_list_the_same_cases_in_the_same_order(client, people, loop, monkeypatch, ordering):
    client.force_login(people.operator)
    monkeypatch.setattr("cityloop.web.views.cases.PAGE_SIZE", 3)
    params = {"ordering": ordering} if ordering else {}
    monkeypatch.setattr("cityloop.cases.selectors.DEEP_OFFSET", 10**9)  # every page in one query
    one_step = [listed(client, page=n, **params) for n in (1, 2, 3, 4)]
    monkeypatch.setattr("cityloop.cases.selectors.DEEP_OFFSET", 0)  # every page through the two-step path
    two_step = [listed(client, page=n, **params) for n in (1, 2, 3, 4)]
    assert two_step == one_step
    assert sorted(n for page in two_step for n in page) == sorted(Case.objects.values_list("number", flat=True))


def test_two_step_pages_keep_the_filters_and_the_scope(client, people, loop, monkeypatch):
    client.force_login(people.handler_a)
    monkeypatch.setattr("cityloop.web.views.cases.PAGE_SIZE", 1)
    monkeypatch.setattr("cityloop.cases.selectors.DEEP_OFFSET", 0)
    total = client.get(reverse("case-list")).context["total"]
    visible = [n for page in range(1, total + 1) for n in listed(client, page=page)]
    assert len(visible) == len(set(visible)) == total > 1
    assert loop.dispatched_b.number not in visible and loop.dispatched_a.number in visible
    dispatched = listed(client, page=1, status="dispatched") + listed(client, page=2, status="dispatched")
    assert sorted(dispatched) == sorted([loop.dispatched_a.number, loop.pending.number])


def test_the_api_list_reads_deep_pages_in_two_steps_with_the_same_rows(client, people, loop, monkeypatch, settings):
    settings.CITYLOOP_API_LIST_CACHE_SECONDS = 0
    client.force_login(people.operator)

    def numbers(page: int) -> list[str]:
        response = client.get("/api/v1/cases", {"page": page, "page_size": 3})
        assert response.status_code == 200
        return [item["number"] for item in response.json()["results"]]

    monkeypatch.setattr("cityloop.cases.selectors.DEEP_OFFSET", 10**9)
    one_step = [numbers(n) for n in (1, 2, 3, 4)]
    monkeypatch.setattr("cityloop.cases.selectors.DEEP_OFFSET", 0)
    assert [numbers(n) for n in (1, 2, 3, 4)] == one_step
    assert sum(len(p) for p in one_step) == Case.objects.count() > 3
