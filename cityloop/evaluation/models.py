"""Configuration of the evaluation (综合评价): scoring schemes, indicator weights, step scores, region classes.

The indicators themselves are not stored: they are computed from the case event log and the stage
deadlines on every request (``evaluation.selectors``). These tables only say how indicator values turn
into the 100-point composite score (综合指标值). The factory defaults are seeded by migration 0002 from
``evaluation.defaults`` and marked ``is_default``; an admin may edit them (the edit clears the mark).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class Level(models.TextChoices):
    """What is evaluated (评价对象): a position, a department or a region level."""

    INSPECTOR = "inspector", "监督员"
    OPERATOR = "operator", "受理员"
    SHIFT_LEADER = "shift_leader", "值班长"
    DISPATCHER = "dispatcher", "派遣员"
    DEPARTMENT = "department", "处置单位"
    DISTRICT = "district", "区县"
    STREET = "street", "街道"
    COMMUNITY = "community", "社区"
    GRID = "grid", "单元网格"


REGION_LEVELS = frozenset({Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID})
POSITION_LEVELS = frozenset({Level.INSPECTOR, Level.OPERATOR, Level.SHIFT_LEADER, Level.DISPATCHER})


class SchemeKind(models.TextChoices):
    """Which levels a scoring scheme applies to (all four region levels share one scheme)."""

    INSPECTOR = "inspector", "监督员"
    OPERATOR = "operator", "受理员"
    SHIFT_LEADER = "shift_leader", "值班长"
    DISPATCHER = "dispatcher", "派遣员"
    DEPARTMENT = "department", "处置单位"
    REGION = "region", "区域"


def scheme_kind_for(level: Level | str) -> SchemeKind:
    return SchemeKind.REGION if level in REGION_LEVELS else SchemeKind(str(level))


class ScoringScheme(models.Model):
    """How one kind of unit is scored: a set of weighted indicators on a 100-point scale (配置项)."""

    kind = models.CharField("评价对象", max_length=20, choices=SchemeKind.choices, unique=True)
    name = models.CharField("名称", max_length=100)
    note = models.TextField("说明", blank=True)
    is_default = models.BooleanField("出厂默认配置", default=False, help_text="由系统预置；在后台修改后自动取消")
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = "评分方案"
        verbose_name_plural = "评分方案"
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.name}"


class ScoringMethod(models.TextChoices):
    RATE = "rate", "比率×100（越高越好）"
    INVERSE_RATE = "inverse_rate", "(1−比率)×100（越低越好）"
    STEPS = "steps", "分档计分"


class IndicatorWeight(models.Model):
    """One indicator of a scheme with its weight (权重, percent) and how its value becomes a 0–100 score."""

    scheme = models.ForeignKey(ScoringScheme, verbose_name="评分方案", on_delete=models.CASCADE, related_name="weights")
    indicator = models.CharField("指标", max_length=40, help_text="指标代码，见 docs/evaluation.md")
    weight = models.DecimalField("权重(%)", max_digits=5, decimal_places=2)
    method = models.CharField("计分方式", max_length=20, choices=ScoringMethod.choices, default=ScoringMethod.RATE)
    monthly = models.BooleanField(
        "按30天折算", default=False,
        help_text="分档计分时先把指标值折算为每30天的数值，使月度、季度、年度评价用同一套档位",
    )
    otherwise_score = models.DecimalField("其余得分", max_digits=6, decimal_places=2, default=Decimal(0),
                                          help_text="分档计分时，不满足任何一档的得分")
    order = models.PositiveSmallIntegerField("顺序", default=0)

    class Meta:
        verbose_name = "指标权重"
        verbose_name_plural = "指标权重"
        ordering = ["scheme", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["scheme", "indicator"], name="one_weight_per_indicator")]

    def __str__(self) -> str:
        return f"{self.indicator} {self.weight.normalize():f}%"


class Comparison(models.TextChoices):
    GE = "ge", "≥"
    GT = "gt", ">"
    LE = "le", "≤"
    LT = "lt", "<"


class RegionClassChoice(models.TextChoices):
    FIRST = "1", "一类区域"
    SECOND = "2", "二类区域"


class StepScore(models.Model):
    """One step (档) of a step score: when ``value <comparison> bound`` the indicator scores ``score``.

    Steps are tried in ``order``; the first that holds wins. Steps with a region class apply to regions of
    that class only; an indicator without class-specific steps uses its steps without a class.
    """

    weight = models.ForeignKey(IndicatorWeight, verbose_name="指标", on_delete=models.CASCADE, related_name="steps")
    region_class = models.CharField("区域类别", max_length=1, choices=RegionClassChoice.choices, blank=True)
    order = models.PositiveSmallIntegerField("顺序", default=0)
    comparison = models.CharField("比较", max_length=2, choices=Comparison.choices)
    bound = models.DecimalField("界值", max_digits=12, decimal_places=4)
    score = models.DecimalField("得分", max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = "分档"
        verbose_name_plural = "分档"
        ordering = ["weight", "region_class", "order", "id"]

    def __str__(self) -> str:
        return f"{self.get_comparison_display()} {self.bound.normalize():f} → {self.score.normalize():f}"


class RegionClass(models.Model):
    """The class (一类/二类) of a district, street or community for the region count score (配置项).

    Regions without a row are 一类. Unit grids take their class from their management level
    (一类 = A; 二类 = B and C).
    """

    region = models.OneToOneField("geo.Region", verbose_name="区划", on_delete=models.CASCADE,
                                  related_name="evaluation_class")
    klass = models.CharField("区域类别", max_length=1, choices=RegionClassChoice.choices, default=RegionClassChoice.FIRST)

    class Meta:
        verbose_name = "区域类别"
        verbose_name_plural = "区域类别"
        ordering = ["region__code"]

    def __str__(self) -> str:
        return f"{self.region} {self.get_klass_display()}"
