"""The small city and personas of the case tests, plus helpers for the phone pages."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from cityloop.cases import services
from cityloop.cases.models import Case
from cityloop.cases.statuses import Source
from cityloop.cases.tests.conftest import City, Personas, city, jpeg_bytes, people  # noqa: F401  (fixtures)
from cityloop.catalog.models import Category
from cityloop.catalog.services import pinyin_initials


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters and cached map data must not leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def catalogue(city: City) -> City:  # noqa: F811
    """The test city's categories with their pinyin initials (the fixture creates them without)."""
    for category in Category.objects.all():
        Category.objects.filter(pk=category.pk).update(pinyin_initials=pinyin_initials(category.name))
    return city


def jpeg(name: str = "photo.jpg", colour: tuple[int, int, int] = (200, 80, 40)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def public_case(city: City, *, phone: str = "13912345678", grid: int = 0, description: str = "垃圾堆积",  # noqa: F811
                **kwargs) -> Case:
    lon, lat = city.point(grid)
    return services.case_report(
        source=Source.PUBLIC, category=city.garbage, description=description, lon=lon, lat=lat,
        reporter_name="张三", reporter_phone=phone, **kwargs,
    ).case


def inspector_case(city: City, people: Personas, *, grid: int = 0, **kwargs) -> Case:  # noqa: F811
    lon, lat = city.point(grid)
    return services.case_report(
        source=Source.INSPECTOR, category=city.manhole, description="井盖缺失", lon=lon, lat=lat,
        reporter=people.inspector, **kwargs,
    ).case


def verifying(city: City, people: Personas, inspector=None, **kwargs) -> Case:  # noqa: F811
    case = public_case(city, **kwargs)
    return services.case_send_verify(case=case, actor=people.operator, inspector=inspector or people.inspector)


def checking(city: City, people: Personas, inspector=None, **kwargs) -> Case:  # noqa: F811
    case = inspector_case(city, people, **kwargs)
    services.case_register(case=case, actor=people.operator)
    services.case_dispatch(case=case, actor=people.dispatcher)
    services.case_handle(case=case, actor=people.handler_a, note="已更换井盖")
    return services.case_send_check(case=case, actor=people.operator, inspector=inspector or people.inspector)


def closed(city: City, people: Personas, **kwargs) -> Case:  # noqa: F811
    case = public_case(city, **kwargs)
    services.case_send_verify(case=case, actor=people.operator, inspector=people.inspector)
    services.case_verify(case=case, actor=people.inspector, valid=True)
    services.case_register(case=case, actor=people.operator)
    services.case_dispatch(case=case, actor=people.dispatcher)
    services.case_handle(case=case, actor=people.handler_b, note="垃圾已清运")
    services.case_send_check(case=case, actor=people.operator, inspector=people.inspector)
    services.case_check(case=case, actor=people.inspector, passed=True)
    return services.case_close(case=case, actor=people.shift_leader)


def days_ago(n: int):
    return timezone.now() - timedelta(days=n)


def unlabelled_fields(html: str) -> list[str]:
    """Form controls (not hidden, not buttons) with neither a <label for=…> nor a wrapping <label>."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.label_depth = 0
            self.label_for: set[str] = set()
            self.controls: list[tuple[str, bool]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "label":
                self.label_depth += 1
                if a.get("for"):
                    self.label_for.add(str(a["for"]))
            elif tag in ("input", "textarea", "select") and a.get("type") not in ("hidden", "submit", "button"):
                self.controls.append((str(a.get("id") or a.get("name")), self.label_depth > 0))

        def handle_endtag(self, tag: str) -> None:
            if tag == "label":
                self.label_depth -= 1

    parser = Parser()
    parser.feed(html)
    return [name for name, wrapped in parser.controls if not wrapped and name not in parser.label_for]
