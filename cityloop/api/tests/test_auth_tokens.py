"""API tokens: creation, hashing, the command, the token page, bearer and session authentication."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cityloop.api.models import ApiToken
from cityloop.api.services import token_authenticate, token_create, token_revoke
from cityloop.core.errors import PermissionDenied, ValidationFailed


def test_token_is_stored_hashed_with_a_visible_prefix(people):
    token, key = token_create(user=people.operator, name="对接")
    assert key.startswith("cl_") and len(key) > 40
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:10]
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert key not in str(ApiToken.objects.values_list().get(pk=token.pk))
    assert token_authenticate(key=key).user == people.operator


def test_token_needs_a_name_and_can_be_revoked_only_by_its_owner_or_an_admin(people):
    with pytest.raises(ValidationFailed):
        token_create(user=people.operator, name="  ")
    token, key = token_create(user=people.operator, name="对接")
    with pytest.raises(PermissionDenied):
        token_revoke(token=token, by=people.dispatcher)
    token_revoke(token=token, by=people.operator)
    assert token_authenticate(key=key) is None


def test_create_token_command_prints_the_key_once(people):
    out, err = StringIO(), StringIO()
    call_command("create_token", "dispatcher", "--name", "脚本", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert token_authenticate(key=key).user == people.dispatcher
    assert ApiToken.objects.get(user=people.dispatcher).name == "脚本"
    with pytest.raises(CommandError, match="不存在"):
        call_command("create_token", "nobody", stdout=StringIO(), stderr=StringIO())


def test_bearer_token_valid_revoked_missing_and_malformed(people, api_for):
    api = api_for(people.operator)
    assert api.get("/api/v1/me").json()["role"] == "operator"
    token = ApiToken.objects.get(user=people.operator)
    assert token.last_used_at is not None
    token_revoke(token=token, by=people.operator)
    for response in (
        api.get("/api/v1/me"),
        Client().get("/api/v1/me"),
        Client().get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}),
        Client().get("/api/v1/me", headers={"Authorization": "Basic abc"}),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
        assert set(response.json()) == {"code", "message", "details"}


def test_inactive_user_token_is_refused(people, api_for):
    api = api_for(people.operator)
    people.operator.is_active = False
    people.operator.save()
    assert api.get("/api/v1/me").status_code == 401


def test_health_needs_no_authentication(db):
    response = Client().get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_session_works_for_reads_and_needs_csrf_for_writes(people):
    people.operator.set_password("pw-Test-123")
    people.operator.save()
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="operator", password="pw-Test-123")
    assert client.get("/api/v1/me").json()["username"] == "operator"
    refused = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    page = client.get("/api/v1/ui/tokens/")  # sets the CSRF cookie
    csrf = page.cookies["csrftoken"].value
    created = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert created.status_code == 201
    assert created.json()["key"].startswith("cl_")


def test_token_endpoints_list_create_and_revoke_own_tokens_only(people, api_for):
    api = api_for(people.operator)
    created = api.post("/api/v1/tokens", {"name": "第二个"})
    assert created.status_code == 201
    body = created.json()
    listed = api.get("/api/v1/tokens").json()
    assert {t["name"] for t in listed} == {"测试", "第二个"}
    assert all("key" not in t for t in listed)
    other = api_for(people.dispatcher)
    assert other.delete(f"/api/v1/tokens/{body['id']}").status_code == 404
    revoked = api.delete(f"/api/v1/tokens/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert token_authenticate(key=body["key"]) is None
    assert api.post("/api/v1/tokens", {"name": ""}).status_code == 422


def test_token_page_creates_shows_once_and_revokes(people):
    people.dispatcher.set_password("pw-Test-123")
    people.dispatcher.save()
    client = Client()
    assert client.get("/api/v1/ui/tokens/").status_code == 302  # login required
    client.login(username="dispatcher", password="pw-Test-123")
    page = client.post("/api/v1/ui/tokens/", {"name": "小程序"})
    assert page.status_code == 200
    key = page.context["new_key"]
    assert key and key in page.content.decode()
    again = client.get("/api/v1/ui/tokens/")
    assert key not in again.content.decode() and "小程序" in again.content.decode()
    token = ApiToken.objects.get(user=people.dispatcher)
    client.post("/api/v1/ui/tokens/", {"revoke": str(token.pk)})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_lists_tokens_without_keys_and_revokes(people):
    admin = people.operator
    admin.role, admin.is_staff, admin.is_superuser = "admin", True, True
    admin.save()
    token, key = token_create(user=people.dispatcher, name="脚本")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/api/apitoken/")
    assert page.status_code == 200 and "脚本" in page.content.decode() and key not in page.content.decode()
    client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None and token_authenticate(key=key) is None
    assert client.get("/admin/api/open311submission/").status_code == 200


def test_a_citizen_cannot_mint_a_token_but_an_admin_can_grant_one(people, api_for):
    """#19 item 7: a self-minted token would let a citizen report past the portal's limits."""
    from cityloop.core.errors import PermissionDenied

    client = Client()
    client.force_login(people.citizen)
    page = client.post("/api/v1/ui/tokens/", {"name": "小程序"})
    assert page.context["new_key"] is None and "须由管理员发放" in page.content.decode()
    by_session = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert by_session.status_code == 403
    with pytest.raises(PermissionDenied):
        token_create(user=people.citizen, name="自己发", by=people.citizen)
    assert not ApiToken.objects.filter(user=people.citizen).exists()

    admin = people.operator
    admin.role, admin.is_superuser = "admin", True
    admin.save()
    token, _key = token_create(user=people.citizen, name="市民小程序", by=admin)
    assert token.user == people.citizen
