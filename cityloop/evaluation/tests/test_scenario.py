"""Every number of the hand-built scenario (see ``scenario.py`` for the cases and their deadlines).

The reasoning for each expected value is in the comments: which of C0 … C19 it counts.
"""

from __future__ import annotations

import pytest

from cityloop.evaluation import selectors
from cityloop.evaluation.models import Level
from cityloop.evaluation.periods import Period
from cityloop.evaluation.tests.scenario import AS_OF, PERIOD

pytestmark = pytest.mark.django_db


def rows_by_name(report: selectors.LevelReport) -> dict[str, selectors.Row]:
    return {r.unit.name: r for r in report.rows if r.unit is not None}


def counts(row: selectors.Row, codes: list[str]) -> dict[str, int | float | None]:
    return {code: row.values[code] for code in codes}


DEPARTMENT_COUNTS = ["due", "handled", "handled_on_time", "handled_late", "overdue_open", "pending", "rework",
                     "returned", "extended", "suspended", "registered", "closed", "rated", "satisfied", "unsatisfied"]


def test_departments(scenario):
    report = selectors.evaluate(level=Level.DEPARTMENT, period=PERIOD)
    rows = rows_by_name(report)
    municipal, sanitation = rows["市政中心"], rows["环卫中心"]
    # 市政中心's handling tasks started 28 Sep – 11 Oct: C1, C2, C13 and C4's first handling on time; C3 and
    # C4's re-do late; C9 overdue and unhandled on 20 Oct; C8 suspended (处置中). C5's and C19's two tasks
    # ended in approved returns and are not the department's to handle.
    # Its tasks ended by approved returns: C5's and C19's two (回退数 3). Events: C4's rework, C8's suspension.
    # Registered cohort (reported in the period, registered, now with 市政): C1–C4, C8, C9, C13; closed C1–C4.
    assert counts(municipal, DEPARTMENT_COUNTS) == {
        "due": 8, "handled": 6, "handled_on_time": 4, "handled_late": 2, "overdue_open": 1, "pending": 1,
        "rework": 1, "returned": 3, "extended": 0, "suspended": 1, "registered": 7, "closed": 4, "rated": 0,
        "satisfied": 0, "unsatisfied": 0,
    }
    assert municipal.values["handle_rate"] == pytest.approx(6 / 8)
    assert municipal.values["handle_on_time_rate"] == pytest.approx(4 / 8)
    assert municipal.values["rework_rate"] == pytest.approx(1 / 6)
    assert municipal.values["close_rate"] == pytest.approx(4 / 7)
    assert municipal.values["satisfaction_rate"] is None  # nobody rated: no rate, not 0 %
    # 环卫中心: C5 (handled on the make-up Saturday), C6 (on time thanks to its extension), C10, C11, C18, C19
    # handled on time; C7's deadline moved by its suspension to 10 Oct 16:40 and it is still unhandled.
    # Cohort C5, C6, C7, C10, C11, C18, C19; closed all but C7 and C19; C10 rated 不满意, C11 满意.
    assert counts(sanitation, DEPARTMENT_COUNTS) == {
        "due": 7, "handled": 6, "handled_on_time": 6, "handled_late": 0, "overdue_open": 1, "pending": 0,
        "rework": 0, "returned": 0, "extended": 1, "suspended": 1, "registered": 7, "closed": 5, "rated": 2,
        "satisfied": 1, "unsatisfied": 1,
    }
    assert sanitation.values["satisfaction_rate"] == pytest.approx(0.5)
    # Composite = 立案数分值×10% + 结案率×30% + 按时处置率×30% + (1−返工率)×30%. 立案数 per 30 days is
    # 7 × 30/14 = 15 ≤ 50 → 100 for both.
    # 市政: (10×100 + 30×57.142857 + 30×50 + 30×83.333333)/100 = 67.142857 → 67.14, C.
    # 环卫: (10×100 + 30×71.428571 + 30×85.714286 + 30×100)/100 = 87.142857 → 87.14, B.
    assert (municipal.composite, municipal.grade, municipal.rank) == (67.14, "C", 2)
    assert (sanitation.composite, sanitation.grade, sanitation.rank) == (87.14, "B", 1)
    assert [r.unit.name for r in report.rows if r.unit][:2] == ["环卫中心", "市政中心"]
    # Previous fortnight (14–27 Sep): only C0, handled late because Sunday 20 Sep was a working day:
    # (10×100 + 30×100 + 30×0 + 30×100)/100 = 70 → 市政 changes by 67.14 − 70 = −2.86; 环卫 had no work.
    assert (municipal.previous, municipal.change, municipal.previous_rank) == (70.0, -2.86, 1)
    assert (sanitation.previous, sanitation.change) == (None, None)
    # The totals row is the whole city: the sum of both departments.
    total = report.total
    assert total is not None
    for code in DEPARTMENT_COUNTS:
        assert total.values[code] == municipal.values[code] + sanitation.values[code], code
    # 立案数 14 × 30/14 = 30 → 100; 结案率 9/14; 按时处置率 10/15; 返工率 1/12:
    # (1000 + 30×64.285714 + 30×66.666667 + 30×91.666667)/100 = 76.785714 → 76.79, B.
    assert (total.composite, total.grade) == (76.79, "B")
    # On-time and late handling add up to handling; due = handled + overdue + in progress.
    for row in (municipal, sanitation, total):
        v = row.values
        assert v["handled_on_time"] + v["handled_late"] == v["handled"]
        assert v["handled"] + v["overdue_open"] + v["pending"] == v["due"]


