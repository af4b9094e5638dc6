"""Coordinate conversions against published reference pairs, and round trips to well under a metre."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.core.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geodesic_distance_m,
    in_china,
    parse_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from cityloop.core.errors import ValidationFailed


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(geodesic_distance_m(a[0], a[1], b[0], b[1]))


# wandergis/coordtransform (test/app.js), the reference most Chinese web code follows.
def test_wgs84_to_gcj02_matches_coordtransform():
    x, y = wgs84_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-9)


def test_gcj02_to_bd09_matches_coordtransform():
    x, y = gcj02_to_bd09(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-9)


def test_inverse_conversions_agree_with_coordtransform_within_a_metre():
    # coordtransform's inverses are one-step approximations; ours are exact, so they agree to about a metre.
    assert metres(tuple(map(float, gcj02_to_wgs84(116.404, 39.915))), (116.39775550083061, 39.91359571849836)) < 1.5
    assert metres(tuple(map(float, bd09_to_gcj02(116.404, 39.915))), (116.39762729119315, 39.90865673957631)) < 1.0


# A WGS-84 → GCJ-02 → BD-09 chain published with the geotool command-line tests (its constants differ in
# the last digits: the two implementations agree to a centimetre).
def test_chain_near_shanghai():
    wgs = (121.0917077, 30.6107779)
    assert metres(tuple(map(float, wgs84_to_gcj02(*wgs))), (121.09626935575027, 30.608604331756705)) < 0.02
    assert metres(tuple(map(float, wgs84_to_bd09(*wgs))), (121.10271732371203, 30.61484572185035)) < 0.02


# googollee/eviltransform test pairs (lat, lng order in the source).
@pytest.mark.parametrize(("wgs", "gcj"), [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # 上海
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # 深圳
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # 北京
])
def test_eviltransform_pairs_within_a_metre(wgs, gcj):
    assert metres(tuple(map(float, wgs84_to_gcj02(*wgs))), gcj) < 1.0
    assert metres(tuple(map(float, gcj02_to_wgs84(*gcj))), wgs) < 1.0


@settings(max_examples=200, deadline=None)
@given(st.floats(73.7, 134.9), st.floats(18.2, 53.4))
def test_round_trips_lose_less_than_a_centimetre(lon, lat):
    back = tuple(map(float, gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))))
    assert metres(back, (lon, lat)) < 0.01
    back = tuple(map(float, bd09_to_wgs84(*wgs84_to_bd09(lon, lat))))
    assert metres(back, (lon, lat)) < 0.01
    back = tuple(map(float, to_wgs84(*from_wgs84(lon, lat, "bd09"), "bd09")))
    assert metres(back, (lon, lat)) < 0.01


def test_points_outside_china_are_not_shifted():
    x, y = wgs84_to_gcj02(2.35, 48.85)  # Paris
    assert (float(x), float(y)) == (2.35, 48.85)
    assert not in_china(2.35, 48.85) and in_china(117.0, 36.6)


def test_conversions_work_on_arrays():
    lons, lats = np.array([117.0, 117.1, 117.2]), np.array([36.6, 36.7, 36.8])
    gx, gy = wgs84_to_gcj02(lons, lats)
    assert gx.shape == (3,)
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert np.allclose(wx, lons, atol=1e-9) and np.allclose(wy, lats, atol=1e-9)


def test_any_epsg_code_through_pyproj():
    # CGCS2000 / 3-degree Gauss-Kruger CM 114E: the false easting 500 000 m lies on the central meridian.
    x, y = to_wgs84([500000.0], [4000000.0], "EPSG:4547")
    assert float(x[0]) == pytest.approx(114.0, abs=1e-9)
    assert 36.0 < float(y[0]) < 36.2
    assert parse_crs("cgcs2000").name == "cgcs2000" and parse_crs("EPSG:4490").name == "cgcs2000"


@pytest.mark.parametrize("bad", ["mars", "EPSG:999999", "epsg:abc", ""])
def test_unknown_coordinate_system_is_a_clear_error(bad):
    with pytest.raises(ValidationFailed, match="坐标系"):
        parse_crs(bad)
