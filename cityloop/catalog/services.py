"""Writes to the catalogue: the category import and the configuration services.

Every write here calls :func:`cityloop.catalog.cache.invalidate`, so the routing/limit snapshot is
dropped when the write commits.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from pypinyin import Style, lazy_pinyin

from cityloop.catalog import cache
from cityloop.catalog.models import (
    Category,
    CategoryKind,
    Department,
    DepartmentKind,
    LegacyCategoryCode,
    RoutingRule,
    Stage,
    StageLimit,
    TimeLimit,
    Urgency,
)
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import ImportFailed, ValidationFailed
from cityloop.core.text import printable
from cityloop.geo.models import Region

# --- helpers ------------------------------------------------------------------------------------

PINYIN_MAX_LENGTH = Category._meta.get_field("pinyin_initials").max_length or 50


def pinyin_initials(name: str) -> str:
    """Lower-case pinyin initials of a name, keeping Latin letters and digits: 供水井盖 → ``gsjg``."""
    letters = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    return re.sub(r"[^a-z0-9]", "", letters.lower())[:PINYIN_MAX_LENGTH]


#: Unit texts accepted in import files (the TimeUnit labels and values, plus common spellings).
UNIT_ALIASES: dict[str, TimeUnit] = {
    **{unit.label: unit for unit in TimeUnit},
    **{unit.value: unit for unit in TimeUnit},
    "工作小时": TimeUnit.WORK_HOUR,
    "个工作时": TimeUnit.WORK_HOUR,
    "个工作日": TimeUnit.WORK_DAY,
    "自然时": TimeUnit.HOUR,
    "个小时": TimeUnit.HOUR,
    "自然日": TimeUnit.DAY,
    "日": TimeUnit.DAY,
}

KIND_ALIASES: dict[str, str] = {
    **{kind.label: kind.value for kind in CategoryKind},
    **{kind.value: kind.value for kind in CategoryKind},
}

MAX_LIMIT_VALUE = Decimal("999999.99")


def _parse_limit_value(text: str) -> Decimal:
    """A positive decimal with at most two places (TimeLimit.value), or ValueError with the reason."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"时限「{text}」不是数字") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"时限「{text}」必须是正数")
    if value > MAX_LIMIT_VALUE or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"时限「{text}」超出范围或小数超过两位")
    return value


def _unit(text: str) -> TimeUnit:
    unit = UNIT_ALIASES.get(text.strip())
    if unit is None:
        raise ValueError(f"未知的时限单位「{text}」，应为 {'、'.join(TimeUnit.labels)}")
    return unit


# --- import report ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What a category import did; ``lines()`` renders it in Chinese."""

    path: str
    legacy_path: str | None = None
    majors_created: int = 0
    majors_updated: int = 0
    majors_unchanged: int = 0
    minors_created: int = 0
    minors_updated: int = 0
    minors_unchanged: int = 0
    limits_created: int = 0
    limits_updated: int = 0
    limits_unchanged: int = 0
    legacy_created: int = 0
    legacy_updated: int = 0
    legacy_unchanged: int = 0
    #: Legacy codes mapped by each method: "exact" (same name), "synonym" (the explicit table),
    #: "normalised" (same name once brackets/punctuation/类·设施 suffixes are normalised),
    #: "kept" (no automatic match, but an earlier manual mapping was kept).
    legacy_mapped: dict[str, int] = field(default_factory=dict)
    legacy_unmapped: list[str] = field(default_factory=list)

    @property
    def legacy_mapped_total(self) -> int:
        return sum(self.legacy_mapped.values())

    @property
    def created_total(self) -> int:
        return self.majors_created + self.minors_created + self.limits_created + self.legacy_created

    def lines(self) -> list[str]:
        def counts(created: int, updated: int, unchanged: int) -> str:
            return f"新建 {created}，更新 {updated}，未变 {unchanged}"

        out = [
            f"分类导入完成：{self.path}",
            f"  大类：{counts(self.majors_created, self.majors_updated, self.majors_unchanged)}",
            f"  小类：{counts(self.minors_created, self.minors_updated, self.minors_unchanged)}",
            f"  处置时限：{counts(self.limits_created, self.limits_updated, self.limits_unchanged)}",
        ]
        if self.legacy_path is not None:
            total = self.legacy_created + self.legacy_updated + self.legacy_unchanged
            labels = {"exact": "同名", "synonym": "同义词表", "normalised": "规范化同名", "kept": "保留原有人工对应"}
            detail = "，".join(f"{labels[k]} {v}" for k, v in self.legacy_mapped.items() if v)
            out += [
                f"旧版编码：{self.legacy_path}",
                f"  旧编码：{counts(self.legacy_created, self.legacy_updated, self.legacy_unchanged)}",
                f"  已对应新分类 {self.legacy_mapped_total}/{total}" + (f"（{detail}）" if detail else ""),
                f"  未对应 {len(self.legacy_unmapped)}" + (f"：{'、'.join(self.legacy_unmapped)}" if self.legacy_unmapped else ""),
            ]
        return out


