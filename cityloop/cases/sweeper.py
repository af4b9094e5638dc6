"""The deadline sweeper: raises each yellow and red warning once and notifies the department and the centre.

Run by ``cityloop sweep`` (once, or every minute with ``--every 60``). Each warning is claimed with a
conditional UPDATE (``warning_level < N``), so two sweepers running at once never warn twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cityloop.accounts.models import Role
from cityloop.cases import services
from cityloop.cases.models import CaseStage
from cityloop.cases.statuses import Action

YELLOW, RED = 1, 2


@dataclass
class SweepReport:
    yellow: int = 0
    red: int = 0


def sweep(*, now: datetime | None = None, limit: int = 10_000) -> SweepReport:
    """Warn about every open, running stage that crossed 80 % (yellow) or 100 % (red) of its limit."""
    moment = now or timezone.now()
    report = SweepReport()
    for level, field in ((RED, "due_at"), (YELLOW, "warn_at")):
        due = (
            CaseStage.objects.filter(ended_at__isnull=True, paused_at__isnull=True, warning_level__lt=level,
                                     **{f"{field}__lte": moment})
            .order_by(field)
            .values_list("id", "case_id")[:limit]
        )
        for stage_id, case_id in list(due):
            with transaction.atomic():
                claimed = CaseStage.objects.filter(pk=stage_id, warning_level__lt=level).update(warning_level=level)
                if not claimed:
                    continue
                _warn(stage_id, case_id, level, moment)
            if level == RED:
                report.red += 1
            else:
                report.yellow += 1
    return report


def _warn(stage_id: int, case_id: int, level: int, at: datetime) -> None:
    stage = CaseStage.objects.select_related("case", "case__department").get(pk=stage_id)
    case = stage.case
    colour = "红灯：已超时" if level == RED else "黄灯：即将超时"
    services.case_transition(case=case_id, action=Action.WARN, actor=None, system=True, at=at,
                             note=f"{stage.get_stage_display()}环节{colour}",
                             data={"stage": stage.stage, "level": level})
    title = f"案卷 {case.number} {stage.get_stage_display()}{colour}"
    recipients = services.department_users(case.department_id) if stage.stage == "handle" else []
    recipients += services.users_covering(case, [Role.DISPATCHER, Role.SHIFT_LEADER])
    transaction.on_commit(lambda: services.send_notification(recipients, "case_overdue" if level == RED else "case_warning",
                                                 title, f"截止时间 {timezone.localtime(stage.due_at):%Y-%m-%d %H:%M}",
                                                 case))
