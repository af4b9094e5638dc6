"""The monthly bulletin (.docx, .xlsx) and the quarterly review (.docx) open and say what they should."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from docx import Document
from openpyxl import load_workbook

from cityloop.workplans import documents, selectors
from cityloop.workplans.choices import TaskStatus
from cityloop.workplans.models import PlanTask, ProgressReport
from cityloop.workplans.services import progress_report_submit
from cityloop.workplans.tests.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(plan, units, people):
    """May 2024: 环卫科 reports task 1 lagging (8 of 20 toilets) and task 2; 市政中心 does not report task 3."""
    one, two = plan.tasks.get(code="1"), plan.tasks.get(code="2")
    progress_report_submit(task=one, department=units.sanitation, month=date(2024, 5, 1), status=TaskStatus.LAGGING,
                           text="选址受阻，已协调", actor=people.sanitation,
                           values={one.targets.get().pk: Decimal(8)}, at=at(2024, 6, 3))
    progress_report_submit(task=two, department=units.sanitation, month=date(2024, 5, 1),
                           status=TaskStatus.IN_PROGRESS, text="正常推进", actor=people.sanitation,
                           values={two.targets.get().pk: Decimal(100)}, at=at(2024, 6, 3))
    return plan


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def test_bulletin_data(reported):
    data = selectors.bulletin(reported, month=date(2024, 5, 1), today=date(2024, 6, 10))
    assert data.as_of == date(2024, 6, 5)
    assert [s.task.code for s in data.lagging] == ["1", "4"]  # reported lagging; past its 3月底 deadline
    assert [(s.task.code, t.target.what) for s, t in data.behind] == [("1", "公厕")]
    assert [(m.department.name, m.task_codes) for m in data.missing] == [
        ("市政中心", ["1", "3"]), ("执法大队", ["1"]), ("环卫科", ["3"])]
    assert [(g.label, g.total) for g in data.sections] == [("一、环境卫生", 2), ("二、市政设施", 2)]


def test_bulletin_docx_contains_the_lagging_tasks(reported):
    data = selectors.bulletin(reported, month=date(2024, 5, 1), today=date(2024, 6, 10))
    text = docx_text(documents.bulletin_docx(data, today=date(2024, 6, 10)))
    assert "工作要点落实情况通报" in text and "（2024年5月）" in text
    assert "新建公厕" in text and "完善制度" in text and "选址受阻，已协调" in text
    assert "未按时报送进展的单位" in text and "执法大队" in text
    assert "滞后2项" in text


def test_bulletin_xlsx(reported):
    data = selectors.bulletin(reported, month=date(2024, 5, 1), today=date(2024, 6, 10))
    workbook = load_workbook(io.BytesIO(documents.bulletin_xlsx(data)))
    assert workbook.sheetnames == ["总体情况", "分项推进", "滞后任务", "目标进度滞后", "未报送单位", "全部任务"]
    lagging = [row[1] for row in workbook["滞后任务"].iter_rows(min_row=2, values_only=True)]
    assert lagging == ["新建公厕", "完善制度"]
    assert workbook["全部任务"].max_row == 5


def test_review_docx_and_charts(reported):
    data = selectors.review(reported, quarter=2, today=date(2024, 7, 10))
    assert data.month == date(2024, 6, 1)
    text = docx_text(documents.review_docx(data, quarter=2))
    assert "2024年第2季度" in text and "牵头单位推进情况" in text and "公厕" in text
    charts = selectors.review_charts(data)
    assert charts["sections"]["categories"] == ["一、环境卫生", "二、市政设施"]
    assert {s["key"] for s in charts["sections"]["series"]} == set(TaskStatus.values)
    assert charts["targets"]["actual"] == [40, 100]


def test_documents_are_written_even_with_control_characters_stored(reported, plan, units, people):
    # A report typed with a vertical tab is stored without it; rows stored before that rule still export.
    three = plan.tasks.get(code="3")
    report = progress_report_submit(task=three, department=units.municipal, month=date(2024, 5, 1),
                                    status=TaskStatus.IN_PROGRESS, text="已完成\x0b选址\x1b", actor=people.municipal,
                                    values={}, at=at(2024, 6, 3))
    assert report.text == "已完成\n选址"
    ProgressReport.objects.filter(task__code="1").update(text="选址受阻\x0b已协调\x1b")
    PlanTask.objects.filter(code="1").update(title="新建\x0c公厕")
    data = selectors.bulletin(reported, month=date(2024, 5, 1), today=date(2024, 6, 10))
    workbook = load_workbook(io.BytesIO(documents.bulletin_xlsx(data)))
    assert [row[1] for row in workbook["滞后任务"].iter_rows(min_row=2, values_only=True)][0] == "新建\n公厕"
    text = docx_text(documents.bulletin_docx(data, today=date(2024, 6, 10)))
    assert "选址受阻\n已协调" in text and "\x1b" not in text
