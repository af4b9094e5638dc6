"""Phrase-level extraction from a task's text: numeric targets, deadlines, leader and unit lists.

Pure functions over strings; no database. The rules follow the grammar of such documents, not the wording of
one plan: a target is a number with a unit of measure, classified by the verb in front of it (新建/完成 …
count, 达到/不低于 at least, 保持 keep, 提升至 increase to, 控制在 at most) and described by the noun phrase
it measures (object after the verb, or the subject before a comparing verb). Numbers inside quotation marks,
book titles and parentheses are names, slogans or asides, never targets.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from cityloop.workplans.choices import TargetKind

CJK = "\u3400-\u9fff\uf900-\ufaff"
CJK_PUNCT = "，。、；：？！（）【】《》〈〉「」『』“”‘’〔〕…—"
_FULLWIDTH = str.maketrans("０１２３４５６７８９％．", "0123456789%.")
_SPACES = re.compile(r"[ \t\u00a0\u2002\u2003\u2009\u3000]+")
_SQUEEZE = re.compile(rf"(?<=[{CJK}{CJK_PUNCT}])\s+|\s+(?=[{CJK}{CJK_PUNCT}])")
_SQUEEZE_PUNCT = re.compile(rf"(?<=[{CJK_PUNCT}:,;])\s+|\s+(?=[{CJK_PUNCT}:,;])|(?<=[{CJK}])\s+(?=\d)|(?<=\d)\s+(?=[{CJK}])")


def normalize_line(line: str, *, squeeze_words: bool = True) -> str:
    """ASCII digits, one kind of space, and no space next to a Chinese character or punctuation mark.
    ``squeeze_words=False`` keeps the spaces between Chinese words (names listed with spaces: 王五 赵六)."""
    line = _SPACES.sub(" ", line.translate(_FULLWIDTH)).strip()
    return (_SQUEEZE if squeeze_words else _SQUEEZE_PUNCT).sub("", line)


# --- names: leaders and units ----------------------------------------------------------------------------

_OPEN, _CLOSE = "（([【〔《“", "）)]】〕》”"


def split_top_level(text: str, separators: str) -> list[str]:
    """Split at ``separators`` outside brackets and quotes: 各县区（开发区、园区）城管局 stays one name."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE and depth:
            depth -= 1
        if char in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (clean_name(p) for p in parts) if p]


def clean_name(name: str) -> str:
    name = normalize_line(name).replace("(", "（").replace(")", "）").strip(" 。.;；,，、:：")
    return name.removesuffix("等")


_PLACE_WORDS = r"(?:自治县|新区|开发区|高新区|区|县|市|镇|乡|街道)"
_PLACE = re.compile(rf"^[{CJK}]{{1,8}}{_PLACE_WORDS}$")  # 费县, 罗庄区, 城关街道
_PLACE_PREFIX = re.compile(rf"^[{CJK}]{{2,8}}?{_PLACE_WORDS}")  # 蒙阴县 in 蒙阴县城管局 (not 县市 in 县市场监管局)
_ORG_SUFFIX = re.compile(r"(?:局|委员会|委|办公室|办|中心|站|所|队|支队|大队|处|科|公司|集团|部|部门)$")


def expand_shared_suffix(names: list[str]) -> list[str]:
    """``罗庄区、河东区、蒙阴县城管局`` lists places that share the last item's office: each place gets the
    suffix (罗庄区城管局, 河东区城管局, 蒙阴县城管局). Lists of complete names are left alone."""
    if len(names) < 2 or not _ORG_SUFFIX.search(names[-1]):
        return names
    place = _PLACE_PREFIX.match(names[-1])
    if not place or len(names[-1]) - place.end() < 2:
        return names
    suffix = names[-1][place.end():]
    bare = [n for n in names[:-1] if _PLACE.match(n)]
    if len(bare) != len(names) - 1:
        return names
    return [n + suffix for n in names[:-1]] + [names[-1]]


