"""Visit operations: the carer's day, check-in/out, tasks, assignment and cancellation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp.audit.services import record
from webapp.auth.models import User
from webapp.carers.models import Carer
from webapp.extensions import db
from webapp.i18n import N_
from webapp.timeutil import paris_datetime, to_paris, utcnow
from webapp.visits.models import OutboxRecord, Visit, VisitAssignment


class VisitError(ValueError):
    """A visit operation that does not fit the visit's current state."""


def carer_day(carer: Carer, day: date) -> list[Visit]:
    """Return ``carer``'s visits on ``day`` in the order she will do them."""
    visits = db.session.scalars(
        sa.select(Visit)
        .join(VisitAssignment, VisitAssignment.visit_id == Visit.id)
        .where(VisitAssignment.carer_id == carer.id, Visit.day == day)
        # The day lists each client and its travel minutes: no query per visit.
        .options(selectinload(Visit.client), selectinload(Visit.assignments))
    ).all()
    return sorted(visits, key=visit_sort_key)


def travel_minutes(carer: Carer, visits: list[Visit]) -> dict[int, int]:
    """Return the travel minutes to each visit of a carer's day, from the accepted round.

    ``visits`` is the day in order (:func:`carer_day`). Minutes are shown only where the
    previous stop is still the one the accepted plan drove from (home for the first visit):
    a visit moved by hand since then would make them wrong.
    """
    out: dict[int, int] = {}
    previous: int | None = None
    for visit in visits:
        row = next((a for a in visit.assignments if a.carer_id == carer.id), None)
        if row is not None and row.travel_min is not None and row.travel_from_id == previous:
            out[visit.id] = row.travel_min
        previous = visit.id
    return out


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
    record(actor, "cancel", "visit", visit.id, client_id=visit.client_id)  # no free text: GDPR
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


# ----------------------------------------------------------------------------- phone outbox
# A phone's clock may be a little ahead; a record older than this was kept too long.
OUTBOX_CLOCK_SKEW = timedelta(minutes=5)
OUTBOX_MAX_AGE = timedelta(days=3)


class OutboxKeyError(ValueError):
    """The key was already used by another account."""


def find_outbox_record(key: str) -> OutboxRecord | None:
    """Return the stored record of ``key``, if any."""
    return db.session.scalar(sa.select(OutboxRecord).where(OutboxRecord.key == key))


def visit_for_outbox(actor: User, visit_id: int) -> tuple[Visit, bool] | None:
    """Return the visit an outbox record is about and whether ``actor`` still has it.

    A carer may send a record about a visit that was taken from her since her phone
    cached it: we accept it (to keep it, flagged) when the visit is in her organisation
    and she did read it (the audit trail says so); anything else is unknown to her.
    """
    from webapp.audit.models import AuditEvent
    from webapp.policy import visible_visits

    visit = db.session.scalar(visible_visits(actor).where(Visit.id == visit_id))
    if visit is not None:
        return visit, True
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.organisation_id != actor.organisation_id:
        return None
    seen = db.session.scalar(sa.select(AuditEvent.id).where(
        AuditEvent.user_id == actor.id, AuditEvent.action == "read_visit",
        AuditEvent.object_id == visit.id).limit(1))
    return (visit, False) if seen is not None else None


def record_outbox_action(visit: Visit, actor: User, *, key: str, action: str,
                         captured_at: datetime | None, payload: dict[str, Any],
                         still_assigned: bool,
                         apply: Callable[[datetime], object]) -> tuple[OutboxRecord, bool]:
    """Apply a carer action sent with ``key`` once; return its record and whether it is new.

    The row is inserted before the action is applied, so that two copies of the same
    record arriving together cannot both apply it: the second one fails on the unique
    key and gets the first one's record, and so does a later repeat (callers look the key
    up first only to skip a form they would not need). ``apply`` receives the time to
    record: the time the phone captured the action, or the time of receipt when the phone's
    clock is not believable (flagged). A ``VisitError`` from ``apply`` (visit reassigned,
    cancelled, already checked in...) does not lose the record: it is stored as a conflict,
    with the reason, and flagged to the coordinator.
    """
    now = utcnow()
    record_row = OutboxRecord(
        key=key, organisation_id=visit.organisation_id, user_id=actor.id, visit_id=visit.id,
        action=action, captured_at=captured_at or now, received_at=now, payload=payload,
        outcome="applied", message="", flagged=False)
    try:
        with db.session.begin_nested():
            db.session.add(record_row)
    except IntegrityError:
        existing = find_outbox_record(key)
        if existing is None:
            raise
        if existing.user_id != actor.id:
            raise OutboxKeyError(key) from None
        return existing, False
    at = captured_at
    notes: list[str] = []
    if at is None:
        at = now  # no claim made: the time of receipt is the truth
    elif at > now + OUTBOX_CLOCK_SKEW or at < now - OUTBOX_MAX_AGE:
        at = now
        notes.append(N_("Heure du téléphone incohérente : heure de réception retenue."))
    if not still_assigned:
        record_row.outcome = "conflict"
        notes.insert(0, N_("Cette intervention ne vous est plus attribuée."))
    else:
        try:
            with db.session.begin_nested():
                apply(at)
        except VisitError as exc:
            record_row.outcome = "conflict"
            notes.insert(0, str(exc))
    record_row.message = "\n".join(notes)[:300]
    record_row.flagged = bool(notes)
    record(actor, f"outbox_{record_row.outcome}", "visit", visit.id, client_id=visit.client_id,
           key=key, outbox_action=action, captured_at=record_row.captured_at.isoformat())
    db.session.flush()
    return record_row, True


def flagged_outbox_records(organisation_id: int, *, visit_id: int | None = None,
                           include_resolved: bool = False) -> list[OutboxRecord]:
    """Return the flagged phone records of an organisation (or of one visit), newest first."""
    query = sa.select(OutboxRecord).where(OutboxRecord.organisation_id == organisation_id,
                                          OutboxRecord.flagged.is_(True))
    if visit_id is not None:
        query = query.where(OutboxRecord.visit_id == visit_id)
    if not include_resolved:
        query = query.where(OutboxRecord.resolved_at.is_(None))
    return list(db.session.scalars(query.order_by(OutboxRecord.captured_at.desc())))


def count_open_flags(organisation_id: int) -> int:
    """Return how many flagged phone records still wait for a coordinator."""
    return db.session.scalar(sa.select(sa.func.count(OutboxRecord.id)).where(
        OutboxRecord.organisation_id == organisation_id, OutboxRecord.flagged.is_(True),
        OutboxRecord.resolved_at.is_(None))) or 0


def resolve_outbox_flag(record_row: OutboxRecord, actor: User) -> None:
    """Mark a flagged phone record as seen and handled by a coordinator."""
    if record_row.resolved_at is None:
        record_row.resolved_at = utcnow()
        record_row.resolved_by_id = actor.id
        record(actor, "resolve_outbox_flag", "visit", record_row.visit_id,
               client_id=record_row.visit.client_id, key=record_row.key)
    db.session.flush()
