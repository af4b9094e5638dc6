"""With REDIS_URL set (CI's PostgreSQL run), the shared cache is the real Redis that every process sees."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set")


def test_cache_is_redis_and_shared_with_another_client():
    import redis

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    cache.set("shared-probe", 41, timeout=30)
    assert cache.incr("shared-probe") == 42
    other = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = [k for k in other.keys("*shared-probe*")]
    assert len(keys) == 1 and int(other.get(keys[0])) == 42