def parse_leaders(raw: str) -> list[str]:
    """``张世彬``, ``李 刚、孙成星``, ``宗方才，王海滨``: names, with the typesetters' space inside
    two-character names closed up (``李 刚`` → 李刚) and honorifics and positions dropped."""
    raw = re.sub(r"[（(][^）)]*[）)]", "", raw.translate(_FULLWIDTH))
    names: list[str] = []
    for part in re.split(r"[、，,；;/／]|和|及", raw):
        words = part.split()
        if not words:
            continue
        if all(len(w) == 1 for w in words) or len(words) == 1:
            candidates = ["".join(words)]
        else:  # 张三 李四: several names separated by spaces; single characters belong to a neighbour
            candidates, pending = [], ""
            for word in words:
                if len(word) == 1:
                    pending += word
                    continue
                candidates.append(pending + word if pending else word)
                pending = ""
            if pending:
                candidates[-1] += pending
        for name in candidates:
            name = re.sub(r"(同志|局长|副局长|主任|副主任|书记|副书记|调研员|总工程师)$", "", name.strip(" 。.:："))
            if name and name not in names:
                names.append(name)
    return names


def parse_units(raw: str) -> tuple[list[str], list[str]]:
    """``A，B、C`` → lead [A], co [B, C]: the lead group is what comes before the first comma. Without a
    comma, the first unit leads and the others assist (排在首位的为牵头单位)."""
    raw = normalize_line(raw)
    groups = split_top_level(raw, "，,")
    if not groups:
        return [], []
    if len(groups) == 1:
        names = expand_shared_suffix(split_top_level(groups[0], "、；;"))
        return names[:1], names[1:]
    lead = expand_shared_suffix(split_top_level(groups[0], "、；;"))
    co = [name for group in groups[1:] for name in expand_shared_suffix(split_top_level(group, "、；;"))]
    return lead, co


