import pytest
from django.urls import reverse

from cityloop.accounts.models import Role
from cityloop.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_speaks_chinese_by_default(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    text = response.content.decode()
    assert '<html lang="zh-CN">' in text
    assert "登录" in text and "用户名" in text
    assert '<label for="id_username">' in text and '<label for="id_password">' in text


def test_login_page_in_english_on_request(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en">' in response.content.decode()


def test_workbench_needs_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_user_logs_in_and_sees_workbench_with_role(client):
    UserFactory(username="op", role=Role.OPERATOR, last_name="李", first_name="晓梅")
    response = client.post(reverse("login"), {"username": "op", "password": "pw-Secret-123"}, follow=True)
    text = response.content.decode()
    assert "工作台" in text and "李晓梅" in text and "受理员" in text
    # The admin menu is for admins only.
    assert reverse("admin:index") not in text


def test_wrong_password_gets_a_clear_message(client):
    UserFactory(username="op")
    response = client.post(reverse("login"), {"username": "op", "password": "wrong"})
    assert "用户名或密码不正确" in response.content.decode()


def test_admin_sees_admin_menu(client):
    admin = UserFactory(username="adm", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert reverse("admin:index") in client.get(reverse("home")).content.decode()


def test_regions_layer_rejects_bad_bbox(client):
    client.force_login(UserFactory())
    response = client.get(reverse("regions-geojson"), {"bbox": "1,2,x"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(("role", "shown"), [
    (Role.LEADER, True),
    (Role.SHIFT_LEADER, True),
    (Role.DISPATCHER, True),
    (Role.HANDLER, True),  # the evaluation pages show a handler their own departments' rows
    (Role.OPERATOR, True),  # and operators and inspectors their own row
    (Role.INSPECTOR, True),
    (Role.CITIZEN, False),
])
def test_evaluation_menu_link_only_for_roles_that_may_view_it(client, role, shown):
    client.force_login(UserFactory(username=f"u-{role}", role=role))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    text = response.content.decode()
    link = f'<a href="{reverse("evaluation:index")}"'
    assert (link in text) is shown
    assert ("综合评价" in text) is shown
    if shown:  # the link leads to a page the user may open
        assert client.get(reverse("evaluation:index")).status_code == 200
    else:
        assert client.get(reverse("evaluation:index")).status_code == 403


def test_evaluation_menu_link_is_marked_current_on_the_evaluation_pages(client):
    client.force_login(UserFactory(username="boss", role=Role.LEADER))
    text = client.get(reverse("evaluation:negative")).content.decode()
    assert f'<a href="{reverse("evaluation:index")}" aria-current="page">综合评价</a>' in text


def test_every_signed_in_user_finds_the_api_token_page_in_the_header(client):
    client.force_login(UserFactory(username="desk", role=Role.OPERATOR))
    text = client.get(reverse("home")).content.decode()
    assert f'<a href="{reverse("api-tokens")}">API 令牌</a>' in text
    assert client.get(reverse("api-tokens")).status_code == 200
