"""Public photo variants are served (originals never), notifications are listed and marked read."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cityloop.cases.photos import photo_store
from cityloop.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_public_variant_is_served_and_the_original_is_not(client, jpeg_bytes):
    stored = photo_store(data=jpeg_bytes)
    response = client.get(f"/media/{stored.public_path}")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert "immutable" in response["Cache-Control"]
    # The original (with its EXIF and GPS) lives next to it but has no URL.
    assert client.get(f"/media/{stored.original_path}").status_code == 404
    relative = stored.original_path.removeprefix("photos/")
    assert client.get(f"/media/photos/public/../{relative}").status_code == 404
    assert client.get("/media/photos/public/%2e%2e/" + relative).status_code == 404
    assert client.get("/media/photos/public/ab/cd/missing.jpg").status_code == 404
    assert client.get("/media/photos/public/ab/cd/x.heic").status_code == 404


def _notify(user, title, link="/cases/1/"):
    return Notification.objects.create(recipient=user, kind="case_dispatched", title=title, body="正文<b>粗</b>",
                                       link=link)


def test_unread_badge_and_notification_page(client, people):
    first = _notify(people.handler_a, "新派遣案卷 2026000001")
    _notify(people.handler_a, "新派遣案卷 2026000002")
    _notify(people.handler_b, "别人的通知")
    client.force_login(people.handler_a)
    home = client.get(reverse("home")).content.decode()
    assert 'id="unread-badge">2<' in home
    text = client.get(reverse("notifications")).content.decode()
    assert "新派遣案卷 2026000001" in text and "别人的通知" not in text
    assert "正文&lt;b&gt;粗&lt;/b&gt;" in text
    response = client.post(reverse("notifications-read"), {"ids": [first.pk]}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'hx-swap-oob="true"' in body and ">1<" in body
    first.refresh_from_db()
    assert first.is_read
    response = client.post(reverse("notifications-read"), {"all": "1"})
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=people.handler_a, read_at__isnull=True).exists()
    assert 'id="unread-badge" hidden' in client.get(reverse("home")).content.decode()


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, people):
    note = _notify(people.operator, "案卷更新", link="/cases/42/")
    other = _notify(people.dispatcher, "不是你的")
    client.force_login(people.operator)
    response = client.get(reverse("notification-open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == "/cases/42/"
    note.refresh_from_db()
    assert note.is_read
    assert client.get(reverse("notification-open", args=[other.pk])).status_code == 404


def test_menu_has_the_pages(client, people):
    client.force_login(people.operator)
    text = client.get(reverse("home")).content.decode()
    for label, url in (("工作台", "/"), ("案卷", "/cases/"), ("一张图", "/map/"), ("通知", "/notifications/")):
        assert f'href="{url}"' in text and label in text
    assert reverse("admin:index") not in text
