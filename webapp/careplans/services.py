"""Care-plan operations: edit interventions, expand them into dated visits."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa

from webapp.careplans.models import CarePlan, Intervention
from webapp.extensions import db
from webapp.i18n import N_
from webapp.visits.models import Visit


class CarePlanError(ValueError):
    """A care plan or intervention that cannot be saved as given."""


def validate_intervention(
    weekdays: list[int], window_start: time, window_end: time, duration_min: int,
    carers_needed: int,
) -> None:
    """Raise CarePlanError when the intervention is impossible to schedule."""
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise CarePlanError(N_("Choisissez au moins un jour de la semaine."))
    if window_end <= window_start:
        raise CarePlanError(N_("La fin de la plage horaire doit suivre son début."))
    span = (window_end.hour - window_start.hour) * 60 + window_end.minute - window_start.minute
    if not 5 <= duration_min <= 12 * 60:
        raise CarePlanError(N_("La durée doit être comprise entre 5 minutes et 12 heures."))
    # The window is when the visit takes place, so the whole visit must fit in it.
    if duration_min > span:
        raise CarePlanError(N_("La durée dépasse la plage horaire."))
    if carers_needed not in (1, 2):
        raise CarePlanError(N_("Une intervention demande une ou deux intervenantes."))


def expand_visits(organisation_id: int, start: date, end: date) -> int:
    """Create the visits of every active care plan between ``start`` and ``end`` inclusive.

    Idempotent: a visit already generated for an intervention and date is left as it is,
    so re-running never duplicates or overwrites what carers recorded.
    """
    plans = db.session.scalars(
        sa.select(CarePlan).where(
            CarePlan.organisation_id == organisation_id,
            CarePlan.active.is_(True),
            CarePlan.starts_on <= end,
            sa.or_(CarePlan.ends_on.is_(None), CarePlan.ends_on >= start),
        )
    ).all()
    existing = set(
        db.session.execute(
            sa.select(Visit.intervention_id, Visit.day).where(
                Visit.organisation_id == organisation_id, Visit.day >= start, Visit.day <= end
            )
        ).tuples()
    )
    created = 0
    for plan in plans:
        if not plan.client.active:
            continue
        first = max(start, plan.starts_on)
        last = min(end, plan.ends_on) if plan.ends_on else end
        day = first
        while day <= last:
            for intervention in plan.interventions:
                due = day.weekday() in intervention.weekdays
                if due and (intervention.id, day) not in existing:
                    db.session.add(visit_from_intervention(intervention, plan, day))
                    created += 1
            day += timedelta(days=1)
    db.session.flush()
    return created


def visit_from_intervention(intervention: Intervention, plan: CarePlan, day: date) -> Visit:
    """Build (not add) the visit of ``intervention`` on ``day``."""
    return Visit(
        organisation_id=plan.organisation_id,
        client_id=plan.client_id,
        intervention_id=intervention.id,
        day=day,
        kind=intervention.kind,
        window_start=intervention.window_start,
        window_end=intervention.window_end,
        duration_min=intervention.duration_min,
        required_skills=list(intervention.required_skills),
        carers_needed=intervention.carers_needed,
        tasks=list(intervention.tasks),
        status="planned",
    )


def end_intervention(intervention: Intervention, actor: object) -> int:
    """Remove an intervention from its plan, cancelling its future open visits.

    Visits already done, started or missed keep their link: they are history.
    """
    from webapp.audit.services import record
    from webapp.timeutil import today_paris
    from webapp.visits.models import OPEN_STATUSES

    visits = db.session.scalars(
        sa.select(Visit).where(Visit.intervention_id == intervention.id)
    ).all()
    cancelled = 0
    for visit in visits:
        if visit.status in OPEN_STATUSES and visit.day >= today_paris():
            visit.status = "cancelled"
            visit.cancel_reason = "Intervention retirée du plan d'aide"
            cancelled += 1
        visit.intervention_id = None
    plan = intervention.care_plan
    record(actor, "update", "care_plan", plan.id, client_id=plan.client_id,
           removed_intervention=intervention.id)
    db.session.delete(intervention)
    db.session.flush()
    return cancelled
