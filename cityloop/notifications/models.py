"""In-app notifications (通知) and the record of every delivery through an external transport."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class NotificationKind(models.TextChoices):
    CASE_WARNING = "case_warning", "案卷预警"
    CASE_OVERDUE = "case_overdue", "案卷超期"
    CASE_SUPERVISED = "case_supervised", "案卷督办"
    CASE_DISPATCHED = "case_dispatched", "案卷派遣"
    CASE_UPDATED = "case_updated", "案卷更新"
    CASE_REWORK = "case_rework", "案卷返工"
    TASK_VERIFY = "task_verify", "核实任务"
    TASK_CHECK = "task_check", "核查任务"
    APPROVAL_WAITING = "approval_waiting", "待审批申请"
    APPROVAL_DECIDED = "approval_decided", "申请审批结果"
    TASK_REMINDER = "task_reminder", "任务提醒"


class Notification(models.Model):
    """One message to one user; the row itself is the in-app message, unread while ``read_at`` is empty."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="接收人",
        on_delete=models.CASCADE,
        related_name="notifications",
        # The (recipient, …) indexes below lead with the recipient, so the FK's own index is redundant.
        db_index=False,
    )
    kind = models.CharField("类型", max_length=30, choices=NotificationKind.choices)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    link = models.CharField("链接", max_length=500, blank=True, help_text="站内相对地址，如 /cases/1/")
    # The case this is about. A plain id (not a ForeignKey to cases.Case) until the cases app has its first
    # migration; a ForeignKey named ``case`` would use the same ``case_id`` column.
    case_id = models.BigIntegerField("案卷 ID", null=True, blank=True, db_index=True)
    case_number = models.CharField("案卷编号", max_length=20, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True, db_index=True)
    read_at = models.DateTimeField("阅读时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["recipient", "-created_at"], name="notification_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class DeliveryAttempt(models.Model):
    """One try to deliver a notification through an external transport (email, webhook …)."""

    notification = models.ForeignKey(
        Notification, verbose_name="通知", on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    transport = models.CharField("发送方式", max_length=30, db_index=True)
    succeeded = models.BooleanField("成功", db_index=True)
    detail = models.TextField("详情", blank=True)
    created_at = models.DateTimeField("发送时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "通知发送记录"
        verbose_name_plural = "通知发送记录"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.transport} {'成功' if self.succeeded else '失败'}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"
    SKIPPED = "skipped", "无需发送"
    FAILED = "failed", "发送失败"


class Delivery(models.Model):
    """One notification to send through one external transport (待发送): the outbox the worker works through.

    Written with the notification, in its transaction; ``cityloop worker`` sends the due ones, outside any
    user's request, and retries a failure with a growing delay until ``CITYLOOP_NOTIFICATION_MAX_ATTEMPTS``.
    Every try is also a :class:`DeliveryAttempt`."""

    notification = models.ForeignKey(
        Notification, verbose_name="通知", on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    transport = models.CharField("发送方式", max_length=30)
    status = models.CharField("状态", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)
    last_error = models.TextField("最近一次失败原因", blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知发送队列"
        verbose_name_plural = "通知发送队列"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "transport"], name="delivery_one_per_transport"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.transport} {self.get_status_display()}"