# --- deadlines ---------------------------------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_to_int(text: str) -> int | None:
    """一 → 1, 十一 → 11, 二十三 → 23, 一百零二 → 102; digits pass through; None if not a numeral."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c not in "十百" for c in text):
        return None
    if "十" not in text and "百" not in text:  # 二〇二四: digit by digit
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, current = 0, 0
    for char in text:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _CN_DIGITS[char]
    return total + current


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Deadline:
    text: str
    date: date
    start: int
    end: int


_Q = r"(?:第)?(?P<q>[一二三四1-4])季度(?:末|底)?(?:前)?"
_DEADLINE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日(?:前|之前|以前)?"), "ymd"),
    (re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?:份)?(?:底|末)(?:前)?"), "ym_end"),
    (re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?:份)?(?:前|之前|以前)"), "ym_before"),
    (re.compile(r"(?P<y>\d{4})年(?:年)?(?:底|末)(?:前)?"), "y_end"),
    (re.compile(r"(?P<y>\d{4})年(?P<h>上|下)半年"), "y_half"),
    (re.compile(rf"(?P<y>\d{{4}})年{_Q}"), "y_quarter"),
    (re.compile(r"(?<![\d年])(?P<m>\d{1,2})月(?P<d>\d{1,2})日(?:前|之前|以前)"), "md"),
    (re.compile(r"(?<![\d年])(?P<m>\d{1,2})月(?:份)?(?:底|末)(?:前)?"), "m_end"),
    (re.compile(r"(?<![\d年])(?P<m>\d{1,2})月(?:份)?(?:前|之前|以前)"), "m_before"),
    (re.compile(r"(?<!\d)(?P<h>上|下)半年"), "half"),
    (re.compile(rf"(?<![\d年]){_Q}"), "quarter"),
    (re.compile(r"(?<![\d年])(?:年底|年末|年内|本年度内)(?:前)?"), "end"),
]


def find_deadlines(text: str, year: int | None) -> list[Deadline]:
    """Deadline phrases (年底前, 上半年, 6月底, 9月30日前, 2024年底, 第三季度 …) as dates; phrases without
    a year take ``year`` (the plan's) and are skipped when it is unknown. Each stretch of text counts once."""
    found: list[Deadline] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in _DEADLINE_PATTERNS:
        for match in pattern.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            groups = match.groupdict()
            y = int(groups["y"]) if groups.get("y") else year
            if y is None:
                continue
            try:
                when = _deadline_date(kind, y, groups)
            except ValueError:
                continue
            if when is None:
                continue
            taken.append((match.start(), match.end()))
            found.append(Deadline(match.group(), when, match.start(), match.end()))
    return sorted(found, key=lambda d: d.start)


def _deadline_date(kind: str, y: int, g: dict[str, str | None]) -> date | None:
    m = int(g.get("m") or 0)
    if kind in ("ymd", "md"):
        return date(y, m, int(g["d"] or 0))
    if kind in ("ym_end", "m_end"):
        return _month_end(y, m) if 1 <= m <= 12 else None
    if kind in ("ym_before", "m_before"):  # 6月前: before June begins
        if not 1 <= m <= 12:
            return None
        return date(y - 1, 12, 31) if m == 1 else _month_end(y, m - 1)
    if kind in ("y_half", "half"):
        return date(y, 6, 30) if g["h"] == "上" else date(y, 12, 31)
    if kind in ("y_quarter", "quarter"):
        q = cn_to_int(g["q"] or "")
        return _month_end(y, 3 * q) if q and 1 <= q <= 4 else None
    return date(y, 12, 31)  # y_end, end


# --- targets ------------------------------------------------------------------------------------------------

_UNITS = sorted(
    [
        "个百分点", "百分点", "平方公里", "平方千米", "平方米", "立方米", "吨/日", "吨/天", "公里", "千米", "km",
        "米", "m²", "m2", "m", "㎡", "公顷", "亩", "元", "人次", "人", "名", "户", "家", "所", "座", "个", "处",
        "条", "杆", "盏", "台", "辆", "套", "项", "件", "批", "次", "场", "期", "轮", "学时", "课时", "棵", "株",
        "块", "根", "段", "片", "张", "份", "部", "间", "口", "眼", "宗", "笔", "千瓦", "兆瓦", "%", "‰", "倍",
        "分", "吨", "辆次", "车次", "架次", "箱", "组", "支", "队", "本", "起", "宗", "例",
    ],
    key=len,
    reverse=True,
)
#: Durations and calendar words: matched so that 24小时/3个月/2024年 are never read as counts.
_DURATIONS = ["个月", "小时", "分钟", "周", "天", "年", "日", "秒"]
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_QUANTITY = re.compile(
    rf"(?<![A-Za-z0-9.\-_/#])(?P<n1>{_NUMBER})(?:(?:-|－|—|–|~|～|至|到)(?P<n2>{_NUMBER}))?"
    rf"(?P<mag>万|亿|千)?(?P<unit>{'|'.join(re.escape(u) for u in _DURATIONS + _UNITS)})(?![A-Za-z0-9])"
)

# The verb in front of a number decides the kind; longer verbs first (提升改造 before 提升, 增加到 before 增加).
_VERBS: dict[str, str] = {}
for _kind, _words in (
    (TargetKind.KEEP, "保持 维持 稳定在 持续保持 始终保持 保持在"),
    (TargetKind.INCREASE_TO, "提升至 提升到 提高至 提高到 增加至 增加到 增长至 增长到 增至 提至 扩大至 扩大到 "
                             "上升至 上升到 达到至 拓展至 延伸至 扩展至"),
    (TargetKind.AT_MOST, "控制在 不超过 不高于 降低至 降低到 下降至 下降到 减少至 减少到 降至 压减至 压降至 低于"),
    (TargetKind.AT_LEAST, "达到 不低于 不少于 至少 超过 高于 突破 力争达 达"),
    (TargetKind.COUNT, "新建 新增 改建 扩建 改造 建成 建设 完成 实施 打造 新安装 安装 更换 增配 增加 配备 配置 修复 "
                       "整治 提升改造 改造提升 治理 创建 培育 开展 举办 组织 清理 拆除 种植 栽植 铺设 敷设 检测 维修 "
                       "修缮 建立 设立 布设 补植 投放 推广 更新 累计 新改建 新开工 开工 提升 提高 增长 增加了 "
                       "减少 削减 处置 收运 查处 办结 培训 引进 发展 播出 发布 组建 购置 采购 新栽 回收"),
):
    for _word in _words.split():
        _VERBS.setdefault(_word, _kind)
_WEAK_VERBS = {"到": TargetKind.AT_LEAST, "达": TargetKind.AT_LEAST}
_VERB_RE = re.compile("|".join(sorted((re.escape(v) for v in _VERBS), key=len, reverse=True)))
_COMPARING = {TargetKind.KEEP, TargetKind.INCREASE_TO, TargetKind.AT_MOST, TargetKind.AT_LEAST}
_AT_LEAST_WORDS = re.compile(r"至少|不少于|不低于")
_AT_MOST_WORDS = re.compile(r"不超过|不高于|控制在")
_CLAUSE_END = "，,；;。！？!?：:\n"
_SENTENCE_END = "；;。！？!?\n"
_AFTER_STOP = re.compile(rf"[{re.escape(_CLAUSE_END)}、（(“\"《〔【\d]")
_LEADING_FILLERS = re.compile(
    r"^(?:其中|确保|力争|争取|努力|实现|推动|推进|将|使|把|并|且|同时|做到|保证|全力|要|使得|以及|和|及|与|全面|"
    r"进一步|持续|逐步|基本|累计|共|约|近|超|、|,|，)+"
)
_BASELINE_FOLLOW = re.compile(r"^(?:提高|提升|增加|降低|减少|下降|上升|增长|扩大|压减|压降)")
_PER_DAY = re.compile(r"(?:每日|每天|日均)$")
_PER_YEAR = re.compile(r"(?:每年|年均)$")


@dataclass
class Target:
    """A numeric target found in a task's text."""

    text: str  # the clause it was found in
    what: str  # what is measured
    value: Decimal
    unit: str
    kind: str
    baseline: Decimal | None = None
    deadline: date | None = None
    approximate: bool = False
    upper: Decimal | None = None  # a range 1-2次: value is the lower bound
    warnings: list[str] = field(default_factory=list)


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Spans inside quotes, book-title marks and brackets (names, slogans, asides)."""
    pairs = {"“": "”", "‘": "’", "《": "》", "（": "）", "(": ")", "「": "」", "『": "』", "〔": "〕", "【": "】"}
    spans, stack = [], []
    quote_open: int | None = None
    for i, char in enumerate(text):
        if char == '"':
            if quote_open is None:
                quote_open = i
            else:
                spans.append((quote_open, i + 1))
                quote_open = None
        elif char in pairs:
            stack.append((char, i))
        elif stack and char == pairs[stack[-1][0]]:
            _, start = stack.pop()
            if not stack:
                spans.append((start, i + 1))
    return spans


def _decimal(raw: str) -> Decimal:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        return Decimal(0)


def _bounds(text: str, pos: int, stops: str) -> tuple[int, int]:
    start = max(text.rfind(c, 0, pos) for c in stops) + 1
    ends = [i for i in (text.find(c, pos) for c in stops) if i >= 0]
    return start, min(ends) if ends else len(text)


def _clean_what(text: str, *, from_end: bool = False, limit: int = 24) -> str:
    text = _LEADING_FILLERS.sub("", text.strip()).strip("、，,的 ")
    text = re.sub(r"(?:约|近|超|共|累计|每日|每天|日均|每年|年均|各|和|及|与|以及|等)$", "", text).strip("、，, ")
    if len(text) > limit:
        text = text[-limit:] if from_end else text[:limit]
    return text


def find_targets(text: str, *, year: int | None = None) -> list[Target]:
    """The numeric targets of one task's text (already normalised with :func:`normalize_line`)."""
    protected = protected_spans(text)
    deadlines = find_deadlines(text, year)
    quantities = [
        m for m in _QUANTITY.finditer(text)
        if not any(s <= m.start() < e for s, e in protected)
        and not any(d.start <= m.start() < d.end for d in deadlines)
    ]
    targets: list[Target] = []
    last_end = 0
    previous: Target | None = None
    previous_sentence = -1
    pending_baseline: Decimal | None = None
    pending_subject = ""
    for match in quantities:
        unit = (match.group("mag") or "") + match.group("unit")
        clause_start, clause_end = _bounds(text, match.start(), _CLAUSE_END)
        sentence_start, sentence_end = _bounds(text, match.start(), _SENTENCE_END)
        if sentence_start != previous_sentence:
            previous, previous_sentence = None, sentence_start
        if match.group("unit") in _DURATIONS or text[max(0, match.start() - 1):match.start()] == "第":
            continue  # 24小时开放, 3个月内, 第3批: part of the wording, not a quantity
        seg_start = max(clause_start, last_end)
        seg = text[seg_start:match.start()]
        last_end = match.end()
        tail = text[match.end():clause_end]
        after_raw = tail[: m.start()] if (m := _AFTER_STOP.search(tail)) else tail
        if "基础上" in tail[:30] or "基础上" in after_raw:
            continue  # 在……完成39处的基础上: last year's achievement, not this year's target
        value = _decimal(match.group("n1"))
        if seg.endswith(("由", "从")) and _BASELINE_FOLLOW.match(tail):
            pending_baseline = value  # 由36.2%提高至51.4%: the starting point of the next target
            pending_subject = _clean_what(seg[:-1], from_end=True)
            continue
        verbs = list(_VERB_RE.finditer(seg))
        kind: str | None = None
        verb_start = verb_end = len(seg)
        stripped = re.sub(r"(?:约|近|超|共|累计|每日|每天|日均|每年|年均)$", "", seg)
        if verbs:
            kind = _VERBS[verbs[-1].group()]
            verb_start, verb_end = verbs[-1].start(), verbs[-1].end()
        elif stripped and stripped[-1] in _WEAK_VERBS:
            kind = previous.kind if previous else _WEAK_VERBS[stripped[-1]]
            verb_start, verb_end = len(stripped) - 1, len(stripped)
        after = re.sub(r"^(?:及以上|以上|以下|以内|左右)", "", after_raw)
        if kind in (None, TargetKind.COUNT, TargetKind.PERCENTAGE):
            if _AT_LEAST_WORDS.search(seg) or after_raw.startswith(("以上", "及以上")):
                kind = TargetKind.AT_LEAST
            elif _AT_MOST_WORDS.search(seg) or after_raw.startswith(("以内", "以下")):
                kind = TargetKind.AT_MOST
        inherited = kind is None and previous is not None
        if kind is None:
            kind = previous.kind if previous else (TargetKind.PERCENTAGE if unit in ("%", "‰") else TargetKind.COUNT)
        # What is measured: the noun after the number (5处高速公路出入口), the subject of a comparing verb
        # (清扫率保持100%), the object between an action verb and the number (新建公厕67座), or the
        # previous target's in the same sentence (新建公厕67座、提升改造53座).
        what = _clean_what(after)
        subject = _clean_what(seg[:verb_start], from_end=True) or (pending_subject if pending_baseline else "")
        between = _clean_what(seg[verb_end:]) or (_clean_what(seg[verbs[0].end():]) if verbs else "")
        if not what:
            if kind in _COMPARING and verbs and subject:
                what = subject
            elif between:
                what = between
            elif previous is not None and (inherited or verbs or not subject or stripped[-1:] in _WEAK_VERBS):
                what = previous.what
            else:
                what = subject or between
        if _PER_DAY.search(stripped if stripped != seg else seg.rstrip("约近超")) or _PER_DAY.search(seg):
            unit += "/日"
        elif _PER_YEAR.search(seg) and unit not in ("%", "‰"):
            unit += "/年"
        target = Target(
            text=text[clause_start:clause_end].strip(),
            what=what,
            value=value,
            unit=unit,
            kind=kind,
            baseline=pending_baseline,
            approximate=bool(re.search(r"(?:约|近|左右)$", seg) or after_raw.startswith("左右")),
        )
        pending_baseline = None
        if match.group("n2"):
            target.upper = _decimal(match.group("n2"))
            target.kind = TargetKind.AT_LEAST
            target.warnings.append(f"数值是范围「{match.group('n1')}-{match.group('n2')}」，按下限 {match.group('n1')} 记")
        if not what:
            target.warnings.append(f"未能识别「{match.group().strip()}」衡量的内容")
        in_sentence = [d for d in deadlines if sentence_start <= d.start < sentence_end]
        if in_sentence:
            target.deadline = max(d.date for d in in_sentence)
        targets.append(target)
        previous = target
    return targets
