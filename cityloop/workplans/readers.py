"""Bytes of an uploaded plan → plain text: UTF-8/GB18030 text (or HTML saved from a web page), .docx
(paragraphs with Word's automatic numbering, and task tables), PDF with a text layer.

Every refusal is an ImportFailed naming the file and saying what to do: an encrypted or image-only PDF, an old
binary Office file, a picture or spreadsheet, text in an encoding that is neither UTF-8 nor GB18030.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Any

from cityloop.core.errors import ImportFailed
from cityloop.core.text import printable
from cityloop.workplans.parsing import LABEL_RE, ParsedPlan, PlanParseError, parse_plan

TEXT_SUFFIXES = {"", ".txt", ".text", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".shtml"}
SUPPORTED_LABEL = "文本（.txt，UTF-8 或 GB18030）、网页（.html）、Word（.docx）、带文字层的 PDF"
MAX_BYTES = 20 * 1024 * 1024

_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_plan_file(data: bytes, filename: str) -> str:
    """The document's text, or ImportFailed with a message for people."""
    suffix = PurePath(filename.lower()).suffix
    if not data:
        raise ImportFailed("文件是空的", source=filename)
    if len(data) > MAX_BYTES:
        raise ImportFailed(f"文件超过 {MAX_BYTES // 1024 // 1024} MB", source=filename)
    if data.startswith(b"%PDF"):
        return read_pdf(data, filename)
    if data.startswith(b"PK\x03\x04"):
        if _is_docx(data):
            return read_docx(data, filename)
        raise ImportFailed(f"不支持的文件格式（{suffix or '压缩包'}）。可导入：{SUPPORTED_LABEL}", source=filename)
    if data.startswith(_OLE_MAGIC):
        raise ImportFailed(
            f"不支持旧版 Office 格式（{suffix or '.doc/.xls'}）。请在 Word/WPS 中另存为 .docx 或 PDF 后导入", source=filename
        )
    if data.startswith(_IMAGE_MAGIC) or suffix in {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}:
        raise ImportFailed(f"图片不能导入：没有文字。可导入：{SUPPORTED_LABEL}", source=filename)
    if suffix in {".pdf", ".docx"}:
        raise ImportFailed(f"文件内容不是有效的 {suffix} 文件（可能已损坏）", source=filename)
    if suffix in HTML_SUFFIXES:
        return html_to_text(decode_text(data, filename))
    if suffix not in TEXT_SUFFIXES:
        raise ImportFailed(f"不支持的文件格式（{suffix}）。可导入：{SUPPORTED_LABEL}", source=filename)
    text = decode_text(data, filename)
    if re.search(r"<(?:html|body|div|p)\b", text[:2000], re.IGNORECASE):
        return html_to_text(text)
    return text


# --- text ----------------------------------------------------------------------------------------------------

_PLAUSIBLE = re.compile(
    r"[\t\n\r\x20-\x7e\u00a0-\u00ff\u2000-\u206f\u2100-\u218f\u2460-\u24ff\u2500-\u25ff\u3000-\u303f"
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]"
)


