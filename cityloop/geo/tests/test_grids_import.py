from __future__ import annotations

import pytest
import shapely

from cityloop.core.errors import ImportFailed
from cityloop.geo import services
from cityloop.geo.models import Grid, GridLevel, RegionLevel
from cityloop.geo.tests.factories import GridFactory, RegionFactory, square
from cityloop.geo.tests.helpers import feature, snapshot, write_geojson

pytestmark = pytest.mark.django_db

C1 = "370102001001"
C2 = "370102001002"
S = 0.001  # grid size in degrees (~90 × 111 m)


@pytest.fixture
def communities():
    street = RegionFactory(code="370102001", level=RegionLevel.STREET)
    return (
        RegionFactory(code=C1, level=RegionLevel.COMMUNITY, parent=street, boundary=square(117.0, 36.6, 2 * S)),
        RegionFactory(code=C2, level=RegionLevel.COMMUNITY, parent=street, boundary=square(117.002, 36.6, 2 * S)),
    )


def _two_by_two(community: str = C1, lon: float = 117.0) -> list[dict]:
    return [
        feature(square(lon + c * S, 36.6 + (1 - r) * S, S), code=f"{community}{r * 2 + c + 1:03d}")
        for r in range(2)
        for c in range(2)
    ]


def test_grids_import_by_code_prefix_with_levels(tmp_path, communities):
    features = _two_by_two()
    features[0]["properties"]["等级"] = "二类"
    features[1]["properties"]["等级"] = "C"
    path = write_geojson(tmp_path / "grids.geojson", features)
    report = services.grids_import(path=path, crs="wgs84", level_field="等级")
    assert report.created == [f"{C1}00{i}" for i in range(1, 5)]
    grids = list(Grid.objects.order_by("code"))
    assert all(g.community == communities[0] for g in grids)
    assert [g.management_level for g in grids] == [GridLevel.B, GridLevel.C, GridLevel.A, GridLevel.A]
    assert grids[0].area_m2 == pytest.approx(89.4 * 111.0, rel=0.02)
    assert grids[0].boundary.equals(square(117.0, 36.601, S))


def test_community_from_a_field(tmp_path, communities):
    features = _two_by_two(community="370102001009")
    for f in features:
        f["properties"]["sq"] = C2
    path = write_geojson(tmp_path / "grids.geojson", features)
    services.grids_import(path=path, crs="wgs84", community_field="sq")
    assert set(Grid.objects.values_list("community__code", flat=True)) == {C2}


def test_reimport_updates_same_codes(tmp_path, communities):
    path = write_geojson(tmp_path / "grids.geojson", _two_by_two())
    services.grids_import(path=path, crs="wgs84")
    ids = dict(Grid.objects.values_list("code", "id"))
    shifted = _two_by_two(lon=117.0001)  # the same codes, moved by ~9 m: overlaps their old selves only
    report = services.grids_import(path=write_geojson(tmp_path / "again.geojson", shifted), crs="wgs84")
    assert report.created == [] and len(report.updated) == 4
    assert dict(Grid.objects.values_list("code", "id")) == ids
    assert Grid.objects.get(code=f"{C1}001").min_lon == pytest.approx(117.0001)


def test_tiny_overlap_is_accepted(tmp_path, communities):
    features = _two_by_two()
    # Grid 2 reaches 1e-6° (~9 cm) into grid 1: far below 1 m² and 0.5 %.
    features[1]["geometry"] = shapely.geometry.mapping(shapely.box(117.001 - 1e-6, 36.601, 117.002, 36.602))
    services.grids_import(path=write_geojson(tmp_path / "g.json", features), crs="wgs84")
    assert Grid.objects.count() == 4


BAD = [
    pytest.param(
        lambda: [*_two_by_two()[:3], feature(shapely.box(117.0005, 36.6, 117.0015, 36.601), code=f"{C1}004")],
        ["要素 4（370102001001004）", "与文件中第 3 个要素（370102001001003）重叠", "平方米"],
        id="overlap-in-file",
    ),
    pytest.param(
        lambda: [feature(square(117.0, 36.6, S), code="37010200100")],
        ["要素 1（37010200100）", "应为 15 位"],
        id="code-length",
    ),
    pytest.param(
        lambda: [feature(square(117.0, 36.6, S), code="370102001099001")],
        ["要素 1（370102001099001）", "所属社区 370102001099 不存在"],
        id="unknown-community",
    ),
    pytest.param(
        lambda: [feature(square(117.0, 36.6, S), number="370102001001001")],
        ["第 1 个要素", "缺少网格编码属性“code”"],
        id="missing-code",
    ),
    pytest.param(
        lambda: [feature(square(117.0, 36.6, S), code=f"{C1}001", 等级="特级")],
        ["要素 1（370102001001001）", "管理等级“特级”无法识别"],
        id="bad-level",
    ),
]


@pytest.mark.parametrize(("build", "fragments"), BAD)
def test_bad_grid_files_change_nothing(tmp_path, communities, build, fragments):
    GridFactory(community=communities[1], code=f"{C2}001", boundary=square(117.002, 36.601, S))
    before = snapshot()
    path = write_geojson(tmp_path / "bad-grids.json", build())
    with pytest.raises(ImportFailed) as caught:
        services.grids_import(path=path, crs="wgs84", level_field="等级")
    assert caught.value.message.startswith("bad-grids.json")
    for fragment in fragments:
        assert fragment in caught.value.message
    assert snapshot() == before


def test_overlap_with_an_existing_grid_of_another_code(tmp_path, communities):
    GridFactory(community=communities[1], code=f"{C2}001", boundary=square(117.002, 36.601, S))
    before = snapshot()
    # C1's grid 004 drawn half over C2's existing grid 001.
    features = [feature(square(117.0015, 36.601, S), code=f"{C1}004")]
    with pytest.raises(ImportFailed, match=r"与已有网格 370102001002001 重叠 [\d.]+ 平方米（占较小网格的 50\.0%）"):
        services.grids_import(path=write_geojson(tmp_path / "g.json", features), crs="wgs84")
    assert snapshot() == before


def test_a_community_code_must_be_a_community(tmp_path, communities):
    path = write_geojson(tmp_path / "g.json", [feature(square(117.0, 36.6, S), code=f"{C1}001", sq="370102001")])
    with pytest.raises(ImportFailed, match="网格只能属于社区"):
        services.grids_import(path=path, crs="wgs84", community_field="sq")
