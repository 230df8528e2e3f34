"""A few weeks of carers' observations for the demo, so that scores and alerts show something.

Deterministic (one seeded generator): every client is seen about once a day by her usual carer
for eight weeks before today. Answers follow the client's dependency (GIR) with a little noise;
two clients change in the last week (one eats much less and is more confused, one becomes
unsteady and falls), which the change detection picks up. Then everyone is scored a week ago
and today, as the nightly job would have done, so the trend charts have points.
Eight weeks, because change detection compares each visit with the person's own answers 90 to 14
days before it: with less history, a client's usual state would still be mostly the population's.
Demo data only: not a clinical scenario.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from webapp.carers.models import Carer
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.observations.models import Observation
from webapp.organisations.models import Organisation
from webapp.timeutil import paris_datetime, utcnow
from webapp.visits.models import Visit, VisitAssignment

WEEKS = 8
#: Positions (in the list of clients by id) of the two clients whose state changes.
CHANGING = {20: "nutrition", 11: "mobility"}
CHANGE_DAYS = 7
SCORE_DAYS_BACK = (7,)


def seed_observations(org: Organisation, today: date, *, seed: int = 2026) -> int:
    """Record eight weeks of demo observations and score everyone; flush. Returns the count.

    Does nothing when the organisation already has observations (``demo load`` runs again).
    """
    if db.session.scalar(sa.select(Observation.id).where(
            Observation.organisation_id == org.id).limit(1)) is not None:
        return 0
    rng = random.Random(seed)
    clients = db.session.scalars(sa.select(Client).where(
        Client.organisation_id == org.id, Client.active.is_(True)).order_by(Client.id)).all()
    carers = db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == org.id).order_by(Carer.id)).all()
    if not clients or not carers:
        return 0
    usual = _usual_carers(clients, carers)
    first = today - timedelta(days=7 * WEEKS)
    count = 0
    for position, client in enumerate(clients):
        carer = usual[client.id]
        frailty = (6 - client.gir) / 5.0 + rng.gauss(0.0, 0.15)  # 0 (GIR 6) to 1 (GIR 1)
        weight = round(rng.uniform(48.0, 78.0), 1)
        visits = _done_visits(client, first, today)
        for day in (first + timedelta(days=k) for k in range((today - first).days)):
            visit = visits.get(day) or _past_visit(client, carer, day)
            change = CHANGING.get(position) if (today - day).days <= CHANGE_DAYS else None
            answers = _answers(rng, frailty, client, change)
            if client.id % 3 == 0 and day.weekday() == 0:
                weight = round(weight - (0.6 if change == "nutrition" else 0.0), 1)
                answers["weight_kg"] = round(weight + rng.gauss(0.0, 0.3), 1)
            carer_id = visit.assignments[0].carer_id if visit.assignments else carer.id
            recorded = (visit.check_out_at or paris_datetime(day, time(10, 0)))
            db.session.add(Observation(
                organisation_id=org.id, visit=visit, client_id=client.id,
                carer_id=carer_id, user_id=_user_of(carers, carer_id), recorded_at=recorded,
                received_at=recorded, **answers))
            count += 1
    db.session.flush()
    _score_history(clients, today)
    return count


def _usual_carers(clients: Any, carers: Any) -> dict[int, Carer]:
    """Return each client's most frequent carer over the planned visits (round robin else)."""
    rows = db.session.execute(
        sa.select(Visit.client_id, VisitAssignment.carer_id, sa.func.count())
        .join(VisitAssignment, VisitAssignment.visit_id == Visit.id)
        .where(Visit.client_id.in_([c.id for c in clients]))
        .group_by(Visit.client_id, VisitAssignment.carer_id)).all()
    best: dict[int, tuple[int, int]] = {}
    for client_id, carer_id, n in rows:
        if client_id not in best or n > best[client_id][1]:
            best[client_id] = (carer_id, n)
    by_id = {c.id: c for c in carers}
    return {c.id: by_id.get(best.get(c.id, (0, 0))[0], carers[i % len(carers)])
            for i, c in enumerate(clients)}


