"""Factories for regions and grids with small square boundaries (WGS-84), for tests of every app.

``boundary`` accepts a shapely geometry or a ``(min_lon, min_lat, max_lon, max_lat)`` box; the
WKB, bounding box and area columns are filled from it. ``GridFactory`` records the change like
the geo services do, so the cached grid index never serves grids from an earlier test.
"""

from __future__ import annotations

from typing import Any

import factory
import shapely

from cityloop.geo.geometry import boundary_fields
from cityloop.geo.models import Grid, GridLevel, Region, RegionLevel, ResponsibilityGrid


def box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> shapely.Geometry:
    return shapely.box(min_lon, min_lat, max_lon, max_lat)


def square(lon: float, lat: float, size: float = 0.001) -> shapely.Geometry:
    """A square of ``size`` degrees with its south-west corner at (lon, lat)."""
    return shapely.box(lon, lat, lon + size, lat + size)


def _with_boundary(kwargs: dict[str, Any]) -> dict[str, Any]:
    boundary = kwargs.pop("boundary", None)
    if boundary is not None:
        geometry = shapely.box(*boundary) if isinstance(boundary, tuple | list) else boundary
        kwargs.update(boundary_fields(geometry))
    return kwargs


def _region_code(obj: Any, n: int) -> str:
    seq = n % 999 + 1
    if obj.level == RegionLevel.CITY:
        return "370100"
    if obj.level == RegionLevel.DISTRICT:
        return f"3701{n % 89 + 10:02d}"
    if obj.level == RegionLevel.STREET:
        return f"{obj.parent.code if obj.parent else '370102'}{seq:03d}"
    return f"{obj.parent.code if obj.parent else '370102001'}{seq:03d}"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    level = RegionLevel.COMMUNITY
    parent = None
    code = factory.LazyAttributeSequence(_region_code)
    name = factory.LazyAttributeSequence(lambda o, n: f"测试{RegionLevel(o.level).label}{n}")
    boundary = None

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        return _with_boundary(kwargs)


def _grid_code(obj: Any, n: int) -> str:
    return f"{obj.community.code}{n % 999 + 1:03d}"


def _grid_boundary(obj: Any, n: int) -> shapely.Geometry:
    # Disjoint 0.001° squares on a 100 × 100 lattice near 济南, so default grids never overlap.
    return square(117.5 + (n % 100) * 0.002, 36.5 + (n // 100 % 100) * 0.002)


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    community = factory.SubFactory(RegionFactory, level=RegionLevel.COMMUNITY)
    code = factory.LazyAttributeSequence(_grid_code)
    management_level = GridLevel.A
    boundary = factory.LazyAttributeSequence(_grid_boundary)

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        return _with_boundary(kwargs)

    @factory.post_generation
    def _record_change(obj: Grid, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            from cityloop.geo.services import grids_changed

            grids_changed()


class ResponsibilityGridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponsibilityGrid
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"ZR{n:04d}")
    name = factory.Sequence(lambda n: f"责任网格{n}")
