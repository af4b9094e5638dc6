"""Documents of supervision: the monthly bulletin (一月一通报) as .docx and .xlsx, the quarterly review
(一季一研判) as .docx. Built from ``selectors.Bulletin``; python-docx and openpyxl, in the layout of official
documents (GB/T 9704: A4, 仿宋 三号 body, 黑体 headings, 小标宋 title)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from cityloop.core.text import printable
from cityloop.workplans.choices import TaskStatus
from cityloop.workplans.selectors import Bulletin, GroupSummary, TargetProgress, TaskState

TITLE_FONT, BODY_FONT, HEADING_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体"
STATUS_ORDER = [TaskStatus.CLOSED, TaskStatus.DONE, TaskStatus.IN_PROGRESS, TaskStatus.NOT_STARTED, TaskStatus.LAGGING]


def month_label(month: date) -> str:
    return f"{month.year}年{month.month}月"


def day_label(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def number(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value.normalize():f}"


def target_label(progress: TargetProgress) -> str:
    target = progress.target
    return f"{target.get_kind_display()} {number(target.value)}{target.unit}"


def overview_sentences(data: Bulletin) -> str:
    o = data.overall
    owed = sum(1 for s in data.states if s.missing)
    parts = "、".join(f"{TaskStatus(k).label}{o.count(k)}项" for k in STATUS_ORDER)
    return (
        f"《{data.plan.title}》共确定工作任务{o.total}项、量化目标{data.targets_total}个。"
        f"截至{day_label(data.as_of)}，{parts}，完成率{o.completion}%。"
        f"{month_label(data.month)}进展有{len(data.missing)}个单位未按时报送，涉及任务{owed}项；"
        f"{len(data.behind)}个目标进度滞后于时序要求。"
    )


# --- docx ----------------------------------------------------------------------------------------------------

def _font(run: Any, name: str, size: float, *, bold: bool = False, color: tuple[int, int, int] | None = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    if color:
        run.font.color.rgb = RGBColor(*color)
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attr in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), name)


class _Doc:
    def __init__(self) -> None:
        from docx import Document
        from docx.shared import Cm

        self.document = Document()
        section = self.document.sections[0]
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    def para(self, text: str, *, font: str = BODY_FONT, size: float = 16, bold: bool = False, align: str = "justify",
             indent: bool = True, color: tuple[int, int, int] | None = None, space_after: float = 0) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt

        paragraph = self.document.add_paragraph()
        paragraph.alignment = {"center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT,
                               "justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "left": WD_ALIGN_PARAGRAPH.LEFT}[align]
        fmt = paragraph.paragraph_format
        fmt.line_spacing = Pt(28)
        fmt.space_after = Pt(space_after)
        if indent:
            fmt.first_line_indent = Pt(size * 2)
        _font(paragraph.add_run(printable(text)), font, size, bold=bold, color=color)

    def heading(self, text: str) -> None:
        self.para(text, font=HEADING_FONT, size=16)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float] | None = None) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        table = self.document.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, header, strict=True):
            cell.text = ""
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(paragraph.add_run(printable(text)), HEADING_FONT, 11)
        for row in rows:
            cells = table.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                cell.text = ""
                _font(cell.paragraphs[0].add_run(printable(str(text))), BODY_FONT, 11)
        if widths:
            for row_ in table.rows:
                for cell, width in zip(row_.cells, widths, strict=False):
                    cell.width = Cm(width)
        self.para("", size=8, indent=False)

    def bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.document.save(buffer)
        return buffer.getvalue()


def _red_head(doc: _Doc, issuer: str, name: str, subtitle: str, stamp: date) -> None:
    red = (0xC0, 0x00, 0x00)
    doc.para(issuer, font=TITLE_FONT, size=26, align="center", indent=False, color=red)
    doc.para(name, font=TITLE_FONT, size=26, align="center", indent=False, color=red)
    doc.para(subtitle, font=BODY_FONT, size=16, align="center", indent=False)
    doc.para(f"{issuer}　　　　　　{day_label(stamp)}", font=BODY_FONT, size=14, align="center", indent=False)
    doc.para("—" * 24, font=BODY_FONT, size=14, align="center", indent=False, color=red, space_after=12)


def _section_rows(groups: list[GroupSummary]) -> list[list[str]]:
    return [[g.label, str(g.total), *[str(g.count(k)) for k in STATUS_ORDER], f"{g.completion}%"] for g in groups]


_SECTION_HEADER = ["章节", "任务数", *[TaskStatus(k).label for k in STATUS_ORDER], "完成率"]


def _lagging_rows(states: list[TaskState]) -> list[list[str]]:
    return [
        [s.task.code, s.task.title, s.lead_unit_names or "—", s.co_unit_names or "—",
         day_label(s.task.deadline or date(s.task.plan.year, 12, 31)),
         (s.latest_report.text[:80] if s.latest_report else "未报送进展")]
        for s in states
    ]


def _target_rows(pairs: list[tuple[TaskState, TargetProgress]]) -> list[list[str]]:
    return [
        [s.task.code, t.target.what, target_label(t), f"{number(t.current)}{t.target.unit if t.current is not None else ''}",
         "—" if t.percent is None else f"{t.percent}%", f"{t.expected_percent}%", s.lead_unit_names or "—"]
        for s, t in pairs
    ]


def bulletin_docx(data: Bulletin, *, today: date | None = None) -> bytes:
    """一月一通报: overview, progress by section, lagging tasks, targets behind schedule, units not reporting."""
    stamp = today or data.as_of
    doc = _Doc()
    _red_head(doc, data.plan.issuer, "工作要点落实情况通报", f"（{month_label(data.month)}）", stamp)
    doc.para(f"关于《{data.plan.title}》{month_label(data.month)}落实情况的通报", font=TITLE_FONT, size=20,
             align="center", indent=False, space_after=12)
    doc.heading("一、总体情况")
    doc.para(overview_sentences(data))
    doc.heading("二、分项推进情况")
    doc.table(_SECTION_HEADER, [*_section_rows(data.sections), *_section_rows([data.overall])])
    doc.heading("三、滞后任务")
    if data.lagging:
        doc.para(f"以下{len(data.lagging)}项任务已过完成时限仍未完成，请牵头单位会同配合单位分析原因、"
                 "明确措施，加快推进。")
        doc.table(["任务号", "任务", "牵头单位", "配合单位", "完成时限", "最新进展"], _lagging_rows(data.lagging),
                  widths=[1.4, 4, 2.6, 3, 2.4, 4])
    else:
        doc.para("本期无滞后任务。")
    doc.heading("四、进度滞后的目标")
    if data.behind:
        doc.para(f"以下{len(data.behind)}个量化目标的完成进度低于时序进度。")
        doc.table(["任务号", "指标", "目标", "当前值", "完成进度", "时序进度", "牵头单位"], _target_rows(data.behind))
    else:
        doc.para("本期无进度滞后的目标。")
    if data.targets_without_value:
        doc.para(f"另有{data.targets_without_value}个目标尚无填报数值。")
    doc.heading("五、未按时报送进展的单位")
    if data.missing:
        doc.para(f"截至{day_label(data.as_of)}，以下单位未报送{month_label(data.month)}进展：")
        doc.table(["单位", "未报送任务"], [[m.department.name, "、".join(m.task_codes)] for m in data.missing])
    else:
        doc.para(f"各责任单位均已报送{month_label(data.month)}进展。")
    doc.para("请各责任单位对照本通报，逐项抓好落实，按月报送进展。")
    doc.para(data.plan.issuer, align="right", indent=False)
    doc.para(day_label(stamp), align="right", indent=False)
    return doc.bytes()


def review_docx(data: Bulletin, *, quarter: int, today: date | None = None) -> bytes:
    """一季一研判: progress by section and by lead unit, every target against schedule, issues to watch."""
    stamp = today or data.as_of
    doc = _Doc()
    _red_head(doc, data.plan.issuer, "工作要点季度研判", f"（{data.plan.year}年第{quarter}季度）", stamp)
    doc.heading("一、总体进展")
    doc.para(overview_sentences(data))
    doc.heading("二、分章节推进情况")
    doc.table(_SECTION_HEADER, [*_section_rows(data.sections), *_section_rows([data.overall])])
    doc.heading("三、牵头单位推进情况")
    doc.table(["牵头单位", "任务数", *[TaskStatus(k).label for k in STATUS_ORDER], "完成率"], _section_rows(data.units))
    doc.heading("四、量化目标完成情况")
    pairs = [(s, t) for s in data.states for t in s.targets]
    if pairs:
        doc.table(["任务号", "指标", "目标", "当前值", "完成进度", "时序进度", "牵头单位"], _target_rows(pairs))
    else:
        doc.para("本工作要点没有量化目标。")
    doc.heading("五、需关注的问题")
    issues = []
    if data.lagging:
        issues.append(f"滞后任务{len(data.lagging)}项：" + "；".join(f"{s.task.code}.{s.task.title}" for s in data.lagging))
    if data.behind:
        issues.append(f"进度滞后目标{len(data.behind)}个：" + "；".join(f"{t.target.what}" for _, t in data.behind))
    if data.missing:
        issues.append("未按时报送单位：" + "、".join(m.department.name for m in data.missing))
    for text in issues or ["本季度无滞后任务和进度滞后的目标。"]:
        doc.para(text)
    return doc.bytes()


# --- xlsx ----------------------------------------------------------------------------------------------------

def bulletin_xlsx(data: Bulletin) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    workbook = Workbook()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")

    def sheet(title: str, header: Sequence[str], rows: Sequence[Sequence[object]], first: bool = False) -> None:
        ws = workbook.active if first else workbook.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(list(header))
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        for row in rows:  # stored text may hold control characters, which a worksheet cannot
            ws.append([printable(v) if isinstance(v, str) else v for v in row])
        for column in ws.columns:
            letter = column[0].column_letter
            width = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[letter].width = min(60, max(8, width * 1.8))
            for c in column[1:]:
                c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"

    sheet("总体情况", ["项目", "内容"], [
        ["工作要点", data.plan.title], ["发文单位", data.plan.issuer], ["通报月份", month_label(data.month)],
        ["统计截至", day_label(data.as_of)], ["概述", overview_sentences(data)],
    ], first=True)
    sheet("分项推进", _SECTION_HEADER, [*_section_rows(data.sections), *_section_rows([data.overall])])
    sheet("滞后任务", ["任务号", "任务", "牵头单位", "配合单位", "完成时限", "最新进展"], _lagging_rows(data.lagging))
    sheet("目标进度滞后", ["任务号", "指标", "目标", "当前值", "完成进度", "时序进度", "牵头单位"],
          _target_rows(data.behind))
    sheet("未报送单位", ["单位", "未报送任务"], [[m.department.name, "、".join(m.task_codes)] for m in data.missing])
    sheet("全部任务", ["任务号", "章节", "任务", "牵头领导", "牵头单位", "配合单位", "状态", "完成时限"], [
        [s.task.code, str(s.task.section) if s.task.section else "", s.task.title, "、".join(s.leaders),
         s.lead_unit_names, s.co_unit_names, s.status_label,
         day_label(s.task.deadline or date(s.task.plan.year, 12, 31))]
        for s in data.states
    ])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
