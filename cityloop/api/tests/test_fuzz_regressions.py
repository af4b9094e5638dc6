"""Requests the schema fuzz (``test_schema_fuzz.py``, ``scripts/fuzz``) once found answered against the
document, kept as plain tests so they are checked on every run whatever the fuzz's seed generates.

Add one here for every failure the fuzz finds, with the date and what it found."""

from __future__ import annotations

import pytest


def codes(response) -> list[str]:
    return [row["code"] for row in response.json()]


# 2026-12 (#25): ``GET /api/v1/categories?parent=`` — an empty filter is valid in the document (a string of at
# most 8 characters) and means "no filter".
def test_empty_parent_lists_the_same_as_no_parent(city, people, api_for):
    api = api_for(people.dispatcher)

    empty = api.get("/api/v1/categories?parent=")

    assert empty.status_code == 200
    assert codes(empty) == codes(api.get("/api/v1/categories"))
    assert len(codes(empty)) > 1


# 2026-12 (#25): ``?parent=&parent=<text>…`` — a single-value filter given several times was answered 200 with
# the last value, while the document describes one value: it is refused, naming the parameter.
@pytest.mark.parametrize(("path", "query", "parameter"), [
    ("/api/v1/categories", "parent=&parent=01", "parent"),
    ("/api/v1/categories", "q=井盖&q=null", "q"),
    ("/api/v1/categories", "kind=event&kind=component", "kind"),
    ("/api/v1/categories", "minor_only=true&minor_only=false", "minor_only"),
    ("/api/v1/cases", "category=01&category=06", "category"),
    ("/api/v1/cases", "region=370102&region=370103", "region"),
    ("/api/v1/cases", "page=1&page=2", "page"),
    ("/api/v1/geo/regions", "level=district&level=street", "level"),
    ("/api/v1/notifications", "limit=5&limit=6", "limit"),
])
def test_a_single_value_filter_given_twice_is_refused_with_422(city, people, api_for, path, query, parameter):
    response = api_for(people.dispatcher).get(f"{path}?{query}")

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["details"] == {parameter: ["只能给一个值，不能重复"]}


def test_list_filters_still_take_repeated_values(city, people, api_for):
    """``status`` and ``source`` are arrays in the document: repeating them is how a client gives several."""
    response = api_for(people.dispatcher).get("/api/v1/cases?status=reported&status=registered&source=public")

    assert response.status_code == 200, response.content
