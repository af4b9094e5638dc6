"""Factories for catalogue tests, and a small region chain (geo has no factories of its own yet)."""

from __future__ import annotations

from dataclasses import dataclass

import factory

from cityloop.catalog.models import Category, CategoryKind, Department, DepartmentKind, RoutingRule
from cityloop.catalog.services import pinyin_initials
from cityloop.geo.models import Region, RegionLevel


class MajorCategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{60 + n % 40:02d}")
    name = factory.Sequence(lambda n: f"测试大类{n}")
    kind = CategoryKind.EVENT
    parent = None
    pinyin_initials = factory.LazyAttribute(lambda o: pinyin_initials(o.name))


class MinorCategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category

    parent = factory.SubFactory(MajorCategoryFactory)
    code = factory.Sequence(lambda n: f"{n % 1000:03d}")  # completed with the major's code in _create
    name = factory.Sequence(lambda n: f"测试小类{n}")
    kind = factory.SelfAttribute("parent.kind")
    pinyin_initials = factory.LazyAttribute(lambda o: pinyin_initials(o.name))

    @classmethod
    def _create(cls, model_class: type[Category], *args: object, **kwargs: object) -> Category:
        code = str(kwargs["code"])
        parent = kwargs["parent"]
        if len(code) == 3 and isinstance(parent, Category):
            kwargs["code"] = parent.code + code
        return super()._create(model_class, *args, **kwargs)


class DepartmentFactory(factory.django.DjangoModelFactory[Department]):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n:04d}")
    name = factory.Sequence(lambda n: f"测试处置单位{n}")
    kind = DepartmentKind.MUNICIPAL


class RoutingRuleFactory(factory.django.DjangoModelFactory[RoutingRule]):
    class Meta:
        model = RoutingRule

    department = factory.SubFactory(DepartmentFactory)
    priority = 0


@dataclass
class RegionChain:
    city: Region
    district: Region
    other_district: Region
    street: Region
    community: Region
    other_community: Region


def region_chain() -> RegionChain:
    """济南市 → 历下区 (→ 泉城路街道 → 芙蓉社区, 省府前街社区) and 市中区."""
    city = Region.objects.create(code="370100", name="济南市", level=RegionLevel.CITY)
    district = Region.objects.create(code="370102", name="历下区", level=RegionLevel.DISTRICT, parent=city)
    other = Region.objects.create(code="370103", name="市中区", level=RegionLevel.DISTRICT, parent=city)
    street = Region.objects.create(code="370102001", name="泉城路街道", level=RegionLevel.STREET, parent=district)
    community = Region.objects.create(code="370102001001", name="芙蓉社区", level=RegionLevel.COMMUNITY, parent=street)
    other_community = Region.objects.create(
        code="370102001002", name="省府前街社区", level=RegionLevel.COMMUNITY, parent=street
    )
    return RegionChain(city, district, other, street, community, other_community)
