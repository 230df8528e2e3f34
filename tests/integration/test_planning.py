"""The coordinator's board: manual assignment, cancellation, absences, care plans."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from tests.helpers import csrf_from, login
from webapp.timeutil import today_paris


def _reload(model: Any, row_id: int) -> Any:
    from webapp.extensions import db

    db.session.expire_all()
    return db.session.get(model, row_id)


def _coordinator(client: FlaskClient, world: Any, org: Any) -> str:
    user = world.user(org, "coordinator")
    world.commit()
    login(client, user.email)
    return csrf_from(client, "/planning/")


def test_board_shows_carers_and_visits_to_assign(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org, last_name="Planifiée")
    world.visit(world.client(org, last_name="Assignee"), [carer])
    world.visit(world.client(org, last_name="Orpheline"), None)
    _coordinator(client, world, org)
    body = client.get("/planning/").get_data(as_text=True)
    assert "Planifiée" in body
    assert "Assignee" in body
    assert 'id="unassigned-title"' in body
    assert "Orpheline" in body.split('id="unassigned-title"')[1]


def test_board_flags_a_carer_holding_two_visits_at_once(client: FlaskClient,
                                                        world: Any) -> None:
    import re

    org = world.org()
    busy = world.carer(org, last_name="Doublée")
    calm = world.carer(org, last_name="Tranquille")
    # 08:00-08:45 and 08:30-09:15 overlap; 09:15 starts as the second one ends.
    first = world.visit(world.client(org, last_name="Premier"), [busy], start="08:00")
    second = world.visit(world.client(org, last_name="Second"), [busy], start="08:30")
    after = world.visit(world.client(org, last_name="Ensuite"), [busy], start="09:15")
    world.visit(world.client(org, last_name="Seul"), [calm], start="08:00")
    world.visit(world.client(org, last_name="Suivant"), [calm], start="08:45")
    _coordinator(client, world, org)
    body = client.get("/planning/").get_data(as_text=True)
    summary = re.search(r'<strong class="clash-summary">(.*?)</strong>', body, re.S)
    assert summary
    assert "1 intervenante a des interventions qui se chevauchent" in summary[1]
    assert "Doublée" in summary[1]
    assert "Tranquille" not in summary[1]
    flagged = set(re.findall(r'class="tl-visit [^"]*overlap">\s*<a href="/visites/(\d+)"', body))
    assert flagged == {str(first.id), str(second.id)}
    assert str(after.id) not in flagged
    assert "chevauche une autre intervention" in body


def test_manual_assignment_checks_skills_refusals_and_window(
    client: FlaskClient, world: Any
) -> None:
    from webapp.visits.models import Visit

    org = world.org()
    skilled = world.carer(org, skills=["toilette", "transferts"])
    unskilled = world.carer(org, skills=["menage"])
    refused = world.carer(org, skills=["toilette", "transferts"])
    person = world.client(org)
    person.refused_carers = [refused]
    visit = world.visit(person, None, required_skills=["transferts"])
    token = _coordinator(client, world, org)
    url = f"/planning/visites/{visit.id}/attribuer"
    no_skill = client.post(url, data={"csrf_token": token, "carer_1": unskilled.id})
    assert no_skill.status_code == 400
    assert "compétence" in no_skill.get_data(as_text=True)
    no_way = client.post(url, data={"csrf_token": token, "carer_1": refused.id})
    assert "ne doit pas intervenir" in no_way.get_data(as_text=True)
    outside = client.post(url, data={"csrf_token": token, "carer_1": skilled.id,
                                     "start": "12:00"})
    assert "plage horaire" in outside.get_data(as_text=True)
    assert _reload(Visit, visit.id).status == "planned"
    ok = client.post(url, data={"csrf_token": token, "carer_1": skilled.id, "start": "08:30"})
    assert ok.status_code == 303
    row = _reload(Visit, visit.id)
    assert row.status == "assigned"
    assert [c.id for c in row.carers] == [skilled.id]
    assert row.planned_start.astimezone().hour is not None
    login_carer = skilled.user.email
    client.post("/logout", data={"csrf_token": token})
    login(client, login_carer)
    assert f'data-visit-id="{visit.id}"' in client.get("/ma-journee").get_data(as_text=True)


def test_two_carer_visit_takes_two_different_carers(client: FlaskClient, world: Any) -> None:
    from webapp.visits.models import Visit

    org = world.org()
    first, second = world.carer(org), world.carer(org)
    visit = world.visit(world.client(org), None, carers_needed=2)
    token = _coordinator(client, world, org)
    url = f"/planning/visites/{visit.id}/attribuer"
    same = client.post(url, data={"csrf_token": token, "carer_1": first.id, "carer_2": first.id})
    assert "deux fois" in same.get_data(as_text=True)
    both = client.post(url, data={"csrf_token": token, "carer_1": first.id,
                                  "carer_2": second.id})
    assert both.status_code == 303
    assert {c.id for c in _reload(Visit, visit.id).carers} == {first.id, second.id}


def test_cancel_needs_a_reason(client: FlaskClient, world: Any) -> None:
    from webapp.visits.models import Visit

    org = world.org()
    visit = world.visit(world.client(org), None)
    token = _coordinator(client, world, org)
    url = f"/planning/visites/{visit.id}/annuler"
    assert client.post(url, data={"csrf_token": token, "reason": ""}).status_code == 400
    assert _reload(Visit, visit.id).status == "planned"
    assert client.post(url, data={"csrf_token": token, "reason": "Hospitalisée"}).status_code \
        == 303
    row = _reload(Visit, visit.id)
    assert (row.status, row.cancel_reason) == ("cancelled", "Hospitalisée")


def test_absence_releases_the_carers_visits_in_that_period(
    client: FlaskClient, world: Any
) -> None:
    from webapp.visits.models import Visit

    org = world.org()
    carer = world.carer(org)
    tomorrow = today_paris() + timedelta(days=1)
    morning = world.visit(world.client(org), [carer], day=tomorrow, start="08:00")
    evening = world.visit(world.client(org), [carer], day=tomorrow, start="18:30",
                          end="20:30", minutes=30)
    token = _coordinator(client, world, org)
    response = client.post("/planning/absences", data={
        "csrf_token": token, "carer_id": carer.id, "reason": "Arrêt maladie",
        "starts_at": f"{tomorrow.isoformat()}T07:00", "ends_at": f"{tomorrow.isoformat()}T13:00"})
    assert response.status_code == 303
    assert _reload(Visit, morning.id).status == "planned"
    assert _reload(Visit, evening.id).status == "assigned"
    listing = client.get("/planning/absences").get_data(as_text=True)
    assert "Arrêt maladie" in listing
    backwards = client.post("/planning/absences", data={
        "csrf_token": token, "carer_id": carer.id,
        "starts_at": f"{tomorrow.isoformat()}T13:00", "ends_at": f"{tomorrow.isoformat()}T07:00"})
    assert backwards.status_code == 400
    assert "La fin doit suivre le début" in backwards.get_data(as_text=True)


def test_care_plan_intervention_generates_visits(client: FlaskClient, world: Any) -> None:
    import sqlalchemy as sa

    from webapp.careplans.models import CarePlan
    from webapp.extensions import db
    from webapp.visits.models import Visit

    org = world.org()
    person = world.client(org)
    token = _coordinator(client, world, org)
    created = client.post(f"/plans/client/{person.id}/nouveau", data={
        "csrf_token": token, "starts_on": today_paris().isoformat()})
    assert created.status_code == 303
    db.session.expire_all()
    plan = db.session.scalar(sa.select(CarePlan).where(CarePlan.client_id == person.id))
    bad = client.post(f"/plans/{plan.id}", data={
        "csrf_token": token, "kind": "repas", "weekdays": ["0"], "window_start": "12:00",
        "window_end": "12:15", "duration_min": "30", "carers_needed": "1"})
    assert bad.status_code == 400
    assert "dépasse" in bad.get_data(as_text=True)
    good = client.post(f"/plans/{plan.id}", data={
        "csrf_token": token, "kind": "repas", "weekdays": [str(d) for d in range(7)],
        "window_start": "11:30", "window_end": "13:30", "duration_min": "30",
        "carers_needed": "1", "required_skills": ["repas"], "tasks": "Repas\nVaisselle\n"})
    assert good.status_code == 303
    db.session.expire_all()
    visits = db.session.scalars(sa.select(Visit).where(Visit.client_id == person.id)).all()
    assert len(visits) == 15  # today and the next 14 days
    assert visits[0].tasks == ["Repas", "Vaisselle"]
    intervention_id = visits[0].intervention_id
    removed = client.post(f"/plans/interventions/{intervention_id}/supprimer",
                          data={"csrf_token": token})
    assert removed.status_code == 303
    db.session.expire_all()
    statuses = {v.status for v in db.session.scalars(sa.select(Visit))}
    assert statuses == {"cancelled"}


def test_coordinator_reassigns_from_the_visit_page(client: FlaskClient, world: Any) -> None:
    from webapp.visits.models import Visit

    org = world.org()
    first = world.carer(org, last_name="Première")
    second = world.carer(org, last_name="Seconde", skills=["menage"])
    third = world.carer(org, last_name="Troisième")
    visit = world.visit(world.client(org), [first], required_skills=["toilette"])
    token = _coordinator(client, world, org)
    page = client.get(f"/visites/{visit.id}").get_data(as_text=True)
    assert "Attribuer ou réattribuer" in page
    url = f"/planning/visites/{visit.id}/attribuer"
    refused = client.post(url, data={"csrf_token": token, "carer_1": second.id,
                                     "origin": "visit"})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "compétence" in body
    assert "Attribuer ou réattribuer" in body  # the error shows where it was made
    moved = client.post(url, data={"csrf_token": token, "carer_1": third.id, "start": "09:00",
                                   "origin": "visit"})
    assert moved.status_code == 303
    assert moved.headers["Location"] == f"/visites/{visit.id}"
    assert [c.id for c in _reload(Visit, visit.id).carers] == [third.id]
