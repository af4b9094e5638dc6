"""The Excel export: a real .xlsx whose rows are the filtered list, within the user's scope."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cityloop.cases.models import Case

from .conftest import report

pytestmark = pytest.mark.django_db


def export(client, **params):
    response = client.get(reverse("case-export"), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    return response, workbook


def numbers_in(workbook) -> list[str]:
    sheet = workbook["案卷"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("案卷编号", "状态", "来源")
    return [row[0] for row in rows[1:]]


def test_export_rows_equal_the_filtered_list(client, people, loop):
    client.force_login(people.operator)
    for params in ({}, {"status": "dispatched"}, {"category": "06"}, {"q": "井盖", "ordering": "number"},
                   {"queue": "to_check"}):
        listed = [r.case.number for r in client.get(reverse("case-list"), params).context["rows"]]
        _, workbook = export(client, **params)
        assert numbers_in(workbook) == listed, params


def test_export_has_chinese_values_and_local_times(client, people, loop):
    client.force_login(people.operator)
    _, workbook = export(client, status="dispatched", category="06")
    header, row = list(workbook["案卷"].iter_rows(values_only=True))
    record = dict(zip(header, row, strict=True))
    assert record["状态"] == "处置中" and record["来源"] == "监督员上报" and record["小类"] == "暴露垃圾"
    assert record["处置单位"] == "环卫中心" and record["区县"] == "历下区" and record["督办"] == "否"
    assert record["上报时间"].strftime("%Y-%m-%d %H:%M") == "2026-03-02 09:00"  # Asia/Shanghai wall clock


def test_export_respects_the_scope(client, people, loop):
    client.force_login(people.handler_b)
    _, workbook = export(client)
    assert numbers_in(workbook) == [loop.dispatched_b.number]


def test_text_that_looks_like_a_formula_stays_text(client, people, city):
    report(city, people, description="=HYPERLINK(\"http://evil\")")
    client.force_login(people.operator)
    _, workbook = export(client)
    sheet = workbook["案卷"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("问题描述") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_large_exports_are_cut_with_a_note(client, people, loop, monkeypatch):
    monkeypatch.setattr("cityloop.web.exports.EXPORT_LIMIT", 3)
    client.force_login(people.operator)
    response, workbook = export(client, ordering="number")
    assert numbers_in(workbook) == sorted(Case.objects.values_list("number", flat=True))[:3]
    assert response["X-CityLoop-Truncated"] == "3"
    notes = [row[1] for row in workbook["说明"].iter_rows(values_only=True)]
    assert any("只导出了前 3 条" in str(n) for n in notes)
    page = client.get(reverse("case-list")).content.decode()
    assert "只导出前 3 条" in page


def test_a_case_stored_with_control_characters_still_exports(client, people, city):
    # Rows stored before intake cleaned text (an anonymous report with a vertical tab or a form feed).
    case = report(city, people)
    Case.objects.filter(pk=case.pk).update(description="井盖\x0b缺失\x0c有隐患\x01", address="经十路\x1b1 号")
    client.force_login(people.operator)
    _, workbook = export(client, q="井盖\x0b")
    header, row = list(workbook["案卷"].iter_rows(values_only=True))
    record = dict(zip(header, row, strict=True))
    assert record["问题描述"] == "井盖\n缺失\n有隐患" and record["地址"] == "经十路1 号"
