"""Writes to regions and unit grids: boundary imports, grid generation and single-region upserts.

Imports validate the whole file before writing anything and then write in one transaction, so a
bad file leaves the database exactly as it was. Every write to grids bumps ``GridSetVersion`` and
drops this process's grid index (now and again when the transaction commits); other processes
notice the new version within a few seconds (see ``geo.lookup``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet, RestrictedError
from django.db.models.deletion import Collector
from django.utils import timezone

from cityloop.core.crs import CoordinateSystem, in_china, parse_crs, to_wgs84
from cityloop.core.errors import ImportFailed, ValidationFailed
from cityloop.geo import lookup
from cityloop.geo.geometry import (
    TooManyCells,
    areas_m2,
    boundary_fields,
    metric_transformer_for,
    project,
    repair_polygon,
    square_cells,
    total_bounds,
)
from cityloop.geo.importers import SourceFeature, SourceFile, read_features, text_value
from cityloop.geo.models import (
    CODE_LENGTH,
    LEVEL_DEPTH,
    Grid,
    GridLevel,
    GridSetVersion,
    Region,
    RegionLevel,
    ResponsibilityGrid,
)

#: Two grids may overlap by at most this many square metres…
OVERLAP_MAX_M2 = 1.0
#: …or this share of the smaller grid (an overlap must exceed both to be an error).
OVERLAP_MAX_SHARE = 0.005
#: Unit grid codes: community code (12) + a 3-digit sequence.
GRID_CODE_LENGTH = 15
MAX_GRIDS_PER_COMMUNITY = 999
BATCH_SIZE = 2000

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: phase ``"plan"`` (computing cells) or ``"write"`` (saving), per community."""


@dataclass
class ImportReport:
    """What an import did: codes created and updated, and features whose geometry was repaired."""

    source: str
    crs: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated)

    def summary(self) -> str:
        text = f"{self.source}：新增 {len(self.created)} 个，更新 {len(self.updated)} 个（坐标系 {self.crs}）"
        if self.repaired:
            text += f"；已自动修复 {len(self.repaired)} 个自相交边界：{'、'.join(self.repaired[:10])}"
            if len(self.repaired) > 10:
                text += " 等"
        return text


# --- grid index invalidation ------------------------------------------------------------------------


def grids_changed() -> None:
    """Record that unit grids changed: new ``GridSetVersion`` token, local index dropped now and on commit.

    Every grid write in this module calls it; code that writes grids any other way should call it too.
    """
    token = uuid.uuid4().hex
    if not GridSetVersion.objects.filter(pk=1).update(token=token, changed_at=timezone.now()):
        GridSetVersion.objects.update_or_create(pk=1, defaults={"token": token})
    lookup.reset_grid_index()
    transaction.on_commit(lookup.reset_grid_index)


# --- shared import pipeline -------------------------------------------------------------------------


@dataclass
class _Feature:
    """A validated feature: WGS-84 geometry (valid), its area and attributes."""

    source: SourceFeature
    label: int | str
    code: str
    geometry: shapely.Geometry
    area_m2: float
    repaired: bool


def _resolve_crs(crs: str | CoordinateSystem | None, source: SourceFile) -> CoordinateSystem:
    if crs is not None and str(crs).strip():
        try:
            return parse_crs(crs)
        except ValidationFailed as exc:
            raise ImportFailed(exc.message, source=source.name) from exc
    if source.declared_crs is not None:
        return source.declared_crs
    raise ImportFailed(
        "未指定坐标系：请用 --crs 指定（wgs84、cgcs2000、gcj02、bd09 或 EPSG:NNNN）；"
        "国内网络地图下载的数据多为 gcj02（高德/腾讯）或 bd09（百度）",
        source=source.name,
    )


def _codes(source: SourceFile, code_field: str, what: str) -> list[str]:
    codes: list[str] = []
    first_seen: dict[str, int] = {}
    for feature in source.features:
        code = text_value(feature.properties.get(code_field))
        if code is None:
            available = "、".join(str(k) for k in feature.properties) or "无"
            raise ImportFailed(
                f"缺少{what}属性“{code_field}”（该要素的属性有：{available}；可用 --code-field 指定）",
                source=source.name,
                feature=feature.index,
            )
        if not code.isdigit() or not code.isascii():
            raise ImportFailed(f"{what}“{code}”应全部为数字", source=source.name, feature=f"{feature.index}（{code}）")
        if code in first_seen:
            raise ImportFailed(
                f"{what} {code} 在文件中重复（与第 {first_seen[code]} 个要素相同）",
                source=source.name,
                feature=f"{feature.index}（{code}）",
            )
        first_seen[code] = feature.index
        codes.append(code)
    return codes


