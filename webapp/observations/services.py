"""Record carers' observations, once per visit and carer, and say which notes a family sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from blinker import Namespace

from webapp.audit.services import record
from webapp.auth.models import User
from webapp.carers.models import Carer
from webapp.clients.models import FamilyLink
from webapp.extensions import db
from webapp.i18n import N_
from webapp.observations.models import (
    ANSWER_FIELDS,
    CONFUSION,
    DRINKS,
    FALLS,
    MOBILITY,
    MOODS,
    WEIGHT_MAX,
    WEIGHT_MIN,
    Observation,
)
from webapp.timeutil import paris_datetime, utcnow
from webapp.visits.models import Visit

_signals = Namespace()
#: Sent by the views after an observation is committed (``client_id=``, ``observation_id=``);
#: the alerts feature listens to rescore the person in the background.
observation_saved = _signals.signal("observation-saved")

CHOICES: dict[str, dict[str, str]] = {
    "fall": FALLS, "mobility": MOBILITY, "drinks": DRINKS, "mood": MOODS, "confusion": CONFUSION,
}
MEAL_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)
BOOL_FIELDS = tuple(f for f in ANSWER_FIELDS if f not in CHOICES
                    and f not in ("meal_share", "weight_kg"))
NOTE_MAX = 2000
# A phone's clock may be a little ahead; beyond this the capture time is not believed.
CLOCK_SKEW = timedelta(minutes=10)
# Observations of visits that cannot have taken place are refused.
CLOSED_STATUSES = ("cancelled",)
FAMILY_NOTES_DAYS = 14


class ObservationError(ValueError):
    """An observation that cannot be recorded (message in French, translated at display)."""

    status = 400


class ObservationConflictError(ObservationError):
    """The visit does not accept this carer's observation (any more)."""

    status = 409


@dataclass(frozen=True)
class Recorded:
    """The stored observation and whether this call created or changed it."""

    observation: Observation
    created: bool
    duplicate: bool = False


def validate_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Return clean answers, or raise ObservationError naming the first bad item."""
    clean: dict[str, Any] = {}
    for name, labels in CHOICES.items():
        value = answers.get(name)
        if value is not None and value not in labels:
            raise ObservationError(N_("Réponse non valide : choisissez une des propositions."))
        clean[name] = value
    meal = _number(answers.get("meal_share"), N_("Part du repas non valide."))
    if meal is not None and meal not in MEAL_VALUES:
        raise ObservationError(N_("Part du repas non valide."))
    clean["meal_share"] = meal
    weight = _number(answers.get("weight_kg"), N_("Poids entre 20 et 250 kg, ou laissez vide."))
    if weight is not None and not WEIGHT_MIN <= weight <= WEIGHT_MAX:
        raise ObservationError(N_("Poids entre 20 et 250 kg, ou laissez vide."))
    clean["weight_kg"] = None if weight is None else round(weight, 1)
    for name in BOOL_FIELDS:
        value = answers.get(name)
        clean[name] = None if value is None else bool(value)
    note = str(answers.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        raise ObservationError(N_("Remarque trop longue (2 000 caractères au plus)."))
    clean["note"] = note
    clean["share_with_family"] = bool(answers.get("share_with_family")) and bool(note)
    return clean


def _number(value: Any, message: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ObservationError(message) from None
    if number != number:  # NaN
        raise ObservationError(message)
    return number


def find_observation(visit: Visit, carer: Carer) -> Observation | None:
    """Return ``carer``'s observation of ``visit``, if any."""
    return db.session.scalar(sa.select(Observation).where(
        Observation.visit_id == visit.id, Observation.carer_id == carer.id))


def record_observation(visit: Visit, carer: Carer, actor: User, answers: dict[str, Any], *,
                       recorded_at: datetime | None = None,
                       idempotency_key: str | None = None) -> Recorded:
    """Store ``carer``'s observation of ``visit`` (one per visit and carer), audit it, flush.

    A second call for the same visit and carer corrects the stored answers; a call with a
    key already stored changes nothing and returns the stored row (an offline replay).
    """
    if carer.id not in {a.carer_id for a in visit.assignments}:
        raise ObservationConflictError(N_("Cette intervention ne vous est pas attribuée."))
    if visit.status in CLOSED_STATUSES:
        raise ObservationConflictError(N_("Cette intervention a été annulée."))
    if idempotency_key:
        stored = db.session.scalar(sa.select(Observation).where(
            Observation.idempotency_key == idempotency_key))
        if stored is not None:
            if stored.user_id != actor.id or stored.visit_id != visit.id:
                raise ObservationConflictError(N_("Clé d'envoi invalide."))
            return Recorded(stored, created=False, duplicate=True)
    clean = validate_answers(answers)
    now = utcnow()
    earliest = paris_datetime(visit.day, time(0, 0)) - timedelta(days=1)
    if recorded_at is None or recorded_at > now + CLOCK_SKEW or recorded_at < earliest:
        recorded_at = now  # a phone clock that cannot be right: keep the time of receipt
    row = find_observation(visit, carer)
    created = row is None
    if row is None:
        row = Observation(organisation_id=visit.organisation_id, visit_id=visit.id,
                          client_id=visit.client_id, carer_id=carer.id)
        db.session.add(row)
    row.user_id = actor.id
    row.recorded_at = recorded_at
    row.received_at = now
    if idempotency_key:
        row.idempotency_key = idempotency_key
    for name, value in clean.items():
        setattr(row, name, value)
    db.session.flush()
    record(actor, "record_observation" if created else "update_observation", "observation",
           row.id, client_id=visit.client_id, visit_id=visit.id,
           reported=sorted(k for k in ANSWER_FIELDS if _unusual(k, clean.get(k))))
    return Recorded(row, created=True)


def _unusual(name: str, value: Any) -> bool:
    if value is None:
        return False
    if name in CHOICES:
        return value not in ("none", "usual")
    if name in ("social_contact", "medication_as_planned", "walking_aid_used"):
        return False
    if name in ("meal_share", "weight_kg"):
        return False
    return bool(value)


def shared_notes(user: User, client_id: int, *, days: int = FAMILY_NOTES_DAYS,
                 now: datetime | None = None) -> list[Observation]:
    """Return the observation notes ``user`` (the person or a relative) may read, newest first.

    A note reaches a relative only if the carer chose to share it *and* the person consented
    to share notes with that relative (FamilyLink.consent_share_notes); the person sees the
    notes shared about them.
    """
    if user.role == "recipient":
        allowed = user.client_id == client_id
    elif user.role == "family":
        allowed = db.session.scalar(sa.select(FamilyLink.id).where(
            FamilyLink.user_id == user.id, FamilyLink.client_id == client_id,
            FamilyLink.consent_share_notes.is_(True))) is not None
    else:
        allowed = False
    if not allowed:
        return []
    since = (now or utcnow()) - timedelta(days=days)
    return list(db.session.scalars(sa.select(Observation).where(
        Observation.client_id == client_id, Observation.organisation_id == user.organisation_id,
        Observation.share_with_family.is_(True), Observation.note != "",
        Observation.recorded_at >= since).order_by(Observation.recorded_at.desc())))
