"""Every form field on the staff pages has a label; lights and statuses are words, not colour alone."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SKIP_TYPES = {"hidden", "submit", "button"}


class Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.fields: list[dict[str, str | None]] = []
        self.in_label = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and (a.get("type") or "") not in SKIP_TYPES:
            self.fields.append({**a, "_wrapped": "1" if self.in_label else None, "_tag": tag})

    def handle_endtag(self, tag):
        if tag == "label":
            self.in_label -= 1


def unlabelled(html: str) -> list[dict]:
    parser = Fields()
    parser.feed(html)
    return [f for f in parser.fields if not f["_wrapped"] and f.get("id") not in parser.label_for]


def test_every_field_has_a_label(client, people, loop):
    pages = [
        (people.dispatcher, reverse("home")),
        (people.dispatcher, reverse("case-list")),
        (people.dispatcher, reverse("case-detail", args=[loop.registered.pk])),
        (people.dispatcher, reverse("case-detail", args=[loop.pending.pk])),
        (people.operator, reverse("case-detail", args=[loop.reported.pk])),
        (people.handler_a, reverse("case-detail", args=[loop.dispatched_a.pk])),
        (people.inspector, reverse("case-detail", args=[loop.verifying.pk])),
        (people.shift_leader, reverse("case-detail", args=[loop.to_close.pk])),
        (people.operator, reverse("map")),
        (people.operator, reverse("notifications")),
    ]
    for user, url in pages:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        assert unlabelled(response.content.decode()) == [], url
    client.logout()
    assert unlabelled(client.get(reverse("login")).content.decode()) == []


def test_pages_render_in_english_too(client, people, loop):
    client.force_login(people.dispatcher)
    for url in (reverse("home"), reverse("case-list"), reverse("case-detail", args=[loop.pending.pk]), reverse("map"),
                reverse("notifications")):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200 and '<html lang="en">' in response.content.decode()
