"""Reading uploads: .docx (Word numbering, task tables), PDF text layers, HTML, encodings, and refusals.

Test files are made with the libraries themselves: python-docx writes .docx, fpdf2 writes PDFs (with the
WenQuanYi CJK font where installed — .ci/run installs it — and with a core ASCII font otherwise), pypdf
encrypts, Pillow draws the image of an image-only PDF.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document

from cityloop.core.errors import ImportFailed
from cityloop.workplans.readers import parse_file, read_plan_file
from cityloop.workplans.tests.conftest import SMALL_PLAN

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_bytes(text: str | None = None, *, image: bool = False, cjk: bool = True) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if image:
        from PIL import Image

        picture = io.BytesIO()
        Image.new("RGB", (200, 100), (230, 230, 230)).save(picture, format="PNG")
        picture.seek(0)
        pdf.image(picture, x=10, y=10, w=120)
    if text is not None:
        if cjk:
            pdf.add_font("zh", fname=str(CJK_FONT), collection_font_number=0)
            pdf.set_font("zh", size=11)
        else:
            pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 7, text)
    return bytes(pdf.output())


def test_docx_with_word_numbering_and_labels():
    document = Document()
    document.add_paragraph("测试局2024年工作要点")
    document.add_paragraph("一、市容管理")
    document.add_paragraph("整治占道经营。规范摊点 30 处。", style="List Number")  # "1." comes from Word
    document.add_paragraph("牵头领导：张三")
    document.add_paragraph("责任单位：执法大队，各街道")
    document.add_paragraph("加强广告管理。拆除违规广告 50 块。", style="List Number")
    plan = parse_file(docx_bytes(document), "plan.docx")
    assert (plan.issuer, plan.year) == ("测试局", 2024)
    assert [(t.code, t.section, t.title) for t in plan.tasks] == [("1", "一", "整治占道经营"), ("2", "一", "加强广告管理")]
    assert (plan.tasks[0].leaders, plan.tasks[0].lead_units, plan.tasks[0].co_units) == (["张三"], ["执法大队"], ["各街道"])
    assert [(g.value, g.unit) for g in plan.tasks[1].targets] == [(Decimal(50), "块")]


def test_docx_task_table():
    document = Document()
    document.add_paragraph("测试局2024年重点任务分解表")
    table = document.add_table(rows=4, cols=6)
    rows = [
        ["序号", "工作任务", "牵头领导", "牵头单位", "配合单位", "完成时限"],
        ["一、环境卫生", "", "", "", "", ""],
        ["1", "新建公厕。新建公厕 10 座。", "李四", "环卫处、市政处", "各区", "2024年6月底"],
        ["2", "垃圾分类。覆盖率达到 90%。", "李四", "环卫处", "", "年底前"],
    ]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = table.rows[1].cells[0].merge(table.rows[1].cells[5])
    merged.text = "一、环境卫生"
    plan = parse_file(docx_bytes(document), "table.docx")
    assert [(s.key, s.title) for s in plan.sections] == [("一", "环境卫生")]
    first, second = plan.tasks
    assert (first.title, first.leaders, first.lead_units, first.co_units, first.deadline) == (
        "新建公厕", ["李四"], ["环卫处", "市政处"], ["各区"], date(2024, 6, 30))
    assert [(g.what, g.value) for g in second.targets] == [("覆盖率", Decimal(90))]
    assert second.deadline == date(2024, 12, 31)


@pytest.mark.skipif(not CJK_FONT.exists(), reason="needs a CJK font (fonts-wqy-zenhei) to write a Chinese PDF")
def test_pdf_with_chinese_text_layer():
    plan = parse_file(pdf_bytes(SMALL_PLAN), "plan.pdf")
    assert (plan.issuer, plan.year) == ("测试市城市管理局", 2024)
    assert [t.code for t in plan.tasks] == ["1", "2", "3", "4"]
    assert plan.tasks[0].co_units == ["市政中心", "执法大队"]
    assert [(g.what, g.value) for g in plan.tasks[2].targets] == [("公共停车位", Decimal(400))]


def test_pdf_text_layer_with_a_core_font():
    text = read_plan_file(pdf_bytes("Work plan 2024\n1. Clean the streets.\n2. Repair the lamps.", cjk=False), "a.pdf")
    assert "1. Clean the streets." in text
    plan = parse_file(pdf_bytes("Work plan 2024\n1. Clean the streets.\n2. Repair the lamps.", cjk=False), "a.pdf")
    assert [t.title for t in plan.tasks] == ["Clean the streets.", "Repair the lamps."]


def test_encrypted_pdf_is_refused():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("1. Task one.", cjk=False))))
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ImportFailed, match="PDF 已加密"):
        read_plan_file(buffer.getvalue(), "locked.pdf")


def test_pdf_with_only_an_owner_password_is_read():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("Plan 2024\n1. Task one.\n2. Task two.", cjk=False))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "Task one" in read_plan_file(buffer.getvalue(), "limited.pdf")


def test_image_only_pdf_is_refused():
    with pytest.raises(ImportFailed, match="没有文字层"):
        read_plan_file(pdf_bytes(image=True), "scan.pdf")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("plan.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版 Office"),
        ("plan.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版 Office"),
        ("plan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "图片"),
        ("plan.xlsx", b"PK\x03\x04" + b"\x00" * 50, "不支持的文件格式"),
        ("plan.rtf", b"{\\rtf1 hello}", "不支持的文件格式"),
        ("plan.pdf", b"not a pdf at all", "不是有效的 .pdf"),
        ("plan.txt", b"", "文件是空的"),
        ("plan.txt", bytes(range(0x80, 0x100)) * 4, "无法识别文件的文字编码"),
        ("plan.txt", "1. 一\n".encode("utf-16-le"), "无法识别文件的文字编码"),
        ("plan.txt", "各单位：请做好保障工作。".encode(), "未找到编号的工作任务"),
    ],
)
def test_bad_input_is_refused_with_a_message(name, data, message):
    with pytest.raises(ImportFailed, match=message) as caught:
        parse_file(data, name)
    assert caught.value.message.startswith(name)


def test_gb18030_and_html_are_read():
    plan = parse_file(SMALL_PLAN.encode("gb18030"), "plan.txt")
    assert len(plan.tasks) == 4
    html = "<html><head><title>x</title><script>var a=1;</script></head><body>" + "".join(
        f"<p>{line}</p>" for line in SMALL_PLAN.splitlines()) + "<div>【打印本页】【关闭窗口】</div></body></html>"
    plan = parse_file(html.encode("utf-8"), "plan.html")
    assert [t.code for t in plan.tasks] == ["1", "2", "3", "4"]
    assert "打印" not in plan.tasks[-1].text


def test_control_characters_in_a_plan_are_cleaned():
    dirty = SMALL_PLAN.replace("新建公厕。", "新建\x1b公厕\x07。", 1)
    html = "<html><body>" + "".join(f"<p>{line}</p>" for line in dirty.split("\n")) + "</body></html>"
    plan = parse_file(html.encode(), "plan.html")
    assert plan.tasks[0].text.startswith("新建公厕。")