def test_regions(scenario, city):
    report = selectors.evaluate(level=Level.DISTRICT, period=PERIOD, compare=False)
    rows = rows_by_name(report)
    lixia, shizhong = rows["历下区"], rows["市中区"]
    # 历下区, reported in the period, registered and not voided: C1–C11, C16, C18, C19 = 14 (C12, C15 rejected,
    # C14 merged, C17 voided). 监督举报: C10 (hotline), C11 (public). Closed: C1–C6, C10, C11, C16, C18 = 10.
    # Closed with every stage on time: C1, C2, C5, C6, C10, C16 = 6 (C3, C4 handled late, C11's verify
    # task went out late, C18 registered late).
    assert counts(lixia, ["registered", "public", "closed", "closed_in_time"]) == {
        "registered": 14, "public": 2, "closed": 10, "closed_in_time": 6}
    # Area 0.04 km² → 350 cases/km²; per 30 days 750 → 一类 step "< 900" → 40.
    assert lixia.values["density"] == pytest.approx(350)
    assert lixia.scores["density"] == 40
    # (20×40 + 10×(1−2/14)×100 + 30×10/14×100 + 40×6/14×100)/100 = 55.142857 → 55.14, D.
    assert (lixia.composite, lixia.grade, lixia.rank) == (55.14, "D", 1)
    # 市中区: C13 only, a hotline case handled but not yet checked: 100/km² → 214 per 30 days → 90;
    # 监督举报率 100 % → 0; 结案率 0; 按期结案率 0: 20×90/100 = 18, E.
    assert counts(shizhong, ["registered", "public", "closed", "closed_in_time"]) == {
        "registered": 1, "public": 1, "closed": 0, "closed_in_time": 0}
    assert (shizhong.composite, shizhong.grade, shizhong.rank) == (18.0, "E", 2)
    total = report.total
    assert total is not None
    assert counts(total, ["registered", "public", "closed", "closed_in_time"]) == {
        "registered": 15, "public": 3, "closed": 10, "closed_in_time": 6}
    assert total.values["density"] == pytest.approx(300)  # 15 cases on 0.05 km²
    # The city as a whole is scored as 一类: 300 × 30/14 = 643 < 700 → 60;
    # (20×60 + 10×(1−3/15)×100 + 30×10/15×100 + 40×6/15×100)/100 = 56.00, D.
    assert (total.composite, total.grade) == (56.0, "D")
    # Streets and communities: one of each per district, the same numbers.
    for level in (Level.STREET, Level.COMMUNITY):
        other = selectors.evaluate(level=level, period=PERIOD, compare=False)
        assert sorted(r.values["registered"] for r in other.rows) == [1, 14]
    # Unit grids: grid 0 C1, C5, C8, C10, C18; grid 1 C2, C6, C9, C11, C19; grid 2 C3, C7, C16; grid 3 C4;
    # 市中区's grid C13.
    grids = selectors.evaluate(level=Level.GRID, period=PERIOD, compare=False)
    assert {r.unit.code: r.values["registered"] for r in grids.rows if r.unit} == {
        city.grids[0].code: 5, city.grids[1].code: 5, city.grids[2].code: 3, city.grids[3].code: 1,
        city.other_grid.code: 1}