# --- reading the csv files ----------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"无法读取文件（{exc.strerror or exc}）", source=str(path)) from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed("无法识别文件编码（应为 UTF-8 或 GB18030）", source=str(path))


def _row_error(path: Path, line: int, reason: str) -> ImportFailed:
    error = ImportFailed(f"第 {line} 行：{reason}", source=str(path))
    error.details["row"] = line
    error.details["reason"] = reason
    error.reason = reason
    return error


def _read_rows(path: Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row with cleaned, stripped values) for every non-blank data row; checks the header."""
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    if not header:
        raise ImportFailed("文件为空，缺少表头", source=str(path))
    reader.fieldnames = header
    missing = [name for name in required if name not in header]
    if missing:
        raise _row_error(path, 1, f"缺少列 {'、'.join(missing)}（表头为 {','.join(header)}）")
    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        # Control characters cleaned as on every channel (cityloop/core/text.py).
        values = {key: printable(value or "", one_line=True).strip() for key, value in row.items() if isinstance(key, str)}
        if None in row and any((extra or "").strip() for extra in row[None]):
            raise _row_error(path, reader.line_num, "列数多于表头")
        if any(values.values()):
            rows.append((reader.line_num, values))
    if not rows:
        raise ImportFailed("文件没有数据行", source=str(path))
    return rows


CATEGORY_COLUMNS = ("kind", "major_code", "major_name", "minor_code", "minor_name")
LEGACY_COLUMNS = ("kind", "major_code", "major_name", "minor_code", "minor_name")


@dataclass
class _MajorRow:
    code: str
    name: str
    kind: str
    line: int


@dataclass
class _MinorRow:
    code: str
    name: str
    kind: str
    major_code: str
    source: str
    limit: tuple[Decimal, TimeUnit] | None
    line: int


def _kind(path: Path, line: int, text: str) -> str:
    kind = KIND_ALIASES.get(text)
    if kind is None:
        raise _row_error(path, line, f"未知的类型「{text}」，应为 部件 或 事件")
    return kind


def _parse_categories(path: Path) -> tuple[dict[str, _MajorRow], list[_MinorRow]]:
    majors: dict[str, _MajorRow] = {}
    minors: dict[str, _MinorRow] = {}
    for line, row in _read_rows(path, CATEGORY_COLUMNS):
        kind = _kind(path, line, row["kind"])
        major_code, major_name = row["major_code"], row["major_name"]
        minor_code, minor_name = row["minor_code"], row["minor_name"]
        if not re.fullmatch(r"\d{2}", major_code):
            raise _row_error(path, line, f"大类编码「{major_code}」应为 2 位数字")
        if not re.fullmatch(r"\d{5}", minor_code):
            raise _row_error(path, line, f"小类编码「{minor_code}」应为 5 位数字")
        if not minor_code.startswith(major_code):
            raise _row_error(path, line, f"小类编码「{minor_code}」应以所属大类编码 {major_code} 开头")
        if not major_name:
            raise _row_error(path, line, "大类名称为空")
        if not minor_name:
            raise _row_error(path, line, "小类名称为空")
        if len(minor_name) > 100 or len(major_name) > 100:
            raise _row_error(path, line, "名称超过 100 个字符")
        major = majors.get(major_code)
        if major is None:
            majors[major_code] = _MajorRow(major_code, major_name, kind, line)
        elif major.name != major_name or major.kind != kind:
            raise _row_error(
                path, line, f"大类 {major_code} 的名称或类型与第 {major.line} 行不一致（{major_name} / {major.name}）"
            )
        if minor_code in minors:
            raise _row_error(path, line, f"小类编码 {minor_code} 与第 {minors[minor_code].line} 行重复")
        limit_text, unit_text = row.get("time_limit", ""), row.get("time_unit", "")
        limit: tuple[Decimal, TimeUnit] | None = None
        if limit_text or unit_text:
            if not limit_text:
                raise _row_error(path, line, f"有时限单位「{unit_text}」但没有时限数值")
            if not unit_text:
                raise _row_error(path, line, f"有时限「{limit_text}」但没有时限单位")
            try:
                limit = (_parse_limit_value(limit_text), _unit(unit_text))
            except ValueError as exc:
                raise _row_error(path, line, str(exc)) from None
        source = row.get("source", "")[:300]
        minors[minor_code] = _MinorRow(minor_code, minor_name, kind, major_code, source, limit, line)
    return majors, list(minors.values())


@dataclass
class _LegacyRow:
    kind: str
    code: str
    name: str
    major_name: str


def _parse_legacy(path: Path) -> list[_LegacyRow]:
    seen: dict[tuple[str, str], int] = {}
    out: list[_LegacyRow] = []
    for line, row in _read_rows(path, LEGACY_COLUMNS):
        kind = _kind(path, line, row["kind"])
        major_code, code, name = row["major_code"], row["minor_code"], row["minor_name"]
        if not re.fullmatch(r"\d{2}", major_code):
            raise _row_error(path, line, f"旧大类编码「{major_code}」应为 2 位数字")
        if not re.fullmatch(r"\d{4}", code):
            raise _row_error(path, line, f"旧小类编码「{code}」应为 4 位数字")
        if not code.startswith(major_code):
            raise _row_error(path, line, f"旧小类编码「{code}」应以所属大类编码 {major_code} 开头")
        if not name:
            raise _row_error(path, line, "旧小类名称为空")
        if (kind, code) in seen:
            raise _row_error(path, line, f"旧编码 {CategoryKind(kind).label} {code} 与第 {seen[(kind, code)]} 行重复")
        seen[(kind, code)] = line
        out.append(_LegacyRow(kind, code, name[:100], row["major_name"][:100]))
    return out


# --- legacy name mapping ------------------------------------------------------------------------

#: Well-known renames from CJ/T 214-2007 / GB/T 30428.2 to GB/T 47678.5-2026 (same object, new name).
#: Only unambiguous pairs: a legacy class split over several new ones (立杆, 广告牌匾, 灯箱霓虹灯…) or
#: absorbed into something broader (突发事件) is left unmapped on purpose.
LEGACY_SYNONYMS: dict[tuple[str, str], str] = {
    (CategoryKind.COMPONENT, "上水井盖"): "供水井盖",
    (CategoryKind.COMPONENT, "通讯井盖"): "通信井盖",
    (CategoryKind.COMPONENT, "通讯交接箱"): "通信交接箱",
    (CategoryKind.COMPONENT, "无主井盖"): "不明井盖",
    (CategoryKind.COMPONENT, "民用水井"): "水井",
    (CategoryKind.COMPONENT, "健身设施"): "户外健身设施",
    (CategoryKind.COMPONENT, "高架立交桥"): "立交桥",
    (CategoryKind.COMPONENT, "交通标志牌"): "交通标志牌及标线",
    (CategoryKind.COMPONENT, "公交站亭"): "公交站设施",
    (CategoryKind.COMPONENT, "出租车站牌"): "出租车停靠站",
    (CategoryKind.COMPONENT, "街头坐椅"): "街头座椅",
    (CategoryKind.COMPONENT, "防洪墙"): "防汛墙",
    (CategoryKind.EVENT, "道路撒遗"): "道路遗撒（洒）",
    (CategoryKind.EVENT, "非装饰性树挂"): "非装饰性吊挂",
    (CategoryKind.EVENT, "河堤破损"): "堤岸破损",
    (CategoryKind.EVENT, "建筑物外立面不洁"): "建筑物外立面污损",
    (CategoryKind.EVENT, "水域秩序问题"): "水域秩序乱象",
    (CategoryKind.EVENT, "焚烧树叶，垃圾"): "焚烧垃圾、树叶",
    (CategoryKind.EVENT, "动物尸体清理"): "动物尸体",
    (CategoryKind.EVENT, "私自饲养家禽家畜"): "擅自饲养家禽家畜",
    (CategoryKind.EVENT, "废弃家具设施"): "废弃家具设备",
    (CategoryKind.EVENT, "占道废品收购"): "废品收购乱象",
}

_BRACKETS = str.maketrans({"(": "（", ")": "）"})
_PUNCTUATION = re.compile(r"[\s、，,；;·]")
_SUFFIXES = ("设施", "类")


def normalise_name(name: str) -> str:
    """Name for the fallback match: full-width brackets, no spaces/separators, no trailing 类/设施."""
    text = _PUNCTUATION.sub("", name.translate(_BRACKETS))
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
    return text


class _NameIndex:
    """Minor classes of each kind by exact and by normalised name (normalised only when unambiguous)."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self.exact: dict[tuple[str, str], Category] = {}
        normalised: dict[tuple[str, str], list[Category]] = {}
        for category in categories:
            self.exact.setdefault((category.kind, category.name), category)
            normalised.setdefault((category.kind, normalise_name(category.name)), []).append(category)
        self.normalised = {key: found[0] for key, found in normalised.items() if len(found) == 1}

    def match(self, kind: str, name: str) -> tuple[Category | None, str]:
        found = self.exact.get((kind, name))
        if found is not None:
            return found, "exact"
        synonym = LEGACY_SYNONYMS.get((kind, name))
        if synonym is not None:
            found = self.exact.get((kind, synonym))
            if found is not None:
                return found, "synonym"
        found = self.normalised.get((kind, normalise_name(name)))
        if found is not None:
            return found, "normalised"
        return None, ""


