from __future__ import annotations

import numpy as np
import pytest
import shapely

from cityloop.core.crs import local_metric_transformer
from cityloop.core.errors import ValidationFailed
from cityloop.geo import services
from cityloop.geo.geometry import SLIVER_SHARE, project, square_cells
from cityloop.geo.models import Grid, RegionLevel
from cityloop.geo.tests.factories import GridFactory, RegionFactory
from cityloop.geo.tests.helpers import metric_rect

pytestmark = pytest.mark.django_db

LON0, LAT0 = 117.1, 36.7


@pytest.fixture
def street():
    district = RegionFactory(code="370102", level=RegionLevel.DISTRICT)
    return RegionFactory(code="370102001", level=RegionLevel.STREET, parent=district)


def _community(street, code: str, geometry) -> object:
    return RegionFactory(code=code, level=RegionLevel.COMMUNITY, parent=street, boundary=geometry)


def test_codes_run_west_to_east_then_north_to_south(street):
    # 395 m × 295 m: 4 columns × 3 rows of 100 m, the last column and row 95 m.
    community = _community(street, "370102001001", metric_rect(LON0, LAT0, 395, 295))
    assert services.grids_generate(region=community, size_m=100) == 12
    grids = list(Grid.objects.order_by("code"))
    assert [g.code for g in grids] == [f"370102001001{i:03d}" for i in range(1, 13)]
    centres = np.array([g.boundary.centroid.coords[0] for g in grids])
    first, second, fifth = grids[0], grids[1], grids[4]
    # 001 is the north-west cell.
    assert first.min_lon == pytest.approx(community.min_lon, abs=1e-7)  # within 1 cm
    assert first.max_lat == pytest.approx(community.max_lat, abs=1e-7)
    # 002 is its east neighbour: same row, sharing 001's east edge.
    assert second.min_lon == pytest.approx(first.max_lon, abs=1e-6)
    assert centres[1, 1] == pytest.approx(centres[0, 1], abs=1e-6) and centres[1, 0] > centres[0, 0]
    # 005 starts the second row, south of 001.
    assert centres[4, 0] == pytest.approx(centres[0, 0], abs=1e-6) and fifth.max_lat == pytest.approx(first.min_lat, abs=1e-6)
    # Every row runs west to east, rows north to south.
    rows = centres.reshape(3, 4, 2)
    assert (np.diff(rows[:, :, 0], axis=1) > 0).all() and (np.diff(rows[:, 0, 1]) < 0).all()
    assert first.area_m2 == pytest.approx(10_000, rel=1e-6)
    assert grids[3].area_m2 == pytest.approx(9_500, rel=1e-5)  # the 95 m column
    assert grids[-1].area_m2 == pytest.approx(95 * 95, rel=1e-5)
    assert all(g.is_demo == community.is_demo for g in grids)


def test_cells_are_clipped_to_an_irregular_community_and_cover_it(street):
    transformer = local_metric_transformer(LON0, LAT0)
    blob = shapely.Point(0, 0).buffer(640, 48).union(shapely.box(300, -900, 700, -200))
    community = _community(street, "370102001001", project(blob, transformer, inverse=True))
    count = services.grids_generate(region=community, size_m=100)
    grids = list(Grid.objects.order_by("code"))
    assert count == len(grids) > 100
    union = shapely.union_all([g.boundary for g in grids])
    assert union.symmetric_difference(community.boundary).area / community.boundary.area < 1e-9
    assert sum(g.area_m2 for g in grids) == pytest.approx(community.area_m2, rel=1e-6)
    # Not overlapping: the areas add up to the union, and no cell is a sliver.
    assert sum(g.boundary.area for g in grids) == pytest.approx(union.area, rel=1e-9)
    assert min(g.area_m2 for g in grids) >= SLIVER_SHARE * 100 * 100
    assert all(g.boundary.is_valid and g.boundary.within(community.boundary.buffer(1e-9)) for g in grids)


def test_slivers_are_merged_into_a_neighbour():
    transformer = local_metric_transformer(LON0, LAT0)
    # 300.5 m wide: the last column is a 0.5 m sliver (0.5 % of a cell), merged into its west neighbour.
    rect = project(shapely.box(-150.25, -100, 150.25, 100), transformer, inverse=True)
    plan = square_cells(rect, 100)
    assert len(plan) == 6
    assert sorted(np.round(plan.areas_m2)) == [10_000] * 4 + [10_050] * 2
    assert shapely.union_all(plan.geometries).symmetric_difference(rect).area < 1e-12


