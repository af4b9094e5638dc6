"""``cityloop evaluate`` and ``cityloop district_ranking``: terminal output and the Excel report."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from cityloop.evaluation.tests.scenario import AS_OF

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_evaluate_prints_the_ranking_and_writes_the_report(scenario, tmp_path):
    target = tmp_path / "report" / "evaluation.xlsx"
    text = run("evaluate", "--from", "2026-09-28", "--to", "2026-10-11", "--by", "department,district",
               "--as-of", AS_OF.isoformat(), "--xlsx", str(target))
    assert "处置单位综合评价" in text and "区县综合评价" in text
    assert text.index("环卫中心") < text.index("市政中心")  # ranked: 87.14 before 67.14
    assert "87.14" in text and "67.14" in text and "↓2.86" in text and "全市合计" in text
    assert "55.14" in text and "18.00" in text
    assert f"已导出 {target}" in text

    book = load_workbook(target)
    assert book.sheetnames == ["处置单位", "区县"]
    sheet = book["处置单位"]
    assert "综合评价报表" in sheet["A1"].value and "处置单位" in sheet["A1"].value
    assert "2026年09月28日至2026年10月11日" in sheet["A2"].value and "2026-10-20 12:00" in sheet["A2"].value
    headers = [c.value for c in sheet[4]]
    assert headers[:4] == ["排名", "编码", "处置单位", "应处置数"]
    assert headers[-4:] == ["综合得分", "等级", "上期得分", "得分变化"]
    first, second, total = ([c.value for c in sheet[n]] for n in (5, 6, 7))
    assert first[:3] == [1, "sanitation", "环卫中心"] and second[:3] == [2, "municipal", "市政中心"]
    assert total[1] == "全市合计" and total[headers.index("应处置数")] == 15
    assert second[headers.index("综合得分")] == 67.14 and second[headers.index("等级")] == "C"
    rate = headers.index("按时处置率") + 1
    assert sheet.cell(row=6, column=rate).value == pytest.approx(0.5)
    assert sheet.cell(row=6, column=rate).number_format == "0.0%"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$4:$4"
    assert sheet.column_dimensions["C"].width >= 20


def test_evaluate_by_period_and_all_levels(scenario):
    text = run("evaluate", "--period", "2026Q3", "--by", "all", "--as-of", AS_OF.isoformat(), "--no-compare")
    for label in ("监督员", "受理员", "值班长", "派遣员", "处置单位", "区县", "街道", "社区", "单元网格"):
        assert f"{label}综合评价" in text


def test_evaluate_rejects_bad_input(db):
    with pytest.raises(CommandError, match="未知的考评对象"):
        run("evaluate", "--period", "2026Q3", "--by", "planets")
    with pytest.raises(CommandError, match="考评周期"):
        run("evaluate", "--by", "department")
    with pytest.raises(CommandError, match="结束日期不能早于开始日期"):
        run("evaluate", "--from", "2026-10-02", "--to", "2026-10-01")


def test_district_ranking_command(scenario, tmp_path):
    target = tmp_path / "q3.xlsx"
    text = run("district_ranking", "--quarter", "2026Q3", "--as-of", AS_OF.isoformat(), "--xlsx", str(target))
    assert "2026年第3季度" in text
    assert text.index("历下区") < text.index("市中区")
    assert "76.57" in text and "18.00" in text
    sheet = load_workbook(target)["区县"]
    rows = [[c.value for c in sheet[n]] for n in (5, 6)]
    assert [(r[0], r[2]) for r in rows] == [(1, "历下区"), (2, "市中区")]
    with pytest.raises(CommandError, match="按季度"):
        run("district_ranking", "--quarter", "2026-10")
