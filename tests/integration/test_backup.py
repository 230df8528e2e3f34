"""``flask backup`` during writes, ``flask restore``, integrity and data."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import TEST_DATABASE_URL

# SQLite's online backup API; a PostgreSQL deployment backs up with pg_dump instead.
pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="flask backup is for SQLite")


def _writer(db_path: Path, stop: threading.Event, written: list[int]) -> None:
    """Write pairs of rows in one transaction each, as fast as the database allows."""
    conn = sqlite3.connect(db_path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    n = 0
    while not stop.is_set():
        with conn:
            for part in ("a", "b"):
                conn.execute("INSERT INTO login_attempt (email, remote_addr, at) VALUES "
                             "(?, ?, datetime('now'))", (f"w{n}-{part}@example.org", "10.1.1.1"))
        written.append(n)
        n += 1
    conn.close()


def test_backup_is_consistent_while_the_app_writes(app: Flask, world: Any, runner: Any,
                                                   db_path: Path, tmp_path: Path) -> None:
    org = world.org()
    world.client(org, last_name="Sauvegardee")
    world.commit()
    stop, written = threading.Event(), []
    thread = threading.Thread(target=_writer, args=(db_path, stop, written))
    thread.start()
    try:
        while len(written) < 50:
            time.sleep(0.01)
        target = tmp_path / "backups" / "tournee.sqlite3"
        result = runner.invoke(args=["backup", str(target)])
        during = len(written)
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        emails = [r[0] for r in copy.execute("SELECT email FROM login_attempt")]
        assert copy.execute("SELECT count(*) FROM client WHERE last_name = 'Sauvegardee'"
                            ).fetchone()[0] == 1
        assert copy.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
    # A snapshot: every transaction whole (both rows or none), a prefix of what was written.
    assert len(emails) % 2 == 0
    assert len(emails) >= 100
    pairs = {e.split("-")[0] for e in emails}
    assert len(pairs) * 2 == len(emails)
    assert pairs == {f"w{n}" for n in range(len(pairs))}
    assert len(pairs) <= during + 1 < len(written) + 1


def test_restore_brings_the_backup_back(app: Flask, world: Any, runner: Any, db_path: Path,
                                        tmp_path: Path) -> None:
    import sqlalchemy as sa

    from webapp.clients.models import Client
    from webapp.extensions import db

    org = world.org()
    kept = world.client(org, last_name="Avantlapanne")
    world.commit()
    kept_id = kept.id
    backup = tmp_path / "nightly.sqlite3"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    db.session.delete(db.session.get(Client, kept_id))
    world.client(org, last_name="Apreslapanne")
    world.commit()

    refused = runner.invoke(args=["restore", str(tmp_path / "missing.sqlite3"), "--yes"])
    assert refused.exit_code != 0
    junk = tmp_path / "junk.sqlite3"
    sqlite3.connect(junk).execute("CREATE TABLE t (x)").connection.commit()
    assert "not a Tournée database" in runner.invoke(args=["restore", str(junk), "--yes"]).output

    result = runner.invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.session.remove()
    names = set(db.session.scalars(sa.select(Client.last_name)))
    assert "Avantlapanne" in names
    assert "Apreslapanne" not in names
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
