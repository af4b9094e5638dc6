from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapefile
import shapely
from pyproj import CRS, Transformer

from cityloop.core.crs import wgs84_to_gcj02
from cityloop.core.errors import ImportFailed
from cityloop.geo import services
from cityloop.geo.models import Region, RegionLevel
from cityloop.geo.tests.factories import RegionFactory, square
from cityloop.geo.tests.helpers import feature, snapshot, write_geojson

pytestmark = pytest.mark.django_db

JINAN = {
    "370102": "历下区", "370103": "市中区", "370104": "槐荫区", "370105": "天桥区", "370112": "历城区",
    "370113": "长清区", "370114": "章丘区", "370115": "济阳区", "370116": "莱芜区", "370117": "钢城区",
    "370124": "平阴县", "370126": "商河县",
}
#: 泉城广场 in WGS-84 (its GCJ-02 position on web maps is about 0.0059° further east).
QUANCHENG_SQUARE = (117.0199, 36.6620)
#: West of 泉城广场 near 趵突泉: in 历下区 after the GCJ-02 → WGS-84 shift, in 市中区 without it.
WEST_OF_SQUARE = (117.0115, 36.6620)


def _district_containing(lon: float, lat: float) -> str | None:
    point = shapely.Point(lon, lat)
    hits = [r.code for r in Region.objects.filter(level=RegionLevel.DISTRICT) if r.boundary.contains(point)]
    assert len(hits) <= 1
    return hits[0] if hits else None


def test_real_jinan_districts_import_shifted_to_wgs84(jinan_districts):
    report = services.regions_import(path=jinan_districts, crs="gcj02")

    assert sorted(report.created) == sorted(JINAN) and report.updated == []
    assert {r.code: r.name for r in Region.objects.all()} == JINAN
    assert set(Region.objects.values_list("level", flat=True)) == {RegionLevel.DISTRICT}
    assert _district_containing(*QUANCHENG_SQUARE) == "370102"
    assert _district_containing(*WEST_OF_SQUARE) == "370102"
    # Without the shift that point would have been put in 市中区: the conversion matters here.
    raw = json.loads(jinan_districts.read_text(encoding="utf-8"))
    raw_shizhong = next(shapely.geometry.shape(f["geometry"]) for f in raw["features"] if f["properties"]["adcode"] == 370103)
    assert raw_shizhong.contains(shapely.Point(*WEST_OF_SQUARE))
    # Shifting the stored boundary back to GCJ-02 gives the file's coordinates again.
    lixia_raw = next(shapely.geometry.shape(f["geometry"]) for f in raw["features"] if f["properties"]["adcode"] == 370102)
    stored = shapely.get_coordinates(Region.objects.get(code="370102").boundary)
    back = np.column_stack(wgs84_to_gcj02(stored[:, 0], stored[:, 1]))
    assert np.abs(back - shapely.get_coordinates(lixia_raw)).max() < 1e-6
    # 济南 covers about 10,244 km².
    total_km2 = sum(r.area_m2 for r in Region.objects.all()) / 1e6
    assert total_km2 == pytest.approx(10_244, rel=0.02)
    lixia = Region.objects.get(code="370102")
    assert lixia.min_lon < QUANCHENG_SQUARE[0] < lixia.max_lon
    assert lixia.parent is None  # no city region in the database


def test_districts_attach_to_the_city_and_reimport_is_idempotent(jinan_districts, tmp_path):
    city = RegionFactory(code="370100", name="济南市", level=RegionLevel.CITY)
    services.regions_import(path=jinan_districts, crs="gcj02")
    assert set(Region.objects.filter(level=RegionLevel.DISTRICT).values_list("parent", flat=True)) == {city.pk}
    before = snapshot()

    again = services.regions_import(path=jinan_districts, crs="gcj02", level="district", parent_code="370100")
    assert again.created == [] and sorted(again.updated) == sorted(JINAN)
    assert snapshot() == before

    # A changed name is an update of the same region, not a new one.
    raw = json.loads(jinan_districts.read_text(encoding="utf-8"))
    raw["features"][0]["properties"]["name"] = "历下区（新）"
    renamed = tmp_path / "renamed.json"
    renamed.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    services.regions_import(path=renamed, crs="gcj02")
    assert Region.objects.count() == 13
    assert Region.objects.get(code="370102").name == "历下区（新）"


