"""Proof against clients we did not write, on a live server.

* ``georeport`` (PyPI, a third-party Open311 GeoReport v2 client) reads services, a service definition,
  request lists and single requests, in JSON and in XML.
* POST and token paths with plain HTTP (``requests``) the way the ``three`` client posts: form fields
  ``address_string``, ``first_name``, ``last_name``, ``email``, ``phone``, ``attribute[CODE]``, and a
  multipart ``media`` file.
"""

from __future__ import annotations

import pytest
import requests  # the test extra: georeport, requests

from cityloop.api.services import token_create
from cityloop.cases.models import Case
from cityloop.cases.services import case_dispatch, case_register, case_report

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served(live_server, city, people, settings):
    """Two reported cases (one dispatched) and a client key; returns (root URL, key, cases). This deployment
    publishes its inspectors' cases to anonymous Open311 readers too (as the public pages show them)."""
    settings.CITYLOOP_OPEN311_PUBLIC_SOURCES = ["public", "open311", "inspector"]
    lon, lat = city.point(0)
    first = case_report(source="public", category="01001", description="井盖缺失", lon=lon, lat=lat,
                        reporter_name="吴小雨", reporter_phone="13800001234").case
    lon, lat = city.point(2)
    second = case_report(source="inspector", category="06010", description="暴露垃圾", lon=lon, lat=lat,
                         reporter=people.inspector).case
    case_register(case=second, actor=people.operator)
    case_dispatch(case=second, actor=people.dispatcher)
    key = token_create(user=people.operator, name="三方客户端")[1]
    return f"{live_server.url}/open311/v2", key, [first, second]


def _as_list(value):
    """xmltodict gives a dict for a single child element and a list for several."""
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_georeport_client_reads_everything(served, output_format):
    from georeport import GeoReport

    root, _key, cases = served
    client = GeoReport(root, jurisdiction="370100", output_format=output_format)

    services = _as_list(client.get_service_list())
    assert [s["service_code"] for s in services] == ["01001", "06010"]
    metadata = [s["metadata"] for s in services]
    assert metadata == ([True, False] if output_format == "json" else ["true", "false"])

    definition = client.get_service_definition("01001")
    assert definition["service_code"] == "01001"
    attributes = definition["attributes"] if output_format == "json" else _as_list(definition["attributes"]["attribute"])
    assert attributes[0]["code"] == "TRAFFIC"

    listed = _as_list(client.get_service_requests())
    assert {r["service_request_id"] for r in listed} == {c.number for c in cases}
    only_garbage = _as_list(client.get_service_requests(service_code="06010", status="open"))
    assert [r["service_request_id"] for r in only_garbage] == [cases[1].number]
    by_ids = _as_list(client.get_service_requests(service_request_id=cases[0].number))
    assert [r["service_request_id"] for r in by_ids] == [cases[0].number]

    single = client.get_service_request(cases[1].number)
    assert single["service_request_id"] == cases[1].number
    assert single["status"] == "open" and single["agency_responsible"] == "环卫中心"
    assert single["expected_datetime"].endswith("+08:00")
    text = repr(listed)
    assert "吴小雨" not in text and "13800001234" not in text


def test_georeport_client_raises_on_the_spec_errors(served):
    from georeport import GeoReport

    root, _key, _cases = served
    wrong_city = GeoReport(root, jurisdiction="sfgov.org")
    with pytest.raises(requests.HTTPError) as caught:
        wrong_city.get_service_list()
    assert caught.value.response.status_code == 404
    assert caught.value.response.json()[0]["code"] == 404
    with pytest.raises(requests.HTTPError):
        GeoReport(root, output_format="xml").get_service_request("1999000001")


def test_post_and_token_paths_as_the_three_client_does(served, settings, jpeg_bytes):
    root, key, _cases = served
    data = {
        "api_key": key, "jurisdiction_id": "370100", "service_code": "01001",
        "address_string": "370102001001004 甲路与乙路路口", "first_name": "John", "last_name": "Smith",
        "email": "john@example.cn", "phone": "13900002222", "description": "井盖缺失，有人差点掉下去",
        "attribute[TRAFFIC]": "yes", "attribute[CONDITION]": "missing",
    }
    created = requests.post(f"{root}/requests.json", data=data, files={"media": ("photo.jpg", jpeg_bytes, "image/jpeg")},
                            timeout=30)
    assert created.status_code == 201, created.text
    number = created.json()[0]["service_request_id"]
    case = Case.objects.get(number=number)
    assert case.grid.code == "370102001001004" and case.attachments.count() == 1
    assert case.reporter_name == "John Smith" and "【是否影响车辆或行人通行？】是，影响通行" in case.description

    fetched = requests.get(f"{root}/requests/{number}.json", timeout=30).json()[0]
    assert fetched["media_url"].startswith(root.split("/open311")[0])
    assert "john@example.cn" not in requests.get(f"{root}/requests.xml", timeout=30).text

    settings.CITYLOOP_OPEN311_SERVICE_TYPE = "batch"
    data["description"] = "另一处井盖"
    queued = requests.post(f"{root}/requests.xml", data=data, timeout=30)
    assert queued.status_code == 201, queued.text
    import xml.etree.ElementTree as ET

    token = ET.fromstring(queued.content).findtext("request/token")
    resolved = requests.get(f"{root}/tokens/{token}.json", timeout=30).json()
    assert resolved[0]["token"] == token and Case.objects.filter(number=resolved[0]["service_request_id"]).exists()

    refused = requests.post(f"{root}/requests.json", data={**data, "api_key": "cl_nope"}, timeout=30)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
