"""End to end past one machine: PostgreSQL primary + streaming replica, two web workers behind one port, under load.

Runs ``bench/bench_replica.py --quick`` (two throw-away clusters under /tmp, 200 reports while the case list
is read, read-your-writes with replay paused) and checks its verdicts. Only in the PostgreSQL pass of
``.ci/run`` (``DATABASE_URL=postgres://…``), and only where the PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAS_INITDB = bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or bool(os.environ.get("PG_BINDIR"))
GRANIAN = Path(sys.executable).with_name("granian").exists() or shutil.which("granian") is not None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.replica,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
                       reason="runs in .ci/run's PostgreSQL pass (DATABASE_URL=postgres://…)"),
    pytest.mark.skipif(not HAS_INITDB, reason="PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)"),
    pytest.mark.skipif(not GRANIAN, reason="granian is not installed (pip install -e '.[test]')"),
]


def test_reports_survive_and_reads_go_to_the_replica(tmp_path):
    output = tmp_path / "bench_replica.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_replica.py"), "--quick", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert output.exists(), done.stdout + done.stderr
    result = json.loads(output.read_text())["raw"]
    failed = [name for name, passed in result["checks"].items() if not passed]
    assert not failed, f"{failed}\n{done.stdout}\n{done.stderr}\n{result.get('web_log_tail', '')}"
    assert done.returncode == 0
    # Every report was acknowledged and is on both clusters; the list was read from the replica.
    assert result["acknowledged"] == result["reports"] == 200 and result["unacknowledged"] == 0
    assert result["statements"]["replica"]["case_selects"] >= result["lists"] > 0
    assert result["replication"] and result["replication"][0][1] == "streaming"
    assert result["read_your_writes"]["other_user_while_paused"] == 404
    assert not Path(result["folder"]).exists()  # the clusters were stopped and deleted
