"""A text search's total is counted only up to a cap (``cases.selectors.SEARCH_COUNT_CAP``, 1,000): counting every
match of a common word grew with the city. The list then says "more than N" and pages through the first N; the
API answers ``count_exact: false`` and still serves the pages after them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cityloop.cases import selectors as case_selectors
from cityloop.cases.selectors import capped_count

from .conftest import MONDAY_9, report

pytestmark = pytest.mark.django_db


@pytest.fixture
def matches(city, people, monkeypatch):
    """Five cases on 泉城路 (newest first) and one elsewhere; the cap lowered to 3."""
    monkeypatch.setattr(case_selectors, "SEARCH_COUNT_CAP", 3)
    made = [report(city, people, grid=i % 4, description=f"泉城路路面破损 {i}", when=MONDAY_9 + timedelta(minutes=i))
            for i in range(5)]
    report(city, people, description="经十路路灯不亮")
    return list(reversed(made))


def test_capped_count_stops_at_the_cap(matches):
    from cityloop.cases.models import Case

    cases = Case.objects.all()
    assert capped_count(cases) == (3, False)
    assert capped_count(cases, 6) == (6, True)
    assert capped_count(cases, 10) == (6, True)
    assert capped_count(cases.none()) == (0, True)


def test_the_list_shows_more_than_the_cap_and_its_first_page_works(client, people, matches):
    client.force_login(people.operator)
    response = client.get(reverse("case-list"), {"q": "泉城路"})
    assert response.status_code == 200
    assert (response.context["total"], response.context["total_capped"]) == (3, True)
    assert [row.case.pk for row in response.context["rows"]] == [c.pk for c in matches[:3]]
    text = response.content.decode()
    assert "超过 3 件" in text and "共 3 件" not in text
    partial = client.get(reverse("case-list"), {"q": "泉城路"}, HTTP_HX_REQUEST="true")
    assert "超过 3 件" in partial.content.decode()


def test_a_search_within_the_cap_and_a_list_without_search_have_exact_totals(client, people, matches):
    client.force_login(people.operator)
    few = client.get(reverse("case-list"), {"q": "经十路"})
    assert (few.context["total"], few.context["total_capped"]) == (1, False) and "共 1 件" in few.content.decode()
    everything = client.get(reverse("case-list"))
    assert (everything.context["total"], everything.context["total_capped"]) == (6, False)
    filtered = client.get(reverse("case-list"), {"status": "reported"})
    assert (filtered.context["total"], filtered.context["total_capped"]) == (6, False)


def test_the_api_marks_a_capped_count_and_serves_every_page(client, people, matches):
    client.force_login(people.operator)
    first = client.get("/api/v1/cases", {"q": "泉城路", "page_size": 2}).json()
    assert (first["count"], first["count_exact"], first["pages"]) == (3, False, 2)
    seen = [row["id"] for row in first["results"]]
    page = 1
    while True:  # what the field's description tells a client to do: page on until a short page
        page += 1
        body = client.get("/api/v1/cases", {"q": "泉城路", "page_size": 2, "page": page}).json()
        seen += [row["id"] for row in body["results"]]
        if len(body["results"]) < 2:
            break
    assert seen == [c.pk for c in matches]
    exact = client.get("/api/v1/cases", {"q": "经十路"}).json()
    assert (exact["count"], exact["count_exact"]) == (1, True)
    assert client.get("/api/v1/cases", {"q": "经十路", "page": 2}).json()["results"] == []
    plain = client.get("/api/v1/cases").json()
    assert (plain["count"], plain["count_exact"]) == (6, True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan hint is PostgreSQL's")
def test_the_capped_count_keeps_postgresql_on_the_trigram_indexes_and_then_resets(matches):
    """Words of three characters or more: the count is told not to scan the table (the indexes find the
    matches), and the setting is back as it was for the request's later statements; shorter words scan."""
    from cityloop.cases.models import Case
    from cityloop.cases.selectors import case_text_q

    with CaptureQueriesContext(connection) as queries:
        assert capped_count(Case.objects.filter(case_text_q("泉城路")), terms=["泉城路"]) == (3, False)
    assert any("enable_seqscan = off" in q["sql"] for q in queries.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"
    with CaptureQueriesContext(connection) as queries:
        assert capped_count(Case.objects.filter(case_text_q("路面")), terms=["路面"]) == (3, False)
    assert not any("enable_seqscan" in q["sql"] for q in queries.captured_queries)
