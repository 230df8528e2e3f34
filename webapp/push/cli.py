"""``flask push`` commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.push import planner, services

push_cli = AppGroup("push", help="Web Push notifications.")


@push_cli.command("keys")
def keys_command() -> None:
    """Create this installation's VAPID key once (kept in the instance folder)."""
    path = current_app.config["PUSH_VAPID_KEY_FILE"]
    public, created = services.generate_keys(path)
    click.echo(f"{'created' if created else 'kept'} {path}")
    click.echo(f"public key: {public}")


@push_cli.command("send")
def send_command() -> None:
    """Plan and send what is due now (what the worker does every minute)."""
    touched = planner.plan()
    db.session.commit()
    report = services.send_due()
    click.echo(f"planned {touched}, sent {report.sent}, retry {report.retried}, "
               f"gone {report.gone}, failed {report.failed}, errors {report.errors}")