def test_streets_and_communities_find_their_parents_in_any_order(tmp_path):
    district = RegionFactory(code="370102", name="历下区", level=RegionLevel.DISTRICT, boundary=square(117.0, 36.6, 0.05))
    path = write_geojson(tmp_path / "streets.geojson", [
        feature(square(117.0, 36.6, 0.005), code="370102001001", name="甲社区"),
        feature(square(117.0, 36.6, 0.01), code="370102001", name="解放路街道"),
        feature(square(117.005, 36.6, 0.005), code="370102001002", name="乙社区"),
    ])
    report = services.regions_import(path=path, crs="wgs84", code_field="code")
    assert sorted(report.created) == ["370102001", "370102001001", "370102001002"]
    street = Region.objects.get(code="370102001")
    assert street.level == RegionLevel.STREET and street.parent == district
    community = Region.objects.get(code="370102001002")
    assert community.level == RegionLevel.COMMUNITY and community.parent == street
    assert community.area_m2 == pytest.approx(445 * 556, rel=0.02)  # 0.005° × 0.005° at 36.6°N


def _shapefile(directory: Path, *, encoding: str = "gbk", cpg: str | None = None) -> tuple[Path, shapely.Geometry]:
    """A street in CGCS2000 3° Gauss-Krüger (EPSG:4548) with Chinese field names, and its WGS-84 geometry."""
    wgs = shapely.Polygon([(117.00, 36.60), (117.00, 36.62), (117.02, 36.62), (117.03, 36.61), (117.02, 36.60)])
    forward = Transformer.from_crs(4326, 4548, always_xy=True)
    projected = shapely.transform(wgs, lambda c: np.column_stack(forward.transform(c[:, 0], c[:, 1])))
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / "街道"
    writer = shapefile.Writer(str(base), shapeType=shapefile.POLYGON, encoding=encoding)
    writer.field("代码", "C", 12)
    writer.field("名称", "C", 40)
    ring = list(projected.exterior.coords)[::-1]  # shapefile outer rings run clockwise
    writer.poly([ring])
    writer.record("370102001", "解放路街道")
    writer.close()
    (directory / "街道.prj").write_text(CRS.from_epsg(4548).to_wkt("WKT1_ESRI"))
    if cpg:
        (directory / "街道.cpg").write_text(cpg)
    return directory / "街道.shp", wgs


@pytest.mark.parametrize(("encoding", "cpg"), [("gbk", None), ("gbk", "GBK"), ("utf-8", None), ("utf-8", "UTF-8")])
def test_shapefile_with_prj_and_chinese_attributes(tmp_path, encoding, cpg):
    RegionFactory(code="370102", level=RegionLevel.DISTRICT)
    shp, wgs = _shapefile(tmp_path, encoding=encoding, cpg=cpg)
    report = services.regions_import(path=shp, crs=None, code_field="代码", name_field="名称")
    assert report.crs == "EPSG:4548" and report.created == ["370102001"]
    street = Region.objects.get(code="370102001")
    assert street.name == "解放路街道" and street.level == RegionLevel.STREET
    assert street.boundary.symmetric_difference(wgs).area < 1e-10


def test_zipped_shapefile(tmp_path):
    RegionFactory(code="370102", level=RegionLevel.DISTRICT)
    shp, wgs = _shapefile(tmp_path / "files")
    archive = tmp_path / "streets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.parent.iterdir():
            zf.write(part, f"data/{part.name}")
    report = services.regions_import(path=archive, crs=None, code_field="代码", name_field="名称")
    assert report.source == "streets.zip" and report.created == ["370102001"]
    assert Region.objects.get(code="370102001").boundary.symmetric_difference(wgs).area < 1e-10


def test_explicit_crs_overrides_the_prj(tmp_path):
    RegionFactory(code="370102", level=RegionLevel.DISTRICT)
    shp, _ = _shapefile(tmp_path)
    with pytest.raises(ImportFailed, match="不在中国境内"):  # metres read as degrees
        services.regions_import(path=shp, crs="wgs84", code_field="代码", name_field="名称")


