from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client

from cityloop.catalog.models import (
    Category,
    Department,
    LegacyCategoryCode,
    RoutingRule,
    StageLimit,
    TimeLimit,
)
from cityloop.catalog.selectors import route_case
from cityloop.catalog.services import routing_rule_upsert, time_limit_set
from cityloop.catalog.tests.factories import DepartmentFactory, MajorCategoryFactory, MinorCategoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("cityloop.catalog.tests.admin_urls")]

MODELS: list[type[Model]] = [Category, LegacyCategoryCode, TimeLimit, StageLimit, Department, RoutingRule]


def test_the_admin_classes_pass_djangos_checks() -> None:
    for model in MODELS:
        assert admin.site.is_registered(model)
        assert admin.site._registry[model].check() == []


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelists_and_add_pages_load(admin_client: Client, model: type[Model]) -> None:
    major = MajorCategoryFactory.create(code="01", name="市政公用设施")
    minor = MinorCategoryFactory.create(parent=major, code="01001", name="供水井盖")
    time_limit_set(category=minor, urgency="normal", value=1, unit="work_day")
    routing_rule_upsert(category=minor, department=DepartmentFactory.create())
    name = model._meta.model_name
    assert admin_client.get(f"/admin/catalog/{name}/").status_code == 200
    assert admin_client.get(f"/admin/catalog/{name}/add/").status_code == 200


def test_category_changelist_shows_limits_and_filters_by_major(admin_client: Client) -> None:
    major = MajorCategoryFactory.create(code="06", name="市容环境类")
    minor = MinorCategoryFactory.create(parent=major, code="06010", name="暴露垃圾")
    time_limit_set(category=minor, urgency="normal", value=1, unit="work_day")
    page = admin_client.get(f"/admin/catalog/category/?major={major.pk}").content.decode()
    assert "暴露垃圾" in page
    assert "一般 1工作日" in page
    assert admin_client.get("/admin/catalog/category/?q=bllj").content.decode().count("06010") >= 1


def test_saving_a_rule_in_the_admin_refreshes_routing(admin_client: Client) -> None:
    category = MinorCategoryFactory.create()
    fallback, water = DepartmentFactory.create(name="兜底单位"), DepartmentFactory.create(name="水务")
    routing_rule_upsert(department=fallback)
    assert route_case(category=category, region=None).department == fallback
    response = admin_client.post(
        "/admin/catalog/routingrule/add/",
        {"category": category.pk, "region": "", "department": water.pk, "priority": 0, "note": "", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert route_case(category=category, region=None).department == water
    rule = RoutingRule.objects.get(department=water)
    response = admin_client.post(f"/admin/catalog/routingrule/{rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert route_case(category=category, region=None).department == fallback


def test_saving_a_category_in_the_admin_sets_its_pinyin(admin_client: Client) -> None:
    major = MajorCategoryFactory.create(code="01", name="市政公用设施", kind="component")
    response = admin_client.post(
        "/admin/catalog/category/add/",
        {
            "code": "01099",
            "name": "智能井盖",
            "kind": "component",
            "parent": major.pk,
            "source": "",
            "is_active": "on",
            "time_limits-TOTAL_FORMS": "0",
            "time_limits-INITIAL_FORMS": "0",
            "time_limits-MIN_NUM_FORMS": "0",
            "time_limits-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Category.objects.get(code="01099").pinyin_initials == "znjg"
