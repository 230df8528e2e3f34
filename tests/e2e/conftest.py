"""Browser tests: Debian's Chromium driven by Playwright against a live server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from webapp import create_app
from webapp.config import TestConfig

CHROMIUM = "/usr/bin/chromium"
# Two shared cores: give slow moments (Argon2 checks, a busy neighbour) room before failing.
expect.set_options(timeout=15_000)
# Without the background-networking flags Chromium keeps calling Google hosts, which this
# offline machine refuses; root needs --no-sandbox.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
_LAST_STEP: dict[str, int] = {}


def demo_code(email: str) -> str:
    """Return a code of the demo staff authenticator that this run has not used yet."""
    import time

    from webapp.auth.twofactor import code_at_step, current_step
    from webapp.demo.services import DEMO_TOTP_SECRET

    while _LAST_STEP.get(email, 0) + 1 > current_step() + 1:
        time.sleep(1)  # both codes of the accepted window already used: wait for a new one
    step = max(current_step(), _LAST_STEP.get(email, 0) + 1)
    _LAST_STEP[email] = step
    return code_at_step(DEMO_TOTP_SECRET, step)


def sign_in(page: Any, base: str, email: str) -> None:
    """Sign a demo user in through the real form (and code, for staff); leave the login page."""
    from webapp.demo.services import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: not url.rstrip("/").endswith("/login"))
    if "/login/code" in page.url:
        page.get_by_label("Code de vérification").fill(demo_code(email))
        page.get_by_role("button", name="Valider").click()
    page.wait_for_url(lambda url: "/login" not in url)


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "fr-FR",
         "timezone_id": "Europe/Paris"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, **PHONE}


@pytest.fixture(scope="session")
def demo_server(make_database: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the demo SAAD from a fresh migrated database (PostgreSQL in that run), over HTTP."""
    database_url = make_database(tmp_path_factory.mktemp("e2e"))

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    app = create_app(Config)
    result = app.test_cli_runner().invoke(args=["demo", "load", "--days", "2"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
