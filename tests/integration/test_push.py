"""Web Push end to end against the local push service (tests/pushservice.py), over HTTP.

Every message below is encrypted by the app, posted over real HTTP, checked (VAPID JWT
signature, aud, exp, sub, key) and decrypted by the push service with the device keys the
test generated.
"""

from __future__ import annotations

import json
import logging
import stat
import threading
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import login
from tests.pushservice import Device, PushService


@pytest.fixture
def service() -> Iterator[PushService]:
    svc = PushService().start()
    yield svc
    svc.stop()


@pytest.fixture
def push_app(app: Flask, service: PushService, tmp_path: Path) -> Flask:
    app.config["PUSH_ALLOWED_ORIGINS"] = (service.origin,)
    app.config["PUSH_VAPID_KEY_FILE"] = tmp_path / "instance" / "vapid_private.pem"
    result = app.test_cli_runner().invoke(args=["push", "keys"])
    assert result.exit_code == 0, result.output
    return app


def server_key() -> str:
    from webapp.push.services import application_server_key

    key = application_server_key()
    assert key
    return key


def subscribe(client: FlaskClient, device: Device, **headers: str) -> Any:
    return client.post("/notifications/abonnements", data=json.dumps(device.subscription()),
                       headers={"Content-Type": "application/json", "X-Tournee-Push": "1",
                                **headers})


def subscribed_user(client: FlaskClient, world: Any, service: PushService, role: str = "recipient",
                    **kw: Any) -> tuple[Any, Device]:
    org = kw.pop("org", None) or world.org()
    user = world.user(org, role, **kw)
    world.commit()
    assert login(client, user.email).status_code == 302
    device = service.new_device(server_key())
    assert subscribe(client, device).status_code == 201
    return user, device


def plan_now(user: Any, kind: str = "test", key: str = "k1", **kw: Any) -> Any:
    from webapp.extensions import db
    from webapp.push.services import notify
    from webapp.timeutil import utcnow

    row = notify(user.id, kind, key, due_at=kw.pop("due_at", utcnow()), **kw)
    db.session.commit()
    return row


def send(**kw: Any) -> Any:
    from webapp.push.services import send_due

    return send_due(**kw)


def deliveries() -> list[Any]:
    from webapp.extensions import db
    from webapp.push.models import PushDelivery

    db.session.expire_all()
    return list(db.session.scalars(sa.select(PushDelivery).order_by(PushDelivery.id)))


def subscriptions() -> int:
    from webapp.extensions import db
    from webapp.push.models import PushSubscription

    return int(db.session.scalar(sa.select(sa.func.count(PushSubscription.id))) or 0)


# ----------------------------------------------------------------------------- keys
def test_keys_are_made_once_outside_the_repository(app: Flask, tmp_path: Path) -> None:
    from webapp.config import PROJECT_ROOT

    path = tmp_path / "inst" / "vapid_private.pem"
    app.config["PUSH_VAPID_KEY_FILE"] = path
    first = app.test_cli_runner().invoke(args=["push", "keys"])
    again = app.test_cli_runner().invoke(args=["push", "keys"])
    assert first.exit_code == again.exit_code == 0
    assert "created" in first.output
    assert "kept" in again.output
    assert first.output.splitlines()[-1] == again.output.splitlines()[-1]  # same public key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PROJECT_ROOT not in path.parents


