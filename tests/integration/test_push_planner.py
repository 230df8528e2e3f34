"""Which notifications the planner derives from visits, care plans, rotas and alerts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from webapp.timeutil import PARIS


def paris(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=PARIS)


def plan(now: datetime) -> None:
    from webapp.extensions import db
    from webapp.push.planner import plan as run

    run(now)
    db.session.commit()


def rows(user: Any, kind: str | None = None) -> list[Any]:
    from webapp.extensions import db
    from webapp.push.models import Notification

    db.session.expire_all()
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query.order_by(Notification.due_at, Notification.id)))


def texts(user: Any, kind: str) -> list[str]:
    from webapp.push.services import text_of

    return [text_of(r, locale="fr")[1] for r in rows(user, kind)]


def send(now: datetime) -> Any:
    from webapp.push.services import send_due

    return send_due(now=now)


def test_recipient_hears_when_the_carer_comes_and_a_new_time_replaces_it(
        app: Flask, world: Any) -> None:
    from webapp.extensions import db
    from webapp.timeutil import today_paris

    day = today_paris()
    org = world.org()
    person = world.client(org)
    marie = world.carer(org, first_name="Marie")
    visit = world.visit(person, [marie], day=day, start="09:15", end="11:00")
    user = world.user(org, "recipient", client_id=person.id)
    world.commit()
    plan(paris(day, "07:00"))
    [eta] = rows(user, "eta")
    assert eta.due_at == paris(day, "08:15")
    assert texts(user, "eta") == ["Marie arrive vers 9 h 15."]
    first_topic = eta.topic
    eta.status = "dispatched"  # sent at 8:15
    db.session.commit()
    visit.planned_start = paris(day, "09:40")
    db.session.commit()
    plan(paris(day, "08:30"))
    etas = rows(user, "eta")
    assert [r.status for r in etas] == ["dispatched", "pending"]
    assert etas[1].topic == first_topic  # the push service and the phone replace it
    assert etas[1].due_at == paris(day, "08:40")
    assert texts(user, "eta")[1] == "Marie arrive vers 9 h 40."
    # The evening before: tomorrow's visits.
    world.visit(person, [marie], day=day + timedelta(days=1), start="12:00", end="13:00")
    world.commit()
    plan(paris(day, "17:55"))
    assert texts(user, "visits_tomorrow") == ["Marie vers 12 h"]
    assert rows(user, "visits_tomorrow")[0].due_at == paris(day, "18:00")


def test_care_plan_reminders_and_the_heat_wave(app: Flask, world: Any) -> None:
    from webapp.careplans.models import CarePlan, Intervention
    from webapp.extensions import db
    from webapp.push.services import set_heat_wave
    from webapp.timeutil import today_paris

    day = today_paris()
    org = world.org()
    person = world.client(org)
    user = world.user(org, "recipient", client_id=person.id)
    coordinator = world.user(org, "coordinator")
    every = list(range(7))
    plan_row = CarePlan(organisation_id=org.id, client_id=person.id,
                        starts_on=day - timedelta(days=3), interventions=[
        Intervention(kind="lever", weekdays=every, window_start=time(8), window_end=time(10),
                     duration_min=45, tasks=["Toilette", "Prise des médicaments"]),
        Intervention(kind="repas", weekdays=[(day.weekday() + 1) % 7], window_start=time(11, 30),
                     window_end=time(13, 30), duration_min=30,
                     tasks=["Préparation du repas", "Hydratation"]),
    ])
    db.session.add(plan_row)
    world.commit()
    plan(paris(day, "07:55"))
    assert [r.due_at for r in rows(user, "medication")][:1] == [paris(day, "08:00")]
    assert rows(user, "meal")[0].due_at == paris(day, "12:00")  # no meal visit today
    assert all(r.due_at.date() == day for r in rows(user, "meal"))  # tomorrow has a visit
    drinks = [r for r in rows(user, "hydration") if r.due_at.date() == day]
    assert [r.due_at for r in drinks] == [paris(day, "10:30"), paris(day, "16:00")]
    set_heat_wave(coordinator, day + timedelta(days=2))
    db.session.commit()
    plan(paris(day, "07:56"))
    drinks = [r for r in rows(user, "hydration") if r.due_at.date() == day]
    assert len(drinks) == 8  # 10:30 and 16:00, and every two hours from 9:00 to 19:00
    assert "Buvez un grand verre d'eau" in texts(user, "hydration")[0]


def test_family_hears_of_visits_done_late_and_missed(app: Flask, world: Any) -> None:
    from webapp.extensions import db
    from webapp.timeutil import today_paris

    day = today_paris()
    org = world.org()
    person = world.client(org, first_name="Jeanne", last_name="Martin")
    marie = world.carer(org, first_name="Marie")
    sharing = world.family(person, share_notes=True)
    private = world.family(person, share_notes=False)
    done = world.visit(person, [marie], day=day, start="08:00", end="10:00")
    late = world.visit(person, [marie], day=day, start="12:00", end="13:00")
    done.status, done.check_in_at = "done", paris(day, "08:05")
    done.check_out_at, done.carer_note = paris(day, "08:50"), "A bien déjeuné."
    world.commit()
    plan(paris(day, "09:00"))
    assert texts(sharing, "visit_done") == [
        "Visite de Marie chez Jeanne Martin, de 8 h 05 à 8 h 50. « A bien déjeuné. »"]
    assert texts(private, "visit_done") == ["Visite de Marie chez Jeanne Martin, de 8 h 05 à "
                                           "8 h 50."]
    lates = rows(sharing, "visit_late")
    assert [r.due_at for r in lates] == [paris(day, "12:30"), paris(day, "13:30")]
    # The carer arrived at 12:10: neither is sent.
    late.status, late.check_in_at = "in_progress", paris(day, "12:10")
    db.session.commit()
    report = send(paris(day, "13:31"))
    assert report.cancelled >= 4  # two relatives, late and missed
    assert all(r.status == "cancelled" for r in rows(sharing, "visit_late"))


def test_carer_hears_of_her_rota_and_of_a_visit_added_today(app: Flask, world: Any) -> None:
    from webapp.timeutil import today_paris

    day = today_paris()
    org = world.org()
    carer = world.carer(org)
    person = world.client(org)
    world.visit(person, [carer], day=day, start="08:00", end="10:00")
    world.visit(person, [carer], day=day + timedelta(days=1), start="08:00", end="10:00")
    world.commit()
    plan(paris(day, "16:00"))  # today: a baseline only; tomorrow is not announced yet
    assert rows(carer.user) == []
    plan(paris(day, "17:01"))
    [published] = rows(carer.user, "rota")
    assert "est prêt : 1 interventions" in texts(carer.user, "rota")[0]
    added = world.visit(world.client(org), [carer], day=day, start="18:00", end="19:00")
    world.commit()
    plan(paris(day, "17:02"))
    [short] = rows(carer.user, "short_notice")
    assert short.params["visit"] == added.id
    assert "vers 18 h" in texts(carer.user, "short_notice")[0]
    tomorrow = world.visit(world.client(org), [carer], day=day + timedelta(days=1),
                           start="11:30", end="13:30")
    world.commit()
    plan(paris(day, "17:03"))
    rota = rows(carer.user, "rota")
    assert len(rota) == 2
    assert rota[1].topic == published.topic
    assert "a changé : 2 interventions" in texts(carer.user, "rota")[1]
    plan(paris(day, "17:04"))  # nothing changed: nothing new
    assert len(rows(carer.user)) == 3
    assert tomorrow.id


def test_coordinators_hear_of_visits_not_started_and_high_risk_alerts(
        app: Flask, world: Any) -> None:
    from webapp.alerts.models import RiskAlert
    from webapp.extensions import db
    from webapp.timeutil import today_paris

    day = today_paris()
    org = world.org()
    coordinator = world.user(org, "coordinator")
    person = world.client(org, first_name="Paul", last_name="Durand")
    started = world.visit(person, [world.carer(org)], day=day, start="08:00", end="10:00")
    waiting = world.visit(person, [world.carer(org, first_name="Lise")], day=day,
                          start="09:00", end="10:00")
    db.session.add(RiskAlert(organisation_id=org.id, client_id=person.id, kind="score",
                             item="fall", message="Risque de chute à 90 jours : 42 %",
                             detected_at=paris(day, "07:00"), created_at=paris(day, "07:59")))
    world.commit()
    plan(paris(day, "08:00"))
    assert [r.due_at for r in rows(coordinator, "not_started")] == [paris(day, "08:20"),
                                                                      paris(day, "09:20")]
    assert texts(coordinator, "risk_alert") == ["Paul Durand : Risque de chute à 90 jours : "
                                               "42 %"]
    started.status, started.check_in_at = "in_progress", paris(day, "08:10")
    db.session.commit()
    send(paris(day, "09:21"))
    statuses = {r.params["visit"]: r.status for r in rows(coordinator, "not_started")}
    assert statuses == {started.id: "cancelled", waiting.id: "dispatched"}
    assert "Lise" in texts(coordinator, "not_started")[1]


def test_planning_twice_makes_each_occurrence_once(app: Flask, world: Any) -> None:
    from webapp.extensions import db
    from webapp.push.models import Notification
    from webapp.timeutil import today_paris

    day = today_paris()
    org = world.org()
    world.user(org, "coordinator")
    person = world.client(org)
    world.family(person)
    world.visit(person, [world.carer(org)], day=day, start="09:00", end="10:00")
    world.commit()
    plan(paris(day, "08:00"))
    first = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    plan(paris(day, "08:00"))
    plan(paris(day, "08:01"))
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == first
    assert first
