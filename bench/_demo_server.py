"""Serve the demo SAAD from a throw-away database over real HTTP (for the offline benches)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from werkzeug.serving import make_server

from webapp.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "fr-FR",
         "timezone_id": "Europe/Paris"}


@contextmanager
def demo_server() -> Iterator[str]:
    """Migrate a fresh SQLite file, load the demo (2 days) and serve it; yield the base URL."""
    with tempfile.TemporaryDirectory(prefix="tournee-bench-") as folder:
        db_file = Path(folder) / "demo.sqlite3"
        env = {**os.environ, "FLASK_APP": "webapp", "DATABASE_URL": f"sqlite:///{db_file}",
               "TOURNEE_INSTANCE": folder}
        subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=PROJECT_ROOT,
                       env=env, check=True, capture_output=True)
        from webapp import create_app
        from webapp.config import TestConfig

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = f"sqlite:///{db_file}"
            TESTING = False

        app = create_app(Config)
        result = app.test_cli_runner().invoke(args=["demo", "load", "--days", "2"])
        if result.exit_code != 0:
            raise RuntimeError(result.output)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()


def signed_in_session(base: str, email: str, password: str) -> requests.Session:
    """Sign in through the real form; return the session holding the cookie."""
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on /login")
    response = session.post(f"{base}/login", data={"email": email, "password": password,
                                                   "csrf_token": token.group(1)}, timeout=30)
    response.raise_for_status()
    if response.url.endswith("/login/code"):  # demo staff: second factor from the demo secret
        from webapp.auth.twofactor import code_at_step, current_step
        from webapp.demo.services import DEMO_TOTP_SECRET

        step = current_step() + 1  # the next step's code is accepted and unlikely to be used
        form = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        if form is None:
            raise RuntimeError("no CSRF token on /login/code")
        response = session.post(response.url, data={
            "code": code_at_step(DEMO_TOTP_SECRET, step), "csrf_token": form.group(1)},
            timeout=30)
        response.raise_for_status()
    return session