# ----------------------------------------------------------------------------- delivery
def test_a_notification_reaches_the_device_encrypted_and_signed(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    org = world.org()
    person = world.client(org)
    visit = world.visit(person, [world.carer(org, first_name="Marie")])
    user, device = subscribed_user(client, world, service, org=org, client_id=person.id)
    plan_now(user, "eta", f"eta:{visit.id}:0915",
             params={"visit": visit.id, "carers": ["Marie"], "time": "09:15"}, url="/famille/")
    report = send()
    assert report.sent == 1
    [message] = service.messages(device)
    body = message.json()
    assert body["title"] == "Arrivée prévue"
    assert body["body"] == "Marie arrive vers 9 h 15."
    assert body["url"] == "/famille/"
    assert message.ttl == 2 * 3600
    assert message.urgency == "high"
    assert message.topic
    assert len(message.topic) <= 32
    assert message.jwt_claims["aud"] == service.origin
    assert message.jwt_claims["sub"].startswith("mailto:")
    assert [d.status for d in deliveries()] == ["sent"]
    # The same message is in the in-app list, for devices that cannot receive push.
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Marie arrive vers 9 h 15." in page


def test_every_message_goes_to_every_device_of_the_user_once(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    user, phone = subscribed_user(client, world, service)
    tablet = service.new_device(server_key())
    assert subscribe(client, tablet).status_code == 201
    assert subscribe(client, tablet).status_code == 200  # the same device again: refreshed
    plan_now(user)
    assert send().sent == 2
    assert send().sent == 0
    assert len(service.messages(phone)) == len(service.messages(tablet)) == 1


@pytest.mark.parametrize("endpoint", [
    "https://evil.example/push/abc",
    "http://169.254.169.254/latest/meta-data",
    "http://127.0.0.1.evil.example/push/x",
    "http://user@127.0.0.1/push/x",
    "file:///etc/passwd",
    "not a url",
])
def test_an_endpoint_outside_the_allow_list_is_refused_when_subscribing(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService,
        endpoint: str) -> None:
    user = world.user(world.org(), "family")
    world.commit()
    login(client, user.email)
    data = service.new_device(server_key()).subscription()
    data["endpoint"] = endpoint
    response = client.post("/notifications/abonnements", data=json.dumps(data), headers={
        "Content-Type": "application/json", "X-Tournee-Push": "1"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "refused"
    assert subscriptions() == 0


def test_bad_keys_and_form_posts_are_refused(push_app: Flask, client: FlaskClient, world: Any,
                                             service: PushService) -> None:
    user = world.user(world.org(), "carer")
    world.commit()
    login(client, user.email)
    data = service.new_device(server_key()).subscription()
    for keys in ({"p256dh": "AAAA", "auth": data["keys"]["auth"]},
                 {"p256dh": "BB" + data["keys"]["p256dh"][2:], "auth": data["keys"]["auth"]},
                 {"p256dh": data["keys"]["p256dh"], "auth": "!!"}, None):
        response = client.post("/notifications/abonnements",
                               data=json.dumps({**data, "keys": keys}),
                               headers={"Content-Type": "application/json",
                                        "X-Tournee-Push": "1"})
        assert response.status_code == 400, keys
    # A NUL byte (PostgreSQL stores none, nor compares one), in the keys or the endpoint.
    nul = [{**data, "keys": {**data["keys"], "auth": data["keys"]["auth"][:4] + "\x00"
                             + data["keys"]["auth"][4:]}},
           {**data, "endpoint": data["endpoint"] + "\x00"}]
    for body in nul:
        response = client.post("/notifications/abonnements", data=json.dumps(body),
                               headers={"Content-Type": "application/json",
                                        "X-Tournee-Push": "1"})
        assert response.status_code == 400, body
    response = client.post("/notifications/abonnements/retirer",
                           data=json.dumps({"endpoint": "\x00"}),
                           headers={"Content-Type": "application/json", "X-Tournee-Push": "1"})
    assert response.status_code == 200
    assert response.get_json() == {"removed": False}
    # Without the custom header (a cross-site form could send this): refused.
    assert client.post("/notifications/abonnements", data=data["keys"]).status_code == 400
    assert subscriptions() == 0


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_deleted(push_app: Flask, client: FlaskClient, world: Any,
                                        service: PushService, status: int) -> None:
    user, device = subscribed_user(client, world, service)
    service.script(device, (status, {}))
    plan_now(user)
    report = send()
    assert report.gone == 1
    assert report.sent == 0
    assert subscriptions() == 0
    assert [d.status for d in deliveries()] == ["gone"]
    plan_now(user, key="k2")
    assert send().sent == 0  # nothing left to send to
    assert service.messages(device) == []


def test_429_and_5xx_are_retried_with_backoff_honouring_retry_after(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    from webapp.timeutil import utcnow

    user, device = subscribed_user(client, world, service)
    service.script(device, (429, {"Retry-After": "120"}), (503, {}), (500, {}))
    start = utcnow()
    plan_now(user, due_at=start)
    assert send(now=start).retried == 1
    [row] = deliveries()
    assert row.status == "retry"
    assert row.attempts == 1
    assert row.next_attempt_at == start + timedelta(seconds=120)  # Retry-After honoured
    assert send(now=start + timedelta(seconds=119)).retried == 0  # not yet
    assert send(now=start + timedelta(seconds=121)).retried == 1  # 503
    [row] = deliveries()
    assert row.attempts == 2
    assert row.next_attempt_at == start + timedelta(seconds=121 + 60)  # backoff 30 s x 2
    assert send(now=start + timedelta(seconds=182)).retried == 1  # 500
    [row] = deliveries()
    assert row.next_attempt_at == start + timedelta(seconds=182 + 120)
    assert send(now=start + timedelta(seconds=303)).sent == 1
    assert len(service.messages(device)) == 1
    assert [d.status for d in deliveries()] == ["sent"]


def test_other_4xx_are_logged_as_our_error_and_not_retried(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService,
        caplog: pytest.LogCaptureFixture) -> None:
    from webapp.timeutil import utcnow

    user, device = subscribed_user(client, world, service)
    service.script(device, (413, {}))
    plan_now(user)
    with caplog.at_level(logging.ERROR, logger="webapp.push.services"):
        assert send().errors == 1
    assert "our error" in caplog.text
    assert "413" in caplog.text
    assert [d.status for d in deliveries()] == ["error"]
    assert send(now=utcnow() + timedelta(hours=2)).sent == 0
    assert subscriptions() == 1


def test_a_key_mismatch_is_refused_by_the_push_service(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    user = world.user(world.org(), "recipient")
    world.commit()
    login(client, user.email)
    device = service.new_device("BOtherKeyTheDeviceSubscribedWith")
    assert subscribe(client, device).status_code == 201
    plan_now(user)
    assert send().errors == 1
    assert service.refused[-1] == (403, "not the key the device subscribed with")


def test_unreachable_push_service_is_retried_after_a_timeout(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    user, _device = subscribed_user(client, world, service)
    service.stop()  # connection refused from now on
    plan_now(user)
    assert send().retried == 1
    assert deliveries()[0].status == "retry"


# ----------------------------------------------------------------------------- exactly once
def test_two_workers_at_once_never_send_the_same_delivery_twice(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    from webapp.extensions import db

    user, device = subscribed_user(client, world, service)
    for i in range(120):
        plan_now(user, key=f"k{i}")
    db.session.remove()
    results: list[Any] = []
    # Both start sending at the same moment: otherwise one may finish before the other begins.
    start = threading.Barrier(2)

    def worker() -> None:
        with push_app.app_context():
            start.wait()
            results.append(send(batch=8))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [m.json()["id"] for m in service.messages(device)]
    assert len(ids) == len(set(ids)) == 120
    assert sum(r.sent for r in results) == 120
    assert all(r.sent > 0 for r in results), f"both workers took part: {results}"


def test_a_claim_takes_one_batch_and_leaves_the_rest_to_other_workers(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    from webapp.extensions import db
    from webapp.push import services
    from webapp.push.planner import still_relevant
    from webapp.timeutil import utcnow

    user, _device = subscribed_user(client, world, service)
    for i in range(30):
        plan_now(user, key=f"k{i}")
    sender = services.pusher()
    assert sender is not None
    lease = timedelta(seconds=push_app.config["PUSH_LEASE_S"])
    try:
        jobs, _ = services._claim(sender, utcnow(), 8, lease, "first", still_relevant)
        db.session.commit()
    finally:
        sender.close()
    assert len(jobs) == 8
    assert sum(d.status == "sending" for d in deliveries()) == 8


def test_a_worker_dying_after_its_claim_leaves_the_message_to_the_next_once(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    from webapp.extensions import db
    from webapp.push import services
    from webapp.push.planner import still_relevant
    from webapp.timeutil import utcnow

    user, device = subscribed_user(client, world, service)
    plan_now(user, key="before-post")
    plan_now(user, key="after-post")
    now = utcnow()
    sender = services.pusher()
    assert sender is not None
    lease = timedelta(seconds=push_app.config["PUSH_LEASE_S"])
    # The dying worker claimed both, posted one, and died before recording anything.
    jobs, _ = services._claim(sender, now, 10, lease, "dead-worker", still_relevant)
    db.session.commit()
    assert [d.status for d in deliveries()] == ["sending", "sending"]
    sender.post(jobs[0])
    sender.close()
    assert send(now=now).sent == 0  # the lease protects the claims of a live worker
    report = send(now=now + lease + timedelta(seconds=1))
    assert report.sent == 2
    assert [d.status for d in deliveries()] == ["sent", "sent"]
    # The push service got the posted one twice under one Topic: it holds (and the phone
    # shows, the Topic being the notification's tag) one message per notification.
    held = service.held_for(device)
    assert sorted(m.json()["id"] for m in held) == sorted({m.json()["id"]
                                                            for m in service.messages(device)})
    assert len(held) == 2


# ----------------------------------------------------------------------------- preferences
def test_discreet_mode_shows_no_name_on_the_lock_screen(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    from webapp.extensions import db
    from webapp.push.services import save_preferences

    user, device = subscribed_user(client, world, service, role="family")
    save_preferences(user, discreet=True, quiet_start=None, quiet_end=None,
                     enabled=["visit_done"], locale="fr")
    db.session.commit()
    plan_now(user, "visit_done", "done:1", params={"client": "Jeanne Secretname",
                                                   "carers": ["Marie"], "start": "09:00",
                                                   "end": "09:45", "note": "A bien mangé"})
    assert send().sent == 1
    [message] = service.messages(device)
    raw = message.payload.decode()
    for secret in ("Secretname", "Marie", "mangé"):
        assert secret not in raw
    assert message.json()["title"] == "Tournée"
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Jeanne Secretname" in page
    assert "A bien mangé" in page  # detail once in the app


def test_language_and_kinds_are_per_user(push_app: Flask, client: FlaskClient, world: Any,
                                         service: PushService) -> None:
    from webapp.extensions import db
    from webapp.push.services import save_preferences

    org = world.org()
    person = world.client(org)
    visit = world.visit(person, [world.carer(org, first_name="Marie")])
    user, device = subscribed_user(client, world, service, org=org, client_id=person.id)
    save_preferences(user, discreet=False, quiet_start=None, quiet_end=None,
                     enabled=["eta"], locale="en")
    db.session.commit()
    plan_now(user, "eta", f"eta:{visit.id}:1000",
             params={"visit": visit.id, "carers": ["Marie"], "time": "10:00"})
    plan_now(user, "medication", "med:1")
    report = send()
    assert report.sent == 1
    assert report.skipped == 1  # medication reminders turned off
    [message] = service.messages(device)
    assert message.json()["body"] == "Marie arrives around 10:00."


def test_quiet_hours_hold_messages_until_they_end(push_app: Flask, client: FlaskClient,
                                                  world: Any, service: PushService) -> None:
    from webapp.extensions import db
    from webapp.push.services import save_preferences
    from webapp.timeutil import PARIS

    user, device = subscribed_user(client, world, service, role="carer")
    save_preferences(user, discreet=False, quiet_start=time(21, 0), quiet_end=time(7, 0),
                     enabled=["rota", "short_notice"], locale="fr")
    db.session.commit()
    night = datetime(2026, 12, 1, 23, 0, tzinfo=PARIS)
    plan_now(user, "rota", "rota:x", due_at=night, params={"day": "02/12", "count": 5})
    report = send(now=night)
    assert report.deferred == 1
    assert report.sent == 0
    assert send(now=datetime(2026, 12, 2, 6, 59, tzinfo=PARIS)).sent == 0
    assert send(now=datetime(2026, 12, 2, 7, 0, 5, tzinfo=PARIS)).sent == 1
    assert service.messages(device)[0].json()["title"] == "Planning publié"


def test_payload_stays_under_4_kb(push_app: Flask, client: FlaskClient, world: Any,
                                  service: PushService) -> None:
    user, device = subscribed_user(client, world, service, role="family")
    plan_now(user, "visit_done", "done:9", params={"client": "Jeanne", "carers": ["Marie"],
                                                   "start": "09:00", "end": "10:00",
                                                   "note": "é" * 3000})
    assert send().sent == 1
    assert len(service.messages(device)[0].payload) <= 3800


# ----------------------------------------------------------------------------- pages
def test_settings_save_preferences_and_list_devices(push_app: Flask, client: FlaskClient,
                                                    world: Any, service: PushService) -> None:
    from tests.helpers import csrf_from
    from webapp.extensions import db
    from webapp.push.models import PushPreference

    user, _device = subscribed_user(client, world, service, role="family")
    page = client.get("/notifications/reglages").get_data(as_text=True)
    assert f'data-key="{server_key()}"' in page
    assert "Retirer" in page
    assert "Passage effectué" in page
    token = csrf_from(client, "/notifications/reglages")
    bad = client.post("/notifications/reglages", data={
        "csrf_token": token, "locale": "fr", "kinds": ["visit_done"], "quiet_start": "22:00"})
    assert bad.status_code == 400
    assert "heures calmes" in bad.get_data(as_text=True)
    ok = client.post("/notifications/reglages", data={
        "csrf_token": token, "locale": "fr", "kinds": ["visit_done", "weekly_summary"],
        "quiet_start": "22:00", "quiet_end": "07:30", "discreet": "y"})
    assert ok.status_code == 303
    db.session.expire_all()
    pref = db.session.get(PushPreference, user.id)
    assert pref is not None
    assert pref.discreet
    assert pref.quiet_end == time(7, 30)
    assert pref.disabled_kinds == ["visit_late"]


def test_devices_are_revoked_by_their_owner_only(push_app: Flask, client: FlaskClient,
                                                 world: Any, service: PushService) -> None:
    from tests.helpers import csrf_from
    from webapp.extensions import db
    from webapp.push.models import PushSubscription

    org = world.org()
    _owner, _device = subscribed_user(client, world, service, org=org)
    sub_id = db.session.scalar(sa.select(PushSubscription.id))
    client.post("/logout", data={"csrf_token": csrf_from(client, "/notifications/")})
    other = world.user(org, "recipient")
    world.commit()
    login(client, other.email)
    token = csrf_from(client, "/notifications/")
    assert client.post(f"/notifications/appareils/{sub_id}/supprimer",
                       data={"csrf_token": token}).status_code == 404
    assert subscriptions() == 1
    client.post("/logout", data={"csrf_token": token})
    login(client, _owner.email)
    token = csrf_from(client, "/notifications/")
    assert client.post(f"/notifications/appareils/{sub_id}/supprimer",
                       data={"csrf_token": token}).status_code == 303
    assert subscriptions() == 0


def test_test_notification_is_sent_from_the_settings_page(
        push_app: Flask, client: FlaskClient, world: Any, service: PushService) -> None:
    from tests.helpers import csrf_from

    _user, device = subscribed_user(client, world, service, role="coordinator")
    token = csrf_from(client, "/notifications/reglages")
    assert client.post("/notifications/essai", data={"csrf_token": token}).status_code == 303
    [message] = service.messages(device)
    assert message.json()["body"] == "Les notifications fonctionnent sur cet appareil."


def test_coordinators_turn_the_heat_wave_plan_on_and_off(
        push_app: Flask, client: FlaskClient, world: Any) -> None:
    from tests.helpers import csrf_from
    from webapp.push.services import heat_wave_until
    from webapp.timeutil import today_paris

    org = world.org()
    coordinator = world.user(org, "coordinator")
    world.commit()
    login(client, coordinator.email)
    assert client.get("/notifications/reglages").status_code == 200
    token = csrf_from(client, "/notifications/reglages")
    until = today_paris() + timedelta(days=3)
    past = today_paris() - timedelta(days=1)
    assert client.post("/notifications/canicule", data={
        "csrf_token": token, "action": "on", "until": ""}).status_code == 400
    assert client.post("/notifications/canicule", data={
        "csrf_token": token, "action": "on", "until": past.isoformat()}).status_code == 400
    assert heat_wave_until(org.id) is None
    assert client.post("/notifications/canicule", data={
        "csrf_token": token, "action": "on", "until": until.isoformat()}).status_code == 303
    assert heat_wave_until(org.id) == until
    assert "Activé jusqu" in client.get("/notifications/reglages").get_data(as_text=True)
    assert client.post("/notifications/canicule", data={
        "csrf_token": token, "action": "off", "until": ""}).status_code == 303
    assert heat_wave_until(org.id) is None
