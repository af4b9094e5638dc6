from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cityloop.core.crs import local_metric_transformer, wgs84_to_gcj02
from cityloop.core.errors import OutsideCity, ValidationFailed
from cityloop.geo import lookup, selectors, services
from cityloop.geo.geometry import project, square_cells
from cityloop.geo.lookup import GridIndex, get_grid_index
from cityloop.geo.models import Grid, GridSetVersion, RegionLevel
from cityloop.geo.tests.factories import GridFactory, RegionFactory, square
from cityloop.geo.tests.helpers import metric_rect

S = 0.001


@pytest.fixture
def chain(db):
    city = RegionFactory(code="370100", name="济南市", level=RegionLevel.CITY, boundary=square(116.9, 36.5, 0.3))
    district = RegionFactory(code="370102", name="历下区", level=RegionLevel.DISTRICT, parent=city,
                             boundary=square(117.0, 36.6, 0.1))
    street = RegionFactory(code="370102001", name="解放路街道", level=RegionLevel.STREET, parent=district,
                           boundary=square(117.0, 36.6, 0.01))
    community = RegionFactory(code="370102001001", name="甲社区", level=RegionLevel.COMMUNITY, parent=street,
                              boundary=square(117.0, 36.6, 2 * S))
    return city, district, street, community


@pytest.fixture
def four_grids(chain):
    """2 × 2 grids of 0.001° sharing edges at lon 117.001 and lat 36.601; codes deliberately not in lattice order."""
    community = chain[3]
    codes = {(0, 0): "003", (1, 0): "004", (0, 1): "001", (1, 1): "002"}  # (column, row from the south) → sequence
    return {
        key: GridFactory(community=community, code=f"{community.code}{seq}",
                         boundary=square(117.0 + key[0] * S, 36.6 + key[1] * S, S))
        for key, seq in codes.items()
    }


def test_point_inside_gives_grid_and_region_chain(four_grids, chain, django_assert_max_num_queries):
    city, district, street, community = chain
    get_grid_index()  # built once per process; the lookup itself costs one query
    with django_assert_max_num_queries(1):
        location = selectors.locate_point(lon=117.0005, lat=36.6005)
        assert location.grid.code == "370102001001003"
        assert (location.community, location.street, location.district, location.city) == (community, street, district, city)
        assert [r.code for r in location.regions] == ["370100", "370102", "370102001", "370102001001"]
        assert location.grid.community.parent.parent.parent == city
    assert selectors.region_chain(community) == [city, district, street, community]
    assert selectors.region_chain(Grid.objects.get(code="370102001001002").community) == [city, district, street, community]


def test_other_coordinate_systems_are_converted(four_grids):
    lon, lat = wgs84_to_gcj02(117.0005, 36.6015)
    location = selectors.locate_point(lon=float(lon), lat=float(lat), crs="gcj02")
    assert location.grid.code == "370102001001001"
    assert location.lon == pytest.approx(117.0005) and location.lat == pytest.approx(36.6015)


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (117.001, 36.6005, "003"),  # edge between 003 (west) and 004 (east)
        (117.001, 36.6015, "001"),  # edge between 001 and 002
        (117.0005, 36.601, "001"),  # edge between 003 (south) and 001 (north)
        (117.0015, 36.601, "002"),  # edge between 004 and 002
        (117.001, 36.601, "001"),  # corner shared by all four
        (117.0, 36.601, "001"),  # outer corner of 003 and 001
    ],
)
def test_shared_edges_and_corners_get_the_smallest_code(four_grids, lon, lat, expected):
    assert sum(bool(shapely.intersects_xy(g.boundary, lon, lat)) for g in four_grids.values()) >= 2  # really shared
    codes = {selectors.locate_point(lon=lon, lat=lat).grid.code for _ in range(5)}
    assert codes == {f"370102001001{expected}"}
    index = get_grid_index()
    batch = index.locate_many(np.full(7, lon), np.full(7, lat))
    assert {index.codes[i] for i in batch} == {f"370102001001{expected}"}
    assert index.locate_many_strtree([lon], [lat])[0] == batch[0] == index.locate_one(lon, lat)


def test_outside_every_grid(four_grids):
    for lon, lat in [(117.0021, 36.6005), (116.0, 36.0), (0.0, 0.0)]:
        with pytest.raises(OutsideCity, match="该位置不在本市任何单元网格内"):
            selectors.locate_point(lon=lon, lat=lat)
    with pytest.raises(ValidationFailed, match="经纬度"):
        selectors.locate_point(lon=float("nan"), lat=36.6)


def test_no_grids_at_all(db):
    with pytest.raises(OutsideCity):
        selectors.locate_point(lon=117.0, lat=36.6)
    assert len(get_grid_index()) == 0
    assert get_grid_index().locate_many([117.0], [36.6]).tolist() == [-1]


