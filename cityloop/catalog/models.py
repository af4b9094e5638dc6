"""The case catalogue: categories (部件/事件), time limits, departments (处置单位) and routing rules."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from cityloop.core.choices import TimeUnit


class CategoryKind(models.TextChoices):
    COMPONENT = "component", "部件"
    EVENT = "event", "事件"


class Category(models.Model):
    """A case category: a major class (大类, 2 digits) or a minor class (小类, 5 digits, GB/T 47678.5-2026)."""

    code = models.CharField("编码", max_length=8, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=10, choices=CategoryKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name="大类", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    registration_condition = models.TextField("立案条件", blank=True)
    closing_condition = models.TextField("结案条件", blank=True)
    pinyin_initials = models.CharField("拼音首字母", max_length=50, blank=True, db_index=True)
    source = models.CharField("来源", max_length=300, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "案件分类"
        verbose_name_plural = "案件分类"
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_major(self) -> bool:
        return self.parent_id is None


class LegacyCategoryCode(models.Model):
    """A legacy CJ/T 214-2007 / GB/T 30428.2 four-digit code, mapped to today's category where one matches."""

    kind = models.CharField("类型", max_length=10, choices=CategoryKind.choices)
    code = models.CharField("旧编码", max_length=8)
    name = models.CharField("旧名称", max_length=100)
    major_name = models.CharField("旧大类", max_length=100, blank=True)
    category = models.ForeignKey(
        Category, verbose_name="对应新分类", null=True, blank=True, on_delete=models.SET_NULL, related_name="legacy_codes"
    )

    class Meta:
        verbose_name = "旧版分类编码"
        verbose_name_plural = "旧版分类编码"
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="legacy_code_unique_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code} {self.name}"


class Urgency(models.TextChoices):
    NORMAL = "normal", "一般"
    URGENT = "urgent", "紧急"


class TimeLimit(models.Model):
    """Handling limit (处置时限) of a category for one urgency; a major class's limit covers its minors."""

    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.CASCADE, related_name="time_limits")
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    value = models.DecimalField("时限", max_digits=8, decimal_places=2)
    unit = models.CharField("单位", max_length=10, choices=TimeUnit.choices)
    is_demo = models.BooleanField("演示配置", default=False, help_text="演示城市的默认值，不是标准规定")

    class Meta:
        verbose_name = "处置时限"
        verbose_name_plural = "处置时限"
        constraints = [models.UniqueConstraint(fields=["category", "urgency"], name="one_limit_per_category_urgency")]

    def __str__(self) -> str:
        return f"{self.category} {self.get_urgency_display()} {self.value.normalize():f}{self.get_unit_display()}"


class Stage(models.TextChoices):
    """Workflow stages with their own limits (环节时限)."""

    ACCEPT = "accept", "受理"
    VERIFY = "verify", "核实"
    REGISTER = "register", "立案"
    DISPATCH = "dispatch", "派遣"
    HANDLE = "handle", "处置"
    CHECK = "check", "核查"
    CLOSE = "close", "结案"


class StageLimit(models.Model):
    """Time limit of one workflow stage (受理, 立案, 派遣, 核实, 核查, 结案); 处置 uses the category's limit."""

    stage = models.CharField("环节", max_length=10, choices=Stage.choices, unique=True)
    value = models.DecimalField("时限", max_digits=8, decimal_places=2, default=Decimal("1"))
    unit = models.CharField("单位", max_length=10, choices=TimeUnit.choices, default=TimeUnit.WORK_HOUR)
    is_demo = models.BooleanField("演示配置", default=False)

    class Meta:
        verbose_name = "环节时限"
        verbose_name_plural = "环节时限"
        ordering = ["stage"]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.value.normalize():f}{self.get_unit_display()}"


class DepartmentKind(models.TextChoices):
    MUNICIPAL = "municipal", "市政"
    SANITATION = "sanitation", "环卫"
    LANDSCAPE = "landscape", "园林"
    ENFORCEMENT = "enforcement", "城管执法"
    TRAFFIC = "traffic", "交通"
    UTILITY = "utility", "公用事业"
    STREET_OFFICE = "street_office", "街道办事处"
    CENTER = "center", "监督指挥中心"
    OTHER = "other", "其他"


class Department(models.Model):
    """A handling unit (处置单位): a bureau, a utility company or a street office."""

    code = models.CharField("编码", max_length=30, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=DepartmentKind.choices, default=DepartmentKind.OTHER)
    parent = models.ForeignKey(
        "self", verbose_name="上级单位", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    region = models.ForeignKey(
        "geo.Region", verbose_name="所在区划", null=True, blank=True, on_delete=models.PROTECT, related_name="departments"
    )
    phone = models.CharField("联系电话", max_length=30, blank=True)
    is_active = models.BooleanField("启用", default=True)
    is_demo = models.BooleanField("演示数据", default=False)

    class Meta:
        verbose_name = "处置单位"
        verbose_name_plural = "处置单位"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Category (minor, major or any) × region (any level, or the whole city) → department.

    The most specific matching rule wins: higher priority first, then a minor class over a major
    class over any category, then a deeper region over a shallower one.
    """

    category = models.ForeignKey(
        Category, verbose_name="分类", null=True, blank=True, on_delete=models.CASCADE, related_name="routing_rules",
        help_text="小类或大类；留空表示全部分类",
    )
    region = models.ForeignKey(
        "geo.Region", verbose_name="区划", null=True, blank=True, on_delete=models.CASCADE, related_name="routing_rules",
        help_text="任一级区划；留空表示全市",
    )
    department = models.ForeignKey(Department, verbose_name="处置单位", on_delete=models.PROTECT, related_name="routing_rules")
    priority = models.IntegerField("优先级", default=0, help_text="数值大的优先")
    note = models.CharField("说明", max_length=200, blank=True)
    is_active = models.BooleanField("启用", default=True)
    is_demo = models.BooleanField("演示配置", default=False)

    class Meta:
        verbose_name = "派遣规则"
        verbose_name_plural = "派遣规则"
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        category = self.category.name if self.category else "全部分类"
        region = self.region.name if self.region else "全市"
        return f"#{self.pk} {category} × {region} → {self.department}"
