"""Care plans expand into dated visits, once."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from webapp.careplans.models import CarePlan, Intervention
from webapp.careplans.services import CarePlanError, expand_visits, validate_intervention
from webapp.extensions import db
from webapp.visits.models import Visit

MONDAY = date(2026, 11, 30)


def _plan(world: Any, *, starts: date = MONDAY, ends: date | None = None) -> tuple[Any, Any]:
    org = world.org()
    client = world.client(org)
    plan = CarePlan(organisation_id=org.id, client_id=client.id, starts_on=starts, ends_on=ends)
    plan.interventions = [
        Intervention(kind="lever", weekdays=[0, 2, 4], window_start=time(7, 30),
                     window_end=time(10), duration_min=45, required_skills=["toilette"],
                     tasks=["Toilette"]),
        Intervention(kind="transfert", weekdays=[0], window_start=time(8), window_end=time(10),
                     duration_min=30, carers_needed=2, required_skills=["transferts"]),
    ]
    db.session.add(plan)
    db.session.flush()
    return org, plan


def test_expansion_follows_weekdays_and_copies_the_intervention(world: Any) -> None:
    org, _ = _plan(world)
    created = expand_visits(org.id, MONDAY, MONDAY + timedelta(days=6))
    visits = db.session.scalars(sa.select(Visit).order_by(Visit.day, Visit.window_start)).all()
    assert created == len(visits) == 4  # Mon, Wed, Fri personal care + Monday transfer
    assert [v.day.weekday() for v in visits] == [0, 0, 2, 4]
    transfer = next(v for v in visits if v.kind == "transfert")
    assert transfer.carers_needed == 2
    assert transfer.required_skills == ["transferts"]
    assert all(v.status == "planned" for v in visits)


def test_expansion_is_idempotent_and_keeps_recorded_work(world: Any) -> None:
    org, _ = _plan(world)
    expand_visits(org.id, MONDAY, MONDAY + timedelta(days=13))
    first = db.session.scalars(sa.select(Visit)).first()
    first.carer_note = "déjà noté"
    assert expand_visits(org.id, MONDAY, MONDAY + timedelta(days=13)) == 0
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 8
    assert db.session.get(Visit, first.id).carer_note == "déjà noté"


def test_expansion_respects_plan_dates(world: Any) -> None:
    org, _ = _plan(world, starts=MONDAY + timedelta(days=2), ends=MONDAY + timedelta(days=4))
    expand_visits(org.id, MONDAY, MONDAY + timedelta(days=13))
    days = sorted(v.day for v in db.session.scalars(sa.select(Visit)))
    assert days == [MONDAY + timedelta(days=2), MONDAY + timedelta(days=4)]


@pytest.mark.parametrize(
    ("weekdays", "start", "end", "minutes", "carers", "message"),
    [
        ([], time(8), time(10), 45, 1, "jour"),
        ([7], time(8), time(10), 45, 1, "jour"),
        ([0], time(10), time(8), 45, 1, "suivre"),
        ([0], time(8), time(8, 30), 45, 1, "dépasse"),
        ([0], time(8), time(10), 2, 1, "5 minutes"),
        ([0], time(8), time(10), 45, 3, "deux"),
    ],
)
def test_impossible_interventions_are_refused(
    weekdays: list[int], start: time, end: time, minutes: int, carers: int, message: str
) -> None:
    with pytest.raises(CarePlanError, match=message):
        validate_intervention(weekdays, start, end, minutes, carers)


def test_nightly_task_marks_past_visits_missed_and_plans_ahead(world: Any) -> None:
    from webapp.tasks import expand_upcoming_visits
    from webapp.timeutil import today_paris

    org, _ = _plan(world, starts=today_paris() - timedelta(days=10))
    expand_visits(org.id, today_paris() - timedelta(days=7), today_paris() - timedelta(days=1))
    carer = world.carer(org)
    past = db.session.scalars(sa.select(Visit)).all()
    checked_in = world.visit(past[0].client, [carer], day=today_paris() - timedelta(days=2),
                             status="in_progress")
    db.session.commit()
    created = expand_upcoming_visits.call_local()
    assert created > 0
    db.session.expire_all()
    statuses = {v.id: v.status for v in db.session.scalars(
        sa.select(Visit).where(Visit.day < today_paris()))}
    assert statuses.pop(checked_in.id) == "in_progress"
    assert set(statuses.values()) == {"missed"}
    assert db.session.scalar(sa.select(sa.func.count(Visit.id)).where(
        Visit.day >= today_paris())) == created