def test_inspectors(scenario):
    report = selectors.evaluate(level=Level.INSPECTOR, period=PERIOD, compare=False)
    rows = rows_by_name(report)
    wang, qian = rows["王建国"], rows["钱进"]
    # 王建国 reported C1–C9, C14–C19 (15); valid = registered and not voided: C1–C9, C16, C18, C19 (12).
    # He verified C10 and C12 on time; he checked C1, C2, C3, C4 (twice), C5, C6, C10, all on time.
    # His beat is grids 0 and 1: 10 registered cases, 2 of them first reported by the public (C10, C11).
    assert counts(wang, ["reported", "valid", "verify_due", "verify_on_time", "check_due", "check_on_time",
                         "beat_registered", "missed"]) == {
        "reported": 15, "valid": 12, "verify_due": 2, "verify_on_time": 2, "check_due": 8, "check_on_time": 8,
        "beat_registered": 10, "missed": 2}
    # 40×80 + 20×(1−0.2)×100 + 20×100 + 20×100 = 8800 → 88.00, B.
    assert (wang.composite, wang.grade, wang.rank) == (88.0, "B", 1)
    # 钱进 verified C11 late and checked it late; without a beat, all of 历下区 counts: 2 of 14 missed.
    assert counts(qian, ["reported", "verify_due", "verify_on_time", "check_due", "check_on_time",
                         "beat_registered", "missed"]) == {
        "reported": 0, "verify_due": 1, "verify_on_time": 0, "check_due": 1, "check_on_time": 0,
        "beat_registered": 14, "missed": 2}
    assert qian.values["valid_rate"] is None
    # Without reports, 有效上报率 drops out: (20×(1−1/7)×100 + 20×0 + 20×0)/60 = 28.571 → 28.57, E.
    assert (qian.composite, qian.grade, qian.rank) == (28.57, "E", 2)
    total = report.total
    assert total is not None
    assert total.values["reported"] == 15 and total.values["check_due"] == 9
    assert total.values["missed"] is None  # beats overlap: no total


def test_centre_positions(scenario):
    operators = rows_by_name(selectors.evaluate(level=Level.OPERATOR, period=PERIOD, compare=False))
    li = operators["李晓梅"]
    # First decisions on reports: 受理 stages of C10–C13 and 立案 stages of C1–C9, C14–C17, C19 (C18 was the
    # shift leader's): 18. Verify tasks sent: C10, C12 on time, C11 late. Check tasks sent in the period:
    # C1, C2, C3, C4 ×2, C5, C6, C10, C11 = 9, C11's after its check stage's deadline. Registered: C1–C9,
    # C13, C16 (self-handled), C17, C19 and, after verification, C10, C11 = 15, all on time; C17 was voided.
    assert counts(li, ["accepted", "verify_sent", "verify_sent_on_time", "check_sent", "check_sent_on_time",
                       "registered", "registered_on_time", "registered_kept"]) == {
        "accepted": 18, "verify_sent": 3, "verify_sent_on_time": 2, "check_sent": 9, "check_sent_on_time": 8,
        "registered": 15, "registered_on_time": 15, "registered_kept": 14}
    assert li.values["register_accuracy"] == pytest.approx(14 / 15)
    # 受理数 18 × 30/14 = 38.6 per 30 days < 101 → 0; (25×0 + 40×66.667 + 35×88.889)/100 = 57.78, D.
    assert (li.composite, li.grade) == (57.78, "D")
    assert operators["郑外"].composite is None and not operators["郑外"].active

    leaders = rows_by_name(selectors.evaluate(level=Level.SHIFT_LEADER, period=PERIOD, compare=False))
    zhao = leaders["赵志强"]
    # Registered C18 late; closed C1–C6, C10, C11 (C18's close stage started on 13 Oct), C3 late.
    assert counts(zhao, ["accepted", "registered", "registered_on_time", "registered_kept", "closed",
                         "closed_on_time"]) == {
        "accepted": 1, "registered": 1, "registered_on_time": 0, "registered_kept": 1, "closed": 8,
        "closed_on_time": 7}
    # 25×0 + 40×100 + 35×87.5 = 7062.5 → 70.625 → 70.63 (rounded half up), C.
    assert (zhao.composite, zhao.grade) == (70.63, "C")

    dispatchers = rows_by_name(selectors.evaluate(level=Level.DISPATCHER, period=PERIOD, compare=False))
    chen = dispatchers["陈静"]
    # 17 dispatches (C5 twice, C19 three times); C11's late; C5's first and C19's first two were returned by
    # the department (错派).
    assert counts(chen, ["dispatched", "dispatched_on_time", "dispatched_right"]) == {
        "dispatched": 17, "dispatched_on_time": 16, "dispatched_right": 14}
    # 17 × 30/14 = 36.4 < 51 → 0; (20×0 + 40×94.1176 + 40×82.3529)/100 = 70.588 → 70.59, C.
    assert (chen.composite, chen.grade) == (70.59, "C")


