"""Nightly retention job."""

from __future__ import annotations

from huey import crontab

from webapp.tasks import huey, with_app


@huey.periodic_task(crontab(hour="3", minute="40"))
@with_app
def apply_retention_periods() -> dict[str, int]:
    """Every night: delete or anonymise what outlived its retention period."""
    from webapp.extensions import db
    from webapp.gdpr.services import apply_retention
    from webapp.timeutil import today_paris

    counts = apply_retention(today_paris())
    db.session.commit()
    return counts
