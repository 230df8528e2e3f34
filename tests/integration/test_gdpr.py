"""GDPR: export everything about a person, erase it, keep what the law requires (must-show 5)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login

# Every value below identifies the person or tells about her health; none may survive erasure.
IDENTITY = {
    "first_name": "Hortensia", "last_name": "Zébulonesque", "phone": "06 12 34 56 78",
    "address": "17 impasse des Glycines-Mauves", "access_notes": "Digicode 73A91 clé chez Mme",
    "notes": "Allergie pénicilline-XQ", "birth_date": date(1931, 2, 17),
}
CARER_NOTE = "Transmission-privée Hortensia tousse"
OBSERVATION_NOTE = "Observation-privée chute évitée"
CANCEL_REASON = "Hospitalisation-privée cardiologie"
FAMILY_EMAIL = "neveu.zebulonesque@example.org"
RECIPIENT_EMAIL = "hortensia.z@example.org"
PLAN_NOTE = "Plan-privé: aidant épuisé"
FAMILY_PASSWORD = "Cerisier-en-fleur-2031"
RISK_REASON = "Risque-privé: chutes répétées"


def _secrets() -> list[str]:
    values = [v for k, v in IDENTITY.items() if k != "birth_date"]
    return [*values, IDENTITY["birth_date"].isoformat(), CARER_NOTE, OBSERVATION_NOTE,
            CANCEL_REASON, FAMILY_EMAIL, RECIPIENT_EMAIL, PLAN_NOTE, "Anatole", RISK_REASON,
            f"{IDENTITY['first_name']} {IDENTITY['last_name']}"]


def scan_database(needles: list[str]) -> list[str]:
    """Look for each value in every column of every table of the app's real database, as text.

    The tables come from the database itself (not from the models), so a table added by any
    feature is scanned too. JSON columns may store non-ASCII as \\uXXXX: both forms are sought.
    """
    from webapp.extensions import db

    db.session.remove()
    found = []
    inspector = sa.inspect(db.engine)
    tables = inspector.get_table_names()
    assert {"client", "visit", "observation", "audit_event", "user"} <= set(tables)
    with db.engine.connect() as conn:
        for name in tables:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            for column in table.columns:
                text = sa.cast(column, sa.Text)
                for needle in needles:
                    escaped = json.dumps(needle)[1:-1]
                    hits = conn.scalar(sa.select(sa.func.count()).select_from(table).where(
                        sa.or_(text.contains(needle, autoescape=True),
                               text.contains(escaped, autoescape=True))))
                    if hits:
                        found.append(f"{name}.{column.name} holds {needle!r} ({hits} rows)")
    return found


def _build(world: Any) -> dict[str, Any]:
    from webapp.alerts.models import RiskAlert, RiskScore
    from webapp.careplans.models import CarePlan
    from webapp.rounds.models import RoundPlan
    from webapp.timeutil import today_paris, utcnow
    from webapp.visits.models import OutboxRecord

    org = world.org()
    admin = world.user(org, "admin")
    coordinator = world.user(org, "coordinator")
    carer = world.carer(org)
    person = world.client(org, gir=2, funding="apa", postcode="06240", city="Beausoleil",
                          walking_aid=True, n_medicines=7, **IDENTITY)
    neighbour = world.client(org, last_name="Voisine")  # someone else, who keeps her data
    recipient = world.user(org, "recipient", client_id=person.id, email=RECIPIENT_EMAIL)
    yesterday = today_paris() - timedelta(days=1)
    done = world.visit(person, [carer], day=yesterday, status="done")
    done.check_in_at, done.check_out_at = done.planned_start, done.planned_end
    done.check_in_lat, done.check_in_lon = 43.7421, 7.4242
    today = world.visit(person, [carer])
    later = world.visit(person, [carer], day=today_paris() + timedelta(days=2))
    other_visit = world.visit(neighbour, [carer], start="11:00", end="12:00")
    plan = CarePlan(organisation_id=org.id, client_id=person.id, starts_on=yesterday,
                    notes=PLAN_NOTE, interventions=[])
    world._db().session.add(plan)
    world._db().session.add(OutboxRecord(
        key="gdpr-key-0001", organisation_id=org.id, user_id=carer.user_id, visit_id=today.id,
        action="note", captured_at=utcnow(), received_at=utcnow(),
        payload={"note": CARER_NOTE}, outcome="applied"))
    score = RiskScore(organisation_id=org.id, client_id=person.id, fall_risk_90d=0.31,
                      decline_risk_90d=0.12, reasons={"fall": [RISK_REASON]},
                      model_version="test", n_observations=3)
    world._db().session.add(score)
    world._db().session.flush()
    world._db().session.add(RiskAlert(organisation_id=org.id, client_id=person.id, kind="score",
                                      item="fall", message=RISK_REASON, detected_at=utcnow(),
                                      score_id=score.id))
    world._db().session.add(RoundPlan(
        organisation_id=org.id, day=today.day, status="done",
        result={"routes": [{"carer": carer.full_name, "stops": [
            {"visit_id": today.id, "client": person.full_name, "lat": 43.74, "lon": 7.42},
            {"visit_id": other_visit.id, "client": neighbour.full_name}]}],
            "skipped": [person.full_name]}))
    world.commit()
    return {"org": org, "admin": admin, "coordinator": coordinator, "carer": carer,
            "person": person, "neighbour": neighbour, "recipient": recipient, "done": done,
            "today": today, "later": later}


def _live_activity(client: FlaskClient, w: dict[str, Any]) -> None:
    """Fill the person's file through the real forms, as the service would."""
    person, carer = w["person"], w["carer"]
    login(client, carer.user.email)
    token = csrf_from(client, "/ma-journee")
    assert client.post(f"/visites/{w['today'].id}/arrivee",
                       data={"csrf_token": token}).status_code == 303
    assert client.post(f"/visites/{w['today'].id}/note",
                       data={"csrf_token": token, "note": CARER_NOTE}).status_code == 303
    url = f"/visites/{w['today'].id}/observation"
    response = client.post(url, data={
        "csrf_token": csrf_from(client, url), "fall": "without_injury", "mobility": "more_help",
        "meal_share": "0.25", "drinks": "less", "mood": "sad", "confusion": "none",
        "note": OBSERVATION_NOTE})
    assert response.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_from(client, "/ma-journee")})

    login(client, w["coordinator"].email)
    token = csrf_from(client, f"/clients/{person.id}")
    assert client.post(f"/clients/{person.id}/proches", data={
        "csrf_token": token, "first_name": "Anatole", "last_name": "Zébulonesque",
        "email": FAMILY_EMAIL, "relationship_label": "Neveu", "password": FAMILY_PASSWORD,
        "consent_share_notes": "y", "consent_notifications": "y"}).status_code == 303
    assert client.post(f"/planning/visites/{w['later'].id}/annuler", data={
        "csrf_token": token, "reason": CANCEL_REASON}).status_code == 303
    assert client.get(f"/clients/{person.id}").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(client, "/planning/")})


