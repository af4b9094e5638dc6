"""Anonymous Open311 reads show what the public pages show, no more (#19 item 3): the public's own reports,
each at its grid's centre rounded to ~100 m, no description or address beyond the street, no staff notes, only
photos cleared for the public. A key reads its user's scope in full; a deployment may close anonymous reads."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cityloop.api.services import token_create
from cityloop.cases.services import case_dispatch, case_register, case_report

pytestmark = pytest.mark.django_db
URL = "/open311/v2/requests.json"


@pytest.fixture
def reported(city, people):
    lon, lat = city.point(0)
    public = case_report(source="public", category="01001", description="我家门口井盖没了，电话13800001234",
                         lon=lon + 0.0001234567, lat=lat + 0.0000765432, address="甲路 1 号 3 单元",
                         reporter_name="吴小雨", reporter_phone="13800001234").case
    lon, lat = city.point(2)
    staff = case_report(source="inspector", category="06010", description="暴露垃圾（内部巡查）", lon=lon, lat=lat,
                        reporter=people.inspector).case
    case_register(case=staff, actor=people.operator, note="内部备注：联系物业王经理 13911112222")
    case_dispatch(case=staff, actor=people.dispatcher)
    return public, staff


def test_anonymous_reads_show_only_the_publics_reports_as_the_public_map_does(reported):
    public, staff = reported
    answer = Client().get(URL, {"extensions": "true"})

    assert answer.status_code == 200
    items = answer.json()
    assert [item["service_request_id"] for item in items] == [public.number]
    item = items[0]
    assert item["description"] == "" and "甲路" not in item["address"]
    assert len(str(item["lat"]).split(".")[1]) <= 3 and len(str(item["long"]).split(".")[1]) <= 3
    text = json.dumps(items, ensure_ascii=False)
    for secret in ("13800001234", "吴小雨", "井盖没了", "内部", "13911112222", "1 号"):
        assert secret not in text, secret
    assert Client().get(f"/open311/v2/requests/{staff.number}.json").status_code == 404


def test_a_key_reads_its_users_scope_in_full(reported, people):
    public, staff = reported
    key = token_create(user=people.dispatcher, name="对接")[1]

    items = Client().get(URL, {"api_key": key}).json()

    assert {item["service_request_id"] for item in items} == {public.number, staff.number}
    assert next(i for i in items if i["service_request_id"] == public.number)["description"].startswith("我家门口")


def test_a_deployment_can_require_a_key_for_every_read(reported, settings):
    settings.CITYLOOP_OPEN311_ANONYMOUS_READS = "none"

    assert Client().get(URL).status_code == 403
    assert Client().get(URL, {"api_key": "not-a-key"}).status_code == 403
