"""Every route, for every role and anonymous: who gets what, and nothing leaks across."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login

ROLES = ("anonymous", "admin", "coordinator", "carer", "other_carer", "recipient", "family",
         "other_org_coordinator")


@dataclass
class Case:
    """One route with the status each role must get."""

    endpoint: str
    method: str
    url: str
    expected: dict[str, int]
    data: dict[str, str] | None = None


def _staff(ok: int, *, other_org: int, others: int = 403, anon: int = 302) -> dict[str, int]:
    return {"anonymous": anon, "admin": ok, "coordinator": ok, "carer": others,
            "other_carer": others, "recipient": others, "family": others,
            "other_org_coordinator": other_org}


def build(world: Any) -> tuple[dict[str, Any], list[Case], list[str]]:
    """Create two organisations and the table of expected statuses."""
    from webapp.careplans.models import CarePlan, Intervention

    org, other_org = world.org("SAAD A"), world.org("SAAD B")
    carer = world.carer(org)
    other_carer = world.carer(org)
    client = world.client(org, last_name="Secretname", access_notes="Digicode 4242X")
    other_client = world.client(org, last_name="Otherperson")
    visit = world.visit(client, [carer])
    other_visit = world.visit(other_client, [other_carer])
    open_visit = world.visit(other_client, None, start="11:30", end="13:30", minutes=30)
    foreign_client = world.client(other_org, last_name="Foreignperson")
    world.visit(foreign_client, [world.carer(other_org)])
    plan = CarePlan(organisation_id=org.id, client_id=client.id,
                    starts_on=visit.day, interventions=[])
    world._db().session.add(plan)
    world._db().session.flush()
    from datetime import time
    intervention = Intervention(care_plan_id=plan.id, kind="repas", weekdays=[0, 1, 2],
                                window_start=time(11, 30), window_end=time(13, 30),
                                duration_min=30, required_skills=[], carers_needed=1, tasks=[])
    world._db().session.add(intervention)
    users = {
        "admin": world.user(org, "admin"),
        "coordinator": world.user(org, "coordinator"),
        "carer": carer.user,
        "other_carer": other_carer.user,
        "recipient": world.user(org, "recipient", client_id=client.id),
        "family": world.family(client, share_notes=True),
        "other_org_coordinator": world.user(other_org, "coordinator"),
    }
    from webapp.rounds.models import RoundPlan

    run = RoundPlan(organisation_id=org.id, day=visit.day, status="done",
                    result={"routes": [], "figures": {}, "current": {}})
    world._db().session.add(run)
    from webapp.timeutil import utcnow
    from webapp.visits.models import OutboxRecord

    flag = OutboxRecord(key="matrix-key-0001", organisation_id=org.id, user_id=carer.user_id,
                        visit_id=visit.id, action="note", captured_at=utcnow(),
                        received_at=utcnow(), payload={}, outcome="conflict",
                        message="Cette intervention ne vous est plus attribuée.", flagged=True)
    world._db().session.add(flag)
    from webapp.alerts.models import RiskAlert

    alert = RiskAlert(organisation_id=org.id, client_id=client.id, kind="change",
                      item="meal_deficit", message="Appétit en baisse par rapport à d'habitude",
                      detected_at=utcnow())
    world._db().session.add(alert)
    from webapp.push.models import PushSubscription

    device = PushSubscription(user_id=users["family"].id, endpoint="http://127.0.0.1:9/push/m",
                              p256dh="B" * 87, auth="A" * 22, label="Chrome · Android")
    world._db().session.add(device)
    world.commit()
    family_link_id = client.family_links[0].id
    secrets = ["Secretname", "Digicode 4242X"]
    carer_only = {"anonymous": 302, "admin": 403, "coordinator": 403, "carer": 200,
                  "other_carer": 200, "recipient": 403, "family": 403,
                  "other_org_coordinator": 403}
    everyone = dict.fromkeys(ROLES, 302)
    cases = [
        Case("core.home", "GET", "/", everyone),
        Case("core.healthz", "GET", "/healthz", dict.fromkeys(ROLES, 200)),
        Case("auth.login", "GET", "/login", {**dict.fromkeys(ROLES, 302), "anonymous": 200}),
        Case("visits.today", "GET", "/ma-journee", carer_only),
        Case("visits.detail", "GET", f"/visites/{visit.id}",
             {**_staff(200, other_org=404), "carer": 200, "other_carer": 404}),
        Case("clients.index", "GET", "/clients/", _staff(200, other_org=200)),
        Case("clients.detail", "GET", f"/clients/{client.id}",
             {**_staff(200, other_org=404), "carer": 200, "other_carer": 404}),
        Case("clients.create", "GET", "/clients/nouveau", _staff(200, other_org=200)),
        Case("clients.edit", "GET", f"/clients/{client.id}/modifier", _staff(200, other_org=404)),
        Case("carers.index", "GET", "/intervenantes/", _staff(200, other_org=200)),
        Case("carers.create", "GET", "/intervenantes/nouvelle", _staff(200, other_org=200)),
        Case("carers.edit", "GET", f"/intervenantes/{carer.id}/modifier",
             _staff(200, other_org=404)),
        Case("careplans.create", "GET", f"/plans/client/{client.id}/nouveau",
             _staff(200, other_org=404)),
        Case("careplans.detail", "GET", f"/plans/{plan.id}", _staff(200, other_org=404)),
        Case("rounds.board", "GET", "/planning/", _staff(200, other_org=200)),
        Case("rounds.absences", "GET", "/planning/absences", _staff(200, other_org=200)),
        Case("rounds.travel_statement", "GET", f"/planning/trajets/{carer.id}",
             {**_staff(200, other_org=404), "carer": 200, "other_carer": 404}),
        Case("rounds.run", "GET", f"/planning/optimisations/{run.id}",
             _staff(200, other_org=404)),
        Case("accounts.index", "GET", "/comptes/", _staff(200, other_org=200)),
        Case("accounts.create", "GET", "/comptes/nouveau", _staff(200, other_org=200)),
        Case("auth.settings", "GET", "/mon-compte", {**dict.fromkeys(ROLES, 200),
                                                    "anonymous": 302}),
        Case("family.index", "GET", "/famille/",
             {**dict.fromkeys(ROLES, 403), "anonymous": 302, "recipient": 200, "family": 200}),
        Case("offline.service_worker", "GET", "/sw.js", dict.fromkeys(ROLES, 200)),
        Case("offline.manifest", "GET", "/manifest.webmanifest", dict.fromkeys(ROLES, 200)),
        Case("offline.offline_page", "GET", "/hors-ligne", dict.fromkeys(ROLES, 200)),
        Case("offline.pages", "GET", "/hors-ligne/pages.json",
             {**dict.fromkeys(ROLES, 200), "anonymous": 401}),
        Case("offline.flags", "GET", "/signalements", _staff(200, other_org=200)),
        Case("observations.edit", "GET", f"/visites/{visit.id}/observation",
             {**_staff(200, other_org=404), "carer": 200, "other_carer": 404}),
        Case("alerts.index", "GET", "/alertes/", _staff(200, other_org=200)),
        Case("alerts.person", "GET", f"/alertes/personnes/{client.id}",
             _staff(200, other_org=404)),
        Case("alerts.model_card", "GET", "/alertes/modele", _staff(200, other_org=200)),
        # State-changing routes: forbidden ones must change nothing (checked below).
        Case("visits.note", "POST", f"/visites/{visit.id}/note",
             {**carer_only, "carer": 303, "other_carer": 404}, {"note": "Tout va bien"}),
        Case("visits.check_out", "POST", f"/visites/{visit.id}/depart",
             {**carer_only, "carer": 409, "other_carer": 404}),
        Case("visits.check_in", "POST", f"/visites/{visit.id}/arrivee",
             {**carer_only, "carer": 303, "other_carer": 404}),
        Case("rounds.assign", "POST", f"/planning/visites/{open_visit.id}/attribuer",
             _staff(303, other_org=404),
             {"carer_1": str(other_carer.id), "start": ""}),
        Case("rounds.cancel", "POST", f"/planning/visites/{other_visit.id}/annuler",
             _staff(303, other_org=404), {"reason": "Hospitalisation"}),
        Case("careplans.delete_intervention", "POST",
             f"/plans/interventions/{intervention.id}/supprimer", _staff(303, other_org=404)),
        Case("accounts.set_status", "POST", f"/comptes/{other_carer.user_id}/statut",
             _staff(303, other_org=404), {"active": "1"}),
        Case("clients.add_family", "POST", f"/clients/{client.id}/proches",
             _staff(400, other_org=404), {"email": "not-an-email"}),
        Case("clients.remove_family", "POST",
             f"/clients/{client.id}/proches/{family_link_id}/retirer", _staff(303, other_org=404)),
        Case("rounds.optimise_day", "POST", "/planning/optimiser", _staff(303, other_org=303),
             {"date": visit.day.isoformat()}),
        Case("rounds.accept", "POST", f"/planning/optimisations/{run.id}/accepter",
             _staff(303, other_org=404)),
        Case("offline.resolve", "POST", f"/signalements/{flag.id}/traite",
             _staff(303, other_org=404)),
        # Only the carer of the visit records an observation; staff read it.
        Case("observations.edit", "POST", f"/visites/{visit.id}/observation",
             {**carer_only, "carer": 303, "other_carer": 404}, {"fall": "none"}),
        Case("alerts.review", "POST", f"/alertes/{alert.id}/revue", _staff(303, other_org=404),
             {f"a{alert.id}-action": "nothing"}),
        # The outbox replay takes JSON with a custom header only: a form post is refused.
        Case("visits.outbox_sync", "POST", "/visites/envoi", dict.fromkeys(ROLES, 400)),
        # Security and GDPR (issue 7). Staff have enrolled their authenticator at sign-in.
        Case("auth.second_factor", "GET", "/login/code", dict.fromkeys(ROLES, 302)),
        Case("auth.enrol", "GET", "/mon-compte/double-authentification",
             {**dict.fromkeys(ROLES, 200), "anonymous": 302, "admin": 302, "coordinator": 302,
              "other_org_coordinator": 302}),
        Case("auth.regenerate_codes", "POST", "/mon-compte/codes-de-secours",
             {**dict.fromkeys(ROLES, 409), "anonymous": 302, "admin": 303, "coordinator": 303,
              "other_org_coordinator": 303}, {"password": "not the password"}),
        Case("auth.disable_two_factor", "POST", "/mon-compte/double-authentification/desactiver",
             {**dict.fromkeys(ROLES, 303), "anonymous": 302, "admin": 403, "coordinator": 403,
              "other_org_coordinator": 403}, {"password": "not the password"}),
        Case("accounts.unlock", "POST", f"/comptes/{other_carer.user_id}/deverrouiller",
             _staff(303, other_org=404)),
        Case("accounts.reset_two_factor", "POST",
             f"/comptes/{other_carer.user_id}/double-authentification",
             {**_staff(303, other_org=403), "coordinator": 403}),
        Case("audit.index", "GET", "/audit/", {**_staff(200, other_org=403), "coordinator": 403}),
        Case("audit.export", "GET", "/audit/export.csv",
             {**_staff(200, other_org=403), "coordinator": 403}),
        Case("gdpr.export_me", "GET", "/rgpd/mes-donnees",
             {**dict.fromkeys(ROLES, 200), "anonymous": 302}),
        Case("gdpr.client_page", "GET", f"/rgpd/clients/{client.id}", _staff(200, other_org=404)),
        Case("gdpr.export_client", "GET", f"/rgpd/clients/{client.id}/export",
             _staff(200, other_org=404)),
        Case("gdpr.erase_client", "POST", f"/rgpd/clients/{client.id}/effacer",
             {**_staff(400, other_org=403), "coordinator": 403}, {"confirm": "0"}),
        Case("gdpr.export_user", "GET", f"/rgpd/comptes/{other_carer.user_id}/export",
             _staff(200, other_org=404)),
        Case("gdpr.erase_user", "POST", f"/rgpd/comptes/{other_carer.user_id}/effacer",
             {**_staff(303, other_org=403), "coordinator": 403}, {"confirm": "0"}),
        # Notifications (issue 6): everyone signed in has a list and settings.
        Case("push.index", "GET", "/notifications/",
             {**dict.fromkeys(ROLES, 200), "anonymous": 302}),
        Case("push.settings", "GET", "/notifications/reglages",
             {**dict.fromkeys(ROLES, 200), "anonymous": 302}),
        # Subscriptions come as JSON with a custom header only: a form post is refused.
        Case("push.subscribe", "POST", "/notifications/abonnements", dict.fromkeys(ROLES, 400)),
        Case("push.unsubscribe", "POST", "/notifications/abonnements/retirer",
             dict.fromkeys(ROLES, 400)),
        Case("push.revoke", "POST", f"/notifications/appareils/{device.id}/supprimer",
             {**dict.fromkeys(ROLES, 404), "anonymous": 302, "family": 303}),
        Case("push.send_test", "POST", "/notifications/essai",
             {**dict.fromkeys(ROLES, 303), "anonymous": 302}),
        Case("push.heat_wave", "POST", "/notifications/canicule", _staff(303, other_org=303),
             {"until": "", "action": "off"}),
        Case("auth.set_language", "POST", "/langue", dict.fromkeys(ROLES, 302), {"locale": "fr"}),
        Case("auth.logout", "POST", "/logout", dict.fromkeys(ROLES, 302)),
    ]
    ids = {"visit": visit.id, "other_visit": other_visit.id, "open_visit": open_visit.id,
           "intervention": intervention.id, "users": users, "client": client.id}
    return ids, cases, secrets


def _state(ids: dict[str, Any]) -> tuple[Any, ...]:
    import sqlalchemy as sa

    from webapp.alerts.models import RiskAlert
    from webapp.auth.models import User
    from webapp.careplans.models import Intervention
    from webapp.clients.models import FamilyLink
    from webapp.extensions import db
    from webapp.observations.models import Observation
    from webapp.rounds.models import RoundPlan
    from webapp.visits.models import Visit

    db.session.expire_all()
    rows = [db.session.get(Visit, ids[k]) for k in ("visit", "other_visit", "open_visit")]
    return (tuple((v.status, v.carer_note, len(v.assignments)) for v in rows),
            db.session.get(Intervention, ids["intervention"]) is not None,
            db.session.scalar(sa.select(sa.func.count(FamilyLink.id))),
            tuple(db.session.scalars(sa.select(User.active).order_by(User.id))),
            db.session.scalar(sa.select(sa.func.count(User.id))),
            db.session.scalar(sa.select(sa.func.count(RoundPlan.id))),
            tuple(db.session.scalars(sa.select(RoundPlan.status).order_by(RoundPlan.id))),
            db.session.scalar(sa.select(sa.func.count(Observation.id))),
            tuple(db.session.scalars(sa.select(RiskAlert.status).order_by(RiskAlert.id))))


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_policy_says(
    role: str, app: Flask, client: FlaskClient, world: Any
) -> None:
    ids, cases, secrets = build(world)
    covered = {c.endpoint for c in cases}
    routed = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"}
    assert routed - covered == set(), "every route must be in the access matrix"

    if role != "anonymous":
        assert login(client, ids["users"][role].email).status_code == 302
    failures = []
    for case in cases:
        before = _state(ids)
        if case.method == "GET":
            response = client.get(case.url)
        else:
            token = csrf_from(client, "/login") if role == "anonymous" else _token(client)
            response = client.post(case.url, data={"csrf_token": token, **(case.data or {})})
        expected = case.expected[role]
        if response.status_code != expected:
            failures.append(f"{case.method} {case.url}: {response.status_code} != {expected}")
        if response.status_code in (403, 404):
            body = response.get_data(as_text=True)
            leaked = [s for s in secrets if s in body]
            if leaked:
                failures.append(f"{case.url} leaked {leaked}")
            if case.method == "POST" and _state(ids) != before:
                failures.append(f"{case.url} changed data although refused")
    assert failures == []


def _token(client: FlaskClient) -> str:
    return _page_token(client)


def _page_token(client: FlaskClient) -> str:
    # Any HTML page the user may open carries the token; the error page does too.
    return csrf_from(client, "/__no_such_page__")


def test_other_organisation_lists_never_show_our_clients(client: FlaskClient, world: Any) -> None:
    ids, _, secrets = build(world)
    login(client, ids["users"]["other_org_coordinator"].email)
    for url in ("/clients/", "/planning/", "/intervenantes/", "/clients/?q=Secret"):
        body = client.get(url).get_data(as_text=True)
        assert not [s for s in secrets if s in body], url
    assert "Foreignperson" in client.get("/clients/").get_data(as_text=True)


def test_family_sees_only_their_relative(client: FlaskClient, world: Any) -> None:
    ids, _, _ = build(world)
    login(client, ids["users"]["family"].email)
    body = client.get("/famille/").get_data(as_text=True)
    assert "Secretname" in body
    assert "Otherperson" not in body
    assert "Foreignperson" not in body
    assert "Digicode" not in body


def test_the_visit_predicate_agrees_with_the_visit_query(app: Flask) -> None:
    """``may_see_visit`` (one loaded visit) and ``visible_visits`` (a query) never disagree."""
    import sqlalchemy as sa

    from webapp.auth.models import User
    from webapp.extensions import db
    from webapp.policy import may_see_visit, visible_visits
    from webapp.visits.models import Visit

    result = app.test_cli_runner().invoke(args=["demo", "load", "--days", "2"])
    assert result.exit_code == 0, result.output
    with app.test_request_context("/"):
        visits = list(db.session.scalars(sa.select(Visit)))
        users = list(db.session.scalars(sa.select(User)))
        assert {u.role for u in users} >= {"admin", "coordinator", "carer", "recipient",
                                           "family"}
        for user in users:
            listed = set(db.session.scalars(visible_visits(user).with_only_columns(Visit.id)))
            judged = {v.id for v in visits if may_see_visit(user, v)}
            assert judged == listed, user.email
            if user.role == "carer":
                assert 0 < len(listed) < len(visits), user.email
