"""How indicator values are written for people: counts with separators, rates in percent, "—" for none."""

from __future__ import annotations

from cityloop.evaluation.selectors import Column, Value


def format_value(value: Value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "density":
        return f"{value:,.2f}"
    if kind == "score":
        return f"{value:.2f}"
    return f"{int(value):,}"


def format_cell(value: Value, column: Column) -> str:
    return format_value(value, column.kind)


def format_change(change: float | None) -> str:
    if change is None:
        return "—"
    if change == 0:
        return "持平"
    return f"{'↑' if change > 0 else '↓'}{abs(change):.2f}"