def _prepare(source: SourceFile, system: CoordinateSystem, codes: list[str]) -> list[_Feature]:
    """Convert every geometry to WGS-84, check it lies in China, repair it if needed and measure it."""
    labels: list[int | str] = [f"{f.index}（{code}）" for f, code in zip(source.features, codes, strict=True)]
    geometries = np.array([f.geometry for f in source.features], dtype=object)

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], system)
        return np.column_stack([lon, lat])

    try:
        converted = shapely.transform(geometries, convert)
    except ValidationFailed as exc:
        raise ImportFailed(exc.message, source=source.name) from exc
    coords, owner = shapely.get_coordinates(converted, return_index=True)
    ok = np.isfinite(coords).all(axis=1) & in_china(coords[:, 0], coords[:, 1])
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        lon, lat = coords[bad]
        raise ImportFailed(
            f"坐标按 {system.label} 转换为 WGS-84 后不在中国境内（{lon:.6f}, {lat:.6f}）："
            "请检查 --crs 是否正确、经纬度是否颠倒",
            source=source.name,
            feature=labels[int(owner[bad])],
        )
    repaired: list[tuple[shapely.Geometry, bool]] = []
    for geometry, label in zip(converted, labels, strict=True):
        outcome = repair_polygon(geometry)
        if outcome.geometry is None:
            raise ImportFailed(outcome.reason, source=source.name, feature=label)
        repaired.append((outcome.geometry, outcome.repaired))
    valid = np.array([g for g, _ in repaired], dtype=object)
    areas = areas_m2(valid)
    return [
        _Feature(source=f, label=label, code=code, geometry=g, area_m2=float(area), repaired=was_repaired)
        for f, label, code, (g, was_repaired), area in zip(
            source.features, labels, codes, repaired, areas, strict=True
        )
    ]


def _read(path: str | Path, source_name: str | None) -> SourceFile:
    return read_features(path, source_name=source_name)


# --- regions ----------------------------------------------------------------------------------------


def infer_level(code: str) -> RegionLevel:
    """The level a region code implies: 6 digits ending in 00 → city, other 6 → district, 9 → street, 12 → community."""
    if len(code) == 6:
        return RegionLevel.CITY if code.endswith("00") else RegionLevel.DISTRICT
    by_length = {9: RegionLevel.STREET, 12: RegionLevel.COMMUNITY}
    if len(code) not in by_length:
        raise ValueError(code)
    return by_length[len(code)]


def _parse_level(level: str | RegionLevel | None) -> RegionLevel | None:
    if level is None or str(level).strip() == "":
        return None
    value = str(level).strip().lower()
    for choice in RegionLevel:
        if value in (choice.value, choice.label):
            return choice
    names = "、".join(f"{c.value}（{c.label}）" for c in RegionLevel)
    raise ValidationFailed(f"未知的区划级别“{level}”：可用 {names}", field="level")


def _level_label(level: str) -> str:
    return RegionLevel(level).label


