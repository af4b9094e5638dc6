"""Read a yearly work plan (工作要点) as text: issuer, year, title, sections, numbered tasks, leaders, units,
targets and deadlines. Pure functions returning dataclasses; nothing here touches the database.

The parser works on the structure such documents share, not on one bureau's wording:

* heading levels ``一、`` (section), ``（一）`` (sub-section), ``1.``/``1、``/``1．`` (task), ``（1）``/``1）``
  (item); the deepest numbered level that occurs among ``1.`` and ``（1）`` is the task level (failing that,
  ``（一）`` or ``一、`` items are the tasks); a heading counts only where its number continues the sequence
  (tasks may number on across sections or restart in each);
* labelled lines or trailing brackets ``牵头领导：``, ``责任单位（科室）：``, ``牵头单位：``, ``配合单位：``,
  ``完成时限：`` (full- or half-width colons), and ``（A牵头，B、C配合）``;
* page furniture is dropped: letterheads, document numbers, 抄送/印发 lines, contact lines, page numbers,
  web-page leftovers (导航, 打印, 关闭, 来源, 发布时间 …) and Markdown marks from converted pages;
* lines broken by a page or a PDF's line wrap are joined back.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from cityloop.workplans.extraction import (
    CJK,
    Deadline,
    Target,
    clean_name,
    cn_to_int,
    expand_shared_suffix,
    find_deadlines,
    find_targets,
    normalize_line,
    parse_leaders,
    parse_units,
    split_top_level,
)


class PlanParseError(ValueError):
    """The text has no recognisable plan structure; ``message`` is for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ParsedSection:
    key: str  # 三, or 三（一） for a sub-section: unique in the plan
    number: str  # as written: 三 / （一）
    title: str
    level: int  # 1 section, 2 sub-section
    parent: str | None
    order: int


@dataclass
class ParsedTask:
    number: int
    code: str  # unique in the plan: "7", or "2.3" where numbering restarts in each section
    section: str | None  # ParsedSection.key
    title: str
    text: str
    order: int
    leaders: list[str] = field(default_factory=list)
    lead_units: list[str] = field(default_factory=list)
    co_units: list[str] = field(default_factory=list)
    deadline: date | None = None
    deadlines: list[Deadline] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def lead_unit(self) -> str:
        return self.lead_units[0] if self.lead_units else ""


