"""The test and start commands notice a half-installed front end (scripts/check_node_modules.py): an
interrupted ``npm ci`` once left a tree without htmx.org and leaflet.markercluster, and the browser tests then
failed with missing maps and buttons instead of saying why."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "check_node_modules.py"


def installed_copy(tmp_path: Path) -> Path:
    """A checkout with package-lock.json and a node_modules that holds each pinned package's manifest."""
    shutil.copy(ROOT / "package-lock.json", tmp_path / "package-lock.json")
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for path, entry in lock["packages"].items():
        if path.startswith("node_modules/"):
            (tmp_path / path).mkdir(parents=True)
            (tmp_path / path / "package.json").write_text(json.dumps({"version": entry["version"]}))
    (tmp_path / "scripts").mkdir()
    shutil.copy(CHECK, tmp_path / "scripts" / CHECK.name)
    return tmp_path


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(root / "scripts" / CHECK.name)], capture_output=True, text=True,
                          check=False)


def test_a_complete_tree_passes(tmp_path):
    result = check(installed_copy(tmp_path))

    assert (result.returncode, result.stdout) == (0, "")


def test_a_half_finished_npm_ci_is_named_package_by_package(tmp_path):
    root = installed_copy(tmp_path)
    shutil.rmtree(root / "node_modules" / "htmx.org")
    shutil.rmtree(root / "node_modules" / "leaflet.markercluster")

    result = check(root)

    assert result.returncode == 1
    assert result.stdout.splitlines() == ["node_modules/htmx.org: missing", "node_modules/leaflet.markercluster: missing"]


def test_a_package_of_another_version_than_the_lock_pins_is_reported(tmp_path):
    root = installed_copy(tmp_path)
    (root / "node_modules" / "leaflet" / "package.json").write_text(json.dumps({"version": "0.7.7"}))

    result = check(root)

    assert result.returncode == 1
    assert "node_modules/leaflet: 0.7.7 installed, package-lock.json pins" in result.stdout


def test_no_node_modules_at_all_is_reported(tmp_path):
    root = installed_copy(tmp_path)
    shutil.rmtree(root / "node_modules")

    assert check(root).stdout == "node_modules: not installed\n"


def test_the_test_and_start_commands_run_the_check_before_using_the_front_end():
    for script in ("test", "start"):
        text = (ROOT / "scripts" / script).read_text(encoding="utf-8")
        assert ". scripts/ensure-env" in text and "ensure_node_modules" in text
    assert "check_node_modules.py" in (ROOT / "scripts" / "ensure-env").read_text(encoding="utf-8")
