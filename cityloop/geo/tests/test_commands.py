from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cityloop.__main__ import main
from cityloop.geo.models import Grid, Region, RegionLevel
from cityloop.geo.tests.factories import RegionFactory, square
from cityloop.geo.tests.helpers import feature, metric_rect, write_geojson

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_regions_then_make_grids_then_import_grids(tmp_path, jinan_districts):
    output = _run("import_regions", str(jinan_districts), "--crs", "gcj02")
    assert "新增 12 个" in output and Region.objects.filter(level=RegionLevel.DISTRICT).count() == 12

    communities = write_geojson(tmp_path / "communities.geojson", [
        feature(metric_rect(117.1, 36.7, 1000, 1000), code="370102001", name="解放路街道"),
        feature(metric_rect(117.1, 36.7, 300, 200, dx=-300), code="370102001001", name="甲社区"),
        feature(metric_rect(117.1, 36.7, 300, 200, dx=100), code="370102001002", name="乙社区"),
    ])
    output = _run("import_regions", str(communities), "--crs", "wgs84", "--code-field", "code")
    assert "新增 3 个" in output
    assert Region.objects.get(code="370102001002").parent.code == "370102001"

    output = _run("make_grids", "--region", "370102", "--size", "100")
    assert "生成单元网格 12 个" in output
    assert Grid.objects.count() == 12

    grids = write_geojson(tmp_path / "grids.geojson", [
        feature(square(117.2, 36.8, 0.001), 编码="370102001001101"),
    ])
    output = _run("import_grids", str(grids), "--crs", "wgs84", "--code-field", "编码")
    assert "新增 1 个" in output and Grid.objects.count() == 13

    with pytest.raises(CommandError, match="已有单元网格"):
        _run("make_grids", "--region", "370102001001")
    assert "生成单元网格 6 个" in _run("make_grids", "--region", "370102001001", "--replace")


def test_failures_raise_command_error_with_the_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(CommandError, match=r"bad\.json：不是有效的 JSON"):
        _run("import_regions", str(bad), "--crs", "wgs84")
    with pytest.raises(CommandError, match="区划 999999 不存在"):
        _run("make_grids", "--region", "999999")
    RegionFactory(code="370102001001", level=RegionLevel.COMMUNITY, boundary=metric_rect(117.1, 36.7, 4000, 4000))
    with pytest.raises(CommandError, match="请用更大的 --size"):
        _run("make_grids", "--region", "370102001001")
    assert Grid.objects.count() == 0


@pytest.fixture
def keep_connection(monkeypatch):
    """run_from_argv closes every connection when it ends, which would end the test's transaction."""
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)


def test_command_line_exits_non_zero_with_the_message(tmp_path, capsys, keep_connection):
    bad = write_geojson(tmp_path / "districts.json", [feature(square(117.0, 36.6, 0.01), adcode="370102")])
    with pytest.raises(SystemExit) as exited:
        main(["cityloop", "import_regions", str(bad), "--crs", "gcj02"])
    assert exited.value.code == 1
    assert "districts.json 要素 1（370102）：缺少名称属性“name”" in capsys.readouterr().err
    assert Region.objects.count() == 0


def test_a_100000_deep_geojson_ends_with_a_message_not_a_traceback(tmp_path, capsys, keep_connection):
    deep = tmp_path / "deep.geojson"
    deep.write_text('{"type": "Polygon", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for command in ("import_regions", "import_grids"):
        with pytest.raises(SystemExit) as exited:
            main(["cityloop", command, str(deep), "--crs", "wgs84"])
        assert exited.value.code == 1
        err = capsys.readouterr().err
        assert "deep.geojson：JSON 嵌套过深" in err and "Traceback" not in err and "RecursionError" not in err
    assert Region.objects.count() == 0 and Grid.objects.count() == 0


def test_help_texts(capsys, keep_connection):
    for command in ("import_regions", "import_grids", "make_grids"):
        with pytest.raises(SystemExit):
            main(["cityloop", command, "--help"])
        assert "--crs" in capsys.readouterr().out or command == "make_grids"