@dataclass
class ParsedPlan:
    issuer: str
    year: int | None
    title: str
    doc_number: str = ""
    issued_on: date | None = None
    preamble: str = ""
    source: str = ""
    sections: list[ParsedSection] = field(default_factory=list)
    tasks: list[ParsedTask] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def target_count(self) -> int:
        return sum(len(t.targets) for t in self.tasks)

    def section(self, key: str | None) -> ParsedSection | None:
        return next((s for s in self.sections if s.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        """Everything found, as JSON-ready values (the ``--json`` output)."""
        return {
            "source": self.source,
            "issuer": self.issuer,
            "year": self.year,
            "title": self.title,
            "doc_number": self.doc_number,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "preamble": self.preamble,
            "counts": {"sections": len(self.sections), "tasks": len(self.tasks), "targets": self.target_count},
            "sections": [
                {"key": s.key, "number": s.number, "title": s.title, "level": s.level, "parent": s.parent}
                for s in self.sections
            ],
            "tasks": [_task_dict(t, self) for t in self.tasks],
            "warnings": list(self.warnings),
        }


def plan_from_dict(data: dict[str, Any]) -> ParsedPlan:
    """The inverse of :meth:`ParsedPlan.to_dict` (the upload preview keeps the parse in the session)."""

    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    def day(value: Any) -> date | None:
        return date.fromisoformat(value) if value else None

    plan = ParsedPlan(
        issuer=data.get("issuer") or "",
        year=data.get("year"),
        title=data.get("title") or "",
        doc_number=data.get("doc_number") or "",
        issued_on=day(data.get("issued_on")),
        preamble=data.get("preamble") or "",
        source=data.get("source") or "",
        warnings=list(data.get("warnings") or []),
    )
    for order, s in enumerate(data.get("sections") or [], start=1):
        plan.sections.append(ParsedSection(s["key"], s["number"], s["title"], s["level"], s.get("parent"), order))
    for order, t in enumerate(data.get("tasks") or [], start=1):
        task = ParsedTask(
            number=t["number"], code=t["code"], section=t.get("section"), title=t["title"], text=t["text"],
            order=order, leaders=list(t.get("leaders") or []), lead_units=list(t.get("lead_units") or []),
            co_units=list(t.get("co_units") or []), deadline=day(t.get("deadline")),
            deadlines=[Deadline(d["text"], date.fromisoformat(d["date"]), 0, 0) for d in t.get("deadlines") or []],
            warnings=list(t.get("warnings") or []),
        )
        for g in t.get("targets") or []:
            task.targets.append(Target(
                text=g.get("text") or "", what=g.get("what") or "", value=Decimal(str(g["value"])),
                unit=g.get("unit") or "", kind=g["kind"], baseline=dec(g.get("baseline")),
                deadline=day(g.get("deadline")), approximate=bool(g.get("approximate")), upper=dec(g.get("upper")),
                warnings=list(g.get("warnings") or []),
            ))
        plan.tasks.append(task)
    return plan


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _task_dict(task: ParsedTask, plan: ParsedPlan) -> dict[str, Any]:
    section = plan.section(task.section)
    return {
        "number": task.number,
        "code": task.code,
        "section": task.section,
        "section_title": section.title if section else "",
        "title": task.title,
        "text": task.text,
        "leaders": task.leaders,
        "lead_unit": task.lead_unit,
        "lead_units": task.lead_units,
        "co_units": task.co_units,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "deadlines": [{"text": d.text, "date": d.date.isoformat()} for d in task.deadlines],
        "targets": [
            {
                "what": t.what,
                "value": _number(t.value),
                "unit": t.unit,
                "kind": t.kind,
                "baseline": _number(t.baseline),
                "upper": _number(t.upper),
                "approximate": t.approximate,
                "deadline": t.deadline.isoformat() if t.deadline else None,
                "text": t.text,
                "warnings": t.warnings,
            }
            for t in task.targets
        ],
        "warnings": task.warnings,
    }


# --- lines ---------------------------------------------------------------------------------------------------

CN_NUMERALS = "一二三四五六七八九十百零〇两"
SECTION_RE = re.compile(rf"^(?P<n>[{CN_NUMERALS}]{{1,4}})[、.](?!\d)(?P<rest>.+)$")
SUBSECTION_RE = re.compile(rf"^[（(](?P<n>[{CN_NUMERALS}]{{1,4}})[)）][、.]?(?P<rest>.+)$")
TASK_RE = re.compile(r"^(?P<n>\d{1,3})(?:、|\.(?!\d))(?P<rest>.+)$")
ITEM_RE = re.compile(r"^(?:[（(](?P<n>\d{1,3})[)）]|(?P<n2>\d{1,3})[)）])[、.]?(?P<rest>.+)$")
LEVEL_RES = {1: SECTION_RE, 2: SUBSECTION_RE, 3: TASK_RE, 4: ITEM_RE}

_COLON = r"[:：]"
_QUALIFIER = r"(?:[（(][^（()）:：]{1,12}[)）])?"
_LEADER_LABEL = r"(?:牵头|责任|分管|包保|联系|督办|主要|负责)?(?:市|局|区|县)?级?领导"
_LEAD_LABEL = r"(?:牵头|主责|主办|责任|负责|实施)(?:单位|部门|科室|处室|主体)"
_CO_LABEL = r"(?:配合|协办|参与|协同|协助|配合参与)(?:单位|部门|科室|处室)"
_DEADLINE_LABEL = r"(?:完成|办结)?(?:时限|期限)(?:要求)?|完成时间|时间节点|时间要求"
LABEL_RE = re.compile(
    rf"(?P<label>(?P<leader>{_LEADER_LABEL})|(?P<co>{_CO_LABEL})|(?P<lead>{_LEAD_LABEL})|(?P<deadline>{_DEADLINE_LABEL}))"
    rf"{_QUALIFIER}{_COLON}"
)
_EXPLICIT_LEAD = re.compile(r"牵头|主责|主办")

_FURNITURE = [
    re.compile(p)
    for p in (
        r"^(?:抄送|抄报|主送|分送|发送|印送)[:：]",
        r"\d{4}年\d{1,2}月\d{1,2}日印发$",
        r"^(?:联系人|联系电话|联系方式|电话|传真|手机|邮箱|电子邮箱|E-?mail|地址|邮编|通讯地址)[:：]",
        r"^附件\d*(?:[:：]|$)",
        r"^[（(]此件.*[)）]$",
        r"^[（(](?:此页无正文|联系人.*|本文有删减)[)）]$",
        r"^特此(?:通知|函告|报告)[。.]?$",
        r"^[-—–－_ ]*\d{1,3}[-—–－_ ]*$",
        r"^第\d+页(?:[/，,]?共\d+页)?$",
        r"^\d+/\d+$",
        r"^(?:首页|网站首页|当前位置|您当前的位置|您现在的位置|来源|信息来源|发布时间|发布日期|发布机构|浏览次数|"
        r"点击数|阅读次数|访问量|字号|打印|关闭|分享到|扫一扫|网站地图|网页导航|主办单位|承办单位|网站标识码|"
        r"版权所有|技术支持|索引号|主题分类|成文日期|文号|发文机关|发文字号|有效性|标题|分类|责任编辑|编辑)"
        r"(?:[:：]|$| |>|＞|【|\||丨)",
        r"[【\[](?:打印|关闭|返回|收藏|打印本页|关闭窗口|返回顶部|加入收藏|我要打印)[】\]]",
        r"ICP备|公网安备|Copyright|©",
        r"^(?:打印|关闭|返回|返回顶部|收藏|分享|上一篇|下一篇|扫码|视力保护色)",
        r"^【?字体[:：]?[大中小]",
        r"^[>＞»]",
    )
]
_DATE_LINE = re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日$")
_PRINTED_LINE = re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日印发$")
_LETTERHEAD = re.compile(r"^(?P<org>.{2,40}?)文件$")
_DOC_NUMBER = re.compile(r"[^\s，。]{1,12}[〔\[［(（]\d{4}[〕\]］)）]\d{1,4}号")
_ORG = rf"[{CJK}（）()]{{2,40}}?(?:局|委员会|委|办公室|政府|中心|厅|公司|指挥部|领导小组|管委会|办事处)"
_ORG_LINE = re.compile(rf"^{_ORG}$")
_NOTICE = re.compile(r"^(?P<org>.*?)关于(?:印发|下发|转发|下达)")
_PLAN_WORDS = re.compile(r"要点|计划|任务|安排|方案|清单|目标")
_TITLE_ORG = re.compile(rf"^(?P<org>{_ORG})(?=\d{{4}}年)")


_LEADER_LINE = re.compile(rf"^[（(]?{_LEADER_LABEL}{_QUALIFIER}\s*{_COLON}")


def _normalize(raw: str) -> str:
    """A line normalised for parsing; a leader line keeps the spaces between names."""
    line = _strip_markup(normalize_line(raw))
    if _LEADER_LINE.match(line):
        return _strip_markup(normalize_line(raw, squeeze_words=False))
    return line


def _strip_markup(line: str) -> str:
    line = re.sub(r"^#{1,6}\s*", "", line)
    line = line.replace("**", "").replace("__", "")
    return re.sub(r"^>\s*", "", line).strip()


def _is_furniture(line: str) -> bool:
    return any(p.search(line) for p in _FURNITURE) or bool(_DATE_LINE.match(line))


def _heading_level(line: str) -> tuple[int, int, str] | None:
    """(level, number, rest) when the line starts like a heading of some level."""
    for level, pattern in LEVEL_RES.items():
        match = pattern.match(line)
        if match:
            raw = match.group("n") or match.groupdict().get("n2") or ""
            number = cn_to_int(raw)
            if number is not None and match.group("rest").strip():
                return level, number, match.group("rest").strip()
    return None


def _is_label(line: str) -> bool:
    match = LABEL_RE.match(line.lstrip("（("))
    return bool(match)


def _joinable(prev: str, nxt: str) -> bool:
    """Was ``nxt`` cut off ``prev`` by a page break or a line wrap?"""
    if not prev or prev[-1] in "。；;！？!?：:" or _is_label(nxt) or _heading_level(nxt) or _is_furniture(nxt):
        return False
    heading = _heading_level(prev)
    if heading and "。" not in prev:
        if heading[0] <= 2:
            return prev[-1] in "，,、（(“"
        if len(prev) < 20 and prev[-1] not in "，,、（(“":
            return False  # a task's title on a line of its own
    return prev[-1] in "，,、（(《“—" or len(prev) >= 20


def prepare_lines(text: str) -> list[str]:
    """Normalised, de-furnished lines with page breaks and wraps joined back (exposed for tests)."""
    lines = [_normalize(raw) for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    kept = [line for line in lines if line and not _is_furniture(line)]
    joined: list[str] = []
    for line in kept:
        if joined and _joinable(joined[-1], line):
            joined[-1] += line
        else:
            joined.append(line)
    return joined


# --- metadata ------------------------------------------------------------------------------------------------

@dataclass
class _Meta:
    issuer: str = ""
    year: int | None = None
    title: str = ""
    doc_number: str = ""
    issued_on: date | None = None
    notice_title: str = ""


def _front_matter(lines: list[str]) -> list[str]:
    """Lines before the first heading numbered 1 (一、 （一） 1. （1）)."""
    for i, line in enumerate(lines):
        heading = _heading_level(line)
        if heading and heading[1] == 1:
            return lines[:i]
    return []


def _metadata(raw_lines: list[str]) -> _Meta:
    meta = _Meta()
    front = _front_matter(raw_lines)
    candidates: list[str] = []
    for line in front:
        if (m := _LETTERHEAD.match(line)) and not meta.issuer and not _PLAN_WORDS.search(line):
            meta.issuer = m.group("org").strip()
            continue
        if (m := _DOC_NUMBER.search(line)) and not meta.doc_number:
            meta.doc_number = m.group()
            continue
        if (m := _DATE_LINE.match(line) or _PRINTED_LINE.search(line)) and not meta.issued_on:
            with contextlib.suppress(ValueError):
                meta.issued_on = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            continue
        if _is_furniture(line):
            continue
        if (m := _NOTICE.match(line)) and not meta.notice_title:
            meta.notice_title = line
            if m.group("org").strip() and not meta.issuer:
                meta.issuer = m.group("org").strip()
            continue
        if _ORG_LINE.match(line):
            if not meta.issuer:
                meta.issuer = line
            continue
        if len(line) <= 60 and "。" not in line and not line.endswith((":", "：")) and not line.endswith("通知"):
            candidates.append(line)
    for line in raw_lines:  # 印发 line at the foot of the document
        if (m := _PRINTED_LINE.search(line)) and not meta.issued_on:
            meta.issued_on = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    titled = [c for c in candidates if _PLAN_WORDS.search(c)] or [c for c in candidates if re.search(r"\d{4}年", c)]
    if titled:
        meta.title = titled[-1]
    elif m := re.search(r"《(?P<t>[^》]+)》", meta.notice_title):
        meta.title = m.group("t")
    for source in (meta.title, meta.notice_title, meta.doc_number):
        if source and (y := re.search(r"(?<!\d)(\d{4})年", source) or re.search(r"[〔\[［(（](\d{4})[〕\]］)）]", source)):
            meta.year = int(y.group(1))
            break
    if meta.year is None and meta.issued_on:
        meta.year = meta.issued_on.year
    if not meta.issuer and (m := _TITLE_ORG.match(meta.title)):
        meta.issuer = m.group("org")
    return meta


# --- structure -----------------------------------------------------------------------------------------------

@dataclass
class _Draft:
    number: int
    section: str | None
    heading: str
    paragraphs: list[str]
    labels: list[tuple[str, str]]
    order: int
    warnings: list[str] = field(default_factory=list)


def _task_level(lines: list[str]) -> int | None:
    """The deepest of 1./（1） that starts a numbered run; else （一）, else 一、."""
    starts = {level: False for level in LEVEL_RES}
    counts = dict.fromkeys(LEVEL_RES, 0)
    for line in lines:
        heading = _heading_level(line)
        if heading:
            level, number, _ = heading
            counts[level] += 1
            starts[level] = starts[level] or number == 1
    for level in (3, 4, 2, 1):
        if starts[level] and counts[level] >= 2 or (starts[level] and level == 3):
            return level
    return None


def _split_labels(line: str) -> list[tuple[str, str]]:
    """``牵头领导：张三  责任单位：A，B`` → [("leader", "张三"), ("unit", "A，B")] (the kinds: leader, unit,
    lead, co, deadline). Empty when the line does not start with a label."""
    body = line.strip()
    if body[:1] in "（(" and body[-1:] in "）)":
        body = body[1:-1]
    matches = list(LABEL_RE.finditer(body))
    if not matches or matches[0].start() != 0:
        return []
    result = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        value = body[match.end():end].strip(" ；;，,。")
        if match.group("leader"):
            kind = "leader"
        elif match.group("co"):
            kind = "co"
        elif match.group("deadline"):
            kind = "deadline"
        else:
            kind = "lead" if _EXPLICIT_LEAD.search(match.group("label")) else "unit"
        result.append((kind, value))
    return result


def _trailing_bracket(text: str) -> tuple[str, str] | None:
    """(text without it, inner) for a bracket closing the text: ``……。（牵头单位：市城管局）``."""
    stripped = text.rstrip("。.；; ")
    if not stripped or stripped[-1] not in "）)":
        return None
    depth = 0
    for i in range(len(stripped) - 1, -1, -1):
        char = stripped[i]
        if char in "）)":
            depth += 1
        elif char in "（(":
            depth -= 1
            if depth == 0:
                return stripped[:i].rstrip(), stripped[i + 1:-1]
    return None


_LEAD_PHRASE = re.compile(r"^(?P<lead>[^，,；;]+?)(?:牵头|负责|主责)(?:[，,；;、](?P<co>.+?)(?:配合|参与|协助|协办|按职责分工负责))?$")


def _bracket_labels(inner: str) -> list[tuple[str, str]]:
    labels = _split_labels(inner)
    if labels:
        return labels
    if m := _LEAD_PHRASE.match(inner.strip()):
        found = [("lead", m.group("lead"))]
        if m.group("co"):
            found.append(("co", m.group("co")))
        return found
    return []


def parse_plan(text: str, *, source: str = "", year: int | None = None, issuer: str | None = None) -> ParsedPlan:
    """Parse a plan's text. ``year``/``issuer`` override what the document says. Raises PlanParseError when
    no numbered task structure is found."""
    raw_lines = [_normalize(raw) for raw in text.replace("\r", "\n").split("\n")]
    raw_lines = [line for line in raw_lines if line]
    meta = _metadata(raw_lines)
    plan_year = year or meta.year
    lines = prepare_lines(text)
    level = _task_level(lines)
    if level is None:
        raise PlanParseError(
            "未找到编号的工作任务：工作要点应按“一、”“（一）”“1.”等层次编号，每项任务另起一段。"
        )
    section_levels = [lv for lv in (1, 2) if lv < level]
    plan = ParsedPlan(
        issuer=(issuer or meta.issuer).strip(),
        year=plan_year,
        title=meta.title,
        doc_number=meta.doc_number,
        issued_on=meta.issued_on,
        source=source,
    )
    drafts, signatures, preamble = _walk(lines, level, section_levels, plan)
    if not drafts:
        raise PlanParseError("未找到编号的工作任务：没有一项任务的编号从 1 开始并依次递增。")
    plan.preamble = "\n".join(preamble)
    if not plan.issuer and signatures:
        plan.issuer = signatures[-1]
    if not plan.title:
        plan.title = f"{plan.issuer}{plan_year or ''}年工作要点" if plan.issuer else "工作要点"
    unique_numbers = len({d.number for d in drafts}) == len(drafts)
    section_codes = _section_codes(plan.sections)
    for draft in drafts:
        code = str(draft.number) if unique_numbers else ".".join(
            [*(section_codes.get(draft.section, []) if draft.section else []), str(draft.number)]
        )
        plan.tasks.append(_finish_task(draft, code, plan_year))
    _plan_warnings(plan, meta, year, issuer)
    return plan


def _section_codes(sections: list[ParsedSection]) -> dict[str, list[str]]:
    codes: dict[str, list[str]] = {}
    for s in sections:
        own = str(cn_to_int(s.number.strip("（()）")) or s.number)
        codes[s.key] = [*(codes.get(s.parent, []) if s.parent else []), own]
    return codes


def _walk(lines: list[str], level: int, section_levels: list[int], plan: ParsedPlan
          ) -> tuple[list[_Draft], list[str], list[str]]:
    drafts: list[_Draft] = []
    signatures: list[str] = []
    preamble: list[str] = []
    expected = dict.fromkeys(section_levels, 1)
    current: dict[int, ParsedSection] = {}
    section_labels: dict[str | None, list[tuple[str, str]]] = {}
    last_number = 0
    section_changed = True
    started = False
    task: _Draft | None = None
    for line in lines:
        heading = _heading_level(line)
        if heading and heading[0] in section_levels:
            lv, number, rest = heading
            want = expected[lv]
            parent_ok = lv == 1 or 1 in current or 1 not in section_levels
            if parent_ok and (number == want or want < number <= want + 2):
                if number != want:
                    plan.warnings.append(f"章节编号不连续：{line[:20]}（应为第 {want} 个）")
                title = rest.split("。")[0].strip("：:；; ") if "。" in rest else rest.strip("：:；; ")
                label = line[: len(line) - len(rest)].rstrip("、.")
                parent = current[1].key if lv == 2 and 1 in current else None
                key = f"{parent}{label}" if parent else label
                section = ParsedSection(key, label, title, lv, parent, len(plan.sections) + 1)
                plan.sections.append(section)
                current[lv] = section
                for deeper in [d for d in current if d > lv]:
                    del current[deeper]
                expected[lv] = number + 1
                for deeper in [d for d in expected if d > lv]:
                    expected[deeper] = 1
                section_changed, started, task = True, True, None
                continue
        if heading and heading[0] == level:
            _, number, rest = heading
            if number == last_number + 1 or (number == 1 and section_changed) or (
                started and last_number + 1 < number <= last_number + 3
            ) or (not started and number == 1):
                owner = current[max(current)].key if current else None
                task = _Draft(number, owner, rest, [rest], [], len(drafts) + 1)
                if number not in (last_number + 1, 1):
                    task.warnings.append(f"任务编号不连续：前一项是 {last_number}")
                elif number == 1 and last_number and not section_changed:
                    task.warnings.append("任务编号重新从 1 开始")
                drafts.append(task)
                last_number, section_changed, started = number, False, True
                for labels in (section_labels.get(owner, []),):
                    task.labels.extend(("section_" + k, v) for k, v in labels)
                continue
        labels = _split_labels(line)
        if labels:
            if task is not None:
                task.labels.extend(labels)
            elif current:
                section_labels.setdefault(current[max(current)].key, []).extend(labels)
            continue
        if not started:
            if line == plan.title:
                preamble.clear()  # the plan's own text starts under its title; above it is the notice
            elif "。" in line or len(line) > 60:
                preamble.append(line)
            continue
        if _ORG_LINE.match(line) and task is not None:
            signatures.append(line)  # the issuer's name under the text
            continue
        if task is not None:
            task.paragraphs.append(line)
    return drafts, signatures, preamble


def _finish_task(draft: _Draft, code: str, year: int | None) -> ParsedTask:
    paragraphs = list(draft.paragraphs)
    labels = list(draft.labels)
    bracket = _trailing_bracket(paragraphs[-1])
    if bracket:
        found = _bracket_labels(bracket[1])
        if found:
            labels.extend(found)
            paragraphs[-1] = bracket[0] if bracket[0].endswith(("。", ".", "；", ";")) else bracket[0] + "。"
    text = "\n".join(p for p in paragraphs if p).strip()
    first = paragraphs[0]
    if "。" not in first and len(paragraphs) > 1:
        title = first.strip("：: ")
    else:
        title = text.split("。")[0].strip() if "。" in text else text
    task = ParsedTask(draft.number, code, draft.section, title[:200], text, draft.order, warnings=list(draft.warnings))
    own = [(k, v) for k, v in labels if not k.startswith("section_")]
    inherited = [(k.removeprefix("section_"), v) for k, v in labels if k.startswith("section_")]
    _apply_labels(task, own, year)
    if not task.leaders and not task.lead_units and inherited:
        _apply_labels(task, inherited, year)
    task.deadlines = find_deadlines(text, year)
    task.targets = find_targets(text, year=year)
    dates = [d.date for d in task.deadlines]
    if task.deadline is None and dates:
        task.deadline = max(dates)
    for target in task.targets:
        task.warnings.extend(f"目标「{target.text[:30]}」：{w}" for w in target.warnings)
    if len(task.title) > 80:
        task.warnings.append("标题较长（任务首句没有句号），请确认")
    return task


def _apply_labels(task: ParsedTask, labels: list[tuple[str, str]], year: int | None) -> None:
    for kind, value in labels:
        if kind == "leader":
            task.leaders.extend(n for n in parse_leaders(value) if n not in task.leaders)
        elif kind == "unit":
            lead, co = parse_units(value)
            task.lead_units.extend(lead)
            task.co_units.extend(co)
        elif kind == "lead":
            task.lead_units.extend(expand_shared_suffix(split_top_level(value, "、，,；;")))
        elif kind == "co":
            task.co_units.extend(expand_shared_suffix(split_top_level(value, "、，,；;")))
        elif kind == "deadline":
            found = find_deadlines(normalize_line(value), year)
            if found:
                task.deadline = max(d.date for d in found)
            else:
                task.warnings.append(f"完成时限「{value}」未能识别为日期")
    task.lead_units = list(dict.fromkeys(clean_name(n) for n in task.lead_units if clean_name(n)))
    task.co_units = [n for n in dict.fromkeys(task.co_units) if n not in task.lead_units]


def _plan_warnings(plan: ParsedPlan, meta: _Meta, year: int | None, issuer: str | None) -> None:
    if not plan.issuer:
        plan.warnings.append("未识别发文单位，请填写")
    if plan.year is None:
        plan.warnings.append("未识别年度，请填写（期限类短语没有换算成日期）")
    elif year and meta.year and year != meta.year:
        plan.warnings.append(f"指定年度 {year} 与文件中的 {meta.year} 不一致")
    with_leaders = sum(1 for t in plan.tasks if t.leaders)
    with_units = sum(1 for t in plan.tasks if t.lead_units)
    if not with_leaders and not with_units:
        plan.warnings.append("文件未列牵头领导和责任单位，可在预览中补填")
    for task in plan.tasks:
        if with_leaders * 2 >= len(plan.tasks) and not task.leaders:
            task.warnings.append("未找到牵头领导")
        if with_units * 2 >= len(plan.tasks) and not task.lead_units:
            task.warnings.append("未找到责任单位")
