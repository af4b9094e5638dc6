"""工作要点督办: a bureau's yearly work plan as a ledger of tasks, owners, targets, monthly reports and close-out."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models

from cityloop.workplans.choices import LogKind, TargetKind, TaskStatus, UnitRole


class WorkPlan(models.Model):
    """One yearly work plan (工作要点) of an issuing bureau."""

    issuer = models.CharField("发文单位", max_length=100)
    year = models.PositiveSmallIntegerField("年度", db_index=True)
    title = models.CharField("标题", max_length=200)
    doc_number = models.CharField("文号", max_length=60, blank=True)
    issued_on = models.DateField("印发日期", null=True, blank=True)
    preamble = models.TextField("总体思路", blank=True)
    source_name = models.CharField("来源文件", max_length=255, blank=True)
    warnings = models.JSONField("导入提示", default=list, blank=True)
    imported_at = models.DateTimeField("导入时间", auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="导入人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    is_active = models.BooleanField("督办中", default=True, help_text="停用后不再提醒月度报送")

    class Meta:
        verbose_name = "工作要点"
        verbose_name_plural = "工作要点"
        ordering = ["-year", "-imported_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def year_end(self) -> date:
        return date(self.year, 12, 31)


class PlanSection(models.Model):
    """A section (一、) or sub-section (（一）) of a plan."""

    plan = models.ForeignKey(WorkPlan, verbose_name="工作要点", on_delete=models.CASCADE, related_name="sections")
    key = models.CharField("编号路径", max_length=40, help_text="如 三 或 三（一）")
    number = models.CharField("编号", max_length=20)
    title = models.CharField("标题", max_length=200)
    level = models.PositiveSmallIntegerField("层级", default=1)
    parent = models.ForeignKey(
        "self", verbose_name="上级章节", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    order = models.PositiveIntegerField("顺序")

    class Meta:
        verbose_name = "章节"
        verbose_name_plural = "章节"
        ordering = ["plan", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="plan_section_key_unique")]

    def __str__(self) -> str:
        return f"{self.number}、{self.title}" if self.level == 1 else f"{self.number}{self.title}"


class Leader(models.Model):
    """A lead leader (牵头领导), by name."""

    name = models.CharField("姓名", max_length=50, unique=True)

    class Meta:
        verbose_name = "牵头领导"
        verbose_name_plural = "牵头领导"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlanTask(models.Model):
    """A numbered task (工作任务) of a plan."""

    plan = models.ForeignKey(WorkPlan, verbose_name="工作要点", on_delete=models.CASCADE, related_name="tasks")
    section = models.ForeignKey(
        PlanSection, verbose_name="章节", null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    number = models.PositiveIntegerField("编号")
    code = models.CharField("任务号", max_length=20, help_text="计划内唯一，如 7 或 2.3（各章节重新编号时）")
    order = models.PositiveIntegerField("顺序")
    title = models.CharField("任务", max_length=200)
    text = models.TextField("任务内容")
    leaders = models.ManyToManyField(Leader, verbose_name="牵头领导", blank=True, related_name="tasks")
    deadline = models.DateField("完成时限", null=True, blank=True, help_text="留空表示年底")
    status = models.CharField("状态", max_length=20, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED,
                              db_index=True)
    status_before_close = models.CharField("销号前状态", max_length=20, choices=TaskStatus.choices, blank=True)
    closed_at = models.DateTimeField("销号时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="销号人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    evidence = models.TextField("销号依据", blank=True)
    evidence_file = models.FileField("销号佐证材料", upload_to="plans/evidence/%Y/%m/", blank=True)
    warnings = models.JSONField("导入提示", default=list, blank=True)

    class Meta:
        verbose_name = "工作任务"
        verbose_name_plural = "工作任务"
        ordering = ["plan", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="plan_task_code_unique")]

    def __str__(self) -> str:
        return f"{self.code}. {self.title}"

    @property
    def effective_deadline(self) -> date:
        return self.deadline or date(self.plan.year, 12, 31)


class TaskUnit(models.Model):
    """A responsible unit of a task: the lead unit(s) and co-units, by name, with the department where one matches."""

    task = models.ForeignKey(PlanTask, verbose_name="任务", on_delete=models.CASCADE, related_name="units")
    name = models.CharField("单位名称", max_length=100)
    department = models.ForeignKey(
        "catalog.Department", verbose_name="对应单位", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="plan_task_units",
    )
    role = models.CharField("职责", max_length=10, choices=UnitRole.choices)
    order = models.PositiveSmallIntegerField("顺序", default=0)

    class Meta:
        verbose_name = "责任单位"
        verbose_name_plural = "责任单位"
        ordering = ["task", "role", "order"]  # "co" < "lead" alphabetically, so order explicitly where it matters

    def __str__(self) -> str:
        return self.name


class Target(models.Model):
    """A numeric target of a task: typed in by reports, or linked to a live indicator."""

    task = models.ForeignKey(PlanTask, verbose_name="任务", on_delete=models.CASCADE, related_name="targets")
    text = models.CharField("原文", max_length=500, blank=True)
    what = models.CharField("指标", max_length=200)
    value = models.DecimalField("目标值", max_digits=16, decimal_places=4)
    unit = models.CharField("单位", max_length=20, blank=True)
    kind = models.CharField("类型", max_length=20, choices=TargetKind.choices, default=TargetKind.COUNT)
    baseline = models.DecimalField("基数", max_digits=16, decimal_places=4, null=True, blank=True)
    deadline = models.DateField("完成时限", null=True, blank=True)
    indicator = models.JSONField(
        "关联指标", null=True, blank=True,
        help_text='如 {"type": "closed_cases", "category": "01001", "region": "370102"}；为空时由月度报送填写',
    )
    current_value = models.DecimalField("当前值", max_digits=16, decimal_places=4, null=True, blank=True)
    current_month = models.DateField("当前值所属月份", null=True, blank=True)
    order = models.PositiveSmallIntegerField("顺序", default=0)

    class Meta:
        verbose_name = "目标"
        verbose_name_plural = "目标"
        ordering = ["task", "order", "id"]

    def __str__(self) -> str:
        return f"{self.what} {self.get_kind_display()} {self.value.normalize():f}{self.unit}"


class ProgressReport(models.Model):
    """A responsible unit's monthly progress report (月度进展) on a task; one per task, month and unit."""

    task = models.ForeignKey(PlanTask, verbose_name="任务", on_delete=models.CASCADE, related_name="reports")
    month = models.DateField("月份", help_text="所报月份的 1 日")
    department = models.ForeignKey(
        "catalog.Department", verbose_name="报送单位", on_delete=models.PROTECT, related_name="plan_reports"
    )
    status = models.CharField("进展状态", max_length=20, choices=TaskStatus.choices)
    text = models.TextField("进展情况")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="报送人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField("报送时间")

    class Meta:
        verbose_name = "月度进展"
        verbose_name_plural = "月度进展"
        ordering = ["task", "-month", "department"]
        constraints = [
            models.UniqueConstraint(fields=["task", "month", "department"], name="one_report_per_task_month_unit")
        ]

    def __str__(self) -> str:
        return f"{self.task.code} {self.month:%Y-%m} {self.department}"


