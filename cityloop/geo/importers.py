"""Reading boundary files: GeoJSON and Shapefile (.shp beside its .dbf/.shx/.prj/.cpg, or a .zip of them).

Readers only parse: they return the features' properties and polygon geometries in the file's own
coordinates, plus the coordinate system the file declares (a Shapefile's .prj, a GeoJSON ``crs``
member). Conversion to WGS-84, validation and writing happen in ``geo.services``. Every problem is
an ``ImportFailed`` naming the file, the feature (1-based) and the reason.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import shapefile
import shapely
import shapely.geometry

from cityloop.core.crs import CoordinateSystem, crs_from_wkt, parse_crs
from cityloop.core.errors import ImportFailed, ValidationFailed
from cityloop.core.text import printable

POLYGON_TYPES = ("Polygon", "MultiPolygon")
GEOJSON_GEOMETRY_TYPES = (
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"
)
#: Text encodings tried for attribute tables without a .cpg file, in order.
FALLBACK_ENCODINGS = ("utf-8", "gb18030")
#: .cpg values (lower-case) meaning a Chinese code page; GB18030 decodes all of them.
CHINESE_CODE_PAGES = {"936", "cp936", "gbk", "gb2312", "gb18030", "ansi 936", "windows-936", "ms936"}


@dataclass
class SourceFeature:
    """One feature of a boundary file: its 1-based position, attributes and geometry (file coordinates)."""

    index: int
    properties: dict[str, Any]
    geometry: shapely.Geometry


@dataclass
class SourceFile:
    """A parsed boundary file."""

    name: str
    features: list[SourceFeature] = field(default_factory=list)
    #: The coordinate system the file declares (.prj or GeoJSON ``crs``), if any.
    declared_crs: CoordinateSystem | None = None
    #: The attribute table's text encoding (Shapefiles only).
    encoding: str | None = None


def read_features(path: str | Path, *, source_name: str | None = None) -> SourceFile:
    """Read a GeoJSON (.json/.geojson), Shapefile (.shp) or zipped Shapefile (.zip)."""
    path = Path(path)
    name = source_name or path.name
    if not path.is_file():
        raise ImportFailed("文件不存在", source=name)
    suffix = path.suffix.lower()
    if suffix in (".json", ".geojson"):
        return _read_geojson(path.read_bytes(), name)
    if suffix == ".shp":
        return _read_shapefile(_shapefile_parts_from_dir(path, name), name)
    if suffix == ".zip":
        return _read_shapefile(_shapefile_parts_from_zip(path, name), name)
    raise ImportFailed(f"不支持的文件类型“{path.suffix}”：请使用 GeoJSON（.json/.geojson）、Shapefile（.shp）或其 .zip 压缩包", source=name)


def text_value(value: Any) -> str | None:
    """An attribute as trimmed one-line text without control characters (``370102``, ``370102.0`` and
    ``" 370102 "`` all give ``"370102"``)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = printable(str(value), one_line=True).strip()  # control characters cleaned as on every channel
    return text or None


# --- GeoJSON ---------------------------------------------------------------------------------------


#: GeoJSON says to avoid nested GeometryCollections; a few levels are read, deeper ones are refused.
MAX_COLLECTION_DEPTH = 8


