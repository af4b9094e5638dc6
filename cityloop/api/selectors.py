"""Reads of the API app."""

from __future__ import annotations

from django.db.models import F, QuerySet

from cityloop.accounts.models import User
from cityloop.api.models import ApiToken


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """``user``'s tokens, active ones first, newest first."""
    return ApiToken.objects.filter(user=user).order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-id")