# --- the import ---------------------------------------------------------------------------------


def categories_import(*, path: str | Path, legacy_path: str | Path | None = None) -> ImportReport:
    """Import GB/T 47678.5 categories (and optionally legacy 4-digit codes) from csv files.

    Idempotent (rows are matched by code and updated), all-or-nothing (one transaction, everything
    validated before the first write). Categories missing from the file are left as they are.
    Raises :class:`ImportFailed` naming the file, the line and the reason.
    """
    path = Path(path)
    majors, minors = _parse_categories(path)
    legacy_rows = _parse_legacy(Path(legacy_path)) if legacy_path is not None else None
    report = ImportReport(path=str(path), legacy_path=str(legacy_path) if legacy_path is not None else None)
    with transaction.atomic():
        existing = {c.code: c for c in Category.objects.select_for_update().filter(code__in=[*majors, *(m.code for m in minors)])}
        for major in majors.values():
            _upsert_category(
                report, "majors", existing, code=major.code, name=major.name, kind=major.kind, parent=None, source=None
            )
        for minor in minors:
            _upsert_category(
                report,
                "minors",
                existing,
                code=minor.code,
                name=minor.name,
                kind=minor.kind,
                parent=existing[minor.major_code],
                source=minor.source,
            )
        _import_limits(report, minors, existing)
        if legacy_rows is not None:
            _import_legacy(report, legacy_rows)
        cache.invalidate()
    return report


