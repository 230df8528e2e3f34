"""Background optimisation of a day's rounds."""

from __future__ import annotations

import logging

from flask import current_app

from webapp.extensions import db
from webapp.rounds import optimise
from webapp.rounds.models import RoundPlan
from webapp.tasks import huey, with_app
from webapp.timeutil import today_paris, utcnow

log = logging.getLogger(__name__)


@huey.task()
@with_app
def optimise_day(run_id: int) -> str:
    """Compute the plan of a RoundPlan, committing each step so the page can show progress."""
    run = db.session.get(RoundPlan, run_id)
    if run is None or run.status != "queued":
        return "skipped"
    run.status, run.started_at, run.step = "running", utcnow(), "network"
    db.session.commit()
    try:
        model = optimise.build_day(
            run.organisation_id, run.day, run.sector_id,
            pbf=current_app.config["OSM_FILE"], cache_dir=current_app.config["CACHE_DIR"],
            access_s=current_app.config["ROUTING_ACCESS_S"], replan=run.replan,
            now=utcnow() if run.day == today_paris() else None)
        run.step = "solving"
        db.session.commit()
        result = optimise.optimise(model, time_limit_s=run.time_limit_s)
    except Exception as exc:  # the coordinator must see a failure, not a spinner forever
        db.session.rollback()
        log.exception("optimisation %s failed", run_id)
        run = db.session.get(RoundPlan, run_id)
        run.status, run.error, run.finished_at = "failed", str(exc)[:2000], utcnow()
        db.session.commit()
        return "failed"
    run.result, run.status, run.step, run.finished_at = result, "done", "", utcnow()
    db.session.commit()
    return "done"
