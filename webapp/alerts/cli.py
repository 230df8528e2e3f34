"""``flask alerts`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.alerts import services
from webapp.extensions import db

alerts_cli = AppGroup("alerts", help="Risk scores and alerts.")


@alerts_cli.command("rescore")
@click.option("--batch", default=500, show_default=True, help="Clients per commit.")
def rescore_command(batch: int) -> None:
    """Score every active client now with the shipped model (as the nightly task does)."""
    ids = services.active_client_ids()
    done = 0
    for start in range(0, len(ids), batch):
        done += services.rescore_batch(ids[start:start + batch])
        db.session.commit()
    _, version = services.get_model()
    click.echo(f"{done} clients scored with {version}")