def _read_geojson(raw: bytes, name: str) -> SourceFile:
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise ImportFailed("文件不是 UTF-8 文本，无法读取", source=name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）", source=name) from exc
    except RecursionError:  # thousands of nested arrays or objects: no real boundary looks like that
        raise ImportFailed("JSON 嵌套过深，不是有效的 GeoJSON", source=name) from None
    if not isinstance(data, dict) or "type" not in data:
        raise ImportFailed("不是 GeoJSON：应为 FeatureCollection（或单个 Feature / 几何对象）", source=name)
    kind = data.get("type")
    if kind == "FeatureCollection":
        raw_features = data.get("features")
        if not isinstance(raw_features, list):
            raise ImportFailed("FeatureCollection 缺少 features 数组", source=name)
    elif kind == "Feature":
        raw_features = [data]
    elif kind in GEOJSON_GEOMETRY_TYPES:
        raw_features = [{"type": "Feature", "properties": {}, "geometry": data}]
    else:
        raise ImportFailed(f"不是 GeoJSON FeatureCollection（type 为“{kind}”）", source=name)
    result = SourceFile(name=name, declared_crs=_geojson_crs(data.get("crs"), name))
    for index, item in enumerate(raw_features, start=1):
        if not isinstance(item, dict) or item.get("type") != "Feature":
            raise ImportFailed("不是 GeoJSON Feature 对象", source=name, feature=index)
        properties = item.get("properties") or {}
        if not isinstance(properties, dict):
            raise ImportFailed("properties 应为对象", source=name, feature=index)
        geometry = item.get("geometry")
        label = _label(index, properties)
        if not geometry:
            raise ImportFailed("缺少几何（geometry）", source=name, feature=label)
        result.features.append(SourceFeature(index, properties, _geojson_geometry(geometry, name, label)))
    if not result.features:
        raise ImportFailed("文件中没有任何要素", source=name)
    return result


def _label(index: int, properties: dict[str, Any]) -> int | str:
    """How a feature is named in messages: its index, with its code when it has an obvious one."""
    for key in ("adcode", "code", "CODE", "ADCODE", "Code", "代码", "编码"):
        code = text_value(properties.get(key))
        if code:
            return f"{index}（{code}）"
    return index


def _geojson_geometry(geometry: Any, name: str, label: int | str, depth: int = 0) -> shapely.Geometry:
    if not isinstance(geometry, dict):
        raise ImportFailed("geometry 应为对象", source=name, feature=label)
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        if depth >= MAX_COLLECTION_DEPTH:
            raise ImportFailed(f"GeometryCollection 嵌套过深（最多 {MAX_COLLECTION_DEPTH} 层）", source=name, feature=label)
        parts = [_geojson_geometry(part, name, label, depth + 1) for part in geometry.get("geometries") or []]
        if not parts:
            raise ImportFailed("缺少几何（空的 GeometryCollection）", source=name, feature=label)
        return shapely.union_all(parts) if len(parts) > 1 else parts[0]
    if kind not in POLYGON_TYPES:
        raise ImportFailed(f"几何类型为 {kind}，应为 Polygon 或 MultiPolygon", source=name, feature=label)
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ImportFailed(f"坐标格式错误：{exc}", source=name, feature=label) from exc
    except RecursionError:
        raise ImportFailed("坐标格式错误：数组嵌套过深", source=name, feature=label) from None
    if shape.is_empty:
        raise ImportFailed("缺少几何（坐标为空）", source=name, feature=label)
    return shapely.force_2d(shape)


def _geojson_crs(member: Any, name: str) -> CoordinateSystem | None:
    """The legacy GeoJSON ``crs`` member (``{"type": "name", "properties": {"name": "EPSG:4490"}}``), if any."""
    if not member:
        return None
    crs_name = member.get("properties", {}).get("name", "") if isinstance(member, dict) else ""
    crs_name = str(crs_name)
    if re.search(r"CRS84$", crs_name, flags=re.IGNORECASE):
        return parse_crs("wgs84")
    match = re.search(r"EPSG:*(\d{4,6})$", crs_name, flags=re.IGNORECASE)
    if not match:
        raise ImportFailed(f"无法识别文件声明的坐标系“{crs_name}”，请用 --crs 指定", source=name)
    try:
        return parse_crs(f"EPSG:{match.group(1)}")
    except ValidationFailed as exc:
        raise ImportFailed(exc.message, source=name) from exc


# --- Shapefile -------------------------------------------------------------------------------------


@dataclass
class _ShapefileParts:
    shp: bytes
    dbf: bytes
    shx: bytes | None = None
    prj: str | None = None
    cpg: str | None = None


def _decode_text(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")  # pragma: no cover - latin-1 decodes everything


def _shapefile_parts_from_dir(path: Path, name: str) -> _ShapefileParts:
    def sibling(ext: str) -> Path | None:
        for candidate in path.parent.glob(f"{_glob_escape(path.stem)}.*"):
            if candidate.suffix.lower() == ext:
                return candidate
        return None

    dbf = sibling(".dbf")
    if dbf is None:
        raise ImportFailed(f"缺少属性表文件 {path.stem}.dbf（应与 .shp 放在同一目录）", source=name)
    shx, prj, cpg = sibling(".shx"), sibling(".prj"), sibling(".cpg")
    return _ShapefileParts(
        shp=path.read_bytes(),
        dbf=dbf.read_bytes(),
        shx=shx.read_bytes() if shx else None,
        prj=_decode_text(prj.read_bytes()) if prj else None,
        cpg=_decode_text(cpg.read_bytes()).strip() if cpg else None,
    )


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _shapefile_parts_from_zip(path: Path, name: str) -> _ShapefileParts:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportFailed("不是有效的 zip 压缩包", source=name) from exc
    with archive:
        members = [m for m in archive.namelist() if not m.endswith("/") and "__MACOSX" not in m]
        shps = [m for m in members if m.lower().endswith(".shp")]
        if not shps:
            raise ImportFailed("压缩包中没有 .shp 文件", source=name)
        if len(shps) > 1:
            raise ImportFailed(f"压缩包中有多个 .shp 文件（{'、'.join(shps)}），请每次只导入一个", source=name)
        stem = str(PurePosixPath(shps[0]).with_suffix("")).lower()

        def member(ext: str) -> bytes | None:
            for m in members:
                if m.lower() == stem + ext:
                    return archive.read(m)
            return None

        dbf = member(".dbf")
        if dbf is None:
            raise ImportFailed(f"压缩包中缺少 {PurePosixPath(shps[0]).stem}.dbf", source=name)
        prj, cpg = member(".prj"), member(".cpg")
        return _ShapefileParts(
            shp=archive.read(shps[0]),
            dbf=dbf,
            shx=member(".shx"),
            prj=_decode_text(prj) if prj else None,
            cpg=_decode_text(cpg).strip() if cpg else None,
        )


def _encodings(cpg: str | None) -> list[str]:
    """Encodings to try for the attribute table: the .cpg's, else UTF-8 then GB18030."""
    if cpg:
        key = cpg.strip().lower()
        if key in CHINESE_CODE_PAGES:
            return ["gb18030"]
        if key in ("65001", "utf8", "utf-8"):
            return ["utf-8", "gb18030"]
        try:
            codec = io.TextIOWrapper(io.BytesIO(), encoding=key).encoding
        except LookupError:
            codec = None
        if codec:
            return [codec, *FALLBACK_ENCODINGS]
    return list(FALLBACK_ENCODINGS)


def _read_shapefile(parts: _ShapefileParts, name: str) -> SourceFile:
    declared = None
    if parts.prj and parts.prj.strip():
        try:
            declared = crs_from_wkt(parts.prj)
        except ValidationFailed as exc:
            raise ImportFailed(f".prj 文件：{exc.message}", source=name) from exc
    last_error: Exception | None = None
    for encoding in _encodings(parts.cpg):
        try:
            records, shapes = _shapefile_rows(parts, encoding)
        except (UnicodeDecodeError, shapefile.ShapefileException) as exc:
            if isinstance(exc, UnicodeDecodeError) or "decode" in str(exc).lower():
                last_error = exc
                continue
            raise ImportFailed(f"Shapefile 无法读取：{exc}", source=name) from exc
        except (struct.error, ValueError, OSError, EOFError) as exc:
            raise ImportFailed(f"Shapefile 无法读取：{exc}", source=name) from exc
        return _shapefile_features(records, shapes, name, declared, encoding)
    raise ImportFailed(f"属性表的文字编码无法识别（已尝试 UTF-8 与 GB18030）：{last_error}", source=name)


def _shapefile_rows(parts: _ShapefileParts, encoding: str) -> tuple[list[dict[str, Any]], list[Any]]:
    reader = shapefile.Reader(
        shp=io.BytesIO(parts.shp),
        shx=io.BytesIO(parts.shx) if parts.shx else None,
        dbf=io.BytesIO(parts.dbf),
        encoding=encoding,
    )
    with reader:
        records = [record.as_dict() for record in reader.iterRecords()]
        shapes = list(reader.iterShapes())
    return records, shapes


def _shapefile_features(
    records: list[dict[str, Any]], shapes: list[Any], name: str, declared: CoordinateSystem | None, encoding: str
) -> SourceFile:
    if len(records) != len(shapes):
        raise ImportFailed(f"几何数（{len(shapes)}）与属性记录数（{len(records)}）不一致", source=name)
    result = SourceFile(name=name, declared_crs=declared, encoding=encoding)
    for index, (properties, shape) in enumerate(zip(records, shapes, strict=True), start=1):
        label = _label(index, properties)
        if shape is None or shape.shapeType == shapefile.NULL or not shape.points:
            raise ImportFailed("缺少几何（空图形）", source=name, feature=label)
        if shape.shapeType not in (shapefile.POLYGON, shapefile.POLYGONZ, shapefile.POLYGONM):
            raise ImportFailed(
                f"几何类型为 {shape.shapeTypeName}，应为 POLYGON（面）", source=name, feature=label
            )
        try:
            geometry = shapely.geometry.shape(shape.__geo_interface__)
        except (ValueError, TypeError, IndexError, shapely.errors.GEOSException) as exc:
            raise ImportFailed(f"坐标格式错误：{exc}", source=name, feature=label) from exc
        result.features.append(SourceFeature(index, properties, shapely.force_2d(geometry)))
    if not result.features:
        raise ImportFailed("文件中没有任何要素", source=name)
    return result
