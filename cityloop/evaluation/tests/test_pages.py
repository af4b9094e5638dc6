"""The evaluation pages: ranked tables, drill-down, access per role, negative list, ledger, quarterly, export."""

from __future__ import annotations

import io
import json
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cityloop.catalog.models import Department
from cityloop.core.tests.pages import external_assets
from cityloop.evaluation.models import Level
from cityloop.evaluation.tests.scenario import AS_OF, PERIOD

pytestmark = pytest.mark.django_db


def url(name: str, **params: object) -> str:
    query = {"period": PERIOD.key, "as_of": AS_OF.isoformat(), **params}
    return f"{reverse(name)}?{urlencode(query)}"


def page(client, user, address: str, status: int = 200) -> str:
    client.force_login(user)
    response = client.get(address)
    assert response.status_code == status, response.content.decode()[:500]
    return response.content.decode()


def test_the_leader_sees_the_ranked_table_chart_and_trend(client, scenario, people):
    text = page(client, people.leader, url("evaluation:index", level="department"))
    assert "环卫中心" in text and "市政中心" in text and "全市合计" in text
    assert text.index("环卫中心") < text.index("市政中心")
    assert "87.14" in text and "67.14" in text and "↓2.86" in text
    assert 'vendor/echarts/echarts.min.js' in text and external_assets(text) == []
    chart = json.loads(re.search(r'<script id="eval-chart-data" type="application/json">(.*?)</script>', text, re.S)[1])
    assert chart == [{"name": "环卫中心", "score": 87.14, "grade": "B"}, {"name": "市政中心", "score": 67.14, "grade": "C"}]
    trend = json.loads(re.search(r'<script id="eval-trend-data" type="application/json">(.*?)</script>', text, re.S)[1])
    assert len(trend["periods"]) == 6 and {s["name"] for s in trend["series"]} == {"环卫中心", "市政中心"}
    municipal = next(s for s in trend["series"] if s["name"] == "市政中心")
    assert municipal["scores"][-2:] == [70.0, 67.14]  # the previous fortnight, then this one
    assert '<label for="id_kind">考评周期</label>' in text  # the period picker has labels
    assert 'value="2026-09-28"' in text and 'value="2026-10-11"' in text  # custom dates in ISO for <input type=date>
    assert 'id="eval-map"' not in text  # the map is for region levels
    district = page(client, people.leader, url("evaluation:index", level="district"))
    assert 'id="eval-map"' in district and 'data-url="/evaluation/map.geojson?level=district' in district


def test_each_number_links_to_its_cases(client, scenario, people, city):
    text = page(client, people.leader, url("evaluation:index", level="department"))
    links = {unescape(href) for href in re.findall(r'href="(/evaluation/cases/\?[^"]+)"', text)}
    overdue = next(link for link in links if "indicator=overdue_open" in link and f"unit={city.municipal.pk}&" in link)
    listing = page(client, people.leader, overdue)
    assert scenario.C9.number in listing and "共 1 条" in listing
    assert f'href="/cases/{scenario.C9.pk}/"' in listing
    for link in links:  # every link opens, and lists as many rows as the number it came from
        assert client.get(link).status_code == 200
    rate = next(link for link in links if "indicator=handle_on_time_rate" in link and f"unit={city.municipal.pk}&" in link)
    listing = page(client, people.leader, rate)
    assert "共 8 条" in listing and "其中计入“按时处置数”的 4 条" in listing


def test_the_period_picker(client, scenario, people):
    client.force_login(people.leader)
    text = client.get(reverse("evaluation:index"), {"kind": "quarter", "year": "2026", "quarter": "4",
                                                     "level": "district"}).content.decode()
    assert "2026年第4季度" in text and "各区域综合得分分布" in text
    text = client.get(reverse("evaluation:index"), {"kind": "custom", "date_from": "2026-10-05",
                                                     "date_to": "2026-10-01"}).content.decode()
    assert "结束日期不能早于开始日期" in text


