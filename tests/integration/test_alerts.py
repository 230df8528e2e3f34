"""Risk scores, change alerts and their review on the coordinator's Alertes pages."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login


def _person(world: Any, org: Any, name: str = "Risquee", **overrides: Any) -> Any:
    values = {"birth_date": date(1936, 2, 3), "sex": "F", "walking_aid": True,
              "n_medicines": 9, "n_psychotropics": 2}
    values.update(overrides)
    return world.client(org, last_name=name, **values)


def _history(world: Any, person: Any, carer: Any, *, days: int = 90, drop_days: int = 5) -> None:
    """Store a usual state every other day, then a drop in meals over the last days."""
    from webapp.observations.models import Observation
    from webapp.timeutil import utcnow

    now = utcnow()
    moments = [now - timedelta(days=days - 2 * i) for i in range(days // 2 - drop_days)]
    moments += [now - timedelta(days=drop_days - i, hours=1) for i in range(drop_days)]
    for i, moment in enumerate(moments):
        visit = world.visit(person, [carer], day=moment.date(), start="08:00", end="10:00",
                            status="done")
        low = moment > now - timedelta(days=drop_days + 1)
        world._db().session.add(Observation(
            organisation_id=person.organisation_id, visit_id=visit.id, client_id=person.id,
            carer_id=carer.id, user_id=carer.user_id, recorded_at=moment, fall="none",
            mobility="usual", meal_share=0.25 if low else 1.0, drinks="usual", mood="usual",
            confusion="none", idempotency_key=f"history-{person.id}-{i:04d}"))
    world.commit()


def _events(action: str) -> list[Any]:
    from webapp.audit.models import AuditEvent
    from webapp.extensions import db

    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _alerts() -> list[Any]:
    from webapp.alerts.models import RiskAlert
    from webapp.extensions import db

    db.session.expire_all()
    return list(db.session.scalars(sa.select(RiskAlert).order_by(RiskAlert.id)))


def test_change_from_usual_state_raises_an_alert_shown_with_reasons_and_trend(
    client: FlaskClient, world: Any
) -> None:
    from webapp.alerts import services
    from webapp.extensions import db

    org = world.org()
    carer = world.carer(org)
    person = _person(world, org)
    _history(world, person, carer)
    coordinator = world.user(org, "coordinator")
    world.commit()
    first = services.rescore_client(person.id)
    second = services.rescore_client(person.id)  # a rerun finds the same change: no duplicate
    db.session.commit()
    assert first is not None
    assert second is not None
    changes = [a for a in _alerts() if a.kind == "change"]
    assert [a.item for a in changes] == ["meal_deficit"]
    assert changes[0].message.startswith("Appétit en baisse")

    login(client, coordinator.email)
    page = client.get("/alertes/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Risquee" in body
    assert "Appétit en baisse" in body
    assert re.search(r"\d+ %", body)
    assert [e.client_id for e in _events("read_risk")] == [person.id]

    detail = client.get(f"/alertes/personnes/{person.id}").get_data(as_text=True)
    assert "<svg" in detail
    assert detail.count("<polyline") == 2
    assert 'style="' not in detail
    assert "<script" not in detail.split("</head>")[1]
    for reason in second.reasons["fall"]:
        assert reason["text"].replace("'", "&#39;") in detail
    assert "synthétique" in detail
    assert len(_events("read_risk")) == 2


def test_a_lasting_change_raises_one_alert_until_reviewed(
    app: Flask, client: FlaskClient, world: Any
) -> None:
    import risk
    from webapp.alerts import services
    from webapp.extensions import db
    from webapp.timeutil import utcnow

    org = world.org()
    carer = world.carer(org)
    person = _person(world, org)
    _history(world, person, carer, drop_days=14)
    coordinator = world.user(org, "coordinator")
    world.commit()
    # The detector fires again on the lasting drop once its quiet period is over ...
    model, _ = services.get_model()
    since = utcnow() - timedelta(days=365)
    observations = services.observations_by_client([person.id], since)[person.id]
    recent = utcnow() - timedelta(days=services.CHANGE_RECENT_DAYS)
    fired = [c for c in risk.detect_changes(observations, model.population)
             if c.item == "meal_deficit" and c.at.replace(tzinfo=services.PARIS) >= recent]
    assert len(fired) >= 2, fired
    # ... but the coordinator gets one alert while it waits for review.
    services.rescore_client(person.id)
    db.session.commit()
    [alert] = [a for a in _alerts() if a.kind == "change" and a.item == "meal_deficit"]
    assert alert.detected_at == fired[0].at.replace(tzinfo=services.PARIS)
    # Reviewed after both detections: rescoring raises nothing new about the same episode.
    services.review_alert(alert, coordinator, action="call_family", comment="")
    db.session.commit()
    services.rescore_client(person.id)
    db.session.commit()
    assert [a.id for a in _alerts() if a.kind == "change" and a.item == "meal_deficit"] == [
        alert.id]


def test_review_is_recorded_once_with_the_action_and_never_touches_the_plan(
    app: Flask, client: FlaskClient, world: Any
) -> None:
    from webapp.alerts import services
    from webapp.extensions import db

    app.config["RISK_FALL_THRESHOLD"] = 0.01  # every score crosses it: one alert
    org = world.org()
    person = _person(world, org)
    coordinator = world.user(org, "coordinator")
    world.commit()
    services.rescore_client(person.id)
    services.rescore_client(person.id)  # still above: no second alert while the first is open
    db.session.commit()
    [alert] = [a for a in _alerts() if a.kind == "score"]
    assert alert.item == "fall"
    assert alert.status == "open"
    assert alert.message.startswith("Risque de chute élevé")

    login(client, coordinator.email)
    url = f"/alertes/{alert.id}/revue"
    token = csrf_from(client, f"/alertes/personnes/{person.id}")
    bad = client.post(url, data={"csrf_token": token, f"a{alert.id}-action": "ignore_it"})
    assert bad.status_code == 400
    missing = client.post(url, data={"csrf_token": token, f"a{alert.id}-comment": "vu"})
    assert missing.status_code == 400
    assert "Choisissez la suite donnée" in missing.get_data(as_text=True)
    assert _alerts()[0].status == "open"

    ok = client.post(url, data={"csrf_token": token, f"a{alert.id}-action": "call_family",
                                f"a{alert.id}-comment": "Fille prévenue, rappel lundi"})
    assert ok.status_code == 303
    [alert] = _alerts()
    assert (alert.status, alert.action, alert.comment) == (
        "reviewed", "call_family", "Fille prévenue, rappel lundi")
    assert alert.reviewed_by_id == coordinator.id
    assert alert.reviewed_at is not None
    [event] = _events("review_alert")
    assert event.details["action_taken"] == "call_family"
    assert event.client_id == person.id
    again = client.post(url, data={"csrf_token": token, f"a{alert.id}-action": "nothing"})
    assert again.status_code == 409
    assert _alerts()[0].action == "call_family"
    page = client.get(f"/alertes/personnes/{person.id}").get_data(as_text=True)
    assert "Appeler la famille" in page
    assert "Fille prévenue" in page
    from webapp.careplans.models import CarePlan

    assert db.session.scalar(sa.select(sa.func.count(CarePlan.id))) == 0


def test_other_organisations_and_non_staff_never_see_scores(app: Flask, world: Any) -> None:
    app.config["RISK_FALL_THRESHOLD"] = 0.01
    org, other = world.org(), world.org()
    carer = world.carer(org)
    person = _person(world, org, name="Secretrisk")
    foreign = world.user(other, "coordinator")
    world.client(other, last_name="Theirs", birth_date=date(1940, 1, 1), sex="M")
    world.commit()
    from webapp.alerts.tasks import rescore_everyone

    assert rescore_everyone.call_local() == 2  # the nightly task, both organisations
    [alert] = [a for a in _alerts() if a.client_id == person.id]

    c = app.test_client()
    login(c, foreign.email)
    assert c.get(f"/alertes/personnes/{person.id}").status_code == 404
    token = csrf_from(c, "/alertes/")
    assert c.post(f"/alertes/{alert.id}/revue",
                  data={"csrf_token": token, f"a{alert.id}-action": "nothing"}).status_code == 404
    listing = c.get("/alertes/").get_data(as_text=True)
    assert "Secretrisk" not in listing
    assert "Theirs" in listing
    assert [a.status for a in _alerts()] == ["open", "open"]

    c = app.test_client()
    login(c, carer.user.email)
    assert c.get("/alertes/").status_code == 403
    assert c.get(f"/alertes/personnes/{person.id}").status_code == 403


def test_incomplete_profiles_are_listed_without_a_score(client: FlaskClient, world: Any) -> None:
    from webapp.alerts import services
    from webapp.alerts.models import RiskScore
    from webapp.extensions import db

    org = world.org()
    person = world.client(org, last_name="Sansdate")  # no birth date, no sex
    coordinator = world.user(org, "coordinator")
    world.commit()
    assert services.rescore_client(person.id) is None
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(RiskScore.id))) == 0
    login(client, coordinator.email)
    body = client.get("/alertes/").get_data(as_text=True)
    assert "Sans score" in body
    assert "Sansdate" in body
    detail = client.get(f"/alertes/personnes/{person.id}").get_data(as_text=True)
    assert "Date de naissance ou sexe manquant" in detail


def test_model_card_is_french_and_labels_figures_synthetic(
    client: FlaskClient, world: Any
) -> None:
    org = world.org()
    admin = world.user(org, "admin")
    world.commit()
    login(client, admin.email)
    page = client.get("/alertes/modele")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for words in ("Usage prévu", "Données", "Limites", "Supervision humaine",
                  "AUROC (synthétique)", "risk-synthetic-v3",
                  "Régression logistique lasso (C = 0,01) (retenu)"):
        assert words in body, words
    assert re.search(r"0,\d{3}", body)  # French decimals


def test_client_form_saves_the_risk_profile(client: FlaskClient, world: Any) -> None:
    from webapp.clients.models import Client
    from webapp.extensions import db

    org = world.org()
    person = world.client(org, last_name="Profil")
    coordinator = world.user(org, "coordinator")
    world.commit()
    login(client, coordinator.email)
    url = f"/clients/{person.id}/modifier"
    token = csrf_from(client, url)
    form = {"csrf_token": token, "first_name": "Jeanne", "last_name": "Profil",
            "address": "1 rue de la Paix", "city": "Beausoleil", "gir": "3", "funding": "apa",
            "sector_id": "0", "lat": "43.742", "lon": "7.424", "n_medicines": "9",
            "n_psychotropics": "2", "parkinson": "y", "walking_aid": "y", "active": "y"}
    assert client.post(url, data=form).status_code == 303
    db.session.expire_all()
    saved = db.session.get(Client, person.id)
    assert (saved.n_medicines, saved.n_psychotropics, saved.parkinson, saved.walking_aid,
            saved.vertigo) == (9, 2, True, True, False)
    bad = client.post(url, data={**form, "n_medicines": "1", "n_psychotropics": "3"})
    assert bad.status_code == 400
    assert "psychotropes" in bad.get_data(as_text=True)


def test_trend_chart_scales_and_orders_points() -> None:
    from datetime import UTC, datetime

    from webapp.alerts.chart import trend_chart

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    chart = trend_chart([(t0, 0.2, 0.1), (t0 + timedelta(days=10), 0.45, 0.15)])
    assert chart.grid[-1][1] == "50 %"  # the axis stops at the next 10 % above the peak
    assert chart.fall[0].x < chart.fall[1].x
    assert chart.fall[1].y < chart.fall[0].y
    single = trend_chart([(t0, 0.1, 0.1)])
    assert single.fall[0].x == single.decline[0].x
    assert trend_chart([]).first is None


def test_rescore_command_scores_every_active_client(runner: Any, world: Any) -> None:
    from webapp.alerts.models import RiskScore
    from webapp.extensions import db

    org = world.org()
    _person(world, org, name="Un")
    _person(world, org, name="Deux", sex="M")
    _person(world, org, name="Inactive", active=False)
    world.commit()
    result = runner.invoke(args=["alerts", "rescore"])
    assert result.exit_code == 0, result.output
    assert "2 clients scored with risk-synthetic-v3@" in result.output
    assert db.session.scalar(sa.select(sa.func.count(RiskScore.id))) == 2


def test_every_stored_answer_maps_onto_the_library_vocabulary(app: Flask) -> None:
    import risk
    from webapp.alerts.services import observation_for, person_for
    from webapp.clients.models import Client
    from webapp.observations import models as m
    from webapp.timeutil import utcnow

    pairs = [(m.FALLS, risk.FallReport, "fall"), (m.MOBILITY, risk.Mobility, "mobility"),
             (m.DRINKS, risk.Drinks, "drinks"), (m.MOODS, risk.Mood, "mood"),
             (m.CONFUSION, risk.Confusion, "confusion")]
    for labels, enum, name in pairs:
        mapped = [getattr(observation_for(m.Observation(
            client_id=1, carer_id=2, recorded_at=utcnow(), **{name: value})), name)
            for value in labels]
        assert mapped == list(enum), name  # same members, same order (best to worst)
    row = m.Observation(client_id=1, carer_id=2, recorded_at=utcnow(), meal_share=0.75,
                        note="privé", share_with_family=True)
    record = observation_for(row)
    assert record.meal_share == 0.75
    assert record.note == ""  # notes never reach the model
    client = Client(id=5, birth_date=date(1930, 1, 1), sex="M", gir=2, living_alone=True,
                    walking_aid=True, n_medicines=8, n_psychotropics=1, antiepileptics=False,
                    cognitive_impairment=True, parkinson=False, incontinence=True, vertigo=True)
    person = person_for(client)
    assert person == risk.Person("5", risk.Sex.MALE, date(1930, 1, 1), 2, walking_aid=True,
                                 n_medicines=8, n_psychotropics=1, cognitive_impairment=True,
                                 incontinence=True, living_alone=True, vertigo=True)


def test_reasons_and_alerts_show_in_the_viewers_language_old_rows_as_stored(
    client: FlaskClient, world: Any
) -> None:
    from webapp.alerts import services
    from webapp.alerts.models import RiskAlert, RiskScore
    from webapp.extensions import db
    from webapp.timeutil import utcnow

    org = world.org()
    carer = world.carer(org)
    person = _person(world, org)
    _history(world, person, carer)
    older = _person(world, org, name="Ancienne")
    coordinator = world.user(org, "coordinator")
    world.commit()
    score = services.rescore_client(person.id)
    assert score is not None
    # A row stored before reasons had message parts, and an alert on an item unknown here.
    legacy = RiskScore(organisation_id=org.id, client_id=older.id, computed_at=utcnow(),
                       fall_risk_90d=0.5, decline_risk_90d=0.2, model_version="old@0 (2026)",
                       reasons={"fall": [{"code": "falls", "text": "3 chutes en 30 jours",
                                          "effect": 0.8, "modifiable": True}]})
    db.session.add(legacy)
    db.session.flush()
    db.session.add(RiskAlert(organisation_id=org.id, client_id=older.id, kind="change",
                             item="retired_item", message="Ancien message en français",
                             detected_at=utcnow()))
    db.session.commit()
    fall_reasons = score.reasons["fall"]
    assert fall_reasons
    assert all(r["parts"] for r in fall_reasons)

    login(client, coordinator.email)
    french = client.get(f"/alertes/personnes/{person.id}").get_data(as_text=True)
    assert "Appétit en baisse par rapport à d&#39;habitude" in french
    for reason in fall_reasons:
        assert reason["text"].replace("'", "&#39;") in french

    token = csrf_from(client, "/alertes/")
    client.post("/langue", data={"locale": "en", "csrf_token": token})
    english = client.get(f"/alertes/personnes/{person.id}").get_data(as_text=True)
    assert 'lang="en"' in english
    assert "Eating less than usual" in english
    assert "Appétit en baisse" not in english
    for reason in fall_reasons:
        assert reason["text"].replace("'", "&#39;") not in english
    listing = client.get("/alertes/").get_data(as_text=True)
    assert "Eating less than usual" in listing
    # Old rows keep the French they were stored with.
    assert "Ancien message en français" in listing
    old_page = client.get(f"/alertes/personnes/{older.id}").get_data(as_text=True)
    assert "3 chutes en 30 jours" in old_page


def test_demo_load_brings_weeks_of_observations_scores_and_two_changes(runner: Any) -> None:
    from webapp.alerts.models import RiskAlert, RiskScore
    from webapp.clients.models import Client
    from webapp.demo.observations import CHANGING, WEEKS
    from webapp.extensions import db
    from webapp.observations.models import Observation
    from webapp.timeutil import today_paris

    result = runner.invoke(args=["demo", "load", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert f"observations recorded over {WEEKS} weeks" in result.output
    clients = db.session.scalars(sa.select(Client).order_by(Client.id)).all()
    observed = db.session.scalars(sa.select(Observation)).all()
    first = min(o.recorded_at for o in observed)
    assert (today_paris() - first.date()).days >= 7 * WEEKS - 1
    assert {o.client_id for o in observed} == {c.id for c in clients}
    # Everyone is scored, twice (a week ago and today), so every trend has two points.
    counts = dict(db.session.execute(sa.select(RiskScore.client_id, sa.func.count())
                                     .group_by(RiskScore.client_id)).tuples().all())
    assert set(counts) == {c.id for c in clients}
    assert set(counts.values()) == {2}
    changes = {(a.client_id, a.item) for a in db.session.scalars(
        sa.select(RiskAlert).where(RiskAlert.kind == "change"))}
    position = {change: p for p, change in CHANGING.items()}
    nutrition, mobility = clients[position["nutrition"]].id, clients[position["mobility"]].id
    assert (nutrition, "meal_deficit") in changes
    assert {(mobility, item) for item in ("fall", "near_fall", "mobility", "help")} & changes
    # Deterministic and loaded once: a second run adds nothing.
    again = runner.invoke(args=["demo", "load", "--days", "1"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(sa.select(sa.func.count(Observation.id))) == len(observed)
