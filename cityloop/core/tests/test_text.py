"""Text from outside (forms, API, Open311, imports): control characters never reach a case or an export."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from cityloop.core.text import decimal, printable


def test_word_line_and_page_breaks_become_line_breaks():
    # Word's soft line break is a vertical tab, its page break a form feed; Windows line ends are CR LF.
    assert printable("井盖\x0b缺失\x0c有隐患\r\n请处理\r尽快") == "井盖\n缺失\n有隐患\n请处理\n尽快"
    assert printable("甲\u2028乙\u2029丙\x85丁") == "甲\n乙\n丙\n丁"


def test_other_control_characters_are_removed_and_tabs_and_line_breaks_kept():
    assert printable("垃圾\x01\x08堆\x1b[31m积\x7f\x9b\ufffe\uffff") == "垃圾堆[31m积"
    assert printable("第一行\n\t第二行") == "第一行\n\t第二行"


def test_one_line_fields_get_spaces_instead_of_line_breaks():
    assert printable("经十路\r\n1 号\x0b东门\t旁", one_line=True) == "经十路 1 号 东门 旁"


@given(st.text())
def test_what_is_left_can_always_be_written_to_excel(text):
    cleaned = printable(text)
    assert not ILLEGAL_CHARACTERS_RE.search(cleaned)
    assert printable(cleaned) == cleaned


def test_decimals_typed_in_full_width_read_as_ascii_and_nothing_else_is_a_number():
    assert decimal("１１７．０２３") == 117.023 and decimal(" －３６.５ ") == -36.5 and decimal("+.5") == 0.5
    for text in ("1e2", "١١٧", "nan", "inf", "1_17", "117。0", "", "-", "."):
        assert decimal(text) is None, text