def test_repairable_self_intersection_is_repaired_and_reported(tmp_path):
    # A spike along the east edge: invalid, but make_valid removes it without changing the area.
    spiky = shapely.Polygon([(117.0, 36.6), (117.01, 36.6), (117.01, 36.605), (117.012, 36.605), (117.01, 36.605),
                             (117.01, 36.61), (117.0, 36.61)])
    assert not spiky.is_valid
    path = write_geojson(tmp_path / "spike.json", [feature(spiky, adcode="370102", name="历下区")])
    report = services.regions_import(path=path, crs="wgs84")
    assert report.repaired == ["1（370102）"] and "自动修复" in report.summary()
    stored = Region.objects.get(code="370102").boundary
    assert stored.is_valid and stored.area == pytest.approx(0.0001)


GOOD = square(117.0, 36.6, 0.01)
BOWTIE = shapely.Polygon([(117.0, 36.6), (117.01, 36.61), (117.01, 36.6), (117.0, 36.61)])
FLAT = {"type": "Polygon", "coordinates": [[[117.0, 36.6], [117.01, 36.6], [117.02, 36.6], [117.0, 36.6]]]}
SWAPPED = square(36.6, 117.0, 0.01)


def _collection(shape: shapely.Geometry, *, depth: int) -> dict:
    """``shape`` inside ``depth`` GeometryCollections, each holding the next."""
    geometry: dict = shapely.geometry.mapping(shape)
    for _ in range(depth):
        geometry = {"type": "GeometryCollection", "geometries": [geometry]}
    return geometry


def _rename_first(*rest: dict) -> list[dict]:
    """A valid update of the existing 370102 first, so a partial write would show in the snapshot."""
    return [feature(GOOD, adcode="370102", name="改名"), *rest]


BAD_INPUTS = [
    pytest.param("{not json", {}, ["不是有效的 JSON"], id="bad-json"),
    pytest.param('{"type": "Topology", "objects": {}}', {}, ["不是 GeoJSON FeatureCollection"], id="not-featurecollection"),
    pytest.param("[1, 2]", {}, ["不是 GeoJSON"], id="json-array"),
    pytest.param(_rename_first(feature(None, adcode="370103", name="市中区")), {}, ["2（370103）", "缺少几何"],
                 id="missing-geometry"),
    pytest.param(_rename_first(feature(shapely.Point(117.0, 36.6), adcode="370103", name="市中区")), {},
                 ["2（370103）", "Point", "Polygon"], id="point-geometry"),
    pytest.param(_rename_first(feature(GOOD, name="市中区")), {}, ["第 2 个要素", "缺少区划代码属性“adcode”"],
                 id="missing-code"),
    pytest.param(_rename_first(feature(GOOD, adcode="370103")), {}, ["2（370103）", "缺少名称属性“name”"],
                 id="missing-name"),
    pytest.param(_rename_first(feature(GOOD, adcode="3701030", name="市中区")), {}, ["2（3701030）", "7 位"],
                 id="bad-code-length"),
    pytest.param([feature(GOOD, adcode="370102", name="历下区")], {"level": "street"}, ["1（370102）", "街道级代码应为 9 位"],
                 id="code-length-for-level"),
    pytest.param(_rename_first(feature(GOOD, adcode="370199001", name="某街道")), {},
                 ["2（370199001）", "上级区划 370199（区县）不存在"], id="unknown-parent"),
    pytest.param(_rename_first(), {"parent_code": "379999"}, ["上级区划 379999 不存在"], id="unknown-explicit-parent"),
    pytest.param(_rename_first(), {"crs": "mars"}, ["未知的坐标系“mars”"], id="unknown-crs"),
    pytest.param(_rename_first(), {"crs": "EPSG:99999"}, ["未知的坐标系 EPSG:99999"], id="unknown-epsg"),
    pytest.param(_rename_first(feature(SWAPPED, adcode="370103", name="市中区")), {},
                 ["2（370103）", "不在中国境内", "经纬度是否颠倒"], id="outside-china"),
    pytest.param(_rename_first(feature(GOOD, adcode="370102", name="历下区")), {},
                 ["2（370102）", "370102 在文件中重复（与第 1 个要素相同）"], id="duplicate-in-file"),
    pytest.param(_rename_first(feature(BOWTIE, adcode="370103", name="市中区")), {},
                 ["2（370103）", "自相交", "无法可靠修复"], id="bowtie"),
    pytest.param(_rename_first(feature(FLAT, adcode="370103", name="市中区")), {}, ["2（370103）", "面积为零"],
                 id="zero-area"),
    pytest.param('{"type": "Polygon", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}", {},
                 ["嵌套过深"], id="100000-deep-arrays"),
    pytest.param(_rename_first(feature(_collection(GOOD, depth=200), adcode="370103", name="市中区")), {},
                 ["2（370103）", "GeometryCollection", "嵌套过深"], id="200-deep-collections"),
    pytest.param(_rename_first(feature({"type": "Polygon", "coordinates": json.loads("[" * 900 + "1" + "]" * 900)},
                                       adcode="370103", name="市中区")), {}, ["嵌套过深"], id="900-deep-coordinates"),
]


