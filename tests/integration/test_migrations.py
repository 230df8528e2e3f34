"""Migrations build the schema from nothing and match the models exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from webapp.config import PROJECT_ROOT


def _flask(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLASK_APP": "webapp", "DATABASE_URL": f"sqlite:///{db}",
           "TOURNEE_INSTANCE": str(db.parent)}
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_upgrade_on_empty_database_then_check_reports_no_difference(tmp_path: Path) -> None:
    db = tmp_path / "empty.sqlite3"
    upgrade = _flask(["db", "upgrade"], db)
    assert upgrade.returncode == 0, upgrade.stderr
    check = _flask(["db", "check"], db)
    assert check.returncode == 0, check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    db = tmp_path / "roundtrip.sqlite3"
    assert _flask(["db", "upgrade"], db).returncode == 0
    assert _flask(["db", "downgrade", "base"], db).returncode == 0
    again = _flask(["db", "upgrade"], db)
    assert again.returncode == 0, again.stderr


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app: object) -> None:
    from webapp.extensions import db

    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
