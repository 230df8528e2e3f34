"""Helpers shared by the tests: sign in through the real form."""

from __future__ import annotations

import re
import time
from typing import Any

from flask.testing import FlaskClient

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_from(client: FlaskClient, url: str = "/login") -> str:
    """Fetch a page and return the CSRF token it carries."""
    response = client.get(url)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


ENROL_URL = "/mon-compte/double-authentification"
SECRET_RE = re.compile(r"<code data-totp-secret>([A-Z2-7]+)</code>")


def _post_password(client: FlaskClient, email: str, password: str, next_url: str) -> Any:
    token = csrf_from(client, "/login")
    url = f"/login?next={next_url}" if next_url else "/login"
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def totp_code(client: FlaskClient, email: str) -> str:
    """Return a code of the user's authenticator not used yet (read from the real database)."""
    import sqlalchemy as sa

    from webapp.auth.models import User
    from webapp.auth.twofactor import STEP_S, code_at_step, current_step
    from webapp.extensions import db

    with client.application.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
        assert user is not None, f"no account {email}"
        assert user.totp_secret, f"{email} has no authenticator"
        secret, last = user.totp_secret, user.totp_last_step or 0
        db.session.remove()
    while last + 1 > current_step() + 1:  # both codes of the window used: wait for the next
        time.sleep(1)
    step = max(current_step(), last + 1)
    assert step * STEP_S <= time.time() + STEP_S
    return code_at_step(secret, step)


def enrol(client: FlaskClient, url: str = ENROL_URL) -> tuple[str, list[str]]:
    """Set up two-factor sign-in on the enrolment page; return the secret and recovery codes."""
    import pyotp

    match = SECRET_RE.search(client.get(url).get_data(as_text=True))
    assert match, "no TOTP secret on the enrolment page"
    secret = match.group(1)
    page = client.post(url, data={"code": pyotp.TOTP(secret).now(),
                                  "csrf_token": csrf_from(client, url)})
    assert page.status_code == 200, page.status_code
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>",
                       page.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def login(client: FlaskClient, email: str, password: str = PASSWORD, *,
          next_url: str = "") -> Any:
    """Sign in through the real forms, CSRF included, with the second factor when asked.

    Staff without an authenticator are made to set one up at their first sign-in: the helper
    does it (reading the secret off the page, as a phone reads the QR code), signs out and
    signs in again with a code. The response returned is that of the last step: a redirect
    when signed in, the form with its error otherwise.
    """
    response = _post_password(client, email, password, next_url)
    location = response.headers.get("Location", "") if response.status_code == 302 else ""
    if location.startswith(ENROL_URL):
        enrol(client, location)
        client.post("/logout", data={"csrf_token": csrf_from(client, "/mon-compte")})
        response = _post_password(client, email, password, next_url)
        location = response.headers.get("Location", "") if response.status_code == 302 else ""
    if location.startswith("/login/code"):
        response = client.post(location, data={"code": totp_code(client, email),
                                               "csrf_token": csrf_from(client, location)})
    return response
