"""Security headers, two-factor sign-in, lockout, password rules and session expiry."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import ENROL_URL, PASSWORD, csrf_from, enrol, login, totp_code


def _password(client: FlaskClient, email: str, password: str = PASSWORD,
              url: str = "/login") -> Any:
    return client.post(url, data={"email": email, "password": password,
                                  "csrf_token": csrf_from(client, "/login")})


def _user(email: str) -> Any:
    from webapp.auth.models import User
    from webapp.extensions import db

    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_security_headers_on_every_page(client: FlaskClient) -> None:
    from webapp import create_app
    from webapp.config import Config

    response = client.get("/login")
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "geolocation=(self)" in headers["Permissions-Policy"]
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "Strict-Transport-Security" not in headers  # plain HTTP in development

    class Production(Config):
        SECRET_KEY = "x" * 32
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    production = create_app(Production).test_client()
    hsts = production.get("/healthz").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


def test_staff_must_enrol_at_first_sign_in_then_always_give_a_code(
    client: FlaskClient, world: Any
) -> None:
    coordinator = world.user(world.org(), "coordinator")
    world.commit()
    response = _password(client, coordinator.email)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(ENROL_URL)
    # Nothing else opens before enrolment.
    blocked = client.get("/clients/")
    assert blocked.status_code == 302
    assert blocked.headers["Location"].startswith(ENROL_URL)
    page = client.get(ENROL_URL).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, an image: no inline script
    wrong = client.post(ENROL_URL, data={"code": "000000",
                                         "csrf_token": csrf_from(client, ENROL_URL)})
    assert wrong.status_code == 400
    assert "Code incorrect" in wrong.get_data(as_text=True)
    client.get(ENROL_URL)
    secret, codes = enrol(client)
    assert _user(coordinator.email).two_factor_enabled
    assert client.get("/clients/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})

    # Next time: password, then the code.
    response = _password(client, coordinator.email)
    assert response.headers["Location"] == "/login/code"
    assert client.get("/clients/").status_code == 302  # not signed in between the two steps
    bad = client.post("/login/code", data={"code": "123456",
                                            "csrf_token": csrf_from(client, "/login/code")})
    assert bad.status_code == 401
    code = totp_code(client, coordinator.email)
    ok = client.post("/login/code", data={"code": code,
                                          "csrf_token": csrf_from(client, "/login/code")})
    assert ok.status_code == 302
    assert ok.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    # The same code cannot be replayed.
    _password(client, coordinator.email)
    replay = client.post("/login/code", data={"code": code,
                                              "csrf_token": csrf_from(client, "/login/code")})
    assert replay.status_code == 401
    # A recovery code works once.
    used = client.post("/login/code", data={"code": codes[0],
                                            "csrf_token": csrf_from(client, "/login/code")})
    assert used.status_code == 302
    assert len(_user(coordinator.email).recovery_codes) == 9
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    _password(client, coordinator.email)
    again = client.post("/login/code", data={"code": codes[0],
                                             "csrf_token": csrf_from(client, "/login/code")})
    assert again.status_code == 401
    assert pyotp.TOTP(secret).now().isdigit()


def test_authenticator_seed_is_sealed_at_rest_and_fails_closed_under_another_key(
    app: Flask, client: FlaskClient, world: Any
) -> None:
    from webapp.extensions import db

    coordinator = world.user(world.org(), "coordinator")
    world.commit()
    _password(client, coordinator.email)
    client.get(ENROL_URL)
    secret, codes = enrol(client)
    stored = db.session.execute(sa.text('SELECT totp_secret FROM "user" WHERE email = :e'),
                                {"e": coordinator.email}).scalar_one()
    assert secret not in stored  # a copy of the database does not give the second factor
    assert _user(coordinator.email).totp_secret == secret
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})

    # SECRET_KEY replaced: the seed no longer opens. No code matches, nothing fails with a
    # 500, the account still asks for a second factor and a recovery code still works.
    app.config["SECRET_KEY"] = "another-key-after-rotation"
    assert _user(coordinator.email).two_factor_enabled
    response = _password(client, coordinator.email)
    assert response.headers["Location"] == "/login/code"
    refused = client.post("/login/code", data={"code": pyotp.TOTP(secret).now(),
                                                "csrf_token": csrf_from(client, "/login/code")})
    assert refused.status_code == 401
    rescued = client.post("/login/code", data={"code": codes[0],
                                               "csrf_token": csrf_from(client, "/login/code")})
    assert rescued.status_code == 302


def test_second_step_keeps_a_safe_next_and_times_out(client: FlaskClient, world: Any,
                                                      app: Flask) -> None:
    admin = world.user(world.org(), "admin")
    world.commit()
    login(client, admin.email)  # enrols
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    token = csrf_from(client, "/login")
    client.post("/login?next=/clients/", data={"email": admin.email, "password": PASSWORD,
                                               "csrf_token": token})
    ok = client.post("/login/code", data={"code": totp_code(client, admin.email),
                                          "csrf_token": csrf_from(client, "/login/code")})
    assert ok.headers["Location"] == "/clients/"
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    evil = login(client, admin.email, next_url="//evil.example/x")
    assert evil.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    # Without the password step first, the code page sends back to the start.
    assert client.get("/login/code").headers["Location"] == "/login"


def test_carers_may_opt_in_and_out_but_staff_cannot_opt_out(client: FlaskClient,
                                                             world: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    world.commit()
    assert login(client, carer.user.email).headers["Location"] == "/"  # no second factor
    client.get(ENROL_URL)
    enrol(client)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    assert login(client, carer.user.email).status_code == 302  # now with a code
    token = csrf_from(client, "/mon-compte")
    wrong = client.post("/mon-compte/double-authentification/desactiver",
                        data={"csrf_token": token, "password": "not mine"}, follow_redirects=True)
    assert "Mot de passe incorrect" in wrong.get_data(as_text=True)
    assert _user(carer.user.email).two_factor_enabled
    client.post("/mon-compte/double-authentification/desactiver",
                data={"csrf_token": token, "password": PASSWORD})
    assert not _user(carer.user.email).two_factor_enabled


def test_lockout_after_repeated_failures_and_admin_unlock(
    client: FlaskClient, world: Any, app: Flask
) -> None:
    from webapp.audit.models import AuditEvent
    from webapp.extensions import db

    app.config["LOGIN_MAX_FAILURES"] = 100  # the address throttle would step in first
    org = world.org()
    admin = world.user(org, "admin")
    carer = world.carer(org)
    world.commit()
    email = carer.user.email
    for _ in range(app.config["LOGIN_LOCKOUT_AFTER"]):
        assert _password(client, email, "wrong password!").status_code == 401
    assert _user(email).locked_at is not None
    locked = _password(client, email)
    assert locked.status_code == 403
    assert "verrouillé" in locked.get_data(as_text=True)
    assert client.get("/ma-journee").status_code == 302  # not signed in

    login(client, admin.email)
    page = client.get("/comptes/").get_data(as_text=True)
    assert "Déverrouiller" in page
    token = csrf_from(client, "/comptes/")
    assert client.post(f"/comptes/{carer.user_id}/deverrouiller",
                       data={"csrf_token": token}).status_code == 303
    client.post("/logout", data={"csrf_token": token})
    assert login(client, email).status_code == 302
    actions = set(db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "user", AuditEvent.object_id == carer.user_id)))
    assert {"lock", "unlock", "login"} <= actions


def test_admin_resets_a_lost_authenticator(client: FlaskClient, world: Any) -> None:
    org = world.org()
    admin = world.user(org, "admin")
    coordinator = world.user(org, "coordinator")
    world.commit()
    login(client, coordinator.email)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    login(client, admin.email)
    token = csrf_from(client, "/comptes/")
    assert client.post(f"/comptes/{coordinator.id}/double-authentification",
                       data={"csrf_token": token}).status_code == 303
    assert not _user(coordinator.email).two_factor_enabled
    assert client.post(f"/comptes/{admin.id}/double-authentification",
                       data={"csrf_token": token}, follow_redirects=True).status_code == 200
    assert _user(admin.email).two_factor_enabled  # never one's own
    client.post("/logout", data={"csrf_token": token})
    response = _password(client, coordinator.email)
    assert response.headers["Location"].startswith(ENROL_URL)  # enrols again


def test_password_rules_refuse_common_and_personal_passwords(client: FlaskClient,
                                                              world: Any) -> None:
    import pytest

    from webapp.auth.services import AccountError, check_password_rules

    for weak, reason in (("short1!", "12 caractères"), ("azertyuiop123", "courant"),
                         ("motdepasse2026", "courant"), ("aaaaaaaaaaaa1", "courant"),
                         ("Dupont2026!!!", "nom"), ("jeanne.dupont@example.org!", "adresse")):
        with pytest.raises(AccountError, match=reason):
            check_password_rules(weak, email="jeanne.dupont@example.org",
                                 names=("Jeanne", "Dupont"))
    check_password_rules("Mimosa-de-Tanneron-2026", email="anne@example.org",
                         names=("Anne", "Dupont"))

    carer = world.carer(world.org())
    world.commit()
    login(client, carer.user.email)
    response = client.post("/mon-compte", data={
        "csrf_token": csrf_from(client, "/mon-compte"), "current": PASSWORD,
        "new": "azertyuiop1234", "confirm": "azertyuiop1234"})
    assert response.status_code == 400
    assert "trop courant" in response.get_data(as_text=True)


def test_sessions_expire_when_idle_and_after_the_absolute_limit(
    client: FlaskClient, world: Any, app: Flask
) -> None:
    carer = world.carer(world.org())
    world.commit()
    login(client, carer.user.email)
    assert client.get("/ma-journee").status_code == 200
    app.config["SESSION_IDLE_SECONDS"] = 1
    time.sleep(1.5)
    expired = client.get("/ma-journee")
    assert expired.status_code == 302
    assert "/login" in expired.headers["Location"]
    app.config["SESSION_IDLE_SECONDS"] = 3600
    app.config["SESSION_ABSOLUTE_SECONDS"] = 2
    login(client, carer.user.email)
    for _ in range(3):  # active all along, yet the session ends at the absolute limit
        assert client.get("/ma-journee").status_code == 200
        time.sleep(0.5)
    time.sleep(1)
    assert client.get("/ma-journee").status_code == 302


def test_staff_sessions_are_never_remembered(client: FlaskClient, world: Any) -> None:
    coordinator = world.user(world.org(), "coordinator")
    carer = world.carer(world.org())
    world.commit()
    login(client, coordinator.email)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    client.post("/login", data={"email": coordinator.email, "password": PASSWORD,
                                "remember": "y", "csrf_token": csrf_from(client, "/login")})
    done = client.post("/login/code", data={"code": totp_code(client, coordinator.email),
                                            "csrf_token": csrf_from(client, "/login/code")})
    assert "remember_token" not in " ".join(done.headers.getlist("Set-Cookie"))
    client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
    remembered = client.post("/login", data={"email": carer.user.email, "password": PASSWORD,
                                             "remember": "y",
                                             "csrf_token": csrf_from(client, "/login")})
    cookie = " ".join(remembered.headers.getlist("Set-Cookie"))
    assert "remember_token" in cookie
    # Signing out forgets the device too.
    out = client.post("/logout", data={"csrf_token": csrf_from(client, "/ma-journee")})
    deleted = [c for c in out.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert deleted, out.headers.getlist("Set-Cookie")
    assert "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert client.get("/ma-journee").status_code == 302
