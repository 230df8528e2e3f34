"""Accounts: creation by role, suspension, password change, family access with consent."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.helpers import PASSWORD, csrf_from, login

NEW_PASSWORD = "Mimosa-de-Tanneron-2026"


def _users() -> list[Any]:
    from webapp.auth.models import User
    from webapp.extensions import db

    db.session.expire_all()
    return list(db.session.scalars(sa.select(User).order_by(User.id)))


def test_coordinator_creates_a_carer_account_linked_to_her_profile(
    client: FlaskClient, world: Any
) -> None:
    from webapp.carers.models import Carer
    from webapp.extensions import db

    org = world.org()
    coordinator = world.user(org, "coordinator")
    profile = world.carer(org, with_user=False, last_name="Sansaccès")
    spare = world.carer(org, with_user=False, last_name="Autre")
    world.commit()
    login(client, coordinator.email)
    token = csrf_from(client, "/comptes/")
    form = {"csrf_token": token, "first_name": "Léa", "last_name": "Sansaccès",
            "email": "Lea@Example.org", "role": "carer", "carer_id": profile.id,
            "client_id": 0, "password": NEW_PASSWORD}
    staff = client.post("/comptes/nouveau", data={**form, "role": "admin"})
    assert staff.status_code == 400  # a coordinator cannot create staff accounts
    weak = client.post("/comptes/nouveau", data={**form, "password": "123456789012"})
    assert "Mélangez" in weak.get_data(as_text=True)
    assert client.post("/comptes/nouveau", data=form).status_code == 303
    db.session.expire_all()
    created = next(u for u in _users() if u.email == "lea@example.org")
    assert db.session.get(Carer, profile.id).user_id == created.id
    duplicate = client.post("/comptes/nouveau", data={**form, "carer_id": spare.id})
    assert "existe déjà" in duplicate.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    assert login(client, "lea@example.org", NEW_PASSWORD).headers["Location"] == "/"


def test_suspended_account_cannot_sign_in(client: FlaskClient, world: Any) -> None:
    org = world.org()
    admin = world.user(org, "admin")
    carer = world.carer(org)
    world.commit()
    login(client, admin.email)
    token = csrf_from(client, "/comptes/")
    url = f"/comptes/{carer.user_id}/statut"
    assert client.post(url, data={"csrf_token": token, "active": "0"}).status_code == 303
    assert client.post(url, data={"csrf_token": token, "active": "maybe"}).status_code == 400
    own = client.post(f"/comptes/{admin.id}/statut", data={"csrf_token": token, "active": "0"},
                      follow_redirects=True)
    assert "propre compte" in own.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    assert login(client, carer.user.email).status_code == 401


def test_password_change_checks_the_current_one(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    world.commit()
    login(client, carer.user.email)
    token = csrf_from(client, "/mon-compte")
    wrong = client.post("/mon-compte", data={"csrf_token": token, "current": "nope",
                                             "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 400
    assert "incorrect" in wrong.get_data(as_text=True)
    mismatch = client.post("/mon-compte", data={"csrf_token": token, "current": PASSWORD,
                                                "new": NEW_PASSWORD, "confirm": "other"})
    assert "diffèrent" in mismatch.get_data(as_text=True)
    ok = client.post("/mon-compte", data={"csrf_token": token, "current": PASSWORD,
                                          "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 303
    client.post("/logout", data={"csrf_token": token})
    assert login(client, carer.user.email, PASSWORD).status_code == 401
    assert login(client, carer.user.email, NEW_PASSWORD).status_code == 302


def test_family_sees_notes_only_with_the_persons_consent(client: FlaskClient,
                                                         world: Any) -> None:
    from datetime import timedelta

    from webapp.timeutil import today_paris

    org = world.org()
    coordinator = world.user(org, "coordinator")
    carer = world.carer(org)
    person = world.client(org, last_name="Suivie")
    done = world.visit(person, [carer], day=today_paris() - timedelta(days=1),
                       status="done", carer_note="A bien mangé ce midi")
    done.check_in_at = done.planned_start
    done.check_out_at = done.planned_end
    world.commit()
    login(client, coordinator.email)
    token = csrf_from(client, f"/clients/{person.id}")
    base = {"csrf_token": token, "first_name": "Paul", "last_name": "Suivie",
            "relationship_label": "Fils", "password": NEW_PASSWORD,
            "consent_notifications": "y"}
    assert client.post(f"/clients/{person.id}/proches",
                       data={**base, "email": "paul@example.org"}).status_code == 303
    assert client.post(f"/clients/{person.id}/proches",
                       data={**base, "email": "anne@example.org",
                             "consent_share_notes": "y"}).status_code == 303
    again = client.post(f"/clients/{person.id}/proches",
                        data={**base, "email": "paul@example.org"})
    assert "déjà" in again.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})

    login(client, "paul@example.org", NEW_PASSWORD)
    body = client.get("/famille/").get_data(as_text=True)
    assert "Suivie" in body
    assert "A bien mangé" not in body
    client.post("/logout", data={"csrf_token": csrf_from(client, "/famille/")})
    login(client, "anne@example.org", NEW_PASSWORD)
    assert "A bien mangé" in client.get("/famille/").get_data(as_text=True)