def decode_text(data: bytes, filename: str = "") -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030; anything else is refused."""
    candidates = ["utf-16"] if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise ImportFailed("无法识别文件的文字编码（已尝试 UTF-8 和 GB18030）。请另存为 UTF-8 文本后导入", source=filename)


def _looks_like_text(text: str) -> bool:
    if "\x00" in text:
        return False
    sample = text[:20000]
    if not sample.strip():
        return True
    plausible = sum(1 for _ in _PLAUSIBLE.finditer(sample))
    return plausible / len(sample) >= 0.97


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article",
              "ul", "ol", "dt", "dd", "title", "blockquote", "pre", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


# --- PDF -----------------------------------------------------------------------------------------------------

def read_pdf(data: bytes, filename: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))  # an owner password alone (print/copy limits) does not stop reading
            except (PyPdfError, NotImplementedError, ValueError):
                opened = False
            if not opened:
                raise ImportFailed("PDF 已加密（需要打开密码），无法读取。请上传未加密的文件", source=filename)
        pages = [page.extract_text() or "" for page in reader.pages]
    except ImportFailed:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise ImportFailed(f"PDF 文件已损坏或无法读取（{exc}）", source=filename) from exc
    text_chars = sum(len(re.findall(r"[\u4e00-\u9fffA-Za-z]", page)) for page in pages)
    if text_chars < 10:
        raise ImportFailed(
            "PDF 没有文字层（可能是扫描件或图片），无法读取。请上传原始的 .docx，或先做文字识别（OCR）后导出带文字层的 PDF",
            source=filename,
        )
    return "\n".join(_drop_running_lines(pages))


def _drop_running_lines(pages: list[str]) -> list[str]:
    """Running headers and footers: the same line at the top or bottom of most pages."""
    if len(pages) < 3:
        return pages
    edges: Counter[str] = Counter()
    split = [[line.strip() for line in page.splitlines() if line.strip()] for page in pages]
    for lines in split:
        edges.update(set(lines[:2] + lines[-2:]))
    running = {line for line, n in edges.items() if n >= max(3, len(pages) // 2 + 1)}
    return ["\n".join(line for line in lines if line not in running) for lines in split]


# --- DOCX ----------------------------------------------------------------------------------------------------

def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def read_docx(data: bytes, filename: str) -> str:
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises assorted errors for broken packages
        raise ImportFailed(f"Word 文件已损坏或无法读取（{type(exc).__name__}）", source=filename) from exc
    numbering = _Numbering(document)
    lines: list[str] = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            lines.append(numbering.label(paragraph) + paragraph.text)
        elif tag == "tbl":
            lines.extend(_table_lines(Table(element, document)))
    return "\n".join(lines)


def int_to_cn(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    return str(n)


_CN_FORMATS = {"chineseCounting", "chineseCountingThousand", "ideographTraditional", "chineseLegalSimplified",
               "taiwaneseCounting", "taiwaneseCountingThousand", "japaneseCounting", "ideographDigital"}


class _Numbering:
    """Word's automatic list numbers (they are not in the paragraph text): ``一、`` ``（一）`` ``1.`` …"""

    def __init__(self, document: Any) -> None:
        from docx.oxml.ns import qn

        self.qn = qn
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract: dict[str, dict[int, tuple[int, str, str]]] = {}
        for node in root.findall(qn("w:abstractNum")):
            levels = {}
            for lvl in node.findall(qn("w:lvl")):
                start = lvl.find(qn("w:start"))
                fmt = lvl.find(qn("w:numFmt"))
                text = lvl.find(qn("w:lvlText"))
                levels[int(lvl.get(qn("w:ilvl"), "0"))] = (
                    int(start.get(qn("w:val"), "1")) if start is not None else 1,
                    fmt.get(qn("w:val"), "decimal") if fmt is not None else "decimal",
                    text.get(qn("w:val"), "") if text is not None else "",
                )
            abstract[node.get(qn("w:abstractNumId"), "")] = levels
        for num in root.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            if ref is not None:
                self.levels[num.get(qn("w:numId"), "")] = abstract.get(ref.get(qn("w:val"), ""), {})

    def _num_pr(self, paragraph: Any) -> tuple[str, int] | None:
        qn = self.qn
        sources = [paragraph._p.pPr]
        style = paragraph.style
        while style is not None:
            sources.append(style.element.pPr)
            style = style.base_style
        num_id, ilvl = None, None
        for ppr in sources:
            if ppr is None:
                continue
            numpr = ppr.find(qn("w:numPr"))
            if numpr is None:
                continue
            if num_id is None and (node := numpr.find(qn("w:numId"))) is not None:
                num_id = node.get(qn("w:val"))
            if ilvl is None and (node := numpr.find(qn("w:ilvl"))) is not None:
                ilvl = int(node.get(qn("w:val"), "0"))
        if not num_id or num_id == "0" or num_id not in self.levels:
            return None
        return num_id, ilvl or 0

    def label(self, paragraph: Any) -> str:
        found = self._num_pr(paragraph)
        if not found or not paragraph.text.strip():
            return ""
        num_id, ilvl = found
        levels = self.levels[num_id]
        counters = self.counters.setdefault(num_id, {})
        start = levels.get(ilvl, (1, "decimal", ""))[0]
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [lv for lv in counters if lv > ilvl]:
            del counters[deeper]
        fmt, text = levels.get(ilvl, (1, "decimal", f"%{ilvl + 1}."))[1:]
        if fmt in ("bullet", "none"):
            return ""

        def render(match: re.Match[str]) -> str:
            level = int(match.group(1)) - 1
            value = counters.get(level, levels.get(level, (1, "", ""))[0])
            level_fmt = levels.get(level, (1, "decimal", ""))[1]
            if level_fmt in _CN_FORMATS:
                return int_to_cn(value)
            if level_fmt.startswith("decimalEnclosedCircle") and 1 <= value <= 20:
                return chr(0x2460 + value - 1)
            if level_fmt == "lowerLetter":
                return chr(ord("a") + (value - 1) % 26)
            if level_fmt == "upperLetter":
                return chr(ord("A") + (value - 1) % 26)
            return str(value)

        return re.sub(r"%(\d)", render, text)