def regions_import(
    *,
    path: str | Path,
    crs: str | CoordinateSystem | None,
    level: str | RegionLevel | None = None,
    parent_code: str | None = None,
    code_field: str = "adcode",
    name_field: str = "name",
    source_name: str | None = None,
) -> ImportReport:
    """Import region boundaries (GeoJSON or Shapefile) in one transaction; returns what was created/updated.

    ``level`` applies to every feature; without it each code's length decides (6 → district, or
    city when it ends in 00; 9 → street; 12 → community). ``parent_code`` sets every feature's
    parent; without it the parent is the code's prefix (street → its district, community → its
    street, both required; district → the city ``CODE[:4] + "00"`` when that exists). Parents may
    be in the database or anywhere in the same file (features are written top level first).
    Re-importing an existing code updates its name, boundary and parent, so imports are
    idempotent; a code twice in one file is an error. Raises ``ImportFailed`` naming the file, the
    feature and the reason, and then leaves the database unchanged.
    """
    source = _read(path, source_name)
    try:
        fixed_level = _parse_level(level)
    except ValidationFailed as exc:
        raise ImportFailed(exc.message, source=source.name) from exc
    system = _resolve_crs(crs, source)
    codes = _codes(source, code_field, "区划代码")

    levels: list[RegionLevel] = []
    names: list[str] = []
    for feature, code in zip(source.features, codes, strict=True):
        label = f"{feature.index}（{code}）"
        if fixed_level is not None:
            if len(code) != CODE_LENGTH[fixed_level]:
                raise ImportFailed(
                    f"区划代码 {code} 有 {len(code)} 位，{fixed_level.label}级代码应为 {CODE_LENGTH[fixed_level]} 位",
                    source=source.name,
                    feature=label,
                )
            feature_level = fixed_level
        else:
            try:
                feature_level = infer_level(code)
            except ValueError:
                raise ImportFailed(
                    f"区划代码 {code} 有 {len(code)} 位，应为 6 位（区县/市）、9 位（街道）或 12 位（社区）",
                    source=source.name,
                    feature=label,
                ) from None
        if feature_level == RegionLevel.CITY and code.endswith("0000"):
            raise ImportFailed(f"{code} 是省级代码，不支持导入省级区划", source=source.name, feature=label)
        name = text_value(feature.properties.get(name_field))
        if name is None:
            raise ImportFailed(
                f"缺少名称属性“{name_field}”（可用 --name-field 指定）", source=source.name, feature=label
            )
        if len(name) > Region._meta.get_field("name").max_length:  # type: ignore[operator]
            raise ImportFailed(f"名称“{name[:20]}…”过长", source=source.name, feature=label)
        levels.append(feature_level)
        names.append(name)

    existing = {r.code: r for r in Region.objects.filter(code__in=codes)}
    for feature, code, feature_level in zip(source.features, codes, levels, strict=True):
        current = existing.get(code)
        if current is not None and current.level != feature_level:
            raise ImportFailed(
                f"区划 {code} 已存在且级别为{_level_label(current.level)}，与本次的{feature_level.label}不符",
                source=source.name,
                feature=f"{feature.index}（{code}）",
            )

    # Parents: explicit, or from the code prefix; in the database or in this file.
    in_file = dict(zip(codes, levels, strict=True))
    explicit_parent: Region | None = None
    if parent_code:
        explicit_parent = Region.objects.filter(code=parent_code.strip()).first()
        if explicit_parent is None:
            raise ImportFailed(f"上级区划 {parent_code} 不存在（--parent）", source=source.name)
    parent_codes: list[str | None] = []
    wanted = {c[:n] for c in codes for n in (6, 9)} | {c[:4] + "00" for c in codes}
    known = {r.code: RegionLevel(r.level) for r in Region.objects.filter(code__in=wanted)} | in_file
    for feature, code, feature_level in zip(source.features, codes, levels, strict=True):
        label = f"{feature.index}（{code}）"
        depth = LEVEL_DEPTH[feature_level]
        if explicit_parent is not None:
            if explicit_parent.depth != depth - 1:
                raise ImportFailed(
                    f"上级区划 {explicit_parent.code} 是{_level_label(explicit_parent.level)}，"
                    f"{feature_level.label}的上级不能是{_level_label(explicit_parent.level)}",
                    source=source.name,
                    feature=label,
                )
            parent_codes.append(explicit_parent.code)
            continue
        if feature_level == RegionLevel.CITY:
            parent_codes.append(None)
        elif feature_level == RegionLevel.DISTRICT:
            city = code[:4] + "00"
            parent_codes.append(city if known.get(city) == RegionLevel.CITY else None)
        else:
            expected = RegionLevel.DISTRICT if feature_level == RegionLevel.STREET else RegionLevel.STREET
            prefix = code[: CODE_LENGTH[expected]]
            if known.get(prefix) != expected:
                raise ImportFailed(
                    f"上级区划 {prefix}（{expected.label}）不存在：请先导入，或用 --parent 指定",
                    source=source.name,
                    feature=label,
                )
            parent_codes.append(prefix)

    features = _prepare(source, system, codes)
    report = ImportReport(source=source.name, crs=system.label)
    order = sorted(range(len(features)), key=lambda i: (LEVEL_DEPTH[levels[i]], codes[i]))
    with transaction.atomic():
        by_code: dict[str, Region] = {}
        if explicit_parent is not None:
            by_code[explicit_parent.code] = explicit_parent
        needed = {c for c in parent_codes if c} - set(codes)
        by_code.update({r.code: r for r in Region.objects.filter(code__in=needed)})
        for i in order:
            item = features[i]
            parent_code_i = parent_codes[i]
            parent = by_code.get(parent_code_i) if parent_code_i else None
            region = existing.get(item.code)
            values = {"name": names[i], "is_demo": False, **boundary_fields(item.geometry, item.area_m2)}
            if region is None:
                region = Region(code=item.code, level=levels[i], parent=parent, **values)
                region.save()
                report.created.append(item.code)
            else:
                for key, value in values.items():
                    setattr(region, key, value)
                if parent is not None:
                    region.parent = parent
                region.save()
                report.updated.append(item.code)
            by_code[item.code] = region
            if item.repaired:
                report.repaired.append(str(item.label))
    return report