@pytest.mark.parametrize(("content", "options", "fragments"), BAD_INPUTS)
def test_bad_input_aborts_naming_file_feature_and_reason(tmp_path, content, options, fragments):
    RegionFactory(code="370102", name="历下区", level=RegionLevel.DISTRICT, boundary=GOOD)
    before = snapshot()
    path = tmp_path / "bad-districts.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        write_geojson(path, content)
    kwargs = {"crs": "wgs84", **options}
    with pytest.raises(ImportFailed) as caught:
        services.regions_import(path=path, **kwargs)
    message = caught.value.message
    assert message.startswith("bad-districts.json")
    for fragment in fragments:
        assert fragment in message
    assert snapshot() == before


def test_missing_crs_and_unsupported_files(tmp_path):
    path = write_geojson(tmp_path / "d.json", [feature(GOOD, adcode="370102", name="历下区")])
    with pytest.raises(ImportFailed, match="未指定坐标系"):
        services.regions_import(path=path, crs=None)
    with pytest.raises(ImportFailed, match="文件不存在"):
        services.regions_import(path=tmp_path / "nope.json", crs="wgs84")
    (tmp_path / "d.kml").write_text("<kml/>")
    with pytest.raises(ImportFailed, match="不支持的文件类型"):
        services.regions_import(path=tmp_path / "d.kml", crs="wgs84")
    shp = tmp_path / "lonely.shp"
    shp.write_bytes(b"")
    with pytest.raises(ImportFailed, match=r"缺少属性表文件 lonely\.dbf"):
        services.regions_import(path=shp, crs="wgs84")
    assert Region.objects.count() == 0


def test_existing_code_of_another_level_is_refused(tmp_path):
    RegionFactory(code="370100", level=RegionLevel.CITY)
    path = write_geojson(tmp_path / "d.json", [feature(GOOD, adcode="370100", name="济南")])
    with pytest.raises(ImportFailed, match="已存在且级别为市"):
        services.regions_import(path=path, crs="wgs84", level="district")


def test_geojson_crs_member_single_feature_and_point_shapefile(tmp_path):
    RegionFactory(code="370102", level=RegionLevel.DISTRICT)
    single = {
        "type": "Feature",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "properties": {"code": "370102001", "name": "解放路街道"},
        "geometry": shapely.geometry.mapping(GOOD),
    }
    path = tmp_path / "street.geojson"
    path.write_text(json.dumps(single, ensure_ascii=False), encoding="utf-8")
    report = services.regions_import(path=path, crs=None, code_field="code")
    assert report.crs == "cgcs2000" and report.created == ["370102001"]

    writer = shapefile.Writer(str(tmp_path / "points"), shapeType=shapefile.POINT)
    writer.field("adcode", "C", 12)
    writer.field("name", "C", 20)
    writer.point(117.0, 36.6)
    writer.record("370103", "市中区")
    writer.close()
    with pytest.raises(ImportFailed, match=r"points\.shp 要素 1（370103）：几何类型为 POINT"):
        services.regions_import(path=tmp_path / "points.shp", crs="wgs84")


def test_control_characters_in_imported_names_are_cleaned(tmp_path):
    path = write_geojson(tmp_path / "d.json", [feature(GOOD, adcode="370102\x0b", name="历下\x0c区\x01")])
    services.regions_import(path=path, crs="wgs84")
    assert Region.objects.get(code="370102").name == "历下 区"