def test_cached_index_is_rebuilt_after_grids_change(chain, django_capture_on_commit_callbacks):
    street = chain[2]
    community = RegionFactory(code="370102001002", level=RegionLevel.COMMUNITY, parent=street,
                              boundary=metric_rect(117.1, 36.7, 300, 300))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.grids_generate(region=community)
    assert callbacks  # the reset also runs when the transaction commits
    first = get_grid_index()
    assert len(first) == 9 and get_grid_index() is first
    point = metric_rect(117.1, 36.7, 1, 1).centroid

    services.grids_generate(region=community, size_m=50, replace=True)
    second = get_grid_index()
    assert second is not first and len(second) == 36
    assert selectors.locate_point(lon=point.x, lat=point.y).grid.code.startswith("370102001002")

    # Another process changed the grids: noticed at the next check, even without our reset.
    Grid.objects.filter(community=community).delete()
    GridSetVersion.objects.update(token="written-elsewhere")
    assert get_grid_index() is second  # checked less than CHECK_SECONDS ago
    lookup._checked_at = 0.0  # time passes
    third = get_grid_index()
    assert third is not second and len(third) == 0


def test_bypassing_writes_are_noticed_by_count_and_id(chain, settings):
    settings.CITYLOOP_GRID_INDEX_CHECK_SECONDS = 0
    community = chain[3]
    first = get_grid_index()
    Grid.objects.create(code=f"{community.code}001", community=community)  # no boundary: not indexed
    second = get_grid_index()
    assert second is not first
    assert get_grid_index() is second  # nothing changed since


def test_stale_index_pointing_at_a_deleted_grid_is_rebuilt(four_grids):
    get_grid_index()
    Grid.objects.filter(code="370102001001003").delete()  # behind the index's back
    with pytest.raises(OutsideCity):
        selectors.locate_point(lon=117.0005, lat=36.6005)


def _irregular_index() -> tuple[GridIndex, shapely.Geometry]:
    """Grids cut from an irregular community (shared edges, clipped cells, merged slivers)."""
    transformer = local_metric_transformer(117.1, 36.7)
    blob = shapely.Point(0, 0).buffer(420, 12).difference(shapely.box(-60, -60, 90, 70))
    boundary = project(blob, transformer, inverse=True)
    plan = square_cells(boundary, 100)
    n = len(plan)
    codes = [f"370102001001{i:03d}" for i in range(n, 0, -1)]  # reversed: the index must sort them
    return GridIndex(codes=codes, ids=np.arange(n) + 10, community_ids=np.ones(n), geometries=plan.geometries), boundary


INDEX, BOUNDARY = _irregular_index()
VERTICES = shapely.get_coordinates(INDEX.geometries)
MIN_LON, MIN_LAT, MAX_LON, MAX_LAT = BOUNDARY.bounds

coordinate_pairs = st.one_of(
    st.tuples(st.floats(MIN_LON - 0.001, MAX_LON + 0.001), st.floats(MIN_LAT - 0.001, MAX_LAT + 0.001)),
    st.sampled_from([tuple(v) for v in VERTICES]),  # exact vertices: on edges shared by up to four grids
    st.builds(
        lambda i, t: tuple(VERTICES[i] + t * (VERTICES[i + 1] - VERTICES[i])),
        st.integers(0, len(VERTICES) - 2), st.sampled_from([0.25, 0.5, 0.75]),
    ),
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(coordinate_pairs, min_size=1, max_size=40))
def test_batch_equals_single_equals_strtree(points):
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    batch = INDEX.locate_many(lons, lats)
    assert batch.tolist() == [INDEX.locate_one(lon, lat) for lon, lat in points]
    assert batch.tolist() == INDEX.locate_many_strtree(lons, lats).tolist()


def test_batch_on_many_random_points_matches_reference_and_boundary():
    rng = np.random.default_rng(7)
    lons = rng.uniform(MIN_LON - 0.001, MAX_LON + 0.001, 20_000)
    lats = rng.uniform(MIN_LAT - 0.001, MAX_LAT + 0.001, 20_000)
    found = INDEX.locate_many(lons, lats)
    assert np.array_equal(found, INDEX.locate_many_strtree(lons, lats))
    inside = shapely.contains_xy(BOUNDARY, lons, lats)
    assert np.array_equal(found >= 0, inside)  # the grids cover the community exactly
    assert list(INDEX.codes) == sorted(INDEX.codes)


def test_regions_and_grids_geojson(four_grids, chain):
    data = selectors.regions_geojson(level="community")
    assert data["type"] == "FeatureCollection"
    [community] = data["features"]
    assert community["id"] == "370102001001"
    assert community["properties"]["name"] == "甲社区" and community["properties"]["parent"] == "370102001"
    assert community["geometry"]["type"] == "Polygon"
    assert selectors.regions_geojson(level="district", bbox=(100.0, 20.0, 101.0, 21.0))["features"] == []
    assert len(selectors.regions_geojson(level="district", bbox=(117.05, 36.65, 117.06, 36.66))["features"]) == 1
    with pytest.raises(ValidationFailed, match="未知的区划级别"):
        selectors.regions_geojson(level="province")
    with pytest.raises(ValidationFailed, match="bbox"):
        selectors.regions_geojson(level="district", bbox=(2.0, 2.0, 1.0, 1.0))

    grids = selectors.grids_geojson((117.0, 36.6, 117.0009, 36.6009))
    assert [f["id"] for f in grids["features"]] == ["370102001001003"]
    assert grids["features"][0]["properties"]["community_name"] == "甲社区"
    assert len(selectors.grids_geojson((117.0, 36.6, 117.002, 36.602))["features"]) == 4
    assert selectors.locate_points([117.0005, 116.0], [36.6005, 36.0]) == ["370102001001003", None]
