"""Browser tests: Debian's Chromium driven by Playwright against a live server on loopback.

Every server here serves the demo SAAD from a fresh migrated database made by
``make_database`` (tests/conftest.py): a SQLite file, or a PostgreSQL database when
TEST_DATABASE_URL is set (``make test-postgres``).
"""

from __future__ import annotations

import collections
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from webapp import create_app
from webapp.config import PROJECT_ROOT, TestConfig

CHROMIUM = "/usr/bin/chromium"
# Two shared cores: give slow moments (Argon2 checks, a busy neighbour) room before failing.
expect.set_options(timeout=15_000)
# Without the background-networking flags Chromium keeps calling Google hosts, which this
# offline machine refuses; root needs --no-sandbox. The language flags make it a French
# phone down to the browser's own requests (the context's locale does not reach them).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--lang=fr-FR", "--accept-lang=fr-FR"]
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


# ----------------------------------------------------------------------------- servers
class Recorder:
    """WSGI wrapper (test side): count POSTs per outbox key; optionally refuse replays."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.keys: collections.Counter[str] = collections.Counter()
        self.refuse_replays = False
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            key = ""
            if environ.get("CONTENT_TYPE", "").startswith("application/json"):
                try:
                    key = str(json.loads(body).get("key", ""))
                except ValueError:
                    key = ""
            else:
                key = parse_qs(body.decode("utf-8", "replace")).get("idempotency_key", [""])[0]
            if environ["PATH_INFO"] == "/visites/envoi" and self.refuse_replays:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"down for maintenance"]
            if key:
                with self.lock:
                    self.keys[key] += 1
        # Read the whole answer (and close its file) before writing it: when the browser goes
        # offline mid-download, the dev server would otherwise leave a static file open.
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return [body]


class LiveServer:
    """An app over HTTP on a fixed port, which a test can stop (connection refused) and
    start again; ``recorder`` counts the outbox keys that reach it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.recorder = Recorder(app)
        self.server: Any = None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.recorder, threaded=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def demo_site(make_database: Callable[[Path], str], folder: Path, *, days: int = 2,
              commands: tuple[list[str], ...] = (), **settings: Any) -> Iterator[LiveServer]:
    """Serve the demo SAAD (``days`` of visits) from a fresh migrated database, over HTTP.

    ``settings`` override the test configuration; ``commands`` are CLI commands run after
    the demo is loaded (``["push", "keys"]``).
    """
    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": make_database(folder),
                                            **settings})
    app = create_app(config)
    for args in (["demo", "load", "--days", str(days)], *commands):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
    server = LiveServer(app)
    try:
        yield server
    finally:
        server.stop()
        from webapp.extensions import db

        with app.app_context():
            db.engine.dispose()


def query(live: LiveServer, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(db)`` against the server's database, in its own app context."""
    from webapp.extensions import db

    with live.app.app_context():
        try:
            return fn(db)
        finally:
            db.session.remove()


@pytest.fixture(scope="session")
def demo_server(make_database: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo SAAD most browser tests share, read-mostly: its URL."""
    with demo_site(make_database, tmp_path_factory.mktemp("e2e")) as server:
        yield server.url


@pytest.fixture(scope="module")
def live(make_database: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A demo SAAD of the module's own, for tests that stop it, count what reaches it or
    change its configuration (the offline tests)."""
    with demo_site(make_database, tmp_path_factory.mktemp("live"),
                   OFFLINE_BUILD_SALT="") as server:
        yield server


# ----------------------------------------------------------------------------- the phone
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page: Page) -> list[Any]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then((r) => r.violations.map((v) => [v.id, v.nodes.map((n) => n.target)]))",
        AXE_TAGS)


KEYS_ON_PHONE = """() => new Promise((resolve) => {
  const req = indexedDB.open("tournee", 1);
  req.onsuccess = () => {
    const tx = req.result.transaction("outbox", "readonly");
    const all = tx.objectStore("outbox").getAll();
    all.onsuccess = () => { resolve(all.result.map((r) => r.key)); req.result.close(); };
  };
})"""

