"""Users, their role (岗位) and their scope: the regions and departments they may see and act in."""

from __future__ import annotations

from django.conf import settings
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

    def has_published_password(self) -> bool:
        """Whether this account's password is still one that was published (the demo's)."""
        published = PublishedPassword.objects.filter(user=self).values_list("password_hash", flat=True).first()
        return published is not None and published == self.password

class PublishedPassword(models.Model):
    """An account whose password was published (the demo city's accounts print theirs): while the account's
    password hash is still the one recorded here, the password is the published one, and the admin is warned
    (workbench, ``check --deploy``). Changing the password ends it; nothing is hashed to find out."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE,
                                related_name="published_password")
    password_hash = models.CharField("公开时的密码哈希", max_length=128)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "公开过的密码"
        verbose_name_plural = "公开过的密码"

    def __str__(self) -> str:
        return str(self.user)