def test_a_tiny_community_gets_one_grid():
    rect = metric_rect(LON0, LAT0, 5, 5)
    plan = square_cells(rect, 100)
    assert len(plan) == 1 and plan.areas_m2[0] == pytest.approx(25, rel=1e-6)


def test_more_than_999_cells_asks_for_a_larger_size(street):
    community = _community(street, "370102001001", metric_rect(LON0, LAT0, 3300, 3100))
    with pytest.raises(ValidationFailed, match=r"约 1023 个网格，超过每个社区 999 个.*更大的 --size（建议不小于 110 米）"):
        services.grids_generate(region=community, size_m=100)
    assert Grid.objects.count() == 0
    assert services.grids_generate(region=community, size_m=110) <= 999


def test_whole_region_generation_checks_every_community_first(street):
    _community(street, "370102001001", metric_rect(LON0, LAT0, 400, 400, dx=-1000))
    _community(street, "370102001002", metric_rect(LON0, LAT0, 4000, 4000, dx=3000))
    with pytest.raises(ValidationFailed, match="370102001002"):
        services.grids_generate(region=street.parent, size_m=100)
    assert Grid.objects.count() == 0  # the first community was not written either


def test_existing_grids_need_replace_or_skip(street):
    first = _community(street, "370102001001", metric_rect(LON0, LAT0, 200, 200, dx=-500))
    second = _community(street, "370102001002", metric_rect(LON0, LAT0, 300, 200, dx=500))
    calls = []
    assert services.grids_generate(region=street, progress=lambda *a: calls.append(a)) == 4 + 6
    assert calls[-1] == ("write", 2, 2) and ("plan", 2, 2) in calls
    ids = set(Grid.objects.values_list("id", flat=True))

    with pytest.raises(ValidationFailed, match="2 个社区已有单元网格.*--replace"):
        services.grids_generate(region=street)
    assert set(Grid.objects.values_list("id", flat=True)) == ids

    assert services.grids_generate(region=second, size_m=50, replace=True) == 24
    assert Grid.objects.filter(community=first).count() == 4
    assert Grid.objects.filter(community=second).count() == 24
    assert not ids & set(Grid.objects.filter(community=second).values_list("id", flat=True))

    Grid.objects.filter(community=second).delete()
    assert services.grids_generate(region=street, skip_existing=True) == 6
    assert Grid.objects.count() == 10


def test_replace_refuses_grids_used_by_beats(street):
    from cityloop.geo.tests.factories import ResponsibilityGridFactory

    community = _community(street, "370102001001", metric_rect(LON0, LAT0, 200, 200))
    services.grids_generate(region=community)
    beat = ResponsibilityGridFactory(name="解放路一组")
    beat.grids.set(Grid.objects.all()[:1])
    with pytest.raises(ValidationFailed, match="已编入责任网格（解放路一组）"):
        services.grids_generate(region=community, replace=True)
    assert beat.grids.count() == 1 and Grid.objects.count() == 4


def test_region_without_communities_or_boundaries(street):
    with pytest.raises(ValidationFailed, match="下没有社区"):
        services.grids_generate(region=street)
    RegionFactory(code="370102001001", level=RegionLevel.COMMUNITY, parent=street)
    with pytest.raises(ValidationFailed, match="1 个社区没有边界"):
        services.grids_generate(region=street)
    with pytest.raises(ValidationFailed, match="5 到 10000 米"):
        services.grids_generate(region=street, size_m=0)


def test_generated_grids_replace_factory_ones_only_with_replace(street):
    community = _community(street, "370102001001", metric_rect(LON0, LAT0, 200, 200))
    GridFactory(community=community, code="370102001001001")
    with pytest.raises(ValidationFailed, match="已有单元网格"):
        services.grids_generate(region=community)


def test_long_straight_edges_are_covered_and_measured_honestly(street):
    # A ~3.9 km edge straight in longitude/latitude bows by ~0.2 m in metres: the cells must still cover
    # the community exactly, and its area (densified) must match the cells' (about 400 m² otherwise).
    triangle = shapely.Polygon([(117.0, 36.6), (117.03, 36.6), (117.0, 36.625)])
    community = _community(street, "370102001001", triangle)
    services.grids_generate(region=community)
    grids = [g.boundary for g in Grid.objects.all()]
    union = shapely.union_all(grids)
    assert union.symmetric_difference(triangle).area / triangle.area < 1e-9
    assert sum(g.area_m2 for g in Grid.objects.all()) == pytest.approx(community.area_m2, rel=1e-5)
