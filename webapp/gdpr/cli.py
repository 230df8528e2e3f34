"""``flask gdpr`` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from webapp.clients.models import Client
from webapp.extensions import db
from webapp.gdpr import services
from webapp.timeutil import today_paris

gdpr_cli = AppGroup("gdpr", help="Personal data: export, erasure, retention periods.")


@gdpr_cli.command("retention")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Apply the periods as of this day (default: today in Paris).")
@click.option("--dry-run", is_flag=True, help="Count what would go, change nothing.")
def retention_command(day: object, dry_run: bool) -> None:
    """Delete or anonymise what outlived its retention period (docs/gdpr.md)."""
    when = day.date() if day is not None else today_paris()  # type: ignore[attr-defined]
    counts = services.apply_retention(when)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    prefix = "would remove" if dry_run else "removed"
    click.echo(f"retention {when.isoformat()}: {prefix} "
               + " ".join(f"{k}={v}" for k, v in counts.items()))


@gdpr_cli.command("export-client")
@click.argument("client_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export_client_command(client_id: int, path: Path) -> None:
    """Write everything held about a client to PATH (JSON)."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    path.write_text(services.to_json(services.export_client(client)), encoding="utf-8")
    services.record(None, "export", "client", client.id, client_id=client.id,
                    organisation_id=client.organisation_id, via="cli")
    db.session.commit()
    click.echo(f"client {client_id} exported to {path}")


@gdpr_cli.command("erase-client")
@click.argument("client_id", type=int)
@click.confirmation_option(prompt="Erase this client's personal and health data for good?")
def erase_client_command(client_id: int) -> None:
    """Erase a client's personal and health data (accounting records are kept without it)."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    if services.is_erased("client", client_id):
        raise click.ClickException(f"client {client_id} is already erased")
    counts = services.erase_client(None, client)
    db.session.commit()
    click.echo(f"client {client_id} erased: " + " ".join(f"{k}={v}" for k, v in counts.items()))



