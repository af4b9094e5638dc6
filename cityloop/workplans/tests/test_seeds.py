"""The three real plans shipped in data/seeds: counts and a few tasks checked by reading the files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cityloop.workplans.parsing import ParsedPlan, ParsedTask
from cityloop.workplans.readers import parse_file
from cityloop.workplans.tests.conftest import SEEDS


def seed(name: str) -> ParsedPlan:
    path = SEEDS / name
    return parse_file(path.read_bytes(), path.name)


def task(plan: ParsedPlan, number: int) -> ParsedTask:
    return next(t for t in plan.tasks if t.number == number)


def targets(t: ParsedTask) -> list[tuple[str, Decimal, str, str]]:
    return [(g.what, g.value, g.unit, g.kind) for g in t.targets]


def test_jining_2024():
    plan = seed("jining-2024.txt")
    assert (plan.issuer, plan.year, plan.title) == ("济宁市城市管理局", 2024, "济宁市城市管理局2024年工作要点")
    assert plan.issued_on == date(2024, 3, 22)
    assert plan.preamble.startswith("2024年城市管理工作思路是")
    assert [s.key for s in plan.sections] == ["一", "二", "三", "四", "五", "六", "七", "八", "九"]
    assert plan.sections[1].title == "加强市政设施养护管理，推进有机更新"
    assert [t.number for t in plan.tasks] == list(range(1, 33))
    assert [len([t for t in plan.tasks if t.section == s.key]) for s in plan.sections] == [4, 3, 4, 4, 4, 4, 3, 3, 3]
    assert plan.target_count == 10
    assert all(not t.leaders and not t.lead_units for t in plan.tasks)  # this plan names no leaders or units
    assert "文件未列牵头领导和责任单位，可在预览中补填" in plan.warnings
    t5 = task(plan, 5)
    assert (t5.section, t5.title) == ("二", "开展城市防洪排涝积水点改造及雨水管网问题整治")
    assert targets(t5) == [("管道总长度", Decimal(450), "m", "count")]  # not 1根D800-1000 / D1500
    assert targets(task(plan, 7)) == []  # 39处站亭 is last year's result ("在……的基础上")
    assert targets(task(plan, 9)) == [("口袋公园", Decimal(101), "处", "count")]
    assert targets(task(plan, 17)) == [
        ("主次干道机械化清扫率", Decimal(100), "%", "keep"),
        ("城乡生活垃圾焚烧处理率、无害化处理率", Decimal(100), "%", "keep"),
    ]
    assert targets(task(plan, 24)) == [("网络培训", Decimal(50), "学时", "at_least")]
    assert (task(plan, 30).section, task(plan, 30).title) == ("九", "提升督查效能")
    assert task(plan, 32).text.endswith("保障城市管理工作安全有序运行。")  # the 印发 line is not task text


def test_linyi_2023():
    plan = seed("linyi-2023.txt")
    assert (plan.issuer, plan.year, plan.title) == ("临沂市城市管理局", 2023, "2023年全市城市管理工作要点")
    assert plan.doc_number == "临城发〔2023〕1号"
    assert len(plan.sections) == 11 and plan.sections[3].title == "着力推动城市公共空间品质实现新跃升"
    assert [t.number for t in plan.tasks] == list(range(1, 35))
    assert plan.target_count == 36
    assert all(t.leaders and t.lead_units for t in plan.tasks)
    t1 = task(plan, 1)
    assert (t1.section, t1.title, t1.leaders) == ("一", "全面开展环境卫生提升行动", ["张世彬"])
    assert (t1.lead_units, t1.co_units) == (["环卫园林管理科"], ["市园林环卫中心", "各县区（开发区）城管局"])
    assert ("公厕", Decimal(67), "座", "count") in targets(t1)
    assert ("重点区域公厕24小时开放率", Decimal(100), "%", "at_least") in targets(t1)  # joined across a page break
    assert ("垃圾、粪便无害化处理率", Decimal(100), "%", "keep") in targets(t1)
    assert len(t1.targets) == 11
    t3 = task(plan, 3)
    assert t3.co_units[-2:] == ["高新区园区建设办公室", "兰山区园林中心"]  # the unit list continues after a page break
    t6 = task(plan, 6)
    rate = next(g for g in t6.targets if g.what == "提标率")
    assert (rate.value, rate.baseline, rate.kind) == (Decimal("51.4"), Decimal("36.2"), "increase_to")
    assert t6.co_units[:2] == ["罗庄区城管局", "河东区城管局"]  # 罗庄区、河东区…蒙阴县城管局
    assert len(t6.co_units) == 14
    t7 = task(plan, 7)
    assert (t7.section, t7.leaders) == ("三", ["李刚", "孙成星"])  # "李 刚" with a typesetter's space
    assert (t7.lead_units, t7.co_units) == (["市政管理科", "停车专班"], ["各县区（开发区）城管局"])
    assert targets(t7) == [("公共停车位", Decimal(4000), "个", "count"),
                           ("用于共享单车的泊位比例", Decimal(30), "%", "at_least")]
    assert task(plan, 9).section == "四"  # heading wrapped in Markdown marks
    assert task(plan, 13).deadline == date(2024, 12, 31)
    t18 = task(plan, 18)
    assert targets(t18) == [("储备仓库", Decimal(9), "个", "count"), ("储备仓库", Decimal(53), "处", "at_least"),
                            ("强排泵车", Decimal(3), "台", "count"), ("强排泵车", Decimal(26), "台", "at_least")]
    t20 = task(plan, 20)
    assert (t20.leaders, t20.lead_units) == (["宗方才", "王海滨"], ["办公室", "督导考核科", "机关纪委"])
    assert task(plan, 34).deadline == date(2023, 12, 31)
    assert [t.section for t in plan.tasks].count("十一") == 6


def test_zaozhuang_2022():
    plan = seed("zaozhuang-2022.txt")
    assert (plan.issuer, plan.year, plan.title) == ("枣庄市城市管理局", 2022, "2022年全市城市管理工作要点")
    assert plan.doc_number == "枣城管〔2022〕1号"
    assert [s.title for s in plan.sections] == ["坚持党建引领", "突出管理创新", "推进民生工程", "提升行业标准",
                                               "守牢底线红线", "强化规范建设"]
    assert [t.number for t in plan.tasks] == list(range(1, 21))
    assert [len([t for t in plan.tasks if t.section == s.key]) for s in plan.sections] == [4, 3, 3, 3, 3, 4]
    assert plan.target_count == 0  # qualitative plan: 625 is an exit's name, 12345 a hotline
    assert "落实党风廉政建设责任制" in task(plan, 3).text  # "落\n\n实" joined across the page break
    assert task(plan, 8).deadline == date(2022, 12, 31)  # "确保年底顺利申报"
    assert (task(plan, 20).section, task(plan, 20).title) == ("六", "加强人才培养")


@pytest.mark.parametrize("name", ["jining-2024.txt", "linyi-2023.txt", "zaozhuang-2022.txt"])
def test_seeds_read_as_gb18030_too(name):
    path = SEEDS / name
    utf8 = parse_file(path.read_bytes(), name).to_dict()
    gbk = parse_file(path.read_text(encoding="utf-8").encode("gb18030"), name).to_dict()
    assert gbk == utf8
