"""The demo's accounts share a published password: the admin and the users are told until it is changed, and the
password rules refuse it (and the city's name) for real accounts (#19 item 9)."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core import checks as django_checks
from django.core.exceptions import ValidationError
from django.urls import reverse

from cityloop.accounts.models import User
from cityloop.demo.data import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def jinan():
    from cityloop.accounts.tests.factories import UserFactory
    from cityloop.geo.models import RegionLevel
    from cityloop.geo.tests.factories import RegionFactory

    RegionFactory(code="370100", name="济南市", level=RegionLevel.CITY)
    return UserFactory(username="dispatcher")


def warnings() -> list[str]:
    return [m.id for m in django_checks.run_checks(tags=["cityloop"], include_deployment_checks=True)]


@pytest.mark.slow
def test_demo_accounts_are_reported_until_their_password_changes(demo, client):
    assert "cityloop.W002" in warnings()
    admin = User.objects.get(username="admin")
    client.force_login(admin)
    text = client.get(reverse("home")).content.decode()
    assert "个账号仍在使用公开过的演示密码" in text and "dispatcher" in text
    client.force_login(User.objects.get(username="dispatcher"))
    assert "您的密码是公开过的演示密码" in client.get(reverse("home")).content.decode()

    for user in User.objects.exclude(username="dispatcher"):
        user.set_password("一个足够长的新密码-7a1")
        user.save()

    assert "cityloop.W002" in warnings()  # the dispatcher still has it
    dispatcher = User.objects.get(username="dispatcher")
    dispatcher.set_password("另一个足够长的密码-9b2")
    dispatcher.save()
    assert "cityloop.W002" not in warnings()
    client.force_login(admin)
    assert "公开过的演示密码" not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("password", [DEMO_PASSWORD, "jinan2026", "Jinan@2026!x", "济南城管2026abc", "12345678901"])
def test_weak_published_and_city_passwords_are_refused(jinan, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=jinan)


def test_a_long_unrelated_password_is_accepted(jinan):
    validate_password("雨后街灯-照着-7Q2x", user=jinan)