class ReportValue(models.Model):
    """The current value of one target, as reported."""

    report = models.ForeignKey(ProgressReport, verbose_name="月度进展", on_delete=models.CASCADE, related_name="values")
    target = models.ForeignKey(Target, verbose_name="目标", on_delete=models.CASCADE, related_name="reported_values")
    value = models.DecimalField("当前值", max_digits=16, decimal_places=4)

    class Meta:
        verbose_name = "目标完成值"
        verbose_name_plural = "目标完成值"
        constraints = [models.UniqueConstraint(fields=["report", "target"], name="one_value_per_report_target")]

    def __str__(self) -> str:
        return f"{self.target.what} = {self.value.normalize():f}"


class ReportAttachment(models.Model):
    report = models.ForeignKey(ProgressReport, verbose_name="月度进展", on_delete=models.CASCADE,
                               related_name="attachments")
    file = models.FileField("附件", upload_to="plans/reports/%Y/%m/")
    name = models.CharField("文件名", max_length=255)
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "进展附件"
        verbose_name_plural = "进展附件"

    def __str__(self) -> str:
        return self.name


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("任务日志只能追加，不能修改")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("任务日志只能追加，不能删除")


class TaskLogEntry(models.Model):
    """Append-only log of a task: import, status changes, reports, close-out and reopening — who, when, why."""

    task = models.ForeignKey(PlanTask, verbose_name="任务", on_delete=models.CASCADE, related_name="log")
    kind = models.CharField("类型", max_length=20, choices=LogKind.choices)
    from_status = models.CharField("原状态", max_length=20, choices=TaskStatus.choices, blank=True)
    to_status = models.CharField("新状态", max_length=20, choices=TaskStatus.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField("时间", db_index=True)
    note = models.TextField("说明", blank=True)
    data = models.JSONField("数据", default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "任务日志"
        verbose_name_plural = "任务日志"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("任务日志只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("任务日志只能追加，不能删除")


class ReportRevision(models.Model):
    """One submission of a monthly report (报送记录): who sent it, when, and what it changed. Append-only: the
    report holds the latest state, its revisions the history."""

    report = models.ForeignKey(ProgressReport, verbose_name="月度进展", on_delete=models.CASCADE,
                               related_name="revisions")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="报送人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField("报送时间")
    changes = models.JSONField(
        "改动", default=list,
        help_text='[{"field": "status"|"text"|"value"|"attachment", "label": …, "old": …, "new": …}]',
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "报送记录"
        verbose_name_plural = "报送记录"
        ordering = ["report", "submitted_at", "id"]

    def __str__(self) -> str:
        return f"{self.report} {self.submitted_at:%Y-%m-%d %H:%M}"


class ReportReminder(models.Model):
    """A reminder sent for a missing monthly report (so none is sent twice for the same task, month and unit)."""

    task = models.ForeignKey(PlanTask, verbose_name="任务", on_delete=models.CASCADE, related_name="reminders")
    month = models.DateField("月份")
    department = models.ForeignKey("catalog.Department", verbose_name="单位", on_delete=models.CASCADE,
                                   related_name="+")
    sent_at = models.DateTimeField("提醒时间")
    recipients = models.PositiveIntegerField("提醒人数", default=0)

    class Meta:
        verbose_name = "报送提醒"
        verbose_name_plural = "报送提醒"
        constraints = [
            models.UniqueConstraint(fields=["task", "month", "department"], name="one_reminder_per_task_month_unit")
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.month:%Y-%m} {self.department_id}"
