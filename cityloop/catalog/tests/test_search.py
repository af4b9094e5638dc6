from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from cityloop.catalog.models import Category
from cityloop.catalog.selectors import category_by_code, category_search
from cityloop.catalog.services import categories_import
from cityloop.core.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _catalogue() -> None:
    categories_import(path=Path(settings.REFERENCE_DATA_DIR) / "categories.csv")


def codes(results: list[Category]) -> list[str]:
    return [c.code for c in results]


def test_by_name_substring() -> None:
    found = codes(category_search("井盖"))
    assert "01001" in found
    assert all(code.startswith("01") for code in found)
    assert codes(category_search("供水井盖"))[0] == "01001"


def test_by_pinyin_initials() -> None:
    assert codes(category_search("gsjg"))[0] == "01001"
    assert codes(category_search("GSJG"))[0] == "01001"
    assert codes(category_search("bllj"))[0] == "06010"  # 暴露垃圾
    assert codes(category_search("gs"))[:1] == ["01001"]  # a prefix of the initials


def test_by_code_prefix_with_minor_classes_first() -> None:
    found = category_search("01", limit=100)
    assert codes(found)[:3] == ["01001", "01002", "01003"]
    assert len(found) == 77  # 76 minors, then the major itself
    assert codes(found)[-1] == "01"
    found = category_search("06", limit=500)
    assert codes(found)[-1] == "06"
    assert codes(category_search("0601"))[:2] == ["06010", "06011"]


def test_majors_match_too_but_after_minors() -> None:
    found = codes(category_search("市容", limit=100))
    assert found[-1] in ("03", "06")
    assert set(found) >= {"03", "06"}
    assert all(len(code) == 5 for code in found[:-2])


def test_kind_filter_and_limit() -> None:
    events = category_search("垃圾", kind="event")
    assert events
    assert all(c.kind == "event" for c in events)
    assert {c.kind for c in category_search("垃圾", kind="部件")} == {"component"}
    assert len(category_search("j", limit=5)) == 5
    with pytest.raises(ValidationFailed):
        category_search("垃圾", kind="设备")


def test_inactive_and_empty() -> None:
    Category.objects.filter(code="01001").update(is_active=False)
    assert "01001" not in codes(category_search("gsjg"))
    assert category_search("  ") == []


def test_by_code() -> None:
    assert category_by_code(code="01001").parent.code == "01"  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        category_by_code(code="99999")
