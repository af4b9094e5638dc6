"""The primary/replica router and its middleware, on the test database with a ``replica`` alias only pretended.

Querysets are never evaluated against the pretended alias: ``QuerySet.db`` asks the router without connecting.
The end-to-end run with two real PostgreSQL clusters is ``tests/test_replica_demo.py`` / ``bench/bench_replica.py``.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from django.db import connections, router, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from cityloop.accounts.models import User
from cityloop.core import db_router
from cityloop.core.db_router import (
    PIN_COOKIE,
    PrimaryPinMiddleware,
    PrimaryReplicaRouter,
    pinned_to_primary,
    read_alias,
    replica_reads,
)

SETTINGS_FILE = Path(__file__).resolve().parents[3] / "config" / "settings.py"


@pytest.fixture
def with_replica(settings):
    """The router as it behaves with DATABASE_REPLICA_URL set (the alias itself is never connected to)."""
    enabled = PrimaryReplicaRouter()
    enabled.enabled = True
    settings.DATABASE_ROUTERS = [enabled]
    settings.DATABASE_REPLICA_PIN_SECONDS = 7
    return enabled


def _middleware(view):
    middleware = PrimaryPinMiddleware(view)
    middleware.enabled = True
    return middleware


def _recording_view(seen: list[str]):
    def view(request):
        seen.append(User.objects.all().db)
        return HttpResponse("ok")

    return view


@pytest.mark.parametrize(
    ("replica", "in_atomic", "pinned", "replica_ok", "expected"),
    [
        (False, False, False, True, None),  # no replica: no opinion, Django uses default
        (True, False, False, True, "replica"),  # a plain GET
        (True, True, False, True, "default"),  # inside transaction.atomic on the primary
        (True, False, True, True, "default"),  # pinned: the client just wrote
        (True, False, False, False, "default"),  # outside a request (commands, shells)
    ],
)
def test_read_decision(replica, in_atomic, pinned, replica_ok, expected):
    assert read_alias(replica=replica, in_atomic_on_primary=in_atomic, pinned=pinned, replica_ok=replica_ok) == expected


def test_without_a_replica_nothing_changes(rf: RequestFactory):
    assert "replica" not in connections.settings  # the test run has one database
    plain = PrimaryReplicaRouter()
    assert plain.enabled is False
    assert plain.db_for_read(User) is None and plain.db_for_write(User) is None
    assert plain.allow_migrate("default", "accounts") is None
    assert router.db_for_read(User) == "default"
    seen: list[str] = []
    response = PrimaryPinMiddleware(_recording_view(seen))(rf.post("/x"))
    assert seen == ["default"] and PIN_COOKIE not in response.cookies


def test_get_reads_from_the_replica_and_writes_go_to_the_primary(with_replica, rf):
    seen: list[str] = []

    def view(request):
        seen.append(User.objects.all().db)
        seen.append(router.db_for_write(User))
        return HttpResponse("ok")

    response = _middleware(view)(rf.get("/cases/"))
    assert seen == ["replica", "default"]
    assert PIN_COOKIE not in response.cookies  # a write during a GET (e.g. last_used_at) pins only that request


def test_a_write_pins_the_rest_of_the_request(with_replica, rf):
    seen: list[str] = []

    def view(request):
        seen.append(User.objects.all().db)
        seen.append(User.objects.select_for_update().db)  # a write-side queryset
        seen.append(User.objects.all().db)
        return HttpResponse("ok")

    _middleware(view)(rf.get("/"))
    assert seen == ["replica", "default", "default"]


def test_post_reads_from_the_primary_and_pins_the_client_for_a_while(with_replica, rf):
    seen: list[str] = []
    middleware = _middleware(_recording_view(seen))
    response = middleware(rf.post("/api/v1/cases", HTTP_AUTHORIZATION="Bearer cl_writer"))
    assert seen == ["default"]
    cookie = response.cookies[PIN_COOKIE]
    assert cookie["max-age"] == 7 and cookie["httponly"] and cookie["samesite"] == "Lax"

    # The browser sends the cookie back; an API client is known by its Authorization header (cache).
    with_cookie = rf.get("/cases/")
    with_cookie.COOKIES[PIN_COOKIE] = "1"
    middleware(with_cookie)
    middleware(rf.get("/api/v1/cases", HTTP_AUTHORIZATION="Bearer cl_writer"))
    middleware(rf.get("/api/v1/cases", HTTP_AUTHORIZATION="Bearer cl_someone_else"))
    middleware(rf.get("/cases/"))
    assert seen == ["default", "default", "default", "replica", "replica"]


def test_reads_inside_a_transaction_on_the_primary_stay_there(with_replica, rf, monkeypatch):
    seen: list[str] = []

    def view(request):
        monkeypatch.setattr(connections["default"], "in_atomic_block", True)
        seen.append(User.objects.all().db)
        monkeypatch.setattr(connections["default"], "in_atomic_block", False)
        seen.append(User.objects.all().db)
        return HttpResponse("ok")

    _middleware(view)(rf.get("/"))
    assert seen == ["default", "replica"]


@pytest.mark.django_db(transaction=True)
def test_real_atomic_block_and_select_for_update(with_replica, rf):
    seen: list[str] = []

    def view(request):
        with transaction.atomic():
            seen.append(User.objects.all().db)
            seen.append(User.objects.select_for_update().db)
            list(User.objects.select_for_update())  # runs on the test database (the primary)
        return HttpResponse("ok")

    _middleware(view)(rf.get("/"))
    assert seen == ["default", "default"]


def test_outside_requests_reads_stay_on_the_primary_unless_asked(with_replica):
    assert User.objects.all().db == "default"  # commands read what they are about to change
    with replica_reads():
        assert User.objects.all().db == "replica"
        with pinned_to_primary():
            assert User.objects.all().db == "default"
        assert User.objects.all().db == "replica"
    assert User.objects.all().db == "default"


def test_migrations_only_on_the_primary_and_relations_across_copies(with_replica):
    assert router.allow_migrate("default", "cases") is True
    assert router.allow_migrate("replica", "cases") is False
    one, other = User(username="a"), User(username="b")
    one._state.db, other._state.db = "replica", "default"
    assert with_replica.allow_relation(one, other) is True


def test_state_does_not_leak_between_requests(with_replica, rf):
    def failing(request):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _middleware(failing)(rf.get("/"))
    assert db_router._current.get() is None


# --- settings ------------------------------------------------------------------------------------


def _settings(monkeypatch, tmp_path, **env: str) -> dict:
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL", "DB_POOL", "DB_CONN_MAX_AGE", "DB_POOL_MAX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CITYLOOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_settings_replica_alias_and_pool(monkeypatch, tmp_path):
    values = _settings(monkeypatch, tmp_path, DATABASE_URL="postgres://app@db1:5432/cityloop",
                       DATABASE_REPLICA_URL="postgres://app@db2:5432/cityloop", DB_POOL="1", DB_POOL_MAX_SIZE="6")
    primary, replica = values["DATABASES"]["default"], values["DATABASES"]["replica"]
    assert primary["HOST"] == "db1" and replica["HOST"] == "db2"
    assert replica["TEST"] == {"MIRROR": "default"}
    for database in (primary, replica):
        assert database["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 6, "timeout": 10}
        assert database["CONN_MAX_AGE"] == 0 and database["CONN_HEALTH_CHECKS"] is True
    assert values["DATABASE_ROUTERS"] == ["cityloop.core.db_router.PrimaryReplicaRouter"]


def test_settings_default_is_one_database_without_pool(monkeypatch, tmp_path):
    values = _settings(monkeypatch, tmp_path)
    assert list(values["DATABASES"]) == ["default"]
    assert "pool" not in values["DATABASES"]["default"]["OPTIONS"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DB_POOL": "1"}, "needs PostgreSQL"),
        ({"DB_POOL": "1", "DB_CONN_MAX_AGE": "60", "DATABASE_URL": "postgres://app@db1/cityloop"}, "exclude"),
    ],
)
def test_settings_refuse_pool_misconfiguration(monkeypatch, tmp_path, env, message):
    with pytest.raises(ValueError, match=message):
        _settings(monkeypatch, tmp_path, **env)