def _checked_geometry(geometry: shapely.Geometry, what: str) -> tuple[shapely.Geometry, float]:
    if geometry is None or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationFailed(f"{what}的边界应为 Polygon 或 MultiPolygon", field="geometry")
    coords = shapely.get_coordinates(geometry)
    if len(coords) == 0 or not in_china(coords[:, 0], coords[:, 1]).all():
        raise ValidationFailed(f"{what}的边界不在中国境内（应为 WGS-84 经纬度）", field="geometry")
    outcome = repair_polygon(geometry)
    if outcome.geometry is None:
        raise ValidationFailed(f"{what}的边界无效：{outcome.reason}", field="geometry")
    return outcome.geometry, float(areas_m2(np.array([outcome.geometry], dtype=object))[0])


def region_set_boundary(*, region: Region, geometry: shapely.Geometry) -> Region:
    """Set a region's boundary (WGS-84 Polygon/MultiPolygon; repaired like imports) and its area."""
    valid, area = _checked_geometry(geometry, str(region))
    fields = boundary_fields(valid, area)
    for key, value in fields.items():
        setattr(region, key, value)
    region.save(update_fields=list(fields))
    return region


def region_upsert(
    *,
    code: str,
    name: str,
    level: str | RegionLevel,
    parent: Region | None = None,
    geometry: shapely.Geometry | None = None,
    is_demo: bool = False,
) -> Region:
    """Create or update one region by code (name, parent, boundary); the code must fit the level."""
    region_level = _parse_level(level)
    assert region_level is not None
    if not code.isdigit() or len(code) != CODE_LENGTH[region_level]:
        raise ValidationFailed(
            f"区划代码 {code} 应为 {CODE_LENGTH[region_level]} 位数字（{region_level.label}）", field="code"
        )
    if parent is not None and parent.depth != LEVEL_DEPTH[region_level] - 1:
        raise ValidationFailed(f"{region_level.label}的上级不能是{parent.get_level_display()}", field="parent")
    values: dict[str, Any] = {"name": name, "level": region_level, "parent": parent, "is_demo": is_demo}
    if geometry is not None:
        valid, area = _checked_geometry(geometry, name)
        values.update(boundary_fields(valid, area))
    with transaction.atomic():
        current = Region.objects.filter(code=code).first()
        if current is not None and current.level != region_level:
            raise ValidationFailed(
                f"区划 {code} 已存在且级别为{current.get_level_display()}", field="level"
            )
        region, _ = Region.objects.update_or_create(code=code, defaults=values)
    return region


# --- unit grids: import -----------------------------------------------------------------------------

MANAGEMENT_LEVELS = {
    **{choice.value.lower(): choice for choice in GridLevel},
    **{choice.label: choice for choice in GridLevel},
    "1": GridLevel.A, "2": GridLevel.B, "3": GridLevel.C,
}