def _user_of(carers: Any, carer_id: int) -> int:
    return next(c.user_id for c in carers if c.id == carer_id)


def _done_visits(client: Client, first: date, today: date) -> dict[date, Visit]:
    """Return the client's first done and assigned visit of each past day, if any."""
    rows = db.session.scalars(sa.select(Visit).where(
        Visit.client_id == client.id, Visit.day >= first, Visit.day < today,
        Visit.status == "done").options(selectinload(Visit.assignments))
        .order_by(Visit.day, Visit.window_start)).all()
    out: dict[date, Visit] = {}
    for visit in rows:
        if visit.assignments and visit.day not in out:
            out[visit.day] = visit
    return out


def _past_visit(client: Client, carer: Carer, day: date) -> Visit:
    """Create a done morning visit before the planned weeks (the demo's older history)."""
    start = paris_datetime(day, time(9, 0))
    visit = Visit(organisation_id=client.organisation_id, client_id=client.id, day=day,
                  kind="lever", window_start=time(8, 30), window_end=time(10, 0),
                  duration_min=45, tasks=["toilette"], status="done", planned_start=start,
                  planned_end=start + timedelta(minutes=45), check_in_at=start,
                  check_out_at=start + timedelta(minutes=45), tasks_done=["toilette"])
    visit.assignments.append(VisitAssignment(carer_id=carer.id, position=0))
    db.session.add(visit)  # flushed once with all the observations
    return visit


def _answers(rng: random.Random, frailty: float, client: Client,
             change: str | None) -> dict[str, Any]:
    """Return one visit's answers: mostly "as usual", more often not for frailer clients."""
    p = 0.05 + 0.25 * frailty

    def yes(extra: float = 0.0) -> bool:
        return rng.random() < min(0.95, p + extra)

    nutrition = change == "nutrition"
    mobility = change == "mobility"
    meal = rng.choice([1.0, 1.0, 1.0, 0.75] if not yes() else [0.75, 0.5])
    if nutrition:
        meal = rng.choice([0.25, 0.25, 0.0])
    fall = "none"
    if mobility and rng.random() < 0.35:
        fall = rng.choice(["without_injury", "with_injury"])
    return {
        "fall": fall,
        "near_fall": yes(0.5 if mobility else -0.05),
        "mobility": (rng.choice(["less_steady", "more_help"]) if mobility and rng.random() < 0.8
                     else "less_steady" if yes(-0.05) else "usual"),
        "walking_aid_used": client.walking_aid,
        "meal_share": meal,
        "drinks": (rng.choice(["less", "very_little"]) if nutrition and rng.random() < 0.8
                   else "less" if yes(-0.1) else "usual"),
        "mood": "sad" if yes(-0.05) else "usual",
        "confusion": ("some" if (nutrition and rng.random() < 0.6) or yes(-0.05) else "none"),
        "poor_sleep": yes(-0.05), "continence_change": yes(-0.1), "pain": yes(-0.05),
        "skin_redness": yes(-0.15), "breathlessness": yes(-0.15), "swelling": yes(-0.1),
        "social_contact": not yes(0.1), "help_toilet": yes(0.4 if mobility else -0.1),
        "help_dressing": yes(-0.1), "help_transfers": yes(0.4 if mobility else -0.15),
        "help_eating": yes(0.2 if nutrition else -0.2), "medication_as_planned": not yes(-0.1),
        "note": "", "share_with_family": False,
    }


def _score_history(clients: Any, today: date) -> None:
    """Score everyone a week ago and today (the nightly job's trend)."""
    from webapp.alerts.services import score_clients

    for back in (*SCORE_DAYS_BACK, 0):
        at = paris_datetime(today - timedelta(days=back), time(3, 30)) if back else utcnow()
        score_clients(clients, now=at)
