"""Visit operations: the carer's day, check-in/out, tasks, assignment and cancellation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from webapp.audit.services import record
from webapp.auth.models import User
from webapp.carers.models import Carer
from webapp.extensions import db
from webapp.i18n import N_
from webapp.timeutil import paris_datetime, to_paris, utcnow
from webapp.visits.models import Visit, VisitAssignment


class VisitError(ValueError):
    """A visit operation that does not fit the visit's current state."""


def carer_day(carer: Carer, day: date) -> list[Visit]:
    """Return ``carer``'s visits on ``day`` in the order she will do them."""
    visits = db.session.scalars(
        sa.select(Visit)
        .join(VisitAssignment, VisitAssignment.visit_id == Visit.id)
        .where(VisitAssignment.carer_id == carer.id, Visit.day == day)
    ).all()
    return sorted(visits, key=visit_sort_key)


def visit_sort_key(visit: Visit) -> tuple[datetime, int]:
    """Order by planned start, else by the opening of the window."""
    start = visit.planned_start or paris_datetime(visit.day, visit.window_start)
    return (start, visit.id)


def check_in(visit: Visit, actor: User, *, at: datetime | None = None,
             lat: float | None = None, lon: float | None = None) -> Visit:
    """Record the carer's arrival."""
    if visit.status == "in_progress":
        raise VisitError(N_("L'arrivée est déjà enregistrée pour cette intervention."))
    if visit.status not in ("assigned", "planned"):
        raise VisitError(N_("Cette intervention n'est plus ouverte : arrivée impossible."))
    at = at or utcnow()
    if to_paris(at).date() < visit.day:  # a tap on tomorrow's visit is a mistake
        raise VisitError(N_("Cette intervention est prévue un autre jour."))
    visit.status = "in_progress"
    visit.check_in_at = at
    visit.check_in_lat, visit.check_in_lon = _position(lat, lon)
    record(actor, "check_in", "visit", visit.id, client_id=visit.client_id)
    db.session.flush()
    return visit


def check_out(visit: Visit, actor: User, *, at: datetime | None = None,
              lat: float | None = None, lon: float | None = None,
              tasks_done: list[str] | None = None, note: str | None = None) -> Visit:
    """Record the end of the visit, with the tasks done and the carer's note."""
    if visit.status != "in_progress":
        raise VisitError(N_("Enregistrez d'abord l'arrivée."))
    at = at or utcnow()
    if visit.check_in_at and at < visit.check_in_at:
        raise VisitError(N_("Le départ ne peut précéder l'arrivée."))
    if tasks_done is not None:
        set_tasks_done(visit, tasks_done)
    if note is not None:
        visit.carer_note = note.strip()
    visit.status = "done"
    visit.check_out_at = at
    visit.check_out_lat, visit.check_out_lon = _position(lat, lon)
    record(actor, "check_out", "visit", visit.id, client_id=visit.client_id)
    db.session.flush()
    return visit


def set_tasks_done(visit: Visit, tasks_done: list[str]) -> None:
    """Keep the ticked tasks that belong to the visit, in the plan's order."""
    unknown = set(tasks_done) - set(visit.tasks)
    if unknown:
        raise VisitError(N_("Tâche inconnue pour cette intervention."))
    visit.tasks_done = [t for t in visit.tasks if t in tasks_done]


def save_note(visit: Visit, actor: User, note: str) -> None:
    """Save the carer's note on the visit."""
    visit.carer_note = note.strip()
    record(actor, "note", "visit", visit.id, client_id=visit.client_id)
    db.session.flush()


def assign(visit: Visit, carers: list[Carer], actor: User, *,
           planned_start: datetime | None = None) -> Visit:
    """Assign ``carers`` to ``visit`` (manual assignment by a coordinator)."""
    if not visit.is_open:
        raise VisitError(N_("Seule une intervention à venir peut être réattribuée."))
    if len({c.id for c in carers}) != len(carers):
        raise VisitError(N_("La même intervenante est choisie deux fois."))
    if len(carers) > visit.carers_needed:
        raise VisitError(N_("Trop d'intervenantes pour cette intervention."))
    refused = {c.id for c in visit.client.refused_carers}
    for carer in carers:
        if carer.organisation_id != visit.organisation_id:
            raise VisitError(N_("Intervenante inconnue."))
        if carer.id in refused:
            raise VisitError(f"{carer.full_name} ne doit pas intervenir chez cette personne.")
        missing = set(visit.required_skills) - set(carer.skills)
        if missing:
            needed = ", ".join(sorted(missing))
            raise VisitError(f"{carer.full_name} n'a pas la compétence requise ({needed}).")
    if planned_start is not None:
        window_open = paris_datetime(visit.day, visit.window_start)
        latest = paris_datetime(visit.day, visit.window_end) - timedelta(minutes=visit.duration_min)
        if not window_open <= planned_start <= latest:
            raise VisitError(
                N_("L'heure prévue doit être dans la plage horaire de l'intervention."))
        visit.planned_start = planned_start
        visit.planned_end = planned_start + timedelta(minutes=visit.duration_min)
    visit.assignments.clear()
    db.session.flush()
    for position, carer in enumerate(carers):
        visit.assignments.append(VisitAssignment(carer_id=carer.id, position=position))
    visit.status = "assigned" if carers else "planned"
    record(actor, "assign", "visit", visit.id, client_id=visit.client_id,
           carers=[c.id for c in carers])
    db.session.flush()
    return visit


def cancel(visit: Visit, actor: User, reason: str) -> Visit:
    """Cancel a visit that has not started, with a reason."""
    reason = reason.strip()
    if not reason:
        raise VisitError(N_("Indiquez le motif de l'annulation."))
    if not visit.is_open:
        raise VisitError(N_("Cette intervention ne peut plus être annulée."))
    visit.status = "cancelled"
    visit.cancel_reason = reason[:300]
    record(actor, "cancel", "visit", visit.id, client_id=visit.client_id, reason=reason[:300])
    db.session.flush()
    return visit


def _position(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    if lat is None or lon is None:
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise VisitError(N_("Position invalide."))
    return lat, lon


def mark_missed(organisation_id: int, before: date) -> int:
    """Mark visits of days before ``before`` that nobody checked in as missed.

    A visit still "in progress" (checked in, never out) is left for the coordinator, who
    knows whether the carer forgot to check out.
    """
    visits = db.session.scalars(sa.select(Visit).where(
        Visit.organisation_id == organisation_id, Visit.day < before,
        Visit.status.in_(("planned", "assigned")))).all()
    for visit in visits:
        visit.status = "missed"
        record(None, "mark_missed", "visit", visit.id, client_id=visit.client_id,
               organisation_id=organisation_id)
    db.session.flush()
    return len(visits)
