"""The Excel export of a filtered case list (openpyxl, write-only, built in memory)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from cityloop.cases import deadlines
from cityloop.cases.models import Case
from cityloop.cases.statuses import CaseStatus, Source
from cityloop.catalog.models import Urgency
from cityloop.core.text import printable

#: Larger lists are cut here; the "说明" sheet and the list page say so.
EXPORT_LIMIT = 50_000

#: (header, values_list path); the header is translated when the file is built.
COLUMNS: list[tuple[str, str]] = [
    (N_("案卷编号"), "number"),
    (N_("状态"), "status"),
    (N_("来源"), "source"),
    (N_("大类"), "category__parent__name"),
    (N_("小类编码"), "category__code"),
    (N_("小类"), "category__name"),
    (N_("紧急程度"), "urgency"),
    (N_("问题描述"), "description"),
    (N_("地址"), "address"),
    (N_("区县"), "district__name"),
    (N_("街道"), "street__name"),
    (N_("社区"), "community__name"),
    (N_("单元网格"), "grid__code"),
    (N_("处置单位"), "department__name"),
    (N_("上报时间"), "reported_at"),
    (N_("立案时间"), "registered_at"),
    (N_("当前环节时限"), "stage_due_at"),
    (N_("已超期"), "overdue"),  # deadlines.overdue_q at the moment of the export
    (N_("处置时限"), "handling_due_at"),
    (N_("结案时间"), "closed_at"),
    (N_("督办"), "supervised"),
    (N_("返工次数"), "rework_count"),
    (N_("经度"), "lon"),
    (N_("纬度"), "lat"),
]
_WIDTHS = {"问题描述": 48, "地址": 32, "案卷编号": 14, "单元网格": 18, "处置单位": 18}
_CHOICES = {"status": dict(CaseStatus.choices), "source": dict(Source.choices), "urgency": dict(Urgency.choices)}


def _value(path: str, value: Any) -> Any:
    if path in _CHOICES:
        return _(_CHOICES[path].get(value, value)) if value else ""
    if isinstance(value, datetime):
        # Excel has no time zones: local (Asia/Shanghai) wall-clock time, as shown on the pages.
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return "" if value is None else value


def _cell(sheet: Worksheet, value: Any, *, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, str):
        # Rows stored before intake cleaned text may hold control characters, which a worksheet cannot.
        value = printable(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text that looks like a formula stays text
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    if bold:
        cell.font = Font(bold=True)
    return cell


def export_rows(queryset: QuerySet[Case], *, limit: int = EXPORT_LIMIT,
                now: datetime | None = None) -> Iterable[tuple[Any, ...]]:
    """The rows of the export in the list's order, as tuples (no model instances)."""
    overdue = ExpressionWrapper(deadlines.overdue_q(now or timezone.now()), output_field=BooleanField())
    return (queryset.annotate(overdue=overdue).values_list(*(path for _h, path in COLUMNS))[:limit]
            .iterator(chunk_size=2000))


def build_workbook(queryset: QuerySet[Case], *, total: int, notes: list[str],
                   limit: int = EXPORT_LIMIT) -> bytes:
    """The .xlsx bytes: sheet "案卷" with one row per case, sheet "说明" with the filters and any cut."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("案卷"))
    headers = [_(header) for header, _path in COLUMNS]
    for index, (header, _path) in enumerate(COLUMNS):
        letter = sheet_column_letter(index)
        sheet.column_dimensions[letter].width = _WIDTHS.get(header, 12)
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, h, bold=True) for h in headers])
    paths = [path for _h, path in COLUMNS]
    for row in export_rows(queryset, limit=limit):
        sheet.append([_cell(sheet, _value(path, value)) for path, value in zip(paths, row, strict=True)])
    about = workbook.create_sheet(_("说明"))
    lines: list[tuple[str, Any]] = [(_("导出时间"), timezone.localtime().replace(tzinfo=None, microsecond=0)),
                                    (_("案卷数"), total)]
    if total > limit:
        lines.append((_("提示"), _("结果超过 %(limit)s 条，只导出了前 %(limit)s 条，请缩小筛选范围。")
                      % {"limit": f"{limit:,}"}))
    lines += [(_("筛选条件"), note) for note in notes]
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 60
    for label, value in lines:
        about.append([_cell(about, label, bold=True), _cell(about, value)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def sheet_column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
