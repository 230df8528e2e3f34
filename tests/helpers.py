"""Helpers shared by the tests: sign in through the real form."""

from __future__ import annotations

import re
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


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the real form, CSRF included."""
    token = csrf_from(client, "/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token})