def test_export_then_erasure_leaves_no_personal_field_in_any_table(
    app: Flask, client: FlaskClient, world: Any, runner: Any
) -> None:
    from webapp.alerts.models import RiskAlert, RiskScore
    from webapp.audit.models import AuditEvent
    from webapp.auth.models import User
    from webapp.careplans.models import CarePlan
    from webapp.clients.models import Client
    from webapp.extensions import db
    from webapp.gdpr.models import Erasure
    from webapp.observations.models import Observation
    from webapp.visits.models import Visit

    w = _build(world)
    _live_activity(client, w)
    # The real push planner writes the reminders the service would send about her (the
    # coordinator's high-risk alert names her): erasure must reach other people's messages too.
    planned = runner.invoke(args=["push", "send"])
    assert planned.exit_code == 0, planned.output
    from webapp.push.models import Notification

    about_her = [n for n in db.session.scalars(sa.select(Notification))
                 if IDENTITY["last_name"] in json.dumps(n.params, ensure_ascii=False)]
    assert about_her, "the planner wrote no notification naming the person"
    person_id, neighbour_id = w["person"].id, w["neighbour"].id
    recipient_id, done_id = w["recipient"].id, w["done"].id
    visit_ids = {w["done"].id, w["today"].id, w["later"].id}
    coordinator_email, admin_email = w["coordinator"].email, w["admin"].email
    before = scan_database(_secrets())
    assert len(before) >= 10, before  # the values are really there to be found

    # Right of access: one JSON file with everything, downloaded by the coordinator.
    login(client, coordinator_email)
    export = client.get(f"/rgpd/clients/{person_id}/export")
    assert export.status_code == 200
    assert export.mimetype == "application/json"
    assert "attachment" in export.headers["Content-Disposition"]
    document = json.loads(export.get_data(as_text=True))
    assert document["client"]["last_name"] == IDENTITY["last_name"]
    assert document["client"]["birth_date"] == "1931-02-17"
    assert {v["id"] for v in document["visits"]} == visit_ids
    assert document["observations"][0]["note"] == OBSERVATION_NOTE
    assert document["risk_scores"][0]["reasons"] == {"fall": [RISK_REASON]}
    assert document["risk_alerts"][0]["message"] == RISK_REASON
    assert document["care_plans"][0]["notes"] == PLAN_NOTE
    assert document["family"][0]["user"]["email"] == FAMILY_EMAIL
    assert "password_hash" not in document["family"][0]["user"]
    assert document["accounts"][0]["email"] == RECIPIENT_EMAIL
    assert {"read_client", "note", "record_observation"} <= {a["action"]
                                                             for a in document["accesses"]}
    exported = json.dumps(document, ensure_ascii=False)
    full_name = f"{IDENTITY['first_name']} {IDENTITY['last_name']}"  # only in round previews
    assert [s for s in _secrets() if s not in exported and s != full_name] == []
    client.post("/logout", data={"csrf_token": csrf_from(client, "/planning/")})

    # Right to erasure, by an admin, with the typed confirmation.
    login(client, admin_email)
    page = f"/rgpd/clients/{person_id}"
    refused = client.post(f"{page}/effacer", data={"csrf_token": csrf_from(client, page),
                                                   "confirm": "999"})
    assert refused.status_code == 400
    assert "Recopiez" in refused.get_data(as_text=True)
    erased = client.post(f"{page}/effacer", data={"csrf_token": csrf_from(client, page),
                                                  "confirm": str(person_id)})
    assert erased.status_code == 303
    again = client.post(f"{page}/effacer", data={"csrf_token": csrf_from(client, page),
                                                 "confirm": str(person_id)})
    assert again.status_code == 409

    # Not one personal value left, in any column of any table, audit trail included.
    db.session.remove()
    assert scan_database(_secrets()) == []

    # What the law requires is still there.
    shell = db.session.get(Client, person_id)
    assert shell.last_name == f"effacée n° {person_id}"
    assert not shell.active
    assert (shell.funding, shell.gir, shell.postcode) == ("apa", 2, "06240")  # APA invoicing
    visits = db.session.scalars(sa.select(Visit).where(Visit.client_id == person_id)).all()
    assert len(visits) == 3  # accounting records kept ...
    done = next(v for v in visits if v.id == done_id)
    assert done.status == "done"
    assert done.check_out_at is not None
    assert done.duration_min == 45
    assert done.check_in_lat is None  # ... without where the person lives
    assert db.session.scalar(sa.select(sa.func.count(CarePlan.id)).where(
        CarePlan.client_id == person_id)) == 1
    for model in (Observation, RiskScore, RiskAlert):
        assert db.session.scalar(sa.select(sa.func.count(model.id)).where(
            model.client_id == person_id)) == 0
    audit = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.client_id == person_id)).all()
    assert {"read_client", "record_observation", "export", "erase"} <= set(audit)
    assert db.session.scalar(sa.select(Erasure.reason).where(
        Erasure.subject_type == "client", Erasure.subject_id == person_id)) == "request"
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output

    # Someone else's file is untouched.
    assert db.session.get(Client, neighbour_id).last_name == "Voisine"
    # The relative's and the person's own accounts can no longer sign in.
    assert db.session.get(User, recipient_id).erased_at is not None
    client.post("/logout", data={"csrf_token": csrf_from(client, "/planning/")})
    assert login(client, FAMILY_EMAIL, FAMILY_PASSWORD).status_code == 401
    assert client.get(page).status_code == 302  # signed out