def grids_import(
    *,
    path: str | Path,
    crs: str | CoordinateSystem | None,
    code_field: str = "code",
    community_field: str | None = None,
    level_field: str | None = None,
    source_name: str | None = None,
) -> ImportReport:
    """Import unit grids (GeoJSON or Shapefile) in one transaction.

    Each grid has a 15-digit code; its community is the code's 12-digit prefix unless
    ``community_field`` names an attribute holding the community code, and the community must
    exist. ``level_field`` optionally holds the management level (A/B/C, 一类/二类/三类 or 1/2/3).
    A grid overlapping another grid of the file or of the database (other than the one with its
    own code, which it replaces) by more than a sliver — intersection > 1 m² *and* > 0.5 % of the
    smaller grid, measured in a local equal-area projection — is an error. Re-importing a code
    updates that grid (boundary, community, level). Errors leave the database unchanged.
    """
    source = _read(path, source_name)
    system = _resolve_crs(crs, source)
    codes = _codes(source, code_field, "网格编码")
    community_codes: list[str] = []
    levels: list[str | None] = []
    for feature, code in zip(source.features, codes, strict=True):
        label = f"{feature.index}（{code}）"
        if len(code) != GRID_CODE_LENGTH:
            raise ImportFailed(
                f"网格编码 {code} 有 {len(code)} 位，应为 15 位（12 位社区代码 + 3 位顺序码）",
                source=source.name,
                feature=label,
            )
        if community_field:
            community_code = text_value(feature.properties.get(community_field))
            if community_code is None:
                raise ImportFailed(f"缺少所属社区属性“{community_field}”", source=source.name, feature=label)
        else:
            community_code = code[:12]
        community_codes.append(community_code)
        level_value: str | None = None
        if level_field:
            raw = text_value(feature.properties.get(level_field))
            if raw is not None:
                choice = MANAGEMENT_LEVELS.get(raw.lower())
                if choice is None:
                    raise ImportFailed(
                        f"管理等级“{raw}”无法识别（可用 A/B/C、一类/二类/三类）", source=source.name, feature=label
                    )
                level_value = choice.value
        levels.append(level_value)

    communities = {
        r.code: r for r in Region.objects.filter(code__in=set(community_codes))
    }
    for feature, code, community_code in zip(source.features, codes, community_codes, strict=True):
        community = communities.get(community_code)
        label = f"{feature.index}（{code}）"
        if community is None:
            raise ImportFailed(f"所属社区 {community_code} 不存在：请先导入社区边界", source=source.name, feature=label)
        if community.level != RegionLevel.COMMUNITY:
            raise ImportFailed(
                f"{community} 是{community.get_level_display()}，网格只能属于社区", source=source.name, feature=label
            )

    features = _prepare(source, system, codes)
    _check_overlaps(source.name, features)

    report = ImportReport(source=source.name, crs=system.label)
    with transaction.atomic():
        existing: dict[str, Grid] = {}
        for chunk in _chunks(codes, 500):
            existing.update({g.code: g for g in Grid.objects.filter(code__in=chunk)})
        new: list[Grid] = []
        changed: list[Grid] = []
        for item, community_code, level_value in zip(features, community_codes, levels, strict=True):
            values: dict[str, Any] = {
                "community": communities[community_code],
                **boundary_fields(item.geometry, item.area_m2),
            }
            if level_value is not None:
                values["management_level"] = level_value
            grid = existing.get(item.code)
            if grid is None:
                new.append(Grid(code=item.code, **values))
                report.created.append(item.code)
            else:
                for key, value in values.items():
                    setattr(grid, key, value)
                changed.append(grid)
                report.updated.append(item.code)
            if item.repaired:
                report.repaired.append(str(item.label))
        Grid.objects.bulk_create(new, batch_size=BATCH_SIZE)
        # One UPDATE per grid: bulk_update's CASE expressions are far slower for thousands of rows.
        fields = ["community", "management_level", "boundary_wkb", "min_lon", "min_lat", "max_lon", "max_lat", "area_m2"]
        for grid in changed:
            grid.save(update_fields=fields)
        grids_changed()
    return report


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_overlaps(source_name: str, features: list[_Feature]) -> None:
    """Reject grids overlapping each other or the database's grids (other codes) by more than a sliver."""
    file_geoms = np.array([f.geometry for f in features], dtype=object)
    codes = [f.code for f in features]
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in total_bounds(file_geoms))
    in_file = set(codes)
    db_rows = [
        (code, wkb, area)
        for code, wkb, area in Grid.objects.filter(
            min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat,
            boundary_wkb__isnull=False,
        ).values_list("code", "boundary_wkb", "area_m2")
        if code not in in_file
    ]
    n = len(features)
    db_geoms = shapely.from_wkb([bytes(w or b"") for _, w, _ in db_rows]) if db_rows else np.zeros(0, dtype=object)
    all_geoms = np.concatenate([file_geoms, np.asarray(db_geoms, dtype=object).reshape(-1)])
    all_codes = codes + [code for code, _, _ in db_rows]
    transformer = metric_transformer_for(total_bounds(all_geoms))
    all_areas = np.concatenate(
        [np.array([f.area_m2 for f in features]), np.array([a or 0.0 for _, _, a in db_rows], dtype=np.float64)]
    )
    tree = shapely.STRtree(all_geoms)
    left, right = tree.query(file_geoms, predicate="intersects")
    keep = (right != left) & ((right >= n) | (right > left))
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return
    interiors = shapely.relate_pattern(all_geoms[left], all_geoms[right], "T********")
    left, right = left[interiors], right[interiors]
    if len(left) == 0:
        return
    overlaps = shapely.area(project(shapely.intersection(all_geoms[left], all_geoms[right]), transformer))
    smaller = np.minimum(all_areas[left], all_areas[right])
    bad = np.flatnonzero((overlaps > OVERLAP_MAX_M2) & (overlaps > OVERLAP_MAX_SHARE * smaller))
    if len(bad) == 0:
        return
    # Name the later feature of a pair inside the file, the file's feature for a pair with the database.
    subject = np.where(right < n, np.maximum(left, right), left)
    partner = np.where(right < n, np.minimum(left, right), right)
    k = bad[np.lexsort((partner[bad], subject[bad]))[0]]
    i, j = int(subject[k]), int(partner[k])
    other = f"文件中第 {features[j].source.index} 个要素（{all_codes[j]}）" if j < n else f"已有网格 {all_codes[j]} "
    share = overlaps[k] / smaller[k] if smaller[k] > 0 else 1.0
    raise ImportFailed(
        f"与{other}重叠 {overlaps[k]:.1f} 平方米（占较小网格的 {share:.1%}），"
        f"超过允许的 {OVERLAP_MAX_M2:g} 平方米且 {OVERLAP_MAX_SHARE:.1%}",
        source=source_name,
        feature=features[i].label,
    )


