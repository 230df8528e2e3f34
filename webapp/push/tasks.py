"""Background delivery: plan and send every minute, and send close to each due time.

Huey's periodic tasks run once a minute; waiting for the next minute would make a reminder
up to a minute late. So each minute's tick also schedules a send at each due time of the
coming minute (huey's scheduler looks every second), and re-plans every 15 seconds, so a
visit done or an alert raised reaches the family or the office within seconds.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from huey import crontab

from webapp.extensions import db
from webapp.push import planner, services
from webapp.tasks import huey, with_app
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
SCAN_EVERY_S = 15
MAX_SCHEDULED = 60


@huey.periodic_task(crontab(minute="*"))
@with_app
def push_tick() -> int:
    """Every minute: plan, send what is due, and schedule the sends of the coming minute."""
    sent = _plan_and_send()
    now = utcnow()
    for due in planner.pending_due_between(now, now + timedelta(seconds=65))[:MAX_SCHEDULED]:
        send_due_task.schedule(eta=due.astimezone(UTC).replace(tzinfo=None))
    for delay in range(SCAN_EVERY_S, 60, SCAN_EVERY_S):
        plan_and_send_task.schedule(delay=delay)
    return sent


@huey.task()
@with_app
def plan_and_send_task() -> int:
    """Plan (new events: visits done, rota changes, alerts) and send what is due."""
    return _plan_and_send()


@huey.task()
@with_app
def send_due_task() -> int:
    """Send what is due now (scheduled at a due time, or asked for by a view)."""
    report = services.send_due()
    return report.sent


def _plan_and_send() -> int:
    try:
        planner.plan()
        db.session.commit()
    except Exception:  # a planning bug must not stop what is already due from going out
        db.session.rollback()
        log.exception("push planning failed")
    return services.send_due().sent