def _upsert_category(
    report: ImportReport,
    level: str,
    existing: dict[str, Category],
    *,
    code: str,
    name: str,
    kind: str,
    parent: Category | None,
    source: str | None,
) -> None:
    values: dict[str, object] = {
        "name": name,
        "kind": kind,
        "parent_id": parent.pk if parent is not None else None,
        "pinyin_initials": pinyin_initials(name),
    }
    if source is not None:
        values["source"] = source
    category = existing.get(code)
    if category is None:
        existing[code] = Category.objects.create(code=code, **values)
        setattr(report, f"{level}_created", getattr(report, f"{level}_created") + 1)
        return
    changed = [attr for attr, value in values.items() if getattr(category, attr) != value]
    if changed:
        for attr in changed:
            setattr(category, attr, values[attr])
        category.save(update_fields=["parent" if attr == "parent_id" else attr for attr in changed])
        setattr(report, f"{level}_updated", getattr(report, f"{level}_updated") + 1)
    else:
        setattr(report, f"{level}_unchanged", getattr(report, f"{level}_unchanged") + 1)


def _import_limits(report: ImportReport, minors: list[_MinorRow], categories: dict[str, Category]) -> None:
    wanted = {categories[m.code].pk: m.limit for m in minors if m.limit is not None}
    if not wanted:
        return
    current = {
        row.category_id: row
        for row in TimeLimit.objects.select_for_update().filter(category_id__in=wanted, urgency=Urgency.NORMAL)
    }
    for category_id, (value, unit) in wanted.items():
        row = current.get(category_id)
        if row is None:
            TimeLimit.objects.create(category_id=category_id, urgency=Urgency.NORMAL, value=value, unit=unit, is_demo=False)
            report.limits_created += 1
        elif row.value != value or row.unit != unit or row.is_demo:
            row.value, row.unit, row.is_demo = value, unit, False
            row.save(update_fields=["value", "unit", "is_demo"])
            report.limits_updated += 1
        else:
            report.limits_unchanged += 1