_HEADER_NUMBER = re.compile(r"^(?:序号|编号|序)$")
_HEADER_TASK = re.compile(r"任务|内容|事项|要点|举措|措施|工作")
_HEADER_COLUMNS = [
    ("leader", re.compile(r"领导")),
    ("co", re.compile(r"配合|协办|参与|协同")),
    ("lead", re.compile(r"牵头|责任|主责|单位|部门")),
    ("deadline", re.compile(r"时限|时间|期限|节点")),
    ("target", re.compile(r"目标|指标")),
]
_LABEL_OF = {"leader": "牵头领导", "lead": "责任单位", "co": "配合单位", "deadline": "完成时限"}


def _table_lines(table: Any) -> list[str]:
    """A task table (序号 | 工作任务 | 牵头领导 | 责任单位 | 完成时限) → numbered task lines with labels."""
    rows = [[cell.text.replace("\n", "").strip() for cell in row.cells] for row in table.rows]
    header_index, columns, headers = None, {}, {}
    for i, row in enumerate(rows[:3]):
        numbers = [j for j, c in enumerate(row) if _HEADER_NUMBER.match(c)]
        if not numbers:
            continue
        header_index = i
        columns["number"] = numbers[0]
        for j, cell in enumerate(row):
            if j == numbers[0] or not cell:
                continue
            for name, pattern in _HEADER_COLUMNS:
                if pattern.search(cell) and name not in columns:
                    columns[name] = j
                    headers[name] = cell
                    break
            else:
                if _HEADER_TASK.search(cell) and "task" not in columns:
                    columns["task"] = j
        break
    if header_index is None or "task" not in columns:
        lines = []
        for row in rows:
            unique = list(dict.fromkeys(c for c in row if c))
            if unique:
                lines.append(" ".join(unique))
        return lines
    lines = []
    for row in rows[header_index + 1:]:
        if not any(row):
            continue
        if len(set(row)) == 1:  # a merged row across the table: a section heading
            lines.append(row[0])
            continue
        number = row[columns["number"]].strip().rstrip(".、．")
        task = row[columns["task"]]
        if number.isdigit():
            lines.append(f"{number}. {task}")
        elif number:
            lines.append(f"{number}、{task}")
        else:
            lines.append(task)
        if "target" in columns and row[columns["target"]] and row[columns["target"]] != task:
            lines.append(row[columns["target"]])
        for name in ("leader", "lead", "co", "deadline"):
            if name in columns and row[columns[name]] and row[columns[name]] != task:
                header = headers[name]  # 牵头单位 stays explicit; an unusual header falls back to the usual label
                label = header if LABEL_RE.fullmatch(f"{header}：") else _LABEL_OF[name]
                lines.append(f"{label}：{row[columns[name]]}")
    return lines


def parse_file(data: bytes, filename: str, *, year: int | None = None, issuer: str | None = None) -> ParsedPlan:
    """Read and parse an uploaded plan; every failure is an ImportFailed naming the file."""
    text = printable(read_plan_file(data, filename))  # control characters cleaned as on every channel
    try:
        return parse_plan(text, source=filename, year=year, issuer=issuer)
    except PlanParseError as exc:
        raise ImportFailed(exc.message, source=filename) from exc
