"""Browser tests: the real pages in headless Chromium (Playwright's sync API) against pytest-django's live_server.

Fixtures: ``browser`` (one Chromium per module), ``open_page`` (a fresh browser context per user, desktop 1280×800
or phone 360×740, Chinese locale, optional geolocation), ``login`` (through the real login form), ``shot``
(a full-page screenshot under ``artifacts/screenshots/``), and the small test city with its personas.
"""
# ruff: noqa: F811  (the imported fixtures are used as arguments of the ones below)

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cityloop.cases.tests.conftest import City, Personas, city, people  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CITYLOOP_SCREENSHOT_DIR", ROOT / "artifacts" / "screenshots"))
CHROMIUM = os.environ.get("CITYLOOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PASSWORD = "Loop-e2e-2026"
TIMEOUT_MS = 15_000
#: A full-page capture draws the phone pages' fixed bottom tab bar in the middle of a long page; in the
#: screenshot only, it is laid out after the content instead.
FULL_PAGE_STYLE = ".m-tabs { position: static !important; }"


def _unavailable(reason: str) -> None:
    """Skip where the browser is missing; CI installs both, so there a missing browser is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    executable = shutil.which(CHROMIUM)
    if executable is None:
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium fonts-wqy-zenhei)")
    expect.set_options(timeout=TIMEOUT_MS)
    # Playwright's sync API keeps an asyncio loop running in this thread, so Django would refuse ORM calls from
    # the test and its fixtures; allow them for this module only (the pages themselves run in live_server's thread).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()


@pytest.fixture
def fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only: logins stay fast


@pytest.fixture
def users(people: Personas, fast_passwords) -> Personas:
    """The personas with a known password (the city fixture leaves them unusable)."""
    for user in vars(people).values():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return people


class PageProblems:
    """JavaScript errors and failed static files seen by any page of a test."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.items.append(f"{page.url}: JS error {error}"))
        page.on("response", lambda r: self.items.append(f"{r.url}: HTTP {r.status}")
                if "/static/" in r.url and r.status >= 400 else None)


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def open_page(browser, live_server, page_problems: PageProblems) -> Iterator[Callable[..., Any]]:
    """``open_page("desktop" | "phone", geolocation=(lon, lat))`` → a page in a fresh context (own cookies)."""
    contexts: list[Any] = []

    def open_(kind: str = "desktop", *, geolocation: tuple[float, float] | None = None) -> Any:
        options: dict[str, Any] = {
            "base_url": live_server.url, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
            "viewport": PHONE if kind == "phone" else DESKTOP,
        }
        if kind == "phone":
            options.update(is_mobile=True, has_touch=True)
        if geolocation is not None:
            options.update(geolocation={"longitude": geolocation[0], "latitude": geolocation[1], "accuracy": 10},
                           permissions=["geolocation"])
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page_problems.watch(page)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def login(live_server) -> Callable[..., None]:
    """Sign ``user`` in through the login form; lands on ``next_url`` (default: the workbench)."""
    from playwright.sync_api import expect

    def login_(page: Any, user: Any, next_url: str = "") -> None:
        page.goto(f"/login/?next={next_url}" if next_url else "/login/")
        page.get_by_label("用户名", exact=True).fill(user.username)
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page).to_have_url(live_server.url + (next_url or "/"))

    return login_


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """Save a full-page PNG as ``artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot_(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", style=FULL_PAGE_STYLE)
        return path

    return shot_


def jpeg_file(directory: Path, name: str, colour: tuple[int, int, int]) -> Path:
    """A real JPEG (a photo-sized gradient, so the pipeline has something to resize) on disk."""
    from PIL import Image

    image = Image.new("RGB", (640, 480), colour)
    for x in range(0, 640, 8):
        image.paste((x % 256, colour[1], 255 - x % 256), (x, 0, x + 4, 480))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    path = directory / name
    path.write_bytes(buffer.getvalue())
    return path
