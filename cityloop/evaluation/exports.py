"""The evaluation as an Excel workbook laid out as a printed report (openpyxl).

One sheet per level: the title, the period and the scoring formula on top, a header row, one row per
unit (ranked), the totals row (全市合计); percent format for rates, column widths, the header repeated
on every printed page, landscape and fitted to the page width.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cityloop.core.text import printable
from cityloop.evaluation.models import POSITION_LEVELS, REGION_LEVELS, Level
from cityloop.evaluation.selectors import LevelReport, Row

THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
FORMATS = {"count": "#,##0", "rate": "0.0%", "density": "#,##0.00", "score": "0.00"}


def report_title(level_label: str = "") -> str:
    city = getattr(settings, "CITYLOOP_CITY_NAME", "")
    suffix = f"（{level_label}）" if level_label else ""
    return f"{city}城市运行管理综合评价报表{suffix}"


def _unit_headers(level: Level) -> list[str]:
    if level in POSITION_LEVELS:
        return ["账号", "姓名"]
    if level == Level.DEPARTMENT:
        return ["编码", "处置单位"]
    if level == Level.GRID:
        return ["网格编码", "所属社区"]
    return ["区划代码", "名称", "上级"]


def _unit_cells(level: Level, row: Row) -> list[object]:
    unit = row.unit
    if unit is None:
        cells: list[object] = ["全市合计", ""]
        return cells + ([""] if level in REGION_LEVELS and level != Level.GRID else [])
    if level == Level.GRID:
        return [unit.code, unit.parent]
    if level in REGION_LEVELS:
        return [unit.code, unit.name, unit.parent]
    return [unit.code, unit.name]


def write_sheet(sheet: Worksheet, report: LevelReport, *, as_of: datetime | None = None) -> None:
    level = Level(report.level)
    unit_headers = _unit_headers(level)
    headers = ["排名", *unit_headers, *[c.label for c in report.columns], "综合得分", "等级", "上期得分", "得分变化"]
    kinds = ["rank", *["text"] * len(unit_headers), *[c.kind for c in report.columns], "score", "text", "score", "score"]
    width = len(headers)
    last = get_column_letter(width)
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"] = report_title(report.level_label)
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    moment = timezone.localtime(as_of or report.period.now)
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"] = (f"考评周期：{report.period.label}（{report.period.start:%Y-%m-%d} 至 {report.period.last:%Y-%m-%d}）"
                   f"　统计截至：{moment:%Y-%m-%d %H:%M}")
    sheet.merge_cells(f"A3:{last}3")
    sheet["A3"] = f"综合指标值 = {report.scheme_text}；等级 A≥90，B≥75，C≥60，D≥40，E<40"
    sheet["A3"].alignment = Alignment(wrap_text=True)
    header_row = 4
    for col, text in enumerate(headers, start=1):
        cell = sheet.cell(row=header_row, column=col, value=text)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.row_dimensions[header_row].height = 32
    rows = list(report.rows) + ([report.total] if report.total is not None else [])
    for offset, row in enumerate(rows, start=1):
        values: list[object] = [row.rank if row.unit is not None else None, *_unit_cells(level, row)]
        values += [row.values.get(c.code) for c in report.columns]
        values += [row.composite, row.grade, row.previous, row.change]
        for col, (value, kind) in enumerate(zip(values, kinds, strict=True), start=1):
            # Names stored with control characters (a worksheet cannot hold them) are written without.
            cell = sheet.cell(row=header_row + offset, column=col, value=printable(value) if isinstance(value, str) else value)
            cell.border = BORDER
            if kind in FORMATS:
                cell.number_format = FORMATS[kind]
            if row.unit is None:
                cell.font = Font(bold=True)
                cell.fill = TOTAL_FILL
    for col, kind in enumerate(kinds, start=1):
        letter = get_column_letter(col)
        label = headers[col - 1]
        if kind == "rank":
            sheet.column_dimensions[letter].width = 6
        elif kind == "text":
            sheet.column_dimensions[letter].width = 22 if label in ("处置单位", "名称", "所属社区", "上级") else 16
        else:
            sheet.column_dimensions[letter].width = max(9, min(14, len(label) * 2 + 2))
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1 + len(unit_headers) + 1)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"


def build_workbook(reports: Iterable[LevelReport], *, as_of: datetime | None = None) -> bytes:
    """The .xlsx bytes with one sheet per report (level)."""
    workbook = Workbook()
    default = workbook.active
    used: set[str] = set()
    for report in reports:
        name = report.level_label[:31]
        while name in used:
            name = f"{name}_"[:31]
        used.add(name)
        write_sheet(workbook.create_sheet(name), report, as_of=as_of)
    if used and default is not None:
        workbook.remove(default)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
