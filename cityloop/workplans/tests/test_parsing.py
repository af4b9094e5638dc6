"""The parser on small synthetic plans laid out and worded unlike the seeds (it must work on structure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cityloop.workplans.extraction import (
    cn_to_int,
    find_deadlines,
    find_targets,
    normalize_line,
    parse_leaders,
    parse_units,
)
from cityloop.workplans.parsing import PlanParseError, parse_plan, plan_from_dict, prepare_lines
from cityloop.workplans.tests.conftest import SMALL_PLAN

WEB_PAGE_PLAN = """\
首页 > 政务公开 > 计划总结
某某县综合行政执法局2025年重点工作安排
发布时间：2025-02-10  来源：县执法局  浏览次数：123
字号：大 中 小
一、市容秩序
（一）占道经营治理
1、开展夜市规范提升。设置临时疏导点 12 处，6月底前完成。（牵头单位：县执法大队；配合单位：城关街道、县市场监管局）
2、治理流动摊点。年内查处违规经营行为不少于500起。（县执法大队牵头，各乡镇配合）
（二）户外广告
1、拆除违规广告。拆除违规户外广告牌 200 块，第三季度完成。
责任领导：王五 赵六
责任单位：县执法大队
二、环境卫生
1、推进垃圾分类。城区生活垃圾回收利用率由30%提升至 38%，上半年完成试点。
完成时限：2025年9月30日前
【打印本页】【关闭窗口】
主办单位：某某县人民政府办公室  网站标识码：1234
"""

ITEM_LEVEL_PLAN = """\
XX市园林局2023年工作计划
一、绿化建设
（1）新建口袋公园。新建口袋公园 30 个。
（2）建设绿道。新建绿道 15 公里，年底前建成。
二、养护管理
（3）提升养护等级。一级养护面积占比达到 60% 以上。
"""

SUBSECTION_TASK_PLAN = """\
YY区城市管理局2024年工作要点
一、强化党建引领
（一）加强政治建设。坚持理论学习中心组学习制度。
（二）加强作风建设。开展作风整顿。
二、提升市容秩序
（一）整治占道经营。全年规范摊点 80 处。
"""

PAGE_BROKEN_PLAN = """\
ZZ市城管局2024年工作要点
一、环境卫生
1. 提升道路保洁水平，主次干道机械化清扫率达到 95%，背街小巷保洁覆盖率达到
- 2 -
90%。
牵头领导：孙 七
责任单位：环卫处，各区城管局、经济技术开发区城管局、高新技术产业开发区建
设局
2. 建设公厕。新建公厕 10 座。
"""


def test_small_plan_metadata_and_tasks():
    plan = parse_plan(SMALL_PLAN)
    assert (plan.issuer, plan.year, plan.title) == ("测试市城市管理局", 2024, "测试市城市管理局2024年重点工作任务")
    assert plan.doc_number == "测城管发〔2024〕3号"
    assert plan.issued_on == date(2024, 3, 1)
    assert [s.key for s in plan.sections] == ["一", "二"]
    assert [(t.code, t.section) for t in plan.tasks] == [("1", "一"), ("2", "一"), ("3", "二"), ("4", "二")]
    first = plan.tasks[0]
    assert first.title == "新建公厕"
    assert first.leaders == ["张三"]
    assert (first.lead_units, first.co_units) == (["环卫科"], ["市政中心", "执法大队"])
    assert first.deadline == date(2024, 6, 30)
    assert [(t.what, t.value, t.unit, t.kind) for t in first.targets] == [("公厕", Decimal(20), "座", "count")]
    assert plan.tasks[1].leaders == ["张三", "李四"]
    assert plan.tasks[3].text.endswith("3月底前印发。")  # 抄送 and 印发 lines are not task text
    assert plan.tasks[3].deadline == date(2024, 3, 31)


def test_web_page_plan_with_subsections_restarting_numbers_and_bracket_labels():
    plan = parse_plan(WEB_PAGE_PLAN)
    assert (plan.issuer, plan.year) == ("某某县综合行政执法局", 2025)
    assert plan.title == "某某县综合行政执法局2025年重点工作安排"
    assert [(s.key, s.title, s.parent) for s in plan.sections] == [
        ("一", "市容秩序", None), ("一（一）", "占道经营治理", "一"), ("一（二）", "户外广告", "一"),
        ("二", "环境卫生", None),
    ]
    assert [(t.number, t.code, t.section) for t in plan.tasks] == [
        (1, "1.1.1", "一（一）"), (2, "1.1.2", "一（一）"), (1, "1.2.1", "一（二）"), (1, "2.1", "二"),
    ]
    night, stalls, ads, sorting = plan.tasks
    assert (night.lead_units, night.co_units) == (["县执法大队"], ["城关街道", "县市场监管局"])
    assert "牵头单位" not in night.text and night.text.endswith("6月底前完成。")
    assert night.deadline == date(2025, 6, 30)
    assert [(t.value, t.unit) for t in night.targets] == [(Decimal(12), "处")]
    assert (stalls.lead_units, stalls.co_units) == (["县执法大队"], ["各乡镇"])
    assert [(t.value, t.unit, t.kind) for t in stalls.targets] == [(Decimal(500), "起", "at_least")]
    assert ads.leaders == ["王五", "赵六"]
    assert ads.deadline == date(2025, 9, 30)
    target = sorting.targets[0]
    assert (target.what, target.value, target.baseline, target.unit, target.kind) == (
        "城区生活垃圾回收利用率", Decimal(38), Decimal(30), "%", "increase_to")
    assert sorting.deadline == date(2025, 9, 30)  # the 完成时限 label wins over 上半年 in the text
    assert "主办单位" not in sorting.text and "打印" not in sorting.text


def test_item_numbering_is_the_task_level_when_there_is_no_1_dot():
    plan = parse_plan(ITEM_LEVEL_PLAN)
    assert [(t.code, t.section, t.title) for t in plan.tasks] == [
        ("1", "一", "新建口袋公园"), ("2", "一", "建设绿道"), ("3", "二", "提升养护等级")]
    assert plan.tasks[1].deadline == date(2023, 12, 31)
    assert [(t.value, t.unit, t.kind) for t in plan.tasks[2].targets] == [(Decimal(60), "%", "at_least")]


def test_subsections_are_tasks_when_nothing_is_numbered_below_them():
    plan = parse_plan(SUBSECTION_TASK_PLAN)
    assert [s.key for s in plan.sections] == ["一", "二"]
    assert [(t.code, t.title) for t in plan.tasks] == [
        ("1.1", "加强政治建设"), ("1.2", "加强作风建设"), ("2.1", "整治占道经营")]


def test_page_breaks_and_wrapped_lines_are_joined():
    plan = parse_plan(PAGE_BROKEN_PLAN)
    first = plan.tasks[0]
    assert "覆盖率达到90%。" in first.text
    assert [(t.what, t.value) for t in first.targets] == [
        ("主次干道机械化清扫率", Decimal(95)), ("背街小巷保洁覆盖率", Decimal(90))]
    assert first.leaders == ["孙七"]
    assert first.co_units == ["各区城管局", "经济技术开发区城管局", "高新技术产业开发区建设局"]
    assert len(plan.tasks) == 2


def test_text_without_task_structure_is_refused():
    with pytest.raises(PlanParseError, match="未找到编号的工作任务"):
        parse_plan("关于做好春节期间市容保障工作的通知\n各单位：请做好保障工作。\n特此通知。")


def test_overrides_and_json_round_trip():
    plan = parse_plan(SMALL_PLAN, year=2025, issuer="另一个局")
    assert (plan.issuer, plan.year) == ("另一个局", 2025)
    assert plan.tasks[0].deadline == date(2025, 6, 30)
    assert any("2025" in w for w in plan.warnings)
    again = plan_from_dict(plan.to_dict())
    assert again.to_dict() == plan.to_dict()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("新建公厕 67 座", [("公厕", 67, "座", "count")]),
        ("机械化清扫率保持100%", [("机械化清扫率", 100, "%", "keep")]),
        ("新增公共停车位 4000 个", [("公共停车位", 4000, "个", "count")]),
        ("厨余垃圾分出量提升至每日1300吨", [("厨余垃圾分出量", 1300, "吨/日", "increase_to")]),
        ("投诉办结率不低于98%", [("投诉办结率", 98, "%", "at_least")]),
        ("道路积水点控制在5处以内", [("道路积水点", 5, "处", "at_most")]),
        ("完成老旧管网改造1.5万米", [("老旧管网改造", Decimal("1.5"), "万米", "count")]),
        ("确保100%的案件按期办结", [("案件按期办结", 100, "%", "percentage")]),
        ("推进“300米见绿、500米见园”", []),  # slogans in quotes
        ("落实《条例》第12条规定，安装1根D800管道", []),  # ordinals, specifications
        ("实现24小时开放，3个月内完成", []),  # durations
    ],
)
def test_targets(text, expected):
    found = find_targets(normalize_line(text), year=2024)
    assert [(t.what, t.value, t.unit, t.kind) for t in found] == [
        (w, Decimal(v), u, k) for w, v, u, k in expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("年底前完成", date(2024, 12, 31)),
        ("上半年建成", date(2024, 6, 30)),
        ("6月底前印发", date(2024, 6, 30)),
        ("9月30日前完成", date(2024, 9, 30)),
        ("2025年底建成", date(2025, 12, 31)),
        ("2025年年底建成", date(2025, 12, 31)),
        ("第三季度完成", date(2024, 9, 30)),
        ("2024年2月底前", date(2024, 2, 29)),
    ],
)
def test_deadlines(text, expected):
    assert [d.date for d in find_deadlines(normalize_line(text), 2024)] == [expected]


def test_names():
    assert parse_leaders("李 刚、孙成星") == ["李刚", "孙成星"]
    assert parse_leaders("张三 李四") == ["张三", "李四"]
    assert parse_leaders("王海滨同志（副局长）") == ["王海滨"]
    assert parse_units("市政管理科、停车专班,各县区(开发区)城管局") == (
        ["市政管理科", "停车专班"], ["各县区（开发区）城管局"])
    assert parse_units("市城管局、市公安局、市交通局") == (["市城管局"], ["市公安局", "市交通局"])
    assert parse_units("科室甲，罗庄区、河东区、蒙阴县城管局") == (
        ["科室甲"], ["罗庄区城管局", "河东区城管局", "蒙阴县城管局"])
    assert [cn_to_int(x) for x in ("一", "十", "十一", "二十三", "一百零二")] == [1, 10, 11, 23, 102]


def test_furniture_and_markup_are_dropped():
    lines = prepare_lines("## **一、环卫**\n— 3 —\n第 2 页 共 5 页\n联系人：王某  电话：12345678\n1. 任务。内容。")
    assert lines == ["一、环卫", "1.任务。内容。"]
