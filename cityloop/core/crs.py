"""Coordinate reference systems: WGS-84, CGCS2000, GCJ-02 (火星坐标), BD-09 and any EPSG code.

GCJ-02 and BD-09 are the obfuscated systems of Chinese web maps (Amap/Tencent and Baidu). The
forward formulas are the published ones (as used by eviltransform and coordtransform); the
inverse of GCJ-02 is solved by fixed-point iteration, which converges to well under a centimetre.
CGCS2000 differs from WGS-84 by a few centimetres and is treated as identical, as is customary.
Everything here is vectorised over numpy arrays and also accepts plain floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from cityloop.core.errors import ValidationFailed

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

#: Rough bounding box of China (with its islands); GCJ-02 leaves points outside it unchanged.
CHINA_BOUNDS = (73.0, 3.5, 135.5, 54.0)

Floats = NDArray[np.float64]


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a WGS-84 point lies inside China's rough bounding box."""
    x, y = _as_arrays(lon, lat)
    min_lon, min_lat, max_lon, max_lat = CHINA_BOUNDS
    return (x >= min_lon) & (x <= max_lon) & (y >= min_lat) & (y <= max_lat)


def _gcj_offset(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    x = lon - 105.0
    y = lat - 35.0
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    x, y = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj_offset(x, y)
    return x + d_lon, y + d_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tolerance: float = 1e-9) -> tuple[Floats, Floats]:
    """Exact inverse of :func:`wgs84_to_gcj02` by fixed-point iteration (converges in a few steps)."""
    gx, gy = _as_arrays(lon, lat)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(30):
        fx, fy = wgs84_to_gcj02(wx, wy)
        dx, dy = fx - gx, fy - gy
        wx, wy = wx - dx, wy - dy
        if np.all(np.abs(dx) < tolerance) and np.all(np.abs(dy) < tolerance):
            break
    return wx, wy


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike, *, tolerance: float = 1e-10) -> tuple[Floats, Floats]:
    """Inverse of :func:`gcj02_to_bd09`: the published closed form, refined by iteration to be exact."""
    bx, by = _as_arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = z * np.cos(theta), z * np.sin(theta)
    for _ in range(10):
        fx, fy = gcj02_to_bd09(gx, gy)
        dx, dy = fx - bx, fy - by
        gx, gy = gx - dx, gy - dy
        if np.all(np.abs(dx) < tolerance) and np.all(np.abs(dy) < tolerance):
            break
    return gx, gy


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


@dataclass(frozen=True)
class CoordinateSystem:
    """A parsed ``--crs`` value: one of the named Chinese systems, or an EPSG/WKT CRS for pyproj."""

    name: str
    epsg: int | None = None

    @property
    def label(self) -> str:
        return self.name if self.epsg is None else f"EPSG:{self.epsg}"


WGS84 = CoordinateSystem("wgs84")
NAMED = {
    "wgs84": WGS84,
    "epsg:4326": WGS84,
    "cgcs2000": CoordinateSystem("cgcs2000"),
    "epsg:4490": CoordinateSystem("cgcs2000"),
    "gcj02": CoordinateSystem("gcj02"),
    "bd09": CoordinateSystem("bd09"),
}


def parse_crs(value: str | CoordinateSystem) -> CoordinateSystem:
    """Parse ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` or ``EPSG:NNNN``; anything else is a clear error."""
    if isinstance(value, CoordinateSystem):
        return value
    key = value.strip().lower().replace("-", "").replace("_", "")
    key = {"wgs84": "wgs84", "gcj02": "gcj02", "bd09": "bd09", "cgcs2000": "cgcs2000"}.get(key, key)
    if key in NAMED:
        return NAMED[key]
    match = re.fullmatch(r"epsg:(\d{4,6})", key)
    if match:
        code = int(match.group(1))
        _transformer(code)  # fail now on an unknown code
        return CoordinateSystem(f"epsg:{code}", epsg=code)
    raise ValidationFailed(
        f"未知的坐标系“{value}”：可用 wgs84、cgcs2000、gcj02、bd09 或 EPSG:NNNN", field="crs"
    )


@lru_cache(maxsize=32)
def _transformer(epsg: int) -> Transformer:
    try:
        source = CRS.from_epsg(epsg)
    except CRSError as exc:
        raise ValidationFailed(f"未知的坐标系 EPSG:{epsg}", field="crs") from exc
    return Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)


def crs_from_wkt(wkt: str) -> CoordinateSystem:
    """The coordinate system described by a Shapefile's .prj text."""
    try:
        crs = CRS.from_wkt(wkt)
    except CRSError as exc:
        raise ValidationFailed(f"无法识别 .prj 中的坐标系：{exc}", field="crs") from exc
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is None:
        raise ValidationFailed("无法把 .prj 中的坐标系对应到 EPSG 编码，请用 --crs 指定", field="crs")
    return parse_crs(f"EPSG:{epsg}")


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str | CoordinateSystem) -> tuple[Floats, Floats]:
    """Convert coordinates in ``crs`` to WGS-84 longitude/latitude."""
    system = parse_crs(crs)
    x, y = _as_arrays(lon, lat)
    if system.name in ("wgs84", "cgcs2000"):
        return x.copy(), y.copy()
    if system.name == "gcj02":
        return gcj02_to_wgs84(x, y)
    if system.name == "bd09":
        return bd09_to_wgs84(x, y)
    assert system.epsg is not None
    out_x, out_y = _transformer(system.epsg).transform(x, y)
    return np.asarray(out_x, dtype=np.float64), np.asarray(out_y, dtype=np.float64)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str | CoordinateSystem) -> tuple[Floats, Floats]:
    """Convert WGS-84 longitude/latitude to ``crs`` (named systems only, plus EPSG via pyproj)."""
    system = parse_crs(crs)
    x, y = _as_arrays(lon, lat)
    if system.name in ("wgs84", "cgcs2000"):
        return x.copy(), y.copy()
    if system.name == "gcj02":
        return wgs84_to_gcj02(x, y)
    if system.name == "bd09":
        return wgs84_to_bd09(x, y)
    assert system.epsg is not None
    back = Transformer.from_crs(CRS.from_epsg(4326), CRS.from_epsg(system.epsg), always_xy=True)
    out_x, out_y = back.transform(x, y)
    return np.asarray(out_x, dtype=np.float64), np.asarray(out_y, dtype=np.float64)


def geodesic_distance_m(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> Floats:
    """Great-circle distance in metres (haversine on the mean Earth radius; enough for metre checks)."""
    x1, y1 = _as_arrays(lon1, lat1)
    x2, y2 = _as_arrays(lon2, lat2)
    p1, p2 = np.radians(y1), np.radians(y2)
    dp, dl = p2 - p1, np.radians(x2 - x1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(h))


@lru_cache(maxsize=64)
def local_metric_transformer(lon: float, lat: float) -> Transformer:
    """WGS-84 → a local azimuthal equal-area projection centred near (lon, lat), in metres."""
    proj = CRS.from_proj4(f"+proj=laea +lat_0={lat:.2f} +lon_0={lon:.2f} +datum=WGS84 +units=m +no_defs")
    return Transformer.from_crs(CRS.from_epsg(4326), proj, always_xy=True)
