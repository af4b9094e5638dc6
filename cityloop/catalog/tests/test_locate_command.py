"""``cityloop locate`` as an operator uses it on the command line."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from cityloop.cases.tests import conftest as cases_fixtures
from cityloop.cases.tests.conftest import CELL, NORTH, WEST
from cityloop.core.crs import wgs84_to_gcj02

city = cases_fixtures.city  # the small two-district city of the case tests

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("locate", *args, stdout=out, skip_checks=True)
    return out.getvalue()


def test_locate_prints_grid_region_chain_and_routing(city):
    lon, lat = WEST + CELL * 1.5, NORTH - CELL * 0.5  # inside the second grid of 甲社区
    text = run(str(lon), str(lat), "--category", "01001")
    assert "单元网格：370102001001002" in text
    assert "社区：甲社区（370102001001）" in text and "街道：甲街道" in text and "区县：历下区" in text
    assert "市：济南市（370100）" in text
    assert "责任单位：市政中心" in text and "依据：规则#" in text
    assert "处置时限：4 工作时" in text


def test_locate_converts_gcj02_input(city):
    lon, lat = WEST + CELL * 0.5, NORTH - CELL * 1.5  # the third grid
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert "单元网格：370102001001003" in run(f"{float(gx):.8f}", f"{float(gy):.8f}", "--crs", "gcj02")


def test_locate_outside_the_city_is_a_clear_error(city):
    with pytest.raises(CommandError, match="不在本市任何单元网格内"):
        run("116.0", "36.0")
    with pytest.raises(CommandError, match="坐标系"):
        run("117.0", "36.66", "--crs", "mars")


def test_coordinates_follow_the_rule_of_every_channel(city):
    lon, lat = WEST + CELL * 1.5, NORTH - CELL * 0.5
    full_width = str.maketrans("0123456789.", "０１２３４５６７８９．")
    assert "单元网格：370102001001002" in run(f"{lon:.6f}".translate(full_width), f"{lat:.6f}".translate(full_width))
    with pytest.raises(CommandError, match="lon"):
        run(f"{lon / 100:.8f}e2", f"{lat:.6f}")
