"""Departments, people and a small plan for the work-plan tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from cityloop.accounts.models import Role, User
from cityloop.accounts.services import user_upsert
from cityloop.catalog.models import Department, DepartmentKind
from cityloop.catalog.services import department_upsert
from cityloop.workplans.models import WorkPlan
from cityloop.workplans.parsing import parse_plan
from cityloop.workplans.services import plan_import

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEEDS: Path = settings.REFERENCE_DATA_DIR / "seeds"

#: A plan of an imaginary bureau, worded and laid out unlike the seeds.
SMALL_PLAN = """\
测试市城市管理局文件
测城管发〔2024〕3号
测试市城市管理局关于印发2024年重点工作任务的通知
各科室：现将任务印发给你们。
测试市城市管理局2024年重点工作任务
一、环境卫生
1．新建公厕。全市新建公厕 20 座，6月底前完成。
牵头领导：张三
责任单位：环卫科，市政中心、执法大队
2．保洁提质。主次干道机械化清扫率保持100%。
牵头领导：张三、李四
责任单位：环卫科
二、市政设施
3．停车设施。新增公共停车位 400 个。
牵头领导：李四
责任单位：市政中心，环卫科
4．完善制度。修订管理办法，3月底前印发。
牵头领导：王五
责任单位：办公室
抄送：市政府办公室
测试市城市管理局办公室   2024年3月1日印发
"""


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@dataclass
class Units:
    sanitation: Department  # 环卫科
    municipal: Department  # 市政中心
    enforcement: Department  # 执法大队


@dataclass
class People:
    admin: User
    leader: User
    sanitation: User  # handler of 环卫科
    municipal: User  # handler of 市政中心
    enforcement: User  # handler of 执法大队
    operator: User


@pytest.fixture
def units(db) -> Units:
    return Units(
        sanitation=department_upsert(code="hwk", name="环卫科", kind=DepartmentKind.SANITATION),
        municipal=department_upsert(code="szzx", name="市政中心", kind=DepartmentKind.MUNICIPAL),
        enforcement=department_upsert(code="zfdd", name="执法大队", kind=DepartmentKind.ENFORCEMENT),
    )


@pytest.fixture
def people(units: Units) -> People:
    return People(
        admin=user_upsert(username="wp_admin", role=Role.ADMIN, full_name="管理员"),
        leader=user_upsert(username="wp_leader", role=Role.LEADER, full_name="周领导"),
        sanitation=user_upsert(username="wp_hw", role=Role.HANDLER, full_name="何环卫", departments=[units.sanitation]),
        municipal=user_upsert(username="wp_sz", role=Role.HANDLER, full_name="施市政", departments=[units.municipal]),
        enforcement=user_upsert(username="wp_zf", role=Role.HANDLER, full_name="赵执法",
                                departments=[units.enforcement]),
        operator=user_upsert(username="wp_op", role=Role.OPERATOR, full_name="欧受理"),
    )


@pytest.fixture
def plan(units: Units, people: People) -> WorkPlan:
    """SMALL_PLAN imported on 2024-01-15 (so every month of 2024 asks for reports)."""
    parsed = parse_plan(SMALL_PLAN, source="small.txt")
    plan = plan_import(parsed=parsed, imported_by=people.admin, at=at(2024, 1, 15, 9))
    WorkPlan.objects.filter(pk=plan.pk).update(imported_at=at(2024, 1, 15, 9))
    plan.refresh_from_db()
    return plan
