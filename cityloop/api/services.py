"""Writes of the API app: creating, revoking and using API tokens."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from cityloop.accounts.models import Role, User
from cityloop.api.models import ApiToken, Open311Submission
from cityloop.cases.services import case_report
from cityloop.cases.statuses import Source
from cityloop.catalog.models import Category
from cityloop.core.errors import PermissionDenied, ValidationFailed

KEY_PREFIX = "cl_"
PREFIX_LENGTH = 10  # "cl_" and 7 characters of the random part: enough to tell one's tokens apart
MAX_ACTIVE_TOKENS = 20
#: ``last_used_at`` is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: A verified token (with its user) is remembered this long in the cache, so that most requests need no
#: query for authentication. Revoking deletes the entry (everywhere, with a shared cache such as Redis);
#: a user deactivated in the admin is refused at the latest after this time.
AUTH_CACHE_SECONDS = 5


def _cache_key(key_hash: str) -> str:
    return f"cl-api-token:{key_hash}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str, by: User | None = None, at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it and the plain key, which is shown once and never stored.

    ``by`` is who asks (None: the server's administrator, e.g. ``cityloop create_token``). Citizens get a token
    only from an admin: a citizen minting one for themselves could report past the portal's limits."""
    if (user.role == Role.CITIZEN and by is not None
            and not (by.is_superuser or by.role == Role.ADMIN)):
        raise PermissionDenied("市民账号的 API 令牌须由管理员发放")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("请填写令牌名称", field="name")
    if len(name) > 100:
        raise ValidationFailed("令牌名称不能超过 100 个字", field="name")
    if not user.is_active:
        raise ValidationFailed("已停用的用户不能创建令牌", field="user")
    locked = User.objects.select_for_update().get(pk=user.pk)  # serialise concurrent creations per user
    if ApiToken.objects.filter(user=locked, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed(f"每个用户最多有 {MAX_ACTIVE_TOKENS} 个有效令牌，请先吊销不用的令牌", field="name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=locked, name=name, prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key), created_at=at or timezone.now()
    )
    return token, key


def token_revoke(*, token: ApiToken, by: User, at: datetime | None = None) -> ApiToken:
    """Revoke ``token`` (its owner or an admin may); revoking twice keeps the first time."""
    if by.pk != token.user_id and not (by.is_superuser or by.role == Role.ADMIN):
        raise PermissionDenied("只能吊销自己的令牌")
    if token.revoked_at is None:
        token.revoked_at = at or timezone.now()
        token.revoked_by = by
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=token.revoked_at, revoked_by=by
        )
    cache.delete(_cache_key(token.key_hash))
    transaction.on_commit(lambda: cache.delete(_cache_key(token.key_hash)))
    return token


def token_authenticate(*, key: str, at: datetime | None = None) -> ApiToken | None:
    """The active token with this plain key whose user is active (user loaded), else None.

    Records the use, at most once per ``LAST_USED_RESOLUTION``, so reads stay reads.
    """
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest = hash_key(key)
    now = at or timezone.now()
    token = cache.get(_cache_key(digest))
    if token is None:
        token = (
            ApiToken.objects.select_related("user")
            .defer("user__password", "user__email", "user__phone")  # never into the cache
            .filter(key_hash=digest, revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            return None
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        cache.set(_cache_key(digest), token, AUTH_CACHE_SECONDS)
    return token


# --- Open311 submissions -------------------------------------------------------------------------

#: An identical submission by the same client within this window is a retry: it returns the first case.
OPEN311_REPLAY_WINDOW = timedelta(minutes=10)


@dataclass
class Open311Result:
    submission: Open311Submission
    created: bool


def open311_fingerprint(fields: dict[str, Any], photo_hashes: list[str]) -> str:
    """SHA-256 of everything a client sent (canonical JSON), photos by content hash."""
    canonical = json.dumps({"fields": fields, "photos": sorted(photo_hashes)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def open311_submit(
    *,
    client: ApiToken,
    fingerprint: str,
    category: Category,
    description: str,
    lon: float,
    lat: float,
    address: str = "",
    reporter_name: str = "",
    reporter_phone: str = "",
    photos: Sequence[Any] = (),
    email: str = "",
    device_id: str = "",
    account_id: str = "",
    media_url: str = "",
    at: datetime | None = None,
) -> Open311Result:
    """Report a case from an Open311 client (source ``open311``, anonymous reporter) and record the submission.

    A retry (the same client sending the same fingerprint within ``OPEN311_REPLAY_WINDOW``) returns the
    first submission and writes nothing. Two reports that differ in anything (text, place, contact,
    answers, photos) are two cases; the case duplicate check still flags them for the operator.
    """
    now = at or timezone.now()
    previous = (
        Open311Submission.objects.filter(client=client, fingerprint=fingerprint, created_at__gte=now - OPEN311_REPLAY_WINDOW)
        .select_related("case")
        .order_by("-created_at", "-id")
        .first()
    )
    if previous is not None:
        return Open311Result(previous, created=False)
    window = int(OPEN311_REPLAY_WINDOW.total_seconds())
    # The same key for concurrent retries in the same window: the unique key makes exactly one case.
    key = f"open311:{client.pk}:{fingerprint[:40]}:{int(now.timestamp()) // window}"
    with transaction.atomic():
        result = case_report(
            source=Source.OPEN311, category=category, description=description, lon=lon, lat=lat, address=address,
            reporter=None, reporter_name=reporter_name, reporter_phone=reporter_phone, photos=photos,
            idempotency_key=key, at=now,
        )
        existing = Open311Submission.objects.filter(case=result.case, fingerprint=fingerprint).first()
        if existing is not None:
            return Open311Result(existing, created=False)
        submission = Open311Submission.objects.create(
            token=secrets.token_hex(16), client=client, case=result.case, fingerprint=fingerprint,
            created=result.created, email=email, device_id=device_id, account_id=account_id, media_url=media_url,
            created_at=now,
        )
    return Open311Result(submission, created=result.created)
