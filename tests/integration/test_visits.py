"""The carer's day and visit page: order, check-in/out, notes, bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from tests.helpers import csrf_from, login


def _reload(model: Any, row_id: int) -> Any:
    from webapp.extensions import db

    db.session.expire_all()
    return db.session.get(model, row_id)


def test_day_lists_visits_in_time_order_with_address_and_geo_link(
    client: FlaskClient, world: Any
) -> None:
    org = world.org()
    carer = world.carer(org)
    late = world.visit(world.client(org, last_name="Tardif"), [carer], start="18:30",
                       end="20:30", minutes=30)
    early = world.visit(world.client(org, last_name="Matinal"), [carer], start="07:30",
                        end="10:00")
    noon = world.visit(world.client(org, last_name="Midi"), [carer], start="11:30",
                       end="13:30", minutes=30)
    world.visit(world.client(org, last_name="Autrejour"), [carer],
                day=early.day + timedelta(days=1))
    world.commit()
    login(client, carer.user.email)
    body = client.get("/ma-journee").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'data-visit-id="(\d+)"', body)]
    assert ids == [early.id, noon.id, late.id]
    assert "Autrejour" not in body
    times = re.findall(r'<span class="time">(\d\d:\d\d)</span>', body)
    assert times == sorted(times) == ["07:30", "11:30", "18:30"]
    detail = client.get(f"/visites/{early.id}").get_data(as_text=True)
    assert 'href="geo:43.742000,7.424000' in detail
    assert "Digicode" in detail


def test_other_day_and_malformed_date(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org, last_name="Demain"), [carer])
    visit.day = visit.day + timedelta(days=1)
    world.commit()
    login(client, carer.user.email)
    body = client.get(f"/ma-journee?date={visit.day.isoformat()}").get_data(as_text=True)
    assert "Demain" in body
    bad = client.get("/ma-journee?date=2026-13-45")
    assert bad.status_code == 400
    assert "AAAA-MM-JJ" in bad.get_data(as_text=True)


def test_check_in_then_check_out_with_tasks_and_note(client: FlaskClient, world: Any) -> None:
    from webapp.visits.models import Visit

    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()
    login(client, carer.user.email)
    token = csrf_from(client, f"/visites/{visit.id}")
    response = client.post(f"/visites/{visit.id}/arrivee",
                           data={"csrf_token": token, "lat": "43.7421", "lon": "7.4241"})
    assert response.status_code == 303
    row = _reload(Visit, visit.id)
    assert row.status == "in_progress"
    assert row.check_in_lat == 43.7421
    again = client.post(f"/visites/{visit.id}/arrivee", data={"csrf_token": token})
    assert again.status_code == 409
    assert "déjà enregistrée" in again.get_data(as_text=True)
    response = client.post(f"/visites/{visit.id}/depart", data={
        "csrf_token": token, "tasks_done": ["Toilette"], "note": "A bien mangé"})
    assert response.status_code == 303
    row = _reload(Visit, visit.id)
    assert row.status == "done"
    assert row.tasks_done == ["Toilette"]
    assert row.carer_note == "A bien mangé"
    assert row.check_out_at >= row.check_in_at


def test_unknown_task_and_oversized_note_are_refused_and_nothing_is_lost(
    client: FlaskClient, world: Any
) -> None:
    from webapp.visits.models import Visit

    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()
    login(client, carer.user.email)
    token = csrf_from(client, f"/visites/{visit.id}")
    client.post(f"/visites/{visit.id}/note", data={"csrf_token": token, "note": "Premier mot"})
    client.post(f"/visites/{visit.id}/arrivee", data={"csrf_token": token})
    response = client.post(f"/visites/{visit.id}/depart", data={
        "csrf_token": token, "tasks_done": ["Piloter un avion"]})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True) or "choix" in \
        response.get_data(as_text=True)
    huge = client.post(f"/visites/{visit.id}/note", data={"csrf_token": token, "note": "x" * 5000})
    assert huge.status_code == 400
    assert "2000" in huge.get_data(as_text=True)
    row = _reload(Visit, visit.id)
    assert row.status == "in_progress"
    assert row.carer_note == "Premier mot"
    assert row.tasks_done == []


def test_bad_position_is_a_form_error(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()
    login(client, carer.user.email)
    token = csrf_from(client, f"/visites/{visit.id}")
    response = client.post(f"/visites/{visit.id}/arrivee",
                           data={"csrf_token": token, "lat": "999", "lon": "abc"})
    assert response.status_code == 400


def test_htmx_gets_the_actions_fragment_and_vary_header(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()
    login(client, carer.user.email)
    full = client.get(f"/visites/{visit.id}")
    fragment = client.get(f"/visites/{visit.id}", headers={"HX-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "J&#39;arrive" in fragment.get_data(as_text=True) or "J'arrive" in \
        fragment.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]
    assert "HX-Request" in fragment.headers["Vary"]
    assert full.headers["Cache-Control"] == "no-store"


def test_malformed_and_huge_ids_answer_404(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    world.commit()
    login(client, carer.user.email)
    for url in ("/visites/abc", "/visites/-1", "/visites/99999999999999999999999",
                "/visites/2147483648", "/clients/1e3"):
        assert client.get(url).status_code == 404, url


def test_reading_a_visit_is_audited(client: FlaskClient, world: Any) -> None:
    import sqlalchemy as sa

    from webapp.audit.models import AuditEvent
    from webapp.extensions import db

    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()
    login(client, carer.user.email)
    client.get(f"/visites/{visit.id}")
    db.session.expire_all()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "read_visit"))
    assert event is not None
    assert (event.user_id, event.client_id) == (carer.user_id, visit.client_id)


def test_json_clients_get_json_errors(client: FlaskClient, world: Any) -> None:
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]


def test_healthz_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
