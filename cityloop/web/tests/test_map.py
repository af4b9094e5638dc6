"""一张图: the page and its JSON layers respect the user's scope, the filters and the bbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cityloop.cases import deadlines
from cityloop.cases.models import Case, CaseStage
from cityloop.cases.statuses import OPEN_STATUSES
from cityloop.cases.tests.conftest import CELL, NORTH, WEST
from cityloop.web.selectors import map_case_points

pytestmark = pytest.mark.django_db

WHOLE = f"{WEST - 0.01},{NORTH - 0.01},{WEST + 0.01},{NORTH + 0.01}"
SHIZHONG = f"{WEST + 3 * CELL},{NORTH - CELL},{WEST + 4 * CELL},{NORTH}"


def ids(client, **params) -> set[int]:
    response = client.get(reverse("map-cases"), params)
    assert response.status_code == 200
    data = response.json()
    assert data["fields"] == ["id", "lon", "lat", "status", "light"]
    return {row[0] for row in data["rows"]}


def test_markers_respect_scope(client, people, loop):
    client.force_login(people.handler_b)
    assert ids(client) == {loop.dispatched_b.pk}
    client.force_login(people.outsider)
    assert ids(client) == {loop.other_district.pk}


def test_markers_respect_bbox_and_filters(client, people, loop):
    client.force_login(people.operator)
    assert len(ids(client)) == 10
    assert ids(client, bbox=SHIZHONG) == {loop.other_district.pk}
    assert ids(client, category="06") == {loop.dispatched_b.pk}
    assert ids(client, queue="reported") == {loop.reported.pk, loop.other_district.pk}
    response = client.get(reverse("map-cases"), {"bbox": "1,2,x"})
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_marker_rows_are_compact(client, people, loop):
    client.force_login(people.operator)
    response = client.get(reverse("map-cases"), {"bbox": SHIZHONG})
    row = response.json()["rows"][0]
    assert row[0] == loop.other_district.pk and row[3] == "reported" and row[4] in ("green", "yellow", "red")
    assert "private" in response["Cache-Control"]


def test_grid_counts_for_the_choropleth(client, people, loop, city):
    client.force_login(people.operator)
    data = client.get(reverse("map-grid-counts"), {"bbox": WHOLE}).json()
    counts = {f["properties"]["code"]: f["properties"]["count"] for f in data["features"]}
    open_cases = sum(1 for c in vars(loop).values() if c.status in OPEN_STATUSES)
    assert sum(counts.values()) == open_cases and data["max"] == max(counts.values())
    assert data["features"][0]["geometry"]["type"] == "Polygon"
    client.force_login(people.handler_b)
    data = client.get(reverse("map-grid-counts")).json()
    assert {f["properties"]["code"]: f["properties"]["count"] for f in data["features"]} == {city.grids[3].code: 1}
    only_shizhong = client.get(reverse("map-grid-counts"), {"bbox": SHIZHONG}).json()
    assert only_shizhong["features"] == []


def test_grids_in_view_need_a_bbox(client, people, city):
    client.force_login(people.operator)
    assert client.get(reverse("grids-geojson")).status_code == 400
    data = client.get(reverse("grids-geojson"), {"bbox": SHIZHONG}).json()
    assert [f["properties"]["code"] for f in data["features"]] == [city.other_grid.code]


def test_map_page_uses_local_vendor_files_and_optional_tiles(client, people, city, settings):
    client.force_login(people.operator)
    text = client.get(reverse("map")).content.decode()
    assert "vendor/markercluster/leaflet.markercluster.js" in text and "vendor/leaflet/leaflet.js" in text
    assert 'data-tile-url=""' in text and "http" not in text.split('id="city-map"')[1].split(">")[0]
    assert '<label for="id_category">' in text
    settings.TILE_URL = "https://tiles.example.cn/{z}/{x}/{y}.png"
    text = client.get(reverse("map")).content.decode()
    assert 'data-tile-url="https://tiles.example.cn/{z}/{x}/{y}.png"' in text


def test_map_endpoints_need_login(client):
    for name in ("map", "map-cases", "map-grid-counts", "grids-geojson", "regions-geojson"):
        assert client.get(reverse(name)).status_code == 302


def test_the_open_case_layer_is_exactly_the_open_cases_of_the_users_scope(client, people, loop):
    """What the page asks for as it loads (``is_open=true``) and for a viewport: every open case the user may
    see, nothing closed or out of scope, whatever the role's scope is made of."""
    from cityloop.cases import services
    from cityloop.cases.selectors import cases_visible_to

    services.case_close(case=loop.to_close, actor=people.shift_leader)  # checked: closed, off the layer
    for user in (people.operator, people.outsider, people.inspector, people.handler_a, people.leader):
        client.force_login(user)
        expected = set(cases_visible_to(user).filter(status__in=OPEN_STATUSES).values_list("pk", flat=True))
        response = client.get(reverse("map-cases"), {"is_open": "true"})
        rows = response.json()["rows"]
        assert {row[0] for row in rows} == expected and len(rows) == len(expected), user.username
        assert {row[3] for row in rows} <= set(OPEN_STATUSES)
        assert ids(client, is_open="true", bbox=WHOLE) == expected
        assert loop.to_close.pk not in expected
    client.force_login(people.operator)
    assert ids(client, is_open="true", bbox=SHIZHONG) == {loop.other_district.pk}


def test_marker_lights_are_the_deadline_rule(client, people, loop):
    """The layer computes each light in SQL (``open_stage_light_sql``): the same as ``deadlines.light`` for
    green, yellow, red and paused stages (and on the boundaries), and empty without an open stage."""
    now = timezone.now()
    hour, minute = timedelta(hours=1), timedelta(minutes=1)
    kinds = [(now + hour, now + 2 * hour, None), (now - hour, now + hour, None), (now - 2 * hour, now - hour, None),
             (now - 2 * hour, now - hour, now - 3 * hour), (now - 2 * hour, now - hour, now - 90 * minute),
             (now, now, None)]
    stages = list(CaseStage.objects.filter(ended_at__isnull=True).order_by("case_id"))
    for n, stage in enumerate(stages):
        warn, due, paused = kinds[n % len(kinds)]
        CaseStage.objects.filter(pk=stage.pk).update(warn_at=warn, due_at=due, paused_at=paused)
    closed = stages[0].case_id
    CaseStage.objects.filter(case_id=closed).update(ended_at=now)
    rows = map_case_points(Case.objects.all(), now=now)["rows"]
    expected = {s.case_id: str(deadlines.light(s, now=now)) for s in CaseStage.objects.filter(ended_at__isnull=True)}
    got = {row[0]: row[4] for row in rows}
    assert got == {pk: expected.get(pk, "") for pk in got} and got[closed] == ""
    assert {"green", "yellow", "red"} <= set(got.values())