def _import_legacy(report: ImportReport, rows: list[_LegacyRow]) -> None:
    index = _NameIndex(Category.objects.filter(parent__isnull=False).order_by("code"))
    current = {(row.kind, row.code): row for row in LegacyCategoryCode.objects.select_for_update()}
    mapped: dict[str, int] = {"exact": 0, "synonym": 0, "normalised": 0, "kept": 0}
    for item in rows:
        category, method = index.match(item.kind, item.name)
        row = current.get((item.kind, item.code))
        if row is None:
            LegacyCategoryCode.objects.create(
                kind=item.kind, code=item.code, name=item.name, major_name=item.major_name, category=category
            )
            report.legacy_created += 1
        else:
            if category is None and row.category_id is not None and row.name == item.name:
                category, method = row.category, "kept"  # a manual mapping made in the admin survives re-import
            if (row.name, row.major_name, row.category_id) != (item.name, item.major_name, category.pk if category else None):
                row.name, row.major_name, row.category = item.name, item.major_name, category
                row.save(update_fields=["name", "major_name", "category"])
                report.legacy_updated += 1
            else:
                report.legacy_unchanged += 1
        if category is None:
            report.legacy_unmapped.append(f"{CategoryKind(item.kind).label}{item.code} {item.name}")
        else:
            mapped[method] += 1
    report.legacy_mapped = mapped


# --- configuration services ---------------------------------------------------------------------


def _choice(value: str, choices: type, what: str, field_name: str) -> str:
    for choice in choices:  # type: ignore[attr-defined]
        if value in (choice.value, choice.label):
            return str(choice.value)
    raise ValidationFailed(f"未知的{what}「{value}」", field=field_name)


def _limit_value(value: Decimal | int | str) -> Decimal:
    try:
        return _parse_limit_value(str(value))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="value") from None


def department_upsert(
    *,
    code: str,
    name: str,
    kind: str,
    region: Region | None = None,
    parent: Department | None = None,
    is_demo: bool = False,
) -> Department:
    """Create or update the department with this code (idempotent)."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise ValidationFailed("处置单位的编码和名称不能为空", field="code" if not code else "name")
    kind = _choice(kind, DepartmentKind, "单位类型", "kind")
    if parent is not None and parent.code == code:
        raise ValidationFailed("上级单位不能是自己", field="parent")
    with transaction.atomic():
        department, _created = Department.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "region": region, "parent": parent, "is_demo": is_demo}
        )
        cache.invalidate()
    return department


def routing_rule_upsert(
    *,
    category: Category | None = None,
    region: Region | None = None,
    department: Department,
    priority: int = 0,
    note: str = "",
    is_demo: bool = False,
) -> RoutingRule:
    """Create or update (and re-activate) the rule for (category, region, department) (idempotent)."""
    with transaction.atomic():
        rule = (
            RoutingRule.objects.select_for_update()
            .filter(category=category, region=region, department=department)
            .order_by("id")
            .first()
        )
        if rule is None:
            rule = RoutingRule.objects.create(
                category=category, region=region, department=department, priority=priority, note=note, is_demo=is_demo
            )
        else:
            rule.priority, rule.note, rule.is_demo, rule.is_active = priority, note, is_demo, True
            rule.save(update_fields=["priority", "note", "is_demo", "is_active"])
        cache.invalidate()
    return rule


def routing_rule_deactivate(*, rule: RoutingRule) -> RoutingRule:
    """Switch a rule off (kept for history)."""
    with transaction.atomic():
        rule.is_active = False
        rule.save(update_fields=["is_active"])
        cache.invalidate()
    return rule


def time_limit_set(
    *, category: Category, urgency: str, value: Decimal | int | str, unit: str, is_demo: bool = False
) -> TimeLimit:
    """Set the handling limit of a category (minor or major) for one urgency (idempotent)."""
    urgency = _choice(urgency, Urgency, "紧急程度", "urgency")
    unit = _choice(unit, TimeUnit, "时限单位", "unit")
    with transaction.atomic():
        limit, _created = TimeLimit.objects.update_or_create(
            category=category, urgency=urgency, defaults={"value": _limit_value(value), "unit": unit, "is_demo": is_demo}
        )
        cache.invalidate()
    return limit


def stage_limit_set(*, stage: str, value: Decimal | int | str, unit: str, is_demo: bool = False) -> StageLimit:
    """Set the limit of a workflow stage (idempotent)."""
    stage = _choice(stage, Stage, "环节", "stage")
    unit = _choice(unit, TimeUnit, "时限单位", "unit")
    with transaction.atomic():
        limit, _created = StageLimit.objects.update_or_create(
            stage=stage, defaults={"value": _limit_value(value), "unit": unit, "is_demo": is_demo}
        )
        cache.invalidate()
    return limit
