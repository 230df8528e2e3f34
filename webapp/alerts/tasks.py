"""Rescore a person after each synced observation, and everyone every night."""

from __future__ import annotations

import logging
from typing import Any

from huey import crontab

from webapp.alerts import services
from webapp.extensions import db
from webapp.observations.services import observation_saved
from webapp.tasks import huey, with_app

log = logging.getLogger(__name__)
NIGHTLY_BATCH = 500


@huey.task()
@with_app
def rescore_client(client_id: int) -> str:
    """Score one person with the shipped model and raise any new alert."""
    try:
        score = services.rescore_client(client_id)
    except Exception:  # a broken artefact must not lose the observation already stored
        db.session.rollback()
        log.exception("risk scoring of client %s failed", client_id)
        return "failed"
    db.session.commit()
    return "scored" if score is not None else "skipped"


@huey.periodic_task(crontab(hour="3", minute="30"))
@with_app
def rescore_everyone() -> int:
    """Every night: score every active person (risks move with time, not only with visits)."""
    ids = services.active_client_ids()
    done = 0
    for start in range(0, len(ids), NIGHTLY_BATCH):  # one commit per batch
        done += services.rescore_batch(ids[start:start + NIGHTLY_BATCH])
        db.session.commit()
    return done


@observation_saved.connect
def _rescore_after_observation(sender: Any, client_id: int, **extra: Any) -> None:
    """Queue the rescoring of the person an observation was just committed for."""
    rescore_client(client_id)
