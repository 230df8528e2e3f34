"""Migrations build the schema from nothing and match the models exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.config import PROJECT_ROOT


def _flask(args: list[str], database_url: str,
           instance: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLASK_APP": "webapp", "DATABASE_URL": database_url,
           "TOURNEE_INSTANCE": str(instance)}
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_upgrade_on_empty_database_then_check_reports_no_difference(
        empty_database_url: str, tmp_path: Path) -> None:
    upgrade = _flask(["db", "upgrade"], empty_database_url, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    check = _flask(["db", "check"], empty_database_url, tmp_path)
    assert check.returncode == 0, check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_downgrade_to_base_and_back(empty_database_url: str, tmp_path: Path) -> None:
    assert _flask(["db", "upgrade"], empty_database_url, tmp_path).returncode == 0
    down = _flask(["db", "downgrade", "base"], empty_database_url, tmp_path)
    assert down.returncode == 0, down.stderr
    again = _flask(["db", "upgrade"], empty_database_url, tmp_path)
    assert again.returncode == 0, again.stderr


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app: object) -> None:
    from webapp.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas: this run is on PostgreSQL")

    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
