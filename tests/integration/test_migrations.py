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


def test_authenticator_seeds_are_sealed_on_upgrade_and_opened_on_downgrade(
        empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from webapp.auth.sealing import _fernet

    monkeypatch.setenv("SECRET_KEY", "migration-test-key")
    assert _flask(["db", "upgrade", "d4f8a3b0c508"], empty_database_url, tmp_path).returncode == 0
    seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    engine = sa.create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO organisation (id, name, phone, address, "
                                   "km_allowance_eur, created_at) VALUES "
                                   "(1, 'SAAD', '', '', 0.38, '2026-01-01 00:00:00')"))
        connection.execute(sa.text(
            "INSERT INTO \"user\" (id, organisation_id, email, password_hash, role, first_name,"
            " last_name, locale, active, created_at, totp_secret, recovery_codes,"
            " failed_logins) VALUES (1, 1, 'a@b.fr', 'x', 'coordinator', 'A', 'B', 'fr', :t,"
            " '2026-01-01 00:00:00', :seed, '[]', 0)"), {"t": True, "seed": seed})

    def stored() -> str:
        with engine.connect() as connection:
            return str(connection.execute(sa.text('SELECT totp_secret FROM "user"')).scalar())

    up = _flask(["db", "upgrade"], empty_database_url, tmp_path)
    assert up.returncode == 0, up.stderr
    sealed = stored()
    assert seed not in sealed
    assert _fernet("migration-test-key").decrypt(sealed.encode()).decode() == seed
    down = _flask(["db", "downgrade", "d4f8a3b0c508"], empty_database_url, tmp_path)
    assert down.returncode == 0, down.stderr
    assert stored() == seed
    engine.dispose()
