"""The English UI: msgids are the Chinese strings, English comes from locale/en/LC_MESSAGES/django.po (and .mo)."""

from __future__ import annotations

import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from cityloop.accounts.services import user_upsert

pytestmark = pytest.mark.django_db

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
PASSWORD = "pw-Secret-123"


class _Text(HTMLParser):
    """Visible text of a page (no script/style), and the text of each <label>."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.labels: list[str] = []
        self._skip = 0
        self._label: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "label":
            self._label = []

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "label" and self._label is not None:
            self.labels.append("".join(self._label).strip())
            self._label = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._label is not None:
            self._label.append(data)


def page_text(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def chinese_in(text: str, *, allowed: tuple[str, ...] = ()) -> list[str]:
    for ok in allowed:
        text = text.replace(ok, "")
    return sorted({m.group(0) for m in re.finditer(r"[^\s<>]*[\u3400-\u9fff][^\s<>]*", text)})


@pytest.fixture
def operator():
    return user_upsert(username="op-en", role="operator", password=PASSWORD)


def test_login_page_in_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    page = page_text(html)
    assert "Log in" in html and "Username" in page.labels and "Password" in page.labels
    assert page.labels and not any(CJK.search(label) for label in page.labels), page.labels
    # The language menu names Chinese in Chinese; nothing else on the page is Chinese.
    assert chinese_in("".join(page.text), allowed=("简体中文",)) == []


def test_wrong_password_message_in_english(client, operator):
    response = client.post(reverse("login"), {"username": "op-en", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Incorrect username or password" in response.content.decode()


def test_logged_in_user_sees_the_workbench_in_english(client, operator):
    response = client.post(reverse("login"), {"username": "op-en", "password": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    for english in ("Workbench", "Cases", "City map", "Notifications", "Log out", "Hello,"):
        assert english in html, english
    for chinese in ("工作台", "一张图", "通知", "退出", "您好", "我的待办"):
        assert chinese not in html, chinese
    # Only the role label (a choice label that is not yet marked for translation) may stay Chinese.
    text = "".join(page_text(html).text)
    assert chinese_in(text, allowed=("简体中文", operator.get_role_display())) == []


def test_set_language_switches_the_following_pages(client, operator):
    client.force_login(operator)
    assert "工作台" in client.get(reverse("home")).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    html = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in html and "Workbench" in html and "工作台" not in html
    html = client.get(reverse("case-list")).content.decode()
    assert "Filter cases" in html and "筛选案卷" not in html
    # and back to Chinese
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("home")})
    html = client.get(reverse("home")).content.decode()
    assert '<html lang="zh-CN">' in html and "工作台" in html


def test_default_stays_chinese(client, operator):
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="zh-CN">' in html and "登录" in html and "Log in" not in html
    client.force_login(operator)
    html = client.get(reverse("home")).content.decode()
    assert "工作台" in html and "Workbench" not in html


# --- the catalog ----------------------------------------------------------------------------------------


def parse_po(path: Path) -> list[dict]:
    """The live (not obsolete) entries of a .po file: msgid, msgid_plural, msgstr(s), flags."""
    entries: list[dict] = []
    entry: dict | None = None
    key = ""
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry is not None and "msgid" in entry:
                entries.append(entry)
            entry = None
            continue
        if line.startswith("#~"):
            continue
        entry = entry if entry is not None else {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(key, int):
                entry["msgstr"][key] += value
            else:
                entry[key] += value
        else:
            word, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if word.startswith("msgstr"):
                key = int(word[7:-1]) if word.startswith("msgstr[") else 0
                entry["msgstr"][key] = value
            else:
                key = word
                entry[key] = value
    return [e for e in entries if e["msgid"] != ""]


def untranslated(entries: list[dict]) -> list[str]:
    return [e["msgid"] for e in entries
            if "fuzzy" in e["flags"] or not e["msgstr"] or not all(e["msgstr"].values())]


def test_po_parser_reads_plurals_fuzzy_and_obsolete(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr "Language: en\\n"\n\n'
        'msgid "a"\nmsgstr "A"\n\n'
        '#, fuzzy\nmsgid "b"\nmsgstr "B"\n\n'
        'msgid "c"\nmsgid_plural "c"\nmsgstr[0] "C"\nmsgstr[1] ""\n\n'
        'msgid ""\n"d"\nmsgstr ""\n"D"\n\n'
        'msgid "e"\nmsgstr ""\n\n'
        '#~ msgid "f"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    entries = parse_po(po)
    assert [e["msgid"] for e in entries] == ["a", "b", "c", "d", "e"]
    assert untranslated(entries) == ["b", "c", "e"]


def test_every_string_is_translated():
    entries = parse_po(LC_MESSAGES / "django.po")
    assert len(entries) > 400
    missing = untranslated(entries)
    assert len(missing) == 0, (
        f"{len(missing)} untranslated (empty or fuzzy) strings in locale/en/LC_MESSAGES/django.po: "
        f"{missing[:20]}{' …' if len(missing) > 20 else ''}"
    )


def test_compiled_catalog_matches_the_po():
    """django.mo is committed (machines without gettext get English too): it must be compiled from this .po."""
    with (LC_MESSAGES / "django.mo").open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    stale = []
    for e in parse_po(LC_MESSAGES / "django.po"):
        if "fuzzy" in e["flags"]:
            continue
        if "msgid_plural" in e:
            if any(catalog.get((e["msgid"], i)) != s for i, s in e["msgstr"].items() if s):
                stale.append(e["msgid"])
        elif e["msgstr"][0] and catalog.get(e["msgid"]) != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert not stale, f"{len(stale)} strings differ in django.mo; run `cityloop compilemessages -l en`: {stale[:10]}"


def test_placeholders_survive_translation():
    pattern = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")
    wrong = []
    for e in parse_po(LC_MESSAGES / "django.po"):
        want = set(pattern.findall(e["msgid"]))
        for text in e["msgstr"].values():
            if text and set(pattern.findall(text)) != want:
                wrong.append((e["msgid"], text))
    assert not wrong, wrong
