"""``flask audit`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.audit.services import verify_chain

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute the hash chain of the whole trail; exit 1 at the first tampered row."""
    report = verify_chain()
    if report.ok:
        click.echo(f"audit trail intact: {report.checked} events")
        return
    click.echo(f"audit trail BROKEN at event {report.broken_at} ({report.reason}); "
               f"{report.checked} events before it are intact", err=True)
    raise SystemExit(1)
