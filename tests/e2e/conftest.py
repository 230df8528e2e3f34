"""Browser tests: Debian's Chromium driven by Playwright against a live server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
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
def sign_in(page: Any, base: str, email: str) -> None:
    """Sign a demo user in through the real form and wait to leave the login page."""
    from webapp.demo.services import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
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
def demo_server(migrated_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the demo SAAD from a copy of the migrated database, over real HTTP."""
    import shutil

    folder = tmp_path_factory.mktemp("e2e")
    db_file = folder / "demo.sqlite3"
    shutil.copy(migrated_db, db_file)

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{db_file}"

    app = create_app(Config)
    result = app.test_cli_runner().invoke(args=["demo", "load", "--days", "2"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
