"""Choices shared by the parser (plain values, no database) and the models."""

from __future__ import annotations

from django.db import models


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", "未启动"
    IN_PROGRESS = "in_progress", "推进中"
    DONE = "done", "已完成"
    LAGGING = "lagging", "滞后"
    CLOSED = "closed", "已销号"


#: What a responsible unit may report (销号 is the supervisor's decision, not a report).
REPORTABLE_STATUSES = (TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.LAGGING)


class TargetKind(models.TextChoices):
    COUNT = "count", "新建/完成数量"
    AT_LEAST = "at_least", "达到（不低于）"
    KEEP = "keep", "保持"
    INCREASE_TO = "increase_to", "提升至"
    AT_MOST = "at_most", "控制在（不超过）"
    PERCENTAGE = "percentage", "比例"


class UnitRole(models.TextChoices):
    LEAD = "lead", "牵头单位"
    CO = "co", "配合单位"


class LogKind(models.TextChoices):
    IMPORT = "import", "导入"
    STATUS = "status", "状态变化"
    REPORT = "report", "月度进展"
    CLOSE = "close", "销号"
    REOPEN = "reopen", "撤销销号"
    TARGET = "target", "目标调整"
