"""API tokens (REST bearer tokens and Open311 ``api_key``) and the record of every Open311 submission."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; ``prefix`` (the first characters) identifies it in lists.

    The same token serves as a Bearer token for ``/api/v1`` (acting as its user, with the user's role and
    scope) and as the ``api_key`` of Open311 POSTs (the user is recorded as the submitting client).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("名称", max_length=100)
    prefix = models.CharField("前缀", max_length=16, db_index=True)
    key_hash = models.CharField("密钥摘要(SHA-256)", max_length=64, unique=True)
    created_at = models.DateTimeField("创建时间")
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="吊销人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Open311Submission(models.Model):
    """One accepted Open311 ``POST requests`` call: who sent it, its token, and the case it made or matched.

    Contact details (e-mail, device and account ids) that have no field on the case are kept here and are
    never shown by any GET.
    """

    token = models.CharField("受理凭证", max_length=40, unique=True)
    client = models.ForeignKey(
        ApiToken, verbose_name="客户端令牌", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case = models.ForeignKey("cases.Case", verbose_name="案卷", on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField("提交摘要", max_length=64, db_index=True)
    created = models.BooleanField("新建案卷", default=True)
    email = models.CharField("电子邮箱", max_length=254, blank=True)
    device_id = models.CharField("设备标识", max_length=100, blank=True)
    account_id = models.CharField("账号标识", max_length=100, blank=True)
    media_url = models.CharField("图片地址", max_length=500, blank=True)
    created_at = models.DateTimeField("提交时间", db_index=True)

    class Meta:
        verbose_name = "Open311 提交记录"
        verbose_name_plural = "Open311 提交记录"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "fingerprint", "created_at"], name="open311_replay_idx")]

    def __str__(self) -> str:
        return self.token
