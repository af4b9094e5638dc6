"""One rule for coordinates typed as text, on every channel (the public page, the inspector's page, API v1 forms,
Open311): full-width digits, point and minus — a Chinese input method in full-width mode — are read as ASCII;
anything but a plain decimal number (exponents, other scripts' digits, nan, underscores) is refused."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from cityloop.api.services import token_create
from cityloop.cases.models import Case
from cityloop.cases.tests.conftest import city, jpeg_bytes, people  # noqa: F401  (fixtures)
from cityloop.portal.tests.conftest import jpeg

pytestmark = pytest.mark.django_db

GARBAGE = "06010"  # 暴露垃圾 in the test city
FULL_WIDTH = str.maketrans("0123456789.-+", "０１２３４５６７８９．－＋")


def full_width(value: float) -> str:
    return f"{value:.7f}".translate(FULL_WIDTH)


def by_portal(city, lon: str, lat: str):  # noqa: F811
    data = {"idempotency_key": str(uuid.uuid4()), "category": GARBAGE, "description": "路边有垃圾",
            "lon": lon, "lat": lat, "reporter_phone": "13912345678", "photos": [jpeg()]}
    return Client().post("/public/", data, HTTP_ACCEPT="application/json")


def by_api(people, lon: str, lat: str):  # noqa: F811
    key = token_create(user=people.inspector, name="表单客户端")[1]
    data = {"category": GARBAGE, "description": "路边有垃圾", "lon": lon, "lat": lat}
    return Client().post("/api/v1/cases", data, headers={"Authorization": f"Bearer {key}"})


def by_open311(people, lon: str, lat: str):  # noqa: F811
    key = token_create(user=people.operator, name="第三方客户端")[1]
    data = {"api_key": key, "service_code": GARBAGE, "lat": lat, "long": lon, "description": "路边有垃圾"}
    return Client().post("/open311/v2/requests.json", data)


def test_full_width_coordinates_are_read_the_same_on_every_channel(city, people):  # noqa: F811
    lon, lat = city.point(1)
    answers = [by_portal(city, full_width(lon), full_width(lat)), by_api(people, full_width(lon), full_width(lat)),
               by_open311(people, full_width(lon), full_width(lat))]
    assert [a.status_code for a in answers] == [201, 201, 201], [a.content for a in answers]
    assert {(c.grid_id, round(c.lon, 6), round(c.lat, 6)) for c in Case.objects.all()} == {
        (city.grids[1].pk, round(lon, 6), round(lat, 6))
    }


@pytest.mark.parametrize("spelling", ["1.17e2", "١١٧", "nan", "1_17", "117。0"])
def test_anything_but_a_plain_decimal_is_refused_on_every_channel(city, people, spelling):  # noqa: F811
    lon, lat = city.point(1)
    weird = spelling if spelling != "1.17e2" else f"{lon / 100:.9f}e2"
    assert by_portal(city, weird, str(lat)).status_code == 422
    assert by_api(people, weird, str(lat)).status_code == 422
    assert by_open311(people, weird, str(lat)).status_code == 400
    assert Case.objects.count() == 0
