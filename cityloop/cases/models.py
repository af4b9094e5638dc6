"""Cases (案卷), their stages with stored deadlines, the append-only event log, approvals and photos."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from cityloop.cases.statuses import ACTION_LABELS, OPEN_STATUSES, CaseStatus, Source
from cityloop.catalog.models import Stage, Urgency
from cityloop.core.choices import TimeUnit


class CaseNumberSequence(models.Model):
    """The last case number given out in a year; locked while a number is taken, so numbers have no gap."""

    year = models.PositiveSmallIntegerField("年份", primary_key=True)
    last_value = models.PositiveIntegerField("已用到", default=0)

    class Meta:
        verbose_name = "案卷编号序列"
        verbose_name_plural = "案卷编号序列"

    def __str__(self) -> str:
        return f"{self.year}: {self.last_value}"


class Satisfaction(models.IntegerChoices):
    SATISFIED = 3, "满意"
    BASICALLY_SATISFIED = 2, "基本满意"
    UNSATISFIED = 1, "不满意"


class Case(models.Model):
    """A case (案卷): one problem in public space, from report to close."""

    number = models.CharField("案卷编号", max_length=20, unique=True)
    source = models.CharField("来源", max_length=20, choices=Source.choices, db_index=True)
    # category, grid, district, status and department are read through the composite indexes that lead with them
    # (Meta.indexes), so they have no single-column index of their own (migration 0007).
    category = models.ForeignKey("catalog.Category", verbose_name="分类", on_delete=models.PROTECT, related_name="cases",
                                 db_index=False)
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    description = models.TextField("问题描述")
    address = models.CharField("地址", max_length=300, blank=True)
    lon = models.FloatField("经度(WGS-84)")
    lat = models.FloatField("纬度(WGS-84)")
    grid = models.ForeignKey("geo.Grid", verbose_name="单元网格", on_delete=models.PROTECT, related_name="cases",
                             db_index=False)
    community = models.ForeignKey("geo.Region", verbose_name="社区", on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("geo.Region", verbose_name="街道", on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("geo.Region", verbose_name="区县", on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    asset_code = models.CharField("部件标识码", max_length=16, blank=True)
    asset = models.ForeignKey("assets.Asset", verbose_name="部件", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="cases")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上报人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField("举报人姓名", max_length=50, blank=True)
    reporter_phone = models.CharField("举报人电话", max_length=20, blank=True)
    status = models.CharField("状态", max_length=20, choices=CaseStatus.choices)
    verified = models.BooleanField("已核实", default=False)
    verification_valid = models.BooleanField("核实属实", null=True)
    self_handled = models.BooleanField("监督员自处理", default=False)
    check_passed = models.BooleanField("核查通过", default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="核实/核查监督员", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    department = models.ForeignKey(
        "catalog.Department", verbose_name="处置单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="cases", db_index=False,
    )
    proposed_department = models.ForeignKey(
        "catalog.Department", verbose_name="建议处置单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    routing_reason = models.CharField("派遣依据", max_length=300, blank=True)
    stage = models.CharField("当前环节", max_length=10, choices=Stage.choices, blank=True)
    stage_due_at = models.DateTimeField("当前环节时限", null=True, blank=True, db_index=True)
    handling_due_at = models.DateTimeField("处置时限", null=True, blank=True, db_index=True)
    pending_request = models.CharField("待审批申请", max_length=20, blank=True)
    supervised = models.BooleanField("督办", default=False, db_index=True)
    rework_count = models.PositiveSmallIntegerField("返工次数", default=0)
    return_count = models.PositiveSmallIntegerField("回退次数", default=0)
    dispatch_count = models.PositiveSmallIntegerField("派遣次数", default=0)
    merged_into = models.ForeignKey(
        "self", verbose_name="合并到", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_cases"
    )
    duplicate_candidates = models.JSONField("疑似重复案卷", default=list, blank=True)
    satisfaction = models.PositiveSmallIntegerField("满意度", choices=Satisfaction.choices, null=True, blank=True)
    idempotency_key = models.CharField("幂等键", max_length=100, null=True, blank=True, unique=True)
    external_id = models.CharField("外部编号", max_length=100, blank=True, db_index=True)
    reported_at = models.DateTimeField("上报时间")
    registered_at = models.DateTimeField("立案时间", null=True, blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间")
    version = models.PositiveIntegerField("版本", default=0)

    class Meta:
        verbose_name = "案卷"
        verbose_name_plural = "案卷"
        ordering = ["-reported_at", "-id"]
        indexes = [
            # The lists' order (-reported_at, -id): page 1 and deep pages walk this index and read nothing else.
            models.Index(fields=["reported_at", "id"], name="case_reported_order_idx"),
            models.Index(fields=["category", "reported_at"], name="case_category_time_idx"),
            # Duplicate candidates: the same subclass in the grids around a new report, recent first.
            models.Index(fields=["grid", "category", "reported_at"], name="case_grid_category_time_idx"),
            models.Index(fields=["status", "reported_at"], name="case_status_time_idx"),
            models.Index(fields=["department", "status"], name="case_department_status_idx"),
            models.Index(fields=["district", "status"], name="case_district_status_idx"),
            # The map's open cases (一张图): only open cases, by position, so a viewport reads the open cases in
            # view rather than every open case of the city (migration 0008; used by PostgreSQL).
            models.Index(fields=["lon", "lat"], name="case_open_position_idx",
                         condition=models.Q(status__in=sorted(OPEN_STATUSES))),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseFollower(models.Model):
    """Someone who reported the case (or a duplicate merged into it) and gets its updates."""

    case = models.ForeignKey(Case, verbose_name="案卷", on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="用户", null=True, blank=True, on_delete=models.CASCADE,
        related_name="followed_cases",
    )
    name = models.CharField("姓名", max_length=50, blank=True)
    phone = models.CharField("电话", max_length=20, blank=True)
    via_case = models.ForeignKey(
        Case, verbose_name="原案卷", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = "案卷关注人"
        verbose_name_plural = "案卷关注人"

    def __str__(self) -> str:
        return f"{self.case_id} {self.name or self.user_id or ''}"


class CaseStage(models.Model):
    """One stage (环节) of a case with its stored deadline; closed stages record whether they were on time."""

    case = models.ForeignKey(Case, verbose_name="案卷", on_delete=models.CASCADE, related_name="stages",
                             db_index=False)  # read through stage_case_open_idx (case, ended_at)
    stage = models.CharField("环节", max_length=10, choices=Stage.choices)
    started_at = models.DateTimeField("开始时间")
    limit_value = models.DecimalField("时限", max_digits=8, decimal_places=2)
    limit_unit = models.CharField("单位", max_length=10, choices=TimeUnit.choices)
    limit_source = models.CharField("时限依据", max_length=200, blank=True)
    warn_at = models.DateTimeField("黄灯时间")
    due_at = models.DateTimeField("截止时间")
    paused_at = models.DateTimeField("暂停时间", null=True, blank=True)
    extended = models.BooleanField("已延期", default=False)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    on_time = models.BooleanField("按时", null=True)
    outcome = models.CharField("结束方式", max_length=30, blank=True)
    warning_level = models.PositiveSmallIntegerField("已预警", default=0, help_text="0 无，1 黄灯，2 红灯")
    department = models.ForeignKey(
        "catalog.Department", verbose_name="处置单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="办理人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "案卷环节"
        verbose_name_plural = "案卷环节"
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(fields=["due_at"], name="stage_open_due_idx", condition=models.Q(ended_at__isnull=True)),
            models.Index(fields=["warn_at"], name="stage_open_warn_idx", condition=models.Q(ended_at__isnull=True)),
            models.Index(fields=["stage", "started_at"], name="stage_kind_time_idx"),
            models.Index(fields=["case", "ended_at"], name="stage_case_open_idx"),
            # A handler's scope (the cases their departments handle or handled) read from this index alone.
            models.Index(fields=["department", "case"], name="stage_department_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_stage_display()}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("案卷事件只能追加，不能修改")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("案卷事件只能追加，不能删除")


class CaseEvent(models.Model):
    """One entry of a case's append-only event log: who did what, when, from which status to which."""

    # Read through event_case_time_idx (case, created_at) and event_action_time_idx (action, created_at).
    case = models.ForeignKey(Case, verbose_name="案卷", on_delete=models.PROTECT, related_name="events",
                             db_index=False)
    action = models.CharField("动作", max_length=30)
    from_status = models.CharField("原状态", max_length=20, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField("新状态", max_length=20, choices=CaseStatus.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_role = models.CharField("岗位", max_length=20, blank=True)
    actor_name = models.CharField("操作人姓名", max_length=50, blank=True)
    created_at = models.DateTimeField("时间", db_index=True)
    note = models.TextField("意见", blank=True)
    data = models.JSONField("数据", default=dict, blank=True)
    department = models.ForeignKey(
        "catalog.Department", verbose_name="处置单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    is_public = models.BooleanField("公开", default=False, help_text="市民查询时可见")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "案卷事件"
        verbose_name_plural = "案卷事件"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="event_case_time_idx"),
            models.Index(fields=["action", "created_at"], name="event_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("案卷事件只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("案卷事件只能追加，不能删除")

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


class ApprovalKind(models.TextChoices):
    RETURN = "return", "回退"
    EXTENSION = "extension", "延期"
    SUSPENSION = "suspension", "挂账"


class ApprovalState(models.TextChoices):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已同意"
    REFUSED = "refused", "已驳回"


class ApprovalRequest(models.Model):
    """A department's request for return (回退), extension (延期) or suspension (挂账), decided by the dispatcher."""

    case = models.ForeignKey(Case, verbose_name="案卷", on_delete=models.CASCADE, related_name="approval_requests")
    kind = models.CharField("类型", max_length=20, choices=ApprovalKind.choices)
    state = models.CharField("状态", max_length=20, choices=ApprovalState.choices, default=ApprovalState.PENDING)
    reason = models.TextField("理由")
    extension_value = models.DecimalField("申请延长", max_digits=8, decimal_places=2, null=True, blank=True)
    extension_unit = models.CharField("单位", max_length=10, choices=TimeUnit.choices, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField("申请时间")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审批人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.TextField("审批意见", blank=True)

    class Meta:
        verbose_name = "审批申请"
        verbose_name_plural = "审批申请"
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(state="pending"), name="one_pending_request_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()} {self.get_state_display()}"


class AttachmentKind(models.TextChoices):
    BEFORE = "before", "处置前"
    AFTER = "after", "处置后"


class Attachment(models.Model):
    """A photo of a case, stored by content hash; the public copy has no EXIF/GPS."""

    case = models.ForeignKey(Case, verbose_name="案卷", on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        CaseEvent, verbose_name="事件", null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    kind = models.CharField("类型", max_length=10, choices=AttachmentKind.choices)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    original_path = models.CharField("原图", max_length=200)
    public_path = models.CharField("公开图", max_length=200)
    content_type = models.CharField("类型", max_length=50)
    size = models.PositiveIntegerField("大小")
    width = models.PositiveIntegerField("宽")
    height = models.PositiveIntegerField("高")
    taken_at = models.DateTimeField("拍摄时间", null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "照片"
        verbose_name_plural = "照片"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()} {self.sha256[:12]}"
