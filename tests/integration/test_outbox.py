"""Outbox replays: one effect per key, conflicts kept and flagged, refusals, privacy."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login

SYNC = {"X-Tournee-Outbox": "1"}


def rows() -> list[Any]:
    from webapp.extensions import db
    from webapp.visits.models import OutboxRecord

    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxRecord).order_by(OutboxRecord.id)))


def reload_visit(visit_id: int) -> Any:
    from webapp.extensions import db
    from webapp.visits.models import Visit

    db.session.expire_all()
    return db.session.get(Visit, visit_id)


def replay(client: FlaskClient, visit_id: int, action: str, *, key: str | None = None,
           at: str | None = None, fields: dict[str, Any] | None = None) -> Any:
    return client.post("/visites/envoi", headers=SYNC, json={
        "key": key or str(uuid.uuid4()), "action": action, "visit_id": visit_id,
        "at": at, "fields": fields or {}})


def setup(world: Any) -> tuple[Any, Any, Any]:
    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()
    return org, carer, visit


def test_a_replayed_check_in_applies_once_with_the_phones_time(client: FlaskClient,
                                                              world: Any) -> None:
    from webapp.timeutil import utcnow

    _, carer, visit = setup(world)
    login(client, carer.user.email)
    tapped = (utcnow() - timedelta(minutes=20)).replace(microsecond=0)
    key = str(uuid.uuid4())
    first = replay(client, visit.id, "check_in", key=key, at=tapped.isoformat())
    again = replay(client, visit.id, "check_in", key=key, at=tapped.isoformat())
    assert first.status_code == again.status_code == 200
    assert (first.json["outcome"], first.json["duplicate"]) == ("applied", False)
    assert (again.json["outcome"], again.json["duplicate"]) == ("applied", True)
    assert again.json["message"] == first.json["message"] == "Arrivée enregistrée."
    stored = rows()
    assert len(stored) == 1
    assert stored[0].captured_at == tapped < stored[0].received_at
    row = reload_visit(visit.id)
    assert (row.status, row.check_in_at) == ("in_progress", tapped)


def test_the_form_post_and_its_replay_share_one_key(client: FlaskClient, world: Any) -> None:
    _, carer, visit = setup(world)
    login(client, carer.user.email)
    token = csrf_from(client, f"/visites/{visit.id}")
    key = str(uuid.uuid4())
    # The phone's first try reached the server, but the answer was lost...
    form = client.post(f"/visites/{visit.id}/arrivee",
                       data={"csrf_token": token, "idempotency_key": key})
    assert form.status_code == 303
    # ...so the outbox replays it: same key, the stored answer, no second check-in.
    replayed = replay(client, visit.id, "check_in", key=key)
    assert replayed.json["duplicate"] is True
    # A double tap on the button (same key) is harmless too.
    double = client.post(f"/visites/{visit.id}/arrivee",
                         data={"csrf_token": token, "idempotency_key": key})
    assert double.status_code == 303
    assert len(rows()) == 1
    assert "Arrivée enregistrée." in client.get(f"/visites/{visit.id}").get_data(as_text=True)


def test_a_replay_on_a_cancelled_visit_is_kept_and_flagged_to_the_coordinator(
        app: Flask, client: FlaskClient, world: Any) -> None:
    from webapp.visits import services

    org, carer, visit = setup(world)
    office = world.user(org, "coordinator")
    world.commit()
    services.cancel(visit, office, "Hospitalisation")
    world.commit()
    login(client, carer.user.email)
    answer = replay(client, visit.id, "check_in")
    assert answer.status_code == 200
    assert answer.json["outcome"] == "conflict"
    assert "signalé à la coordination" in answer.json["message"]
    stored = rows()
    assert [(r.outcome, r.flagged) for r in stored] == [("conflict", True)]
    assert reload_visit(visit.id).status == "cancelled"

    coordinator = app.test_client()
    login(coordinator, office.email)
    page = coordinator.get(f"/visites/{visit.id}").get_data(as_text=True)
    assert "Pointages signalés" in page
    assert "plus ouverte : arrivée impossible." in page
    board = coordinator.get("/signalements").get_data(as_text=True)
    assert re.search(r'Signalements <span class="count">1</span>', board)
    token = csrf_from(coordinator, "/signalements")
    done = coordinator.post(f"/signalements/{stored[0].id}/traite", data={"csrf_token": token})
    assert done.status_code == 303
    assert rows()[0].resolved_by_id == office.id
    assert "Aucun signalement en attente." in coordinator.get("/signalements").get_data(
        as_text=True)


def test_a_visit_reassigned_since_the_phone_cached_it_is_kept_not_dropped(
        client: FlaskClient, world: Any) -> None:
    from webapp.visits import services

    org, carer, visit = setup(world)
    other = world.carer(org)
    office = world.user(org, "coordinator")
    world.commit()
    login(client, carer.user.email)
    assert client.get(f"/visites/{visit.id}").status_code == 200  # cached on her phone
    services.assign(visit, [other], office)
    world.commit()
    answer = replay(client, visit.id, "check_in")
    assert answer.status_code == 200
    assert answer.json["outcome"] == "conflict"
    assert "ne vous est plus attribuée" in answer.json["message"]
    assert reload_visit(visit.id).status == "assigned"  # the other carer's visit is untouched
    # A visit she never saw is not hers to write about: refused, nothing stored.
    unseen = world.visit(world.client(org), [other])
    world.commit()
    assert replay(client, unseen.id, "check_in").status_code == 404
    assert len(rows()) == 1


def test_an_already_checked_in_visit_keeps_the_second_arrival_flagged(
        client: FlaskClient, world: Any) -> None:
    _, carer, visit = setup(world)
    login(client, carer.user.email)
    assert replay(client, visit.id, "check_in").json["outcome"] == "applied"
    second = replay(client, visit.id, "check_in")  # another key: a second tap, another phone
    assert second.json["outcome"] == "conflict"
    assert [r.outcome for r in rows()] == ["applied", "conflict"]


def test_an_unbelievable_phone_clock_is_replaced_and_flagged(client: FlaskClient,
                                                            world: Any) -> None:
    from webapp.timeutil import utcnow

    _, carer, visit = setup(world)
    login(client, carer.user.email)
    future = (utcnow() + timedelta(hours=3)).isoformat()
    answer = replay(client, visit.id, "check_in", at=future)
    assert answer.json["outcome"] == "applied"
    row = rows()[0]
    assert row.flagged
    assert "Heure du téléphone incohérente" in row.message
    assert reload_visit(visit.id).check_in_at == row.received_at


def test_invalid_replays_are_refused_and_not_stored(client: FlaskClient, world: Any) -> None:
    _, carer, visit = setup(world)
    login(client, carer.user.email)
    bad_position = replay(client, visit.id, "check_in", fields={"lat": ["123"], "lon": ["7"]})
    assert bad_position.status_code == 400
    assert bad_position.json["error"] == "invalid"
    assert replay(client, visit.id, "check_in").status_code == 200
    unknown_task = replay(client, visit.id, "check_out", fields={"tasks_done": ["Piano"]})
    assert unknown_task.status_code == 400
    long_note = replay(client, visit.id, "note", fields={"note": ["x" * 2001]})
    assert long_note.status_code == 400
    bad_key = replay(client, visit.id, "note", key="short")
    assert bad_key.status_code == 400
    assert [r.action for r in rows()] == ["check_in"]


def test_the_sync_endpoint_needs_its_header_a_session_and_a_carer(
        app: Flask, client: FlaskClient, world: Any) -> None:
    org, carer, visit = setup(world)
    body = {"key": str(uuid.uuid4()), "action": "note", "visit_id": visit.id, "fields": {}}
    signed_out = client.post("/visites/envoi", headers=SYNC, json=body)
    assert (signed_out.status_code, signed_out.json["error"]) == (401, "signed_out")
    login(client, carer.user.email)
    # Without the custom header (what a cross-site form could send): refused.
    assert client.post("/visites/envoi", json=body).status_code == 400
    assert client.post("/visites/envoi", headers=SYNC, data=json.dumps(body)).status_code == 400
    assert client.post("/visites/envoi", headers=SYNC, json=["not", "a", "record"]
                       ).status_code == 400
    assert client.post("/visites/envoi", headers=SYNC,
                       json={**body, "visit_id": 2**40}).status_code == 400
    office = world.user(org, "coordinator")
    world.commit()
    staff = app.test_client()
    login(staff, office.email)
    assert staff.post("/visites/envoi", headers=SYNC, json=body).status_code == 403
    assert rows() == []


def test_a_key_belongs_to_the_account_that_sent_it(app: Flask, client: FlaskClient,
                                                  world: Any) -> None:
    org, carer, visit = setup(world)
    other = world.carer(org)
    other_visit = world.visit(world.client(org), [other])
    world.commit()
    key = str(uuid.uuid4())
    login(client, carer.user.email)
    assert replay(client, visit.id, "note", key=key, fields={"note": ["A"]}).status_code == 200
    thief = app.test_client()
    login(thief, other.user.email)
    stolen = replay(thief, other_visit.id, "note", key=key, fields={"note": ["B"]})
    assert stolen.status_code == 403
    assert "A" not in stolen.get_data(as_text=True).replace("Clé", "")
    assert reload_visit(other_visit.id).carer_note == ""


def test_service_worker_route_manifest_and_offline_page(app: Flask, client: FlaskClient) -> None:
    from webapp.offline.services import shell_manifest

    sw = client.get("/sw.js")
    assert sw.status_code == 200
    assert sw.mimetype == "text/javascript"
    assert sw.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in sw.headers["Cache-Control"]
    build = json.loads(sw.get_data(as_text=True).split("\n", 1)[0]
                       .removeprefix("const BUILD = ").removesuffix(";"))
    assert {"/static/css/app.css", "/static/vendor/htmx.min.js", "/static/js/offline.js",
            "/hors-ligne", "/manifest.webmanifest"} <= set(build["shell"])
    with app.test_request_context():
        assert build["version"] == shell_manifest("")[0] != shell_manifest("next")[0]
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json(force=True)
    assert (body["lang"], body["display"], body["start_url"]) == ("fr", "standalone", "/")
    for icon in body["icons"]:
        response = client.get(icon["src"])
        assert (response.status_code, response.mimetype) == (200, "image/png")
        response.close()
    offline = client.get("/hors-ligne").get_data(as_text=True)
    assert "Pas de réseau" in offline
    assert "csrf-token" not in offline  # shared by every user of the phone


def test_service_worker_is_one_script_whatever_the_language(
        client: FlaskClient, world: Any) -> None:
    # A phone whose browser speaks English, used by a carer who reads French, must not get a
    # second worker version after sign-in: the script never depends on who asks.
    _org, carer, _visit = setup(world)
    anonymous_english = client.get("/sw.js", headers={"Accept-Language": "en-GB,en"})
    login(client, carer.user.email)
    french = client.get("/sw.js", headers={"Accept-Language": "en-GB,en"})
    token = csrf_from(client, "/ma-journee")
    client.post("/langue", data={"locale": "en", "csrf_token": token})
    english = client.get("/sw.js")
    assert anonymous_english.data == french.data == english.data
    build = json.loads(english.get_data(as_text=True).split("\n", 1)[0]
                       .removeprefix("const BUILD = ").removesuffix(";"))
    assert build["lang"] == "fr"
    assert build["text"]["fr"]["check_in"].startswith("Arrivée enregistrée sur l'appareil")
    assert build["text"]["en"]["check_in"].startswith("Arrival saved on the device")
    assert set(build["text"]["en"]) == set(build["text"]["fr"]) == {
        "check_in", "check_out", "note", "observation"}


def test_pages_list_holds_only_the_carers_own_days(client: FlaskClient, world: Any) -> None:
    from webapp.timeutil import today_paris

    org, carer, visit = setup(world)
    tomorrow = world.visit(world.client(org), [carer], day=today_paris() + timedelta(days=1))
    later = world.visit(world.client(org), [carer], day=today_paris() + timedelta(days=3))
    someone_else = world.visit(world.client(org), [world.carer(org)])
    world.commit()
    login(client, carer.user.email)
    urls = client.get("/hors-ligne/pages.json").get_json()["urls"]
    assert f"/visites/{visit.id}" in urls
    assert f"/visites/{tomorrow.id}" in urls
    assert f"/clients/{visit.client_id}" in urls
    assert f"/visites/{later.id}" not in urls
    assert f"/visites/{someone_else.id}" not in urls
    assert f"/clients/{someone_else.client_id}" not in urls
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_background_fetches_leave_the_cookie_and_the_messages_alone(
        client: FlaskClient, world: Any) -> None:
    _, carer, visit = setup(world)
    login(client, carer.user.email)
    token = csrf_from(client, f"/visites/{visit.id}")
    client.post(f"/visites/{visit.id}/arrivee", data={"csrf_token": token})  # flashes
    background = client.get(f"/visites/{visit.id}", headers={"X-Tournee-Prefetch": "1"})
    assert "Set-Cookie" not in background.headers
    assert "Arrivée enregistrée." not in background.get_data(as_text=True)
    assert "Arrivée enregistrée." in client.get(f"/visites/{visit.id}").get_data(as_text=True)
