from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, ManagementUtility, call_command

from cityloop.catalog.models import Category, CategoryKind, LegacyCategoryCode, TimeLimit, Urgency
from cityloop.catalog.services import categories_import, normalise_name, pinyin_initials
from cityloop.core.choices import TimeUnit
from cityloop.core.errors import ImportFailed

DATA = Path(settings.REFERENCE_DATA_DIR)
CATEGORIES = DATA / "categories.csv"
LEGACY = DATA / "categories_legacy_cjt214.csv"

pytestmark = pytest.mark.django_db

HEADER = ["kind", "major_code", "major_name", "minor_code", "minor_name", "time_limit", "time_unit", "source"]
GOOD_ROWS = [
    ["部件", "01", "市政公用设施", "01001", "供水井盖", "", "", "测试"],
    ["部件", "01", "市政公用设施", "01002", "污水井盖", "", "", "测试"],
    ["事件", "06", "市容环境类", "06010", "暴露垃圾", "1", "工作日", "测试"],
]


def write_csv(path: Path, rows: list[list[str]], *, header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def counts() -> tuple[int, int, int, int]:
    return (
        Category.objects.filter(parent__isnull=True).count(),
        Category.objects.filter(parent__isnull=False).count(),
        TimeLimit.objects.count(),
        LegacyCategoryCode.objects.count(),
    )


def expected_from_file() -> tuple[set[str], int, dict[str, int], dict[str, tuple[str, str]]]:
    with CATEGORIES.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    majors = {row["major_code"] for row in rows}
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    limits = {row["minor_code"]: (row["time_limit"], row["time_unit"]) for row in rows if row["time_limit"]}
    return majors, len(rows), kinds, limits


class TestRealFile:
    def test_imports_every_major_and_minor_with_the_limits_of_the_file(self) -> None:
        majors, minor_count, kinds, limits = expected_from_file()
        assert (len(majors), minor_count) == (10, 250)
        assert kinds == {"部件": 153, "事件": 97}
        assert limits == {"06010": ("1", "工作日"), "06011": ("4", "工作日"), "06012": ("5", "工作时"), "06025": ("15", "工作日")}

        report = categories_import(path=CATEGORIES)

        assert (report.majors_created, report.minors_created, report.limits_created) == (10, 250, 4)
        assert counts() == (10, 250, 4, 0)
        assert Category.objects.filter(parent__isnull=False, kind=CategoryKind.COMPONENT).count() == 153
        assert Category.objects.filter(parent__isnull=False, kind=CategoryKind.EVENT).count() == 97
        assert set(Category.objects.filter(parent__isnull=True).values_list("code", flat=True)) == majors

        water = Category.objects.select_related("parent").get(code="01001")
        assert water.parent is not None
        assert (water.name, water.kind, water.parent.code, water.parent.name) == ("供水井盖", "component", "01", "市政公用设施")
        assert water.pinyin_initials == "gsjg"
        assert water.source.startswith("GB/T 47678.5-2026")
        assert Category.objects.get(code="06").kind == CategoryKind.EVENT

        limit = TimeLimit.objects.get(category__code="06012")
        assert (limit.value, limit.unit, limit.urgency, limit.is_demo) == (Decimal("5"), TimeUnit.WORK_HOUR, Urgency.NORMAL, False)
        assert TimeLimit.objects.get(category__code="06025").value == Decimal("15")
        assert TimeLimit.objects.get(category__code="06010").unit == TimeUnit.WORK_DAY

    def test_a_second_import_creates_nothing(self) -> None:
        categories_import(path=CATEGORIES, legacy_path=LEGACY)
        before = counts()
        ids = set(Category.objects.values_list("id", flat=True))

        report = categories_import(path=CATEGORIES, legacy_path=LEGACY)

        assert counts() == before
        assert set(Category.objects.values_list("id", flat=True)) == ids
        assert report.created_total == 0
        assert (report.majors_unchanged, report.minors_unchanged, report.limits_unchanged) == (10, 250, 4)
        assert report.legacy_unchanged == 134
        assert report.legacy_updated == 0

    def test_legacy_codes_are_mapped_by_name_and_unknowns_left_empty(self) -> None:
        report = categories_import(path=CATEGORIES, legacy_path=LEGACY)

        assert LegacyCategoryCode.objects.count() == 134
        assert LegacyCategoryCode.objects.filter(kind=CategoryKind.COMPONENT).count() == 80

        def mapped(kind: str, code: str) -> str | None:
            row = LegacyCategoryCode.objects.select_related("category").get(kind=kind, code=code)
            return row.category.code if row.category else None

        # same name
        assert mapped(CategoryKind.COMPONENT, "0102") == "01002"  # 污水井盖
        assert mapped(CategoryKind.EVENT, "0102") == "06010"  # 暴露垃圾
        assert mapped(CategoryKind.EVENT, "0501") == "09001"  # 无照经营游商
        # explicit rename
        assert mapped(CategoryKind.COMPONENT, "0101") == "01001"  # 上水井盖 → 供水井盖
        assert mapped(CategoryKind.COMPONENT, "0107") == "01007"  # 通讯井盖 → 通信井盖
        # normalised brackets / 设施 suffix
        assert mapped(CategoryKind.COMPONENT, "0129") == "01021"  # 输油(气)井盖 → 输油（气）井盖
        assert mapped(CategoryKind.COMPONENT, "0136") == "01050"  # 监控电子眼 → 监控电子眼设施
        # nothing that matches: left empty, not guessed
        assert mapped(CategoryKind.COMPONENT, "0117") is None  # 立杆 (split into 电力/通信/公交… 立杆)
        assert mapped(CategoryKind.EVENT, "0401") is None  # 路面塌陷
        assert mapped(CategoryKind.EVENT, "0408") is None  # 架空线缆损坏 ≠ 架空线缆脱落
        # the same old code in 部件 and 事件 maps within its own kind
        assert mapped(CategoryKind.COMPONENT, "0101") != mapped(CategoryKind.EVENT, "0101")
        mapped_count = LegacyCategoryCode.objects.filter(category__isnull=False).count()
        assert report.legacy_mapped_total == mapped_count == 109
        assert len(report.legacy_unmapped) == 134 - 109
        assert report.legacy_mapped["exact"] == 81

    def test_a_manual_mapping_survives_reimport(self) -> None:
        categories_import(path=CATEGORIES, legacy_path=LEGACY)
        pole = LegacyCategoryCode.objects.get(kind=CategoryKind.COMPONENT, code="0117")
        pole.category = Category.objects.get(code="01030")
        pole.save()

        report = categories_import(path=CATEGORIES, legacy_path=LEGACY)

        pole.refresh_from_db()
        assert pole.category is not None
        assert pole.category.code == "01030"
        assert report.legacy_mapped["kept"] == 1


class TestSmallFiles:
    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
    def test_encodings(self, tmp_path: Path, encoding: str) -> None:
        path = write_csv(tmp_path / "c.csv", GOOD_ROWS, encoding=encoding)
        categories_import(path=path)
        assert Category.objects.get(code="01001").name == "供水井盖"
        assert TimeLimit.objects.get(category__code="06010").value == 1

    def test_updates_changed_rows(self, tmp_path: Path) -> None:
        categories_import(path=write_csv(tmp_path / "a.csv", GOOD_ROWS))
        rows = [list(row) for row in GOOD_ROWS]
        rows[1][4] = "排水井盖"
        rows[2][5], rows[2][6] = "2", "工作时"
        report = categories_import(path=write_csv(tmp_path / "b.csv", rows))
        assert (report.minors_updated, report.minors_unchanged, report.limits_updated) == (1, 2, 1)
        changed = Category.objects.get(code="01002")
        assert (changed.name, changed.pinyin_initials) == ("排水井盖", "psjg")
        limit = TimeLimit.objects.get(category__code="06010")
        assert (limit.value, limit.unit) == (Decimal("2"), TimeUnit.WORK_HOUR)

    def test_optional_columns_may_be_absent(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path / "c.csv", [row[:5] for row in GOOD_ROWS], header=HEADER[:5])
        report = categories_import(path=path)
        assert (report.majors_created, report.minors_created, report.limits_created) == (2, 3, 0)


BAD_CASES = [
    pytest.param(None, "minor_name", 1, "缺少列 minor_name", id="missing-column"),
    pytest.param((3, 0, "设备"), None, 3, "未知的类型「设备」", id="unknown-kind"),
    pytest.param((3, 1, "1"), None, 3, "大类编码「1」应为 2 位数字", id="major-not-2-digits"),
    pytest.param((3, 3, "0103"), None, 3, "小类编码「0103」应为 5 位数字", id="minor-not-5-digits"),
    pytest.param((3, 3, "02003"), None, 3, "应以所属大类编码 01 开头", id="minor-outside-major"),
    pytest.param((3, 3, "01001"), None, 3, "小类编码 01001 与第 2 行重复", id="duplicate-minor"),
    pytest.param((4, 6, "周"), None, 4, "未知的时限单位「周」", id="unknown-unit"),
    pytest.param((4, 5, "一天"), None, 4, "时限「一天」不是数字", id="bad-limit"),
    pytest.param((4, 6, ""), None, 4, "没有时限单位", id="limit-without-unit"),
    pytest.param((3, 2, "市政设施"), None, 3, "大类 01 的名称或类型与第 2 行不一致", id="major-renamed-midway"),
    pytest.param((3, 4, ""), None, 3, "小类名称为空", id="empty-name"),
]


class TestBadInput:
    @pytest.mark.parametrize(("change", "drop_column", "line", "reason"), BAD_CASES)
    def test_aborts_naming_file_row_and_reason_and_changes_nothing(
        self,
        tmp_path: Path,
        change: tuple[int, int, str] | None,
        drop_column: str | None,
        line: int,
        reason: str,
    ) -> None:
        categories_import(path=write_csv(tmp_path / "good.csv", GOOD_ROWS[:1]))
        before = counts()
        rows = [list(row) for row in GOOD_ROWS] + [["部件", "01", "市政公用设施", "01099", "新增井盖", "", "", ""]]
        rows[0][4] = "改名井盖"  # would be an update if anything were written
        header = HEADER
        if change is not None:
            line_number, column, value = change
            rows[line_number - 2][column] = value
        if drop_column is not None:
            index = HEADER.index(drop_column)
            header = HEADER[:index] + HEADER[index + 1 :]
            rows = [r[:index] + r[index + 1 :] for r in rows]
        path = write_csv(tmp_path / "bad.csv", rows, header=header)

        with pytest.raises(ImportFailed) as caught:
            categories_import(path=path)

        message = caught.value.message
        assert str(path) in message
        assert f"第 {line} 行" in message
        assert reason in message
        assert caught.value.details["row"] == line
        assert counts() == before
        assert Category.objects.get(code="01001").name == "供水井盖"

    def test_a_bad_legacy_file_aborts_the_whole_import(self, tmp_path: Path) -> None:
        legacy = write_csv(tmp_path / "legacy.csv", [["部件", "01", "公用设施", "01011", "上水井盖", "", "", ""]])
        with pytest.raises(ImportFailed, match=r"legacy\.csv：第 2 行：旧小类编码「01011」应为 4 位数字"):
            categories_import(path=write_csv(tmp_path / "c.csv", GOOD_ROWS), legacy_path=legacy)
        assert counts() == (0, 0, 0, 0)

    def test_duplicate_legacy_code(self, tmp_path: Path) -> None:
        row = ["部件", "01", "公用设施", "0101", "上水井盖", "", "", ""]
        legacy = write_csv(tmp_path / "legacy.csv", [row, row])
        with pytest.raises(ImportFailed, match="第 3 行：旧编码 部件 0101 与第 2 行重复"):
            categories_import(path=write_csv(tmp_path / "c.csv", GOOD_ROWS), legacy_path=legacy)

    def test_empty_and_missing_files(self, tmp_path: Path) -> None:
        empty = tmp_path / "empty.csv"
        empty.write_bytes(b"")
        with pytest.raises(ImportFailed, match="缺少表头"):
            categories_import(path=empty)
        with pytest.raises(ImportFailed, match="没有数据行"):
            categories_import(path=write_csv(tmp_path / "header.csv", []))
        with pytest.raises(ImportFailed, match="无法读取文件"):
            categories_import(path=tmp_path / "nope.csv")


class TestCommand:
    def test_imports_and_prints_the_report_in_chinese(self) -> None:
        out = io.StringIO()
        call_command("import_categories", str(CATEGORIES), legacy=str(LEGACY), stdout=out)
        text = out.getvalue()
        assert "大类：新建 10，更新 0，未变 0" in text
        assert "小类：新建 250" in text
        assert "处置时限：新建 4" in text
        assert "已对应新分类 109/134" in text
        assert counts() == (10, 250, 4, 134)

    def test_failure_raises_command_error_and_writes_nothing(self, tmp_path: Path) -> None:
        rows = [list(row) for row in GOOD_ROWS]
        rows[1][0] = "设备"
        bad = write_csv(tmp_path / "bad.csv", rows)
        with pytest.raises(CommandError, match=r"导入失败，数据库未改动。.*bad\.csv：第 3 行：未知的类型「设备」"):
            call_command("import_categories", str(bad))
        assert counts() == (0, 0, 0, 0)

    def test_failure_exits_with_status_1(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        bad = write_csv(tmp_path / "bad.csv", [["部件", "1", "市政公用设施", "01001", "供水井盖", "", "", ""]])
        with pytest.raises(SystemExit) as caught:
            ManagementUtility(["cityloop", "import_categories", str(bad), "--skip-checks"]).execute()
        assert caught.value.code == 1
        assert "第 2 行：大类编码「1」应为 2 位数字" in capsys.readouterr().err


def test_pinyin_initials_and_name_normalisation() -> None:
    assert pinyin_initials("供水井盖") == "gsjg"
    assert pinyin_initials("紧急报警点SOS") == "jjbjdsos"
    assert pinyin_initials("输油（气）井盖") == "syqjg"
    assert normalise_name("变压器(箱)") == normalise_name("变压器（箱）")
    assert normalise_name("道路积雪、结冰") == "道路积雪结冰"
    assert normalise_name("监控电子眼设施") == "监控电子眼"


def test_control_characters_in_imported_names_are_cleaned(tmp_path: Path) -> None:
    rows = [["部件", "01", "市政\x0b公用设施", "01001", "供水\x1b井盖\x7f", "", "", "测试"]]
    categories_import(path=write_csv(tmp_path / "c.csv", rows))
    assert Category.objects.get(code="01").name == "市政 公用设施"
    assert Category.objects.get(code="01001").name == "供水井盖"
