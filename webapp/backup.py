"""``flask backup PATH`` and ``flask restore PATH``: SQLite's online backup API.

The backup API copies the database page by page under a read transaction, so the copy is a
consistent snapshot even while the app and the worker keep writing (WAL mode lets them go
on). PostgreSQL deployments use pg_dump / pg_restore instead.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.extensions import db


def sqlite_path() -> Path:
    """Return the file of the app's SQLite database, or fail for other databases."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise click.ClickException("flask backup/restore work on SQLite; use pg_dump for "
                                   f"{url.get_backend_name()}")
    return Path(url.database)


def integrity(path: Path) -> str:
    """Return SQLite's integrity_check verdict for the file ("ok" when sound)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def backup_to(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` with the online backup API (one consistent step)."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: all pages in one step, under one read snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, target)


def restore_from(backup: Path, live: Path) -> None:
    """Copy a backup over the live database, through SQLite so its locks are respected."""
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(live, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
    finally:
        src.close()


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent copy of the live SQLite database to PATH (the app may keep running)."""
    source = sqlite_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    backup_to(source, path)
    verdict = integrity(path)
    if verdict != "ok":
        raise click.ClickException(f"the copy failed its integrity check: {verdict}")
    click.echo(f"backup of {source} written to {path} ({path.stat().st_size} bytes, "
               "integrity ok)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the live SQLite database with the backup at PATH (stop the app first)."""
    live = sqlite_path()
    verdict = integrity(path)
    if verdict != "ok":
        raise click.ClickException(f"{path} failed its integrity check: {verdict}")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "alembic_version" not in tables:
        raise click.ClickException(f"{path} is not a Tournée database (no alembic_version)")
    if not yes:
        click.confirm(f"Replace {live} with {path}?", abort=True)
    db.session.remove()
    db.engine.dispose()
    restore_from(path, live)
    verdict = integrity(live)
    if verdict != "ok":
        raise click.ClickException(f"the restored database failed its integrity check: {verdict}")
    current_app.logger.info("database restored from %s", path)
    click.echo(f"{live} restored from {path} (integrity ok); run `flask db upgrade` if the "
               "backup predates the running version")