def test_a_handler_sees_only_their_department(client, scenario, people, city):
    text = page(client, people.handler_a, url("evaluation:index", level="department"))
    assert "市政中心" in text and "环卫中心" not in text and "全市合计" not in text
    assert "共 2 个单位参与排名" in text  # ranked among all peers
    page(client, people.handler_a, url("evaluation:index", level="district"), status=403)
    page(client, people.handler_a, url("evaluation:cases", level="department", indicator="handled",
                                       unit=city.sanitation.pk), status=403)
    page(client, people.handler_a, url("evaluation:cases", level="department", indicator="handled", unit="all"),
         status=403)
    negative = page(client, people.handler_a, url("evaluation:negative"))
    assert scenario.C19.number in negative and scenario.C7.number not in negative
    ledger = page(client, people.handler_b, url("evaluation:rework"))
    assert scenario.C4.number not in ledger  # 市政's rework, not 环卫's


def test_positions_see_their_own_row_and_citizens_nothing(client, scenario, people):
    text = page(client, people.inspector, url("evaluation:index"))
    assert "王建国" in text and "钱进" not in text and "88.00" in text
    page(client, people.inspector, url("evaluation:index", level="department"), status=403)
    page(client, people.citizen, url("evaluation:index"), status=403)
    client.logout()
    assert client.get(url("evaluation:index")).status_code == 302


def test_negative_list_ledger_and_quarterly_pages(client, scenario, people):
    negative = page(client, people.leader, url("evaluation:negative"))
    assert "多次回退" in negative and scenario.C19.number in negative and scenario.C10.number in negative
    ledger = page(client, people.leader, url("evaluation:rework"))
    assert scenario.C4.number in ledger and "超期重办完成" in ledger and "井盖仍然松动" in ledger
    client.force_login(people.leader)
    quarterly = client.get(reverse("evaluation:quarterly"), {"period": "2026Q3", "as_of": AS_OF.isoformat()})
    text = quarterly.content.decode()
    assert quarterly.status_code == 200 and "历下区" in text and "76.57" in text and "evaluation.css" in text
    assert text.index("历下区") < text.index("市中区") and "编制单位" in text and "data-print" in text
    page(client, people.handler_a, reverse("evaluation:quarterly"), status=403)


def test_the_excel_export_has_a_sheet_per_level(client, scenario, people):
    client.force_login(people.leader)
    response = client.get(url("evaluation:export"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [lv.label for lv in Level]
    client.force_login(people.handler_a)
    book = load_workbook(io.BytesIO(client.get(url("evaluation:export")).content))
    assert book.sheetnames == ["处置单位"]
    names = [book["处置单位"].cell(row=n, column=3).value for n in range(5, 8)]
    assert names == ["市政中心", None, None]  # only their row, no city total


def test_the_excel_export_writes_names_stored_with_control_characters(client, scenario, people):
    Department.objects.filter(name="市政中心").update(name="市政\x0b中心\x1b")
    client.force_login(people.leader)
    response = client.get(url("evaluation:export"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["处置单位"]
    assert "市政\n中心" in [sheet.cell(row=n, column=3).value for n in range(5, sheet.max_row + 1)]


def test_the_map_colours_regions_by_score(client, scenario, people):
    client.force_login(people.leader)
    data = client.get(url("evaluation:map", level="district")).json()
    by_name = {f["properties"]["name"]: f["properties"] for f in data["features"]}
    assert by_name["历下区"]["grade"] == "D" and by_name["历下区"]["score"] == 55.14
    assert by_name["市中区"]["grade"] == "E"
    assert client.get(url("evaluation:map", level="grid")).status_code == 400


def test_bad_drill_parameters_are_refused(client, scenario, people):
    page(client, people.leader, url("evaluation:cases", level="department", indicator="handled", unit="x"), status=400)
    page(client, people.leader, url("evaluation:cases", level="moon", indicator="handled", unit="all"), status=400)
    page(client, people.leader, url("evaluation:cases", level="department", indicator="nonsense", unit="all"),
         status=400)
    page(client, people.leader, url("evaluation:cases", level="department", indicator="handled", unit="999999"),
         status=404)


@pytest.mark.parametrize("period", ["0001", "0001Q1", "9999-01"])
def test_a_period_in_an_impossible_year_is_a_clear_error_not_a_crash(client, scenario, people, period):
    text = page(client, people.leader, f"{reverse('evaluation:index')}?period={period}", status=400)
    assert "年份须在 1970–2200 之间" in unescape(text)