def test_negative_list(scenario):
    departments = {d.department.name: d for d in selectors.negative_list(period=PERIOD)}
    municipal = departments["市政中心"]
    # 超期: C3, C4 handled late, C9 unhandled past its deadline; 多次回退: C19 (returned twice by 市政);
    # 核查不通过: C4; 领导督办: C9.
    assert {c.number: c.reasons for c in municipal.cases} == {
        scenario.C3.number: ["超期办理"], scenario.C4.number: ["超期办理", "核查不通过"],
        scenario.C9.number: ["超期办理", "领导督办"], scenario.C19.number: ["多次回退"]}
    assert municipal.counts == {"超期办理": 3, "多次回退": 1, "核查不通过": 1, "群众不满意": 0, "领导督办": 1}
    assert municipal.total == 4
    sanitation = departments["环卫中心"]
    # 超期: C7 (its moved deadline passed); 不满意: C10.
    assert {c.number: c.reasons for c in sanitation.cases} == {
        scenario.C7.number: ["超期办理"], scenario.C10.number: ["群众不满意"]}
    assert sanitation.counts["群众不满意"] == 1 and sanitation.total == 2


def test_rework_ledger(scenario):
    entries = selectors.rework_ledger(period=PERIOD, now=AS_OF)
    assert len(entries) == 1
    entry = entries[0]
    # C4 failed its check on 8 Oct 10:30 (王建国: 井盖仍然松动); the re-do was due 16:00 and done 9 Oct 09:00.
    assert (entry.number, entry.department, entry.inspector, entry.reason) == (
        scenario.C4.number, "市政中心", "王建国", "井盖仍然松动")
    assert entry.result == "超期重办完成" and entry.case_status == "已结案" and entry.rework_count == 1
    assert entry.at.astimezone(AS_OF.tzinfo).strftime("%m-%d %H:%M") == "10-08 10:30"
    assert entry.redo_due_at.astimezone(AS_OF.tzinfo).strftime("%m-%d %H:%M") == "10-08 16:00"


def test_quarterly_district_ranking(scenario):
    report = selectors.district_ranking(quarter=Period.quarter(2026, 3).at(AS_OF))
    rows = rows_by_name(report)
    # Q3 (reported July–September): 历下区 C0, C1, C2, C3, C6, C7, C16 (C17 voided); closed all but C7;
    # on time C1, C2, C6, C16 (C0 and C3 handled late). 175 cases/km² → 57 per 30 days → 90.
    # (20×90 + 10×100 + 30×6/7×100 + 40×4/7×100)/100 = 76.571 → 76.57, B.
    assert (rows["历下区"].values["registered"], rows["历下区"].composite, rows["历下区"].grade) == (7, 76.57, "B")
    assert (rows["市中区"].composite, rows["市中区"].grade) == (18.0, "E")
    assert [(r.rank, r.unit.name) for r in report.rows if r.unit] == [(1, "历下区"), (2, "市中区")]
    assert report.previous_period == Period.quarter(2026, 2)
    assert rows["历下区"].previous is None  # nothing in Q2


def test_every_number_has_its_cases(scenario):
    """The drill-down list behind each count has exactly that many rows, at every level and for totals."""
    for level in Level:
        report = selectors.evaluate(level=level, period=PERIOD, compare=False)
        units = [r for r in report.rows] + ([report.total] if report.total else [])
        for row in units:
            for column in report.columns:
                value = row.values[column.code]
                if value is None:
                    continue
                d = selectors.drill(level=level, indicator=column.code, unit=row.unit_id, period=PERIOD)
                if column.kind == "count":
                    assert d.queryset.count() == value, (level, column.code, row.unit)
                elif column.kind == "rate":
                    item = selectors.level_spec(level).get(column.code)
                    assert d.queryset.count() == row.values[item.denominator]
                    if d.numerator_label:
                        assert d.queryset.filter(in_numerator=True).count() == row.values[item.numerator]


def test_drill_lists_the_right_cases(scenario, city):
    overdue = selectors.drill(level=Level.DEPARTMENT, indicator="overdue_open", unit=city.municipal.pk, period=PERIOD)
    assert [s.case_id for s in overdue.queryset] == [scenario.C9.pk]
    late = selectors.drill(level=Level.DEPARTMENT, indicator="handled_late", unit=city.municipal.pk, period=PERIOD)
    assert sorted(s.case_id for s in late.queryset) == sorted([scenario.C3.pk, scenario.C4.pk])
    missed = selectors.drill(level=Level.INSPECTOR, indicator="missed", unit=scenario.C1.reporter_id, period=PERIOD)
    assert sorted(c.pk for c in missed.queryset) == sorted([scenario.C10.pk, scenario.C11.pk])
    lines = selectors.drill_lines(late, late.queryset)
    assert {line.number for line in lines} == {scenario.C3.number, scenario.C4.number}
