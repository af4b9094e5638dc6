"""一张图: the page and its JSON layers respect the user's scope, the filters and the bbox."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cityloop.cases.statuses import OPEN_STATUSES
from cityloop.cases.tests.conftest import CELL, NORTH, WEST

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
