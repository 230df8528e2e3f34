"""Sign-in, throttling, CSRF, cookies and sign-out."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.helpers import PASSWORD, csrf_from, login


def test_password_is_stored_as_argon2id(world: Any) -> None:
    org = world.org()
    user = world.user(org, "coordinator")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_each_role_lands_on_its_home(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    client_row = world.client(org)
    homes = {
        world.user(org, "admin").email: "/planning/",
        world.user(org, "coordinator").email: "/planning/",
        carer.user.email: "/ma-journee",
        world.user(org, "recipient", client_id=client_row.id).email: "/famille/",
        world.family(client_row).email: "/famille/",
    }
    world.commit()
    for email, home in homes.items():
        response = login(client, email)
        assert response.status_code == 302
        page = client.get("/", follow_redirects=True)
        assert page.status_code == 200
        assert page.request.path == home
        client.post("/logout", data={"csrf_token": csrf_from(client, home)})


def test_wrong_password_is_refused_with_a_message(client: FlaskClient, world: Any) -> None:
    user = world.user(world.org(), "coordinator")
    world.commit()
    response = login(client, user.email, "wrong password")
    assert response.status_code == 401
    assert "incorrect" in response.get_data(as_text=True)


def test_inactive_account_cannot_sign_in(client: FlaskClient, world: Any) -> None:
    user = world.user(world.org(), "carer", active=False)
    world.commit()
    assert login(client, user.email).status_code == 401


def test_repeated_failures_are_throttled_even_with_the_right_password(
    client: FlaskClient, world: Any
) -> None:
    user = world.user(world.org(), "coordinator")
    world.commit()
    for _ in range(5):
        assert login(client, user.email, "nope").status_code == 401
    blocked = login(client, user.email)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Trop de tentatives" in blocked.get_data(as_text=True)


def test_wrong_csrf_token_is_a_clear_400(client: FlaskClient, world: Any) -> None:
    user = world.user(world.org(), "coordinator")
    world.commit()
    csrf_from(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": "forged"})
    assert response.status_code == 400
    assert "formulaire a expiré" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_csrf_token_is_accepted_as_an_htmx_header(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()
    login(client, carer.user.email)
    token = csrf_from(client, "/ma-journee")
    response = client.post(f"/visites/{visit.id}/note", data={"note": "Bien"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 303
    assert "HX-Request" in response.headers["Vary"]
    refused = client.post(f"/visites/{visit.id}/note", data={"note": "Sans jeton"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 400


def test_session_cookie_flags_in_development_and_production(client: FlaskClient,
                                                             world: Any) -> None:
    from webapp import create_app
    from webapp.config import Config

    user = world.user(world.org(), "coordinator")
    world.commit()
    response = login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

    class Production(Config):
        SECRET_KEY = "x" * 32
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    production = create_app(Production)
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True


def test_production_refuses_to_start_without_a_secret_key() -> None:
    import pytest

    from webapp import create_app
    from webapp.config import Config

    class NoSecret(Config):
        SECRET_KEY = None
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(NoSecret)


def test_login_next_parameter_cannot_redirect_elsewhere(client: FlaskClient, world: Any) -> None:
    # A carer: no second factor, so the password step itself redirects (staff: test_security).
    user = world.user(world.org(), "carer")
    world.commit()
    token = csrf_from(client, "/login")
    response = client.post("/login?next=//evil.example/x",
                           data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_asks_the_browser_to_clear_its_storage(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    world.commit()
    login(client, carer.user.email)
    response = client.post("/logout", data={"csrf_token": csrf_from(client, "/ma-journee")})
    assert response.status_code == 302
    assert "storage" in response.headers["Clear-Site-Data"]
    assert client.get("/ma-journee").status_code == 302


def test_language_switch_to_english(client: FlaskClient, world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    world.commit()
    login(client, carer.user.email)
    token = csrf_from(client, "/ma-journee")
    client.post("/langue", data={"locale": "en", "csrf_token": token})
    body = client.get("/ma-journee").get_data(as_text=True)
    assert "My day" in body
    assert 'lang="en"' in body
    refused = client.post("/langue", data={"locale": "xx", "csrf_token": token})
    assert refused.status_code == 400


def test_audit_records_sign_in(client: FlaskClient, world: Any) -> None:
    import sqlalchemy as sa

    from webapp.audit.models import AuditEvent
    from webapp.extensions import db

    user = world.user(world.org(), "coordinator")
    world.commit()
    login(client, user.email)
    db.session.expire_all()
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.user_id == user.id)).all()
    assert "login" in actions