# The page's registration has one worker, active and controlling the page: no newer version
# is installing or waiting to take over.
WORKER_SETTLED = """async () => {
  const reg = await navigator.serviceWorker.getRegistration();
  const controller = navigator.serviceWorker.controller;
  return Boolean(reg && reg.active && !reg.installing && !reg.waiting && controller
                 && reg.active.state === "activated" && controller.state === "activated");
}"""

# The worker finished copying the carer's days: every page the server lists for the phone
# is in the pages cache, and the worker recorded whose they are (it serves them offline only
# then). Never creates the worker's database: a version change aborts the open.
OFFLINE_COPY_DONE = """async (urls) => {
  const names = (await caches.keys()).filter((n) => n.startsWith("tournee-pages-"));
  if (names.length !== 1) { return false; }
  const cache = await caches.open(names[0]);
  const held = (await cache.keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
  if (!urls.every((u) => held.includes(u))) { return false; }
  const user = await new Promise((resolve) => {
    const req = indexedDB.open("tournee", 1);
    req.onupgradeneeded = () => req.transaction.abort();
    req.onerror = () => resolve(null);
    req.onsuccess = () => {
      const get = req.result.transaction("meta", "readonly").objectStore("meta").get("user");
      get.onsuccess = () => { resolve(get.result ? get.result.value : null); req.result.close(); };
      get.onerror = () => { resolve(null); req.result.close(); };
    };
  });
  return Boolean(user && String(user.id) === document.querySelector("#sync").dataset.user);
}"""


DAY_HEADING = {"fr": "Ma journée", "en": "My day"}


def open_day_offline_ready(page: Page, live: LiveServer, email: str,
                           language: str = "fr") -> None:
    """Sign in (and choose ``language``), let the service worker take control and copy the
    carer's days to the phone.

    Ready means: the worker that will answer offline is the one in control, with no newer
    version on its way (one taking over mid-test drops the old worker's work in flight),
    and it has every page of the carer's days in its cache and knows whose they are.
    """
    sign_in(page, live.url, email)
    if language != "fr":
        page.get_by_label("Langue").select_option(language)  # the page sends it at once
    expect(page.get_by_role("heading", name=DAY_HEADING[language])).to_be_visible()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    # Check for a new version now rather than when the browser gets round to it.
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    page.wait_for_function(WORKER_SETTLED, timeout=30_000, polling=200)
    urls = page.request.get(f"{live.url}/hors-ligne/pages.json").json()["urls"]
    assert "/ma-journee" in urls
    page.wait_for_function(OFFLINE_COPY_DONE, arg=urls, timeout=30_000, polling=200)
    # The connection bar shows the worker's last contact with the server.
    expect(page.locator("#sync")).to_have_attribute("data-synced", re.compile(r"^\d+$"),
                                                    timeout=30_000)


def first_assigned_visit(page: Page) -> str:
    link = page.locator("ol.visits li.status-assigned a.visit-link").first
    href = link.get_attribute("href")
    assert href
    return href


def open_first_visit(page: Page, live: LiveServer) -> str:
    """Open the carer's first assigned visit once the service worker controls the page."""
    href = first_assigned_visit(page)
    page.goto(f"{live.url}{href}")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    return href


def record_worrying_observation(page: Page) -> None:
    """On the observation form: check it starts "as usual", tick a fall with injury, half a
    meal, pain and less steady, and save."""
    expect(page.get_by_role("heading", level=1)).to_contain_text("Observation")
    expect(page.get_by_label("Pas de chute")).to_be_checked()
    page.get_by_label("Chute avec blessure").check()
    page.get_by_label("La moitié").check()
    page.get_by_label("Se plaint de douleurs").check()
    page.get_by_label("Moins assuré·e").check()
    page.get_by_role("button", name="Enregistrer l'observation").click()