# --- unit grids: generation -------------------------------------------------------------------------


def communities_under(region: Region) -> list[Region]:
    """The communities in ``region`` (itself when it is one), by code."""
    if region.level == RegionLevel.COMMUNITY:
        return [region]
    return list(
        Region.objects.filter(level=RegionLevel.COMMUNITY)
        .filter(Q(parent=region) | Q(parent__parent=region) | Q(parent__parent__parent=region))
        .order_by("code")
    )


def _check_replaceable(old: QuerySet[Grid]) -> None:
    """Refuse to delete grids that beats or other data still use (checked before anything is written)."""
    beats = list(ResponsibilityGrid.objects.filter(grids__in=old).distinct().values_list("name", flat=True)[:6])
    if beats:
        names = "、".join(beats[:5]) + (" 等" if len(beats) > 5 else "")
        raise ValidationFailed(
            f"要替换的网格已编入责任网格（{names}）：重新生成会让责任网格失去这些网格，请先在责任网格中移除它们",
            field="replace",
        )
    try:
        Collector(using=old.db).collect(list(old))  # a dry run: raises when other data protects the grids
    except (ProtectedError, RestrictedError) as exc:
        raise ValidationFailed("要替换的网格已被其他数据（如案件）引用，不能删除重建", field="replace") from exc


@dataclass
class _CommunityCells:
    community: Region
    codes: list[str]
    wkbs: list[bytes]
    bounds: np.ndarray
    areas: np.ndarray


def _suggested_size(area_m2: float) -> int:
    return int(math.ceil(math.sqrt(area_m2 / MAX_GRIDS_PER_COMMUNITY) * 1.05 / 10.0) * 10)