def test_a_person_downloads_her_own_data(client: FlaskClient, world: Any) -> None:
    org = world.org()
    person = world.client(org, last_name="Moimeme")
    recipient = world.user(org, "recipient", client_id=person.id)
    world.visit(person)
    world.commit()
    login(client, recipient.email)
    response = client.get("/rgpd/mes-donnees")
    assert response.status_code == 200
    document = response.get_json(force=True)
    assert document["account"]["email"] == recipient.email
    assert "password_hash" not in document["account"]
    assert "totp_secret" not in document["account"]
    assert document["client_file"]["client"]["last_name"] == "Moimeme"
    assert len(document["client_file"]["visits"]) == 1
    assert "Mes données" in client.get("/mon-compte").get_data(as_text=True)


def test_admin_anonymises_an_account_which_then_cannot_sign_in(
    client: FlaskClient, world: Any
) -> None:
    from webapp.auth.models import User
    from webapp.extensions import db

    org = world.org()
    admin = world.user(org, "admin")
    family = world.family(world.client(org), share_notes=True)
    email, last, family_id, admin_id = family.email, family.last_name, family.id, admin.id
    world.commit()
    login(client, admin.email)
    token = csrf_from(client, "/comptes/")
    export = client.get(f"/rgpd/comptes/{family_id}/export")
    assert export.get_json(force=True)["account"]["email"] == email
    assert client.post(f"/rgpd/comptes/{family_id}/effacer",
                       data={"csrf_token": token, "confirm": str(family_id)}).status_code == 303
    assert client.post(f"/rgpd/comptes/{admin_id}/effacer",
                       data={"csrf_token": token, "confirm": str(admin_id)}).status_code == 403
    db.session.expire_all()
    user = db.session.get(User, family_id)
    assert user.erased_at is not None
    assert not user.active
    assert scan_database([email, last]) == []
    client.post("/logout", data={"csrf_token": token})
    assert login(client, email).status_code == 401


