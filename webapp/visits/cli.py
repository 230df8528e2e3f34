"""``flask visits`` commands."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask.cli import AppGroup

from webapp.careplans.services import expand_visits
from webapp.extensions import db
from webapp.organisations.models import Organisation
from webapp.timeutil import today_paris

visits_cli = AppGroup("visits", help="Visit generation.")


@visits_cli.command("expand")
@click.option("--days", default=14, show_default=True, help="How many days ahead.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
def expand_command(days: int, start: object) -> None:
    """Generate visits from every organisation's care plans."""
    first: date = start.date() if start else today_paris()  # type: ignore[attr-defined]
    total = 0
    for organisation in db.session.scalars(db.select(Organisation)):
        total += expand_visits(organisation.id, first, first + timedelta(days=days))
    db.session.commit()
    click.echo(f"{total} visits created")
