"""``flask demo`` commands."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.config import PROJECT_ROOT
from webapp.demo import services
from webapp.demo.observations import WEEKS, seed_observations
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
    services.enrol_demo_staff(org)
    observed = seed_observations(org, today_paris())
    db.session.commit()
    click.echo(f"{created} visits generated, {assigned} assigned")
    if observed:
        click.echo(f"{observed} observations recorded over {WEEKS} weeks, risks scored")
    for role, email in services.DEMO_LOGINS.items():
        click.echo(f"  {role:<12} {email}  /  {services.DEMO_PASSWORD}")
    click.echo("  admin and coordinator also need a code: flask --app webapp demo code EMAIL")


@demo_cli.command("code")
@click.argument("email")
def code_command(email: str) -> None:
    """Print the current two-factor code of a demo account (demo data only)."""
    import sqlalchemy as sa

    from webapp.auth.models import User
    from webapp.auth.twofactor import STEP_S, code_at_step, current_step

    org = services.demo_organisation()
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if org is None or user is None or user.organisation_id != org.id:
        raise click.ClickException(f"{email} is not a demo account")
    if user.totp_secret is None:
        raise click.ClickException(f"{email} does not use two-factor sign-in")
    step = max(current_step(), (user.totp_last_step or 0) + 1)
    # Accepted until the step after it ends (one step of clock drift is allowed).
    left = int((step + 2) * STEP_S - time.time())
    click.echo(code_at_step(user.totp_secret, step))
    click.echo(f"(valid for about {left} s)", err=True)


@demo_cli.command("extract-streets")
def extract_streets_command() -> None:
    """Re-extract the demo's street positions from the OpenStreetMap file."""
    count = extract_streets(Path(current_app.config["OSM_FILE"]), STREETS_CSV)
    click.echo(f"{count} street positions written to {STREETS_CSV}")