def test_retention_periods_expire_old_data_and_keep_recent(
    app: Flask, world: Any, runner: Any
) -> None:
    from webapp.auth.models import LoginAttempt
    from webapp.clients.models import Client
    from webapp.extensions import db
    from webapp.gdpr.services import RETENTION
    from webapp.observations.models import Observation
    from webapp.timeutil import PARIS, today_paris, utcnow
    from webapp.visits.models import Visit

    org = world.org()
    carer = world.carer(org)
    gone = world.client(org, last_name="Partielongtemps", active=False,
                        created_at=utcnow() - timedelta(days=8 * 365))
    old_visit = world.visit(gone, [carer], day=today_paris() - timedelta(days=6 * 365),
                            status="done")
    ancient = world.visit(gone, [carer], day=today_paris() - timedelta(days=11 * 365),
                          status="done")
    current = world.client(org, last_name="Toujourssuivie")
    recent_visit = world.visit(current, [carer], status="done")
    stamp = datetime.combine(today_paris() - timedelta(days=3 * 365), datetime.min.time(), PARIS)
    for visit, when in ((old_visit, stamp), (recent_visit, utcnow())):
        db.session.add(Observation(organisation_id=org.id, visit_id=visit.id,
                                   client_id=visit.client_id, carer_id=carer.id,
                                   user_id=carer.user_id, recorded_at=when, fall="none"))
    db.session.add(LoginAttempt(email="x@example.org", remote_addr="10.0.0.1",
                                at=utcnow() - timedelta(days=40)))
    db.session.add(LoginAttempt(email="y@example.org", remote_addr="10.0.0.1", at=utcnow()))
    world.commit()
    ids = (gone.id, current.id, ancient.id, old_visit.id)

    dry = runner.invoke(args=["gdpr", "retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove" in dry.output
    assert "clients_anonymised=1" in dry.output
    db.session.expire_all()
    assert db.session.get(Client, ids[0]).last_name == "Partielongtemps"

    result = runner.invoke(args=["gdpr", "retention"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Client, ids[0]).last_name.startswith("effacée")
    assert db.session.get(Client, ids[1]).last_name == "Toujourssuivie"
    assert db.session.get(Visit, ids[2]) is None  # beyond the 10 years of accounting
    assert db.session.get(Visit, ids[3]) is not None  # within them, kept
    notes = db.session.scalars(sa.select(Observation.client_id)).all()
    assert notes == [ids[1]]
    emails = db.session.scalars(sa.select(LoginAttempt.email)).all()
    assert emails == ["y@example.org"]
    assert RETENTION["billing"].days == 3650


def test_retention_runs_every_night() -> None:
    from webapp.gdpr.tasks import apply_retention_periods
    from webapp.tasks import huey

    periodic = {t.name: t for t in huey._registry.periodic_tasks}
    assert "apply_retention_periods" in periodic
    assert apply_retention_periods.task_class is type(periodic["apply_retention_periods"])