def grids_generate(
    *,
    region: Region,
    size_m: float = 100.0,
    replace: bool = False,
    skip_existing: bool = False,
    progress: Progress | None = None,
) -> int:
    """Cover every community under ``region`` with square unit grids of about ``size_m`` metres; returns how many.

    Cells are built in each community's local equal-area projection, clipped to its boundary
    (slivers under 1 % of a cell are merged into a neighbour, see ``geometry.square_cells``) and
    coded community code + 001…999, row by row from the north-west: west to east inside a row,
    rows from north to south (DB11 "从西向东、由北至南"). All communities are planned and checked
    first (boundary present, at most 999 cells, no existing grids unless ``replace`` or
    ``skip_existing``), so those errors change nothing. Then each community is written in its own
    transaction: an interruption keeps the communities already finished, never half of one, and a
    second run with ``skip_existing`` completes the rest. ``replace`` deletes a community's grids
    and regenerates them in the same transaction.
    """
    if not (isinstance(size_m, int | float) and math.isfinite(size_m) and 5 <= size_m <= 10_000):
        raise ValidationFailed("网格边长应在 5 到 10000 米之间", field="size")
    if replace and skip_existing:
        raise ValidationFailed("replace 与 skip_existing 不能同时使用", field="replace")
    communities = communities_under(region)
    if not communities:
        raise ValidationFailed(f"{region} 下没有社区：请先导入社区边界", field="region")
    missing = [c for c in communities if not c.boundary_wkb]
    if missing:
        names = "、".join(str(c) for c in missing[:5]) + (" 等" if len(missing) > 5 else "")
        raise ValidationFailed(f"{len(missing)} 个社区没有边界，无法生成网格：{names}", field="region")
    with_grids = set(
        Grid.objects.filter(community__in=communities).values_list("community_id", flat=True).distinct()
    )
    if with_grids and not (replace or skip_existing):
        names = "、".join(str(c) for c in communities if c.pk in with_grids)
        raise ValidationFailed(
            f"{len(with_grids)} 个社区已有单元网格（{names[:200]}）：加 --replace 删除后重新生成，"
            "或加 --skip-existing 跳过这些社区",
            field="region",
        )
    todo = [c for c in communities if not (skip_existing and c.pk in with_grids)]
    if replace and with_grids:
        _check_replaceable(Grid.objects.filter(community_id__in=with_grids))

    plans: list[_CommunityCells] = []
    for done, community in enumerate(todo, start=1):
        boundary = community.boundary
        assert boundary is not None
        try:
            plan = square_cells(boundary, float(size_m), max_cells=MAX_GRIDS_PER_COMMUNITY)
        except TooManyCells as exc:
            area = community.area_m2 or float(areas_m2(np.array([boundary], dtype=object))[0])
            raise ValidationFailed(
                f"{community}按 {size_m:g} 米划分会得到约 {exc.count} 个网格，超过每个社区 999 个的编码上限："
                f"请用更大的 --size（建议不小于 {_suggested_size(area)} 米）",
                field="size",
            ) from None
        plans.append(
            _CommunityCells(
                community=community,
                codes=[f"{community.code}{seq:03d}" for seq in range(1, len(plan) + 1)],
                wkbs=list(shapely.to_wkb(plan.geometries)),
                bounds=shapely.bounds(plan.geometries),
                areas=plan.areas_m2,
            )
        )
        if progress:
            progress("plan", done, len(todo))

    created = 0
    for done, cells in enumerate(plans, start=1):
        with transaction.atomic():
            if replace:
                try:
                    Grid.objects.filter(community=cells.community).delete()
                except (ProtectedError, RestrictedError) as exc:
                    raise ValidationFailed(
                        f"{cells.community}的网格已被其他数据（如案件）引用，不能删除重建", field="replace"
                    ) from exc
            Grid.objects.bulk_create(
                [
                    Grid(
                        code=code,
                        community=cells.community,
                        boundary_wkb=wkb,
                        min_lon=float(b[0]),
                        min_lat=float(b[1]),
                        max_lon=float(b[2]),
                        max_lat=float(b[3]),
                        area_m2=float(area),
                        is_demo=cells.community.is_demo,
                    )
                    for code, wkb, b, area in zip(cells.codes, cells.wkbs, cells.bounds, cells.areas, strict=True)
                ],
                batch_size=BATCH_SIZE,
            )
            grids_changed()
        created += len(cells.codes)
        if progress:
            progress("write", done, len(plans))
    return created

