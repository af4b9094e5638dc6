"""``cityloop plan_reminders [--month YYYY-MM] [--day N]``: remind units of missing monthly reports."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityloop.core.console import console_for
from cityloop.core.errors import CityLoopError
from cityloop.workplans.selectors import parse_month
from cityloop.workplans.services import plan_reminders_send


class Command(BaseCommand):
    help = (
        "提醒未按时报送月度进展的责任单位（站内通知）。默认检查截止日已过的最近一个月；"
        "截止日为次月第 N 日（--day，默认 settings.CITYLOOP_PLAN_REPORT_DAY 或 5）。同一任务、月份、单位只提醒一次。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="所报月份，如 2024-05")
        parser.add_argument("--day", type=int, default=None, help="次月第几日截止（1–28）")

    def handle(self, *args: Any, **options: Any) -> None:
        month = parse_month(options["month"])
        if options["month"] and month is None:
            raise CommandError("--month 应为 YYYY-MM，例如 2024-05")
        try:
            run = plan_reminders_send(month=month, day=options["day"])
        except CityLoopError as exc:
            raise CommandError(exc.message) from exc
        console = console_for(self.stdout)
        label = f"{run.month.year}年{run.month.month}月"
        if run.not_due:
            console.print(f"{label}进展的报送截止日是 {run.due.isoformat()}，尚未到期，未发提醒。")
            return
        console.print(f"{label}进展（截止 {run.due.isoformat()}）：提醒 {len(run.sent)} 项未报送任务，"
                      f"发出 {run.notifications} 条单位通知；此前已提醒 {run.already} 项。")
        for task, department, users in run.sent:
            console.print(f"  {department.name}：{task.code}. {task.title}（{users} 人）")
        for task, department in run.without_users:
            console.print(f"  [yellow]{department.name} 没有可接收提醒的用户：{task.code}. {task.title}[/yellow]")
