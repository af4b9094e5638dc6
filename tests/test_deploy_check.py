"""`check --deploy` with production settings from the environment reports nothing; the transport security it
asks for is on by default once HTTPS is declared (#19 item 8)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    environment = {**base, "CITYLOOP_DATA_DIR": str(tmp_path), "SECRET_KEY": secrets.token_urlsafe(50),
                   "ALLOWED_HOSTS": "cityloop.example.gov.cn", "DEBUG": "0", **env}
    return subprocess.run([sys.executable, "-m", "cityloop", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, check=False, timeout=120)


def test_production_settings_pass_check_deploy(tmp_path):
    done = check_deploy(tmp_path, CITYLOOP_HTTPS="1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_without_https_declared_check_deploy_names_what_is_missing(tmp_path):
    done = check_deploy(tmp_path)

    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr, warning


def test_each_setting_can_be_turned_off_on_its_own(tmp_path):
    done = check_deploy(tmp_path, CITYLOOP_HTTPS="1", SECURE_HSTS_SECONDS="0")

    assert "security.W004" in done.stderr and "security.W012" not in done.stderr
