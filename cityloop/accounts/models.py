"""Users, their role (岗位) and their scope: the regions and departments they may see and act in."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    INSPECTOR = "inspector", "监督员"
    OPERATOR = "operator", "受理员"
    SHIFT_LEADER = "shift_leader", "值班长"
    DISPATCHER = "dispatcher", "派遣员"
    HANDLER = "handler", "处置单位人员"
    LEADER = "leader", "领导"
    CITIZEN = "citizen", "市民"
    ADMIN = "admin", "管理员"


class User(AbstractUser):
    """A person using CityLoop. An empty scope means the whole city (for center roles and leaders)."""

    role = models.CharField("岗位", max_length=20, choices=Role.choices, default=Role.CITIZEN, db_index=True)
    phone = models.CharField("手机号", max_length=20, blank=True)
    regions = models.ManyToManyField(
        "geo.Region", verbose_name="负责区划", blank=True, related_name="users",
        help_text="留空表示全市（仅限中心岗位和领导）",
    )
    departments = models.ManyToManyField(
        "catalog.Department", verbose_name="所属单位", blank=True, related_name="users",
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        ordering = ["username"]

    def __str__(self) -> str:
        full = f"{self.last_name}{self.first_name}".strip()
        return full or self.username

    @property
    def display_name(self) -> str:
        return str(self)
