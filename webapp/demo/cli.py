"""``flask demo`` commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.config import PROJECT_ROOT
from webapp.demo import services
from webapp.demo.streets import extract_streets
from webapp.extensions import db
from webapp.timeutil import today_paris

demo_cli = AppGroup("demo", help="The demo SAAD.")
STREETS_CSV = PROJECT_ROOT / "data" / "demo_streets.csv"


@demo_cli.command("load")
@click.option("--days", default=14, show_default=True, help="Days ahead to generate and plan.")
def load_command(days: int) -> None:
    """Load the demo SAAD if absent, then generate and plan its coming days."""
    org = services.demo_organisation()
    if org is None:
        org = services.build_demo(STREETS_CSV)
        click.echo(f"demo loaded: {services.N_CARERS} carers, {services.N_CLIENTS} clients")
    # From last week, so that carers and families also see visits already done.
    first = today_paris() - timedelta(days=7)
    created, assigned = services.refresh_demo(org, first, days + 7)
    db.session.commit()
    click.echo(f"{created} visits generated, {assigned} assigned")
    for role, email in services.DEMO_LOGINS.items():
        click.echo(f"  {role:<12} {email}  /  {services.DEMO_PASSWORD}")


@demo_cli.command("extract-streets")
def extract_streets_command() -> None:
    """Re-extract the demo's street positions from the OpenStreetMap file."""
    count = extract_streets(Path(current_app.config["OSM_FILE"]), STREETS_CSV)
    click.echo(f"{count} street positions written to {STREETS_CSV}")
