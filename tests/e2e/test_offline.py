"""The carer's phone offline, in Debian's Chromium: cached days, the outbox, privacy, updates.

The server is the real app over real HTTP. Two test-side hooks sit in front of it: a WSGI
recorder that counts every POST carrying an outbox key as it arrives (to prove "exactly
once"), with a switch that answers 503 to replays; and the ability to really stop the
server (connection refused) and start it again on the same port.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import (
    AXE,
    KEYS_ON_PHONE,
    PHONE,
    LiveServer,
    axe_violations,
    first_assigned_visit,
    open_day_offline_ready,
    open_first_visit,
    query,
    sign_in,
)
from webapp.demo.services import DEMO_LOGINS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def carers(live: LiveServer) -> Iterator[str]:
    """Hand each test a demo carer with at least two assigned visits today."""
    from webapp.auth.models import User
    from webapp.carers.models import Carer
    from webapp.timeutil import today_paris
    from webapp.visits.models import Visit, VisitAssignment

    def run(db: Any) -> list[str]:
        return list(db.session.scalars(
            sa.select(User.email)
            .join(Carer, Carer.user_id == User.id)
            .join(VisitAssignment, VisitAssignment.carer_id == Carer.id)
            .join(Visit, Visit.id == VisitAssignment.visit_id)
            .where(Visit.day == today_paris(), Visit.status == "assigned")
            .group_by(User.email).having(sa.func.count(Visit.id) >= 2)
            .order_by(User.email)))

    return iter(query(live, run)[1:])


@pytest.fixture(scope="module")
def reader(live: LiveServer) -> str:
    """A carer whose day the read-only tests open (the writers get others)."""
    return DEMO_LOGINS["carer"]


def outbox_rows(live: LiveServer, keys: list[str]) -> list[Any]:
    from webapp.visits.models import OutboxRecord

    def run(db: Any) -> list[Any]:
        return [(r.key, r.action, r.outcome, r.flagged, r.captured_at, r.received_at)
                for r in db.session.scalars(sa.select(OutboxRecord)
                                            .where(OutboxRecord.key.in_(keys)))]

    return query(live, run)


def pending_count(page: Page) -> Any:
    return expect(page.locator("#sync"))


def test_offline_reload_shows_the_day_and_its_visits(page: Page, live: LiveServer,
                                                      reader: str) -> None:
    open_day_offline_ready(page, live, reader)
    names = page.locator("ol.visits .who").all_inner_texts()
    href = first_assigned_visit(page)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Ma journée")).to_be_visible()
    assert page.locator("ol.visits .who").all_inner_texts() == names
    expect(page.locator("#sync [data-net]")).to_have_text("Hors ligne")
    # A visit and its client sheet open offline too (boosted link, then a direct load).
    page.locator(f'a.visit-link[href="{href}"]').click()
    expect(page.get_by_role("heading", level=2, name="Adresse")).to_be_visible()
    expect(page.get_by_role("button", name="J'arrive")).to_be_visible()
    sheet = page.get_by_role("link", name="Fiche de la personne aidée").get_attribute("href")
    page.goto(f"{live.url}{sheet}")
    expect(page.locator("dl.facts")).to_be_visible()
    # A page that was never cached gets the offline page, not a browser error.
    page.goto(f"{live.url}/ma-journee?date=2001-01-01")
    expect(page.get_by_role("heading", name="Pas de réseau")).to_be_visible()


def test_offline_check_in_note_check_out_are_queued_then_delivered_once(
        page: Page, live: LiveServer, carers: Iterator[str]) -> None:
    open_day_offline_ready(page, live, next(carers))
    href = open_first_visit(page, live)
    visit_id = int(href.rsplit("/", 1)[1])
    page.context.set_offline(True)
    page.get_by_role("button", name="J'arrive").click()
    expect(page.get_by_text("Arrivée enregistrée sur l’appareil")).to_be_visible()
    expect(page.locator("#sync")).to_have_attribute("data-count", "1")
    page.get_by_label("Transmission").fill("Note prise dans la cave")
    page.get_by_role("button", name="Enregistrer la transmission").click()
    expect(page.get_by_text("Transmission enregistrée sur l’appareil")).to_be_visible()
    page.locator('input[name="tasks_done"]').first.check()
    page.get_by_label("Transmission").fill("Bonne visite, sans réseau")
    page.get_by_role("button", name="Je pars").click()
    expect(page.get_by_text("Départ enregistré sur l’appareil")).to_be_visible()
    expect(page.locator("#sync")).to_have_attribute("data-count", "3")
    # Reloading offline keeps what the phone holds, on the page and in the outbox.
    page.reload()
    expect(page.get_by_text("Départ enregistré sur l’appareil")).to_be_visible()
    keys = page.evaluate(KEYS_ON_PHONE)
    assert len(keys) == 3
    assert [live.recorder.keys[k] for k in keys] == [0, 0, 0]
    page.context.set_offline(False)
    expect(page.locator("#sync")).to_have_attribute("data-count", "0", timeout=60_000)
    rows = outbox_rows(live, keys)
    assert sorted(r[1] for r in rows) == ["check_in", "check_out", "note"]
    # Settle: any duplicate replay would arrive now; none may.
    page.wait_for_timeout(2500)
    assert [live.recorder.keys[k] for k in keys] == [1, 1, 1]
    assert len(outbox_rows(live, keys)) == 3
    assert all(r[2] == "applied" and not r[3] for r in rows)

    from webapp.visits.models import Visit

    def visit_state(db: Any) -> tuple[str, str, Any]:
        visit = db.session.get(Visit, visit_id)
        return visit.status, visit.carer_note, visit.check_in_at

    status, note, check_in_at = query(live, visit_state)
    assert (status, note) == ("done", "Bonne visite, sans réseau")
    check_in_row = next(r for r in rows if r[1] == "check_in")
    # The visit keeps the time the carer tapped, not the time the record reached us.
    assert check_in_at == check_in_row[4] < check_in_row[5]
    expect(page.locator("#sync [data-errors]")).to_be_empty()


def test_the_phone_answers_offline_in_the_carers_language(
        page: Page, live: LiveServer, carers: Iterator[str]) -> None:
    # The browser speaks French; the carer reads English. One worker serves both.
    from webapp.auth.models import User

    email = next(carers)
    try:
        open_day_offline_ready(page, live, email, language="en")
        open_first_visit(page, live)
        page.context.set_offline(True)
        page.get_by_role("button", name="I'm here").click()
        expect(page.get_by_text("Arrival saved on the device")).to_be_visible()
        expect(page.locator("#sync")).to_have_attribute("data-count", "1")
        page.context.set_offline(False)
        expect(page.locator("#sync")).to_have_attribute("data-count", "0", timeout=60_000)
    finally:
        def back_to_french(db: Any) -> None:  # the choice is the account's, not the phone's
            db.session.execute(sa.update(User).where(User.email == email).values(locale="fr"))
            db.session.commit()

        query(live, back_to_french)


def test_server_down_while_online_then_back_everything_arrives(
        page: Page, live: LiveServer, carers: Iterator[str]) -> None:
    open_day_offline_ready(page, live, next(carers))
    open_first_visit(page, live)
    live.stop()
    try:
        page.get_by_role("button", name="J'arrive").click()
        expect(page.get_by_text("Arrivée enregistrée sur l’appareil")).to_be_visible()
        page.get_by_label("Transmission").fill("Serveur en panne")
        page.get_by_role("button", name="Enregistrer la transmission").click()
        expect(page.locator("#sync")).to_have_attribute("data-count", "2")
        keys = page.evaluate(KEYS_ON_PHONE)
    finally:
        live.start()
    # Nothing changes on the phone's side (still "online"): the backoff timer sends them.
    expect(page.locator("#sync")).to_have_attribute("data-count", "0", timeout=90_000)
    page.wait_for_timeout(2500)
    assert [live.recorder.keys[k] for k in keys] == [1, 1]
    assert len(outbox_rows(live, keys)) == 2


def test_a_replay_that_meets_a_cancelled_visit_is_kept_and_flagged(
        page: Page, browser: Browser, live: LiveServer, carers: Iterator[str]) -> None:
    open_day_offline_ready(page, live, next(carers))
    href = open_first_visit(page, live)
    visit_id = int(href.rsplit("/", 1)[1])
    page.context.set_offline(True)
    page.get_by_role("button", name="J'arrive").click()
    expect(page.locator("#sync")).to_have_attribute("data-count", "1")
    keys = page.evaluate(KEYS_ON_PHONE)

    from webapp.auth.models import User
    from webapp.visits import services
    from webapp.visits.models import Visit

    def cancel(db: Any) -> None:
        office = db.session.scalar(sa.select(User).where(
            User.email == DEMO_LOGINS["coordinator"]))
        services.cancel(db.session.get(Visit, visit_id), office, "Hospitalisation")
        db.session.commit()

    query(live, cancel)
    page.context.set_offline(False)
    expect(page.locator("#sync")).to_have_attribute("data-count", "0", timeout=60_000)
    expect(page.locator("#sync .notice")).to_contain_text("signalé à la coordination")
    rows = outbox_rows(live, keys)
    assert [(r[1], r[2], r[3]) for r in rows] == [("check_in", "conflict", True)]
    office = browser.new_context(**PHONE)
    try:
        coordinator = office.new_page()
        sign_in(coordinator, live.url, DEMO_LOGINS["coordinator"])
        coordinator.goto(f"{live.url}/visites/{visit_id}")
        expect(coordinator.get_by_role("heading", name="Pointages signalés")).to_be_visible()
        expect(coordinator.get_by_text("n'est plus ouverte")).to_be_visible()
    finally:
        office.close()


def test_a_refused_replay_stays_on_the_phone_and_asks_for_attention(
        page: Page, live: LiveServer, carers: Iterator[str]) -> None:
    open_day_offline_ready(page, live, next(carers))
    open_first_visit(page, live)
    page.context.set_offline(True)
    page.get_by_role("button", name="J'arrive").click()
    expect(page.locator("#sync")).to_have_attribute("data-count", "1")
    # The phone reports an impossible position: the server must refuse it (validation).
    page.evaluate("""() => new Promise((resolve) => {
      const req = indexedDB.open("tournee", 1);
      req.onsuccess = () => {
        const store = req.result.transaction("outbox", "readwrite").objectStore("outbox");
        store.getAll().onsuccess = (e) => {
          const r = e.target.result[0]; r.fields.lat = ["123"]; r.fields.lon = ["7.4"];
          store.put(r).onsuccess = () => { req.result.close(); resolve(); };
        };
      };
    })""")
    keys = page.evaluate(KEYS_ON_PHONE)
    page.context.set_offline(False)
    expect(page.locator("#sync [data-errors] li.error")).to_contain_text(
        "Refusé par le serveur", timeout=60_000)
    expect(page.get_by_role("button", name="Réessayer")).to_be_visible()
    assert page.evaluate(KEYS_ON_PHONE) == keys
    assert outbox_rows(live, keys) == []
    assert live.recorder.keys[keys[0]] >= 1


def test_logout_leaves_no_client_data_on_the_phone(page: Page, live: LiveServer,
                                                   reader: str) -> None:
    open_day_offline_ready(page, live, reader)
    names = page.locator("ol.visits .who").all_inner_texts()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    left = page.evaluate("""async () => {
      const out = {caches: {}, databases: [], local: {...localStorage},
                   session: {...sessionStorage}};
      for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        out.caches[name] = [];
        for (const req of await cache.keys()) {
          const res = await cache.match(req);
          out.caches[name].push([new URL(req.url).pathname, await res.text()]);
        }
      }
      out.databases = (await indexedDB.databases()).map((d) => d.name);
      return out;
    }""")
    assert left["databases"] == []
    assert left["local"] == {}
    # htmx keeps only the current path ("/login") there; never page contents.
    assert set(left["session"]) <= {"htmx-current-path-for-history"}, left["session"]
    assert not [n for n in names if n in json.dumps(left["session"])]
    for name, entries in left["caches"].items():
        assert name.startswith("tournee-shell-"), name
        for path, body in entries:
            assert path.startswith("/static/") or path in ("/manifest.webmanifest",
                                                           "/hors-ligne"), path
            assert not [n for n in names if n in body], path


def test_session_over_offline_shows_the_offline_page_and_forgets_the_day(
        page: Page, live: LiveServer, reader: str) -> None:
    open_day_offline_ready(page, live, reader)
    # The phone last reached the server longer ago than a session lasts (12 h).
    page.evaluate("""() => new Promise((resolve) => {
      const req = indexedDB.open("tournee", 1);
      req.onsuccess = () => {
        const store = req.result.transaction("meta", "readwrite").objectStore("meta");
        store.get("user").onsuccess = (e) => {
          const row = e.target.result; row.value.syncedAt -= 13 * 3600 * 1000;
          store.put(row).onsuccess = () => { req.result.close(); resolve(); };
        };
      };
    })""")
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Pas de réseau")).to_be_visible()
    assert page.evaluate(
        "caches.keys().then((n) => n.filter((x) => x.startsWith('tournee-pages-')))") == []


def test_signed_out_by_the_server_forgets_the_day(page: Page, live: LiveServer,
                                                  reader: str) -> None:
    open_day_offline_ready(page, live, reader)
    page.context.clear_cookies()  # the session ended on the server's side
    page.goto(f"{live.url}/ma-journee")
    page.wait_for_url(re.compile(r"/login"))
    page.wait_for_function(
        "() => caches.keys().then((n) => !n.some((x) => x.startsWith('tournee-pages-')))",
        timeout=30_000)


def test_a_new_worker_version_activates_with_queued_records_intact(
        page: Page, live: LiveServer, carers: Iterator[str]) -> None:
    from webapp.offline.services import shell_manifest

    open_day_offline_ready(page, live, next(carers))
    open_first_visit(page, live)
    old = page.locator("#sync").get_attribute("data-version")
    page.context.set_offline(True)
    page.get_by_role("button", name="J'arrive").click()
    page.get_by_label("Transmission").fill("Avant la mise à jour")
    page.get_by_role("button", name="Enregistrer la transmission").click()
    expect(page.locator("#sync")).to_have_attribute("data-count", "2")
    keys = page.evaluate(KEYS_ON_PHONE)
    live.recorder.refuse_replays = True
    try:
        page.context.set_offline(False)
        live.app.config["OFFLINE_BUILD_SALT"] = "next-release"
        with live.app.test_request_context():
            new, _ = shell_manifest("next-release")
        assert new != old
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        expect(page.locator("#sync")).to_have_attribute("data-version", new, timeout=30_000)
        assert page.evaluate(KEYS_ON_PHONE) == keys
        expect(page.locator("#sync")).to_have_attribute("data-count", "2")
        # Activation removes the previous shell, and only it.
        page.wait_for_function(
            "(name) => caches.keys().then((n) => n.filter((x) => x.startsWith('tournee-shell-'))"
            ".join() === name)", arg=f"tournee-shell-{new}", timeout=30_000)
    finally:
        live.recorder.refuse_replays = False
        live.app.config["OFFLINE_BUILD_SALT"] = ""
    page.get_by_role("button", name="Envoyer maintenant").click()
    expect(page.locator("#sync")).to_have_attribute("data-count", "0", timeout=60_000)
    page.wait_for_timeout(2500)
    assert [live.recorder.keys[k] for k in keys] == [1, 1]
    assert len(outbox_rows(live, keys)) == 2


def test_chromium_reports_no_installability_errors(page: Page, live: LiveServer,
                                                   reader: str) -> None:
    open_day_offline_ready(page, live, reader)
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright contexts are off the record, which Chromium always reports.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    body = json.loads(page.request.get(f"{live.url}/manifest.webmanifest").text())
    assert body["short_name"] == "Tournée"
    assert {"any", "maskable"} <= {i["purpose"] for i in body["icons"]}


@pytest.mark.skipif(not AXE.exists(), reason="npm ci installs axe-core (make test does)")
def test_axe_finds_no_violation_on_any_carer_page(browser: Browser, live: LiveServer,
                                                  carers: Iterator[str]) -> None:
    # axe is injected as an inline script, which our CSP rightly refuses: bypass it here.
    context: BrowserContext = browser.new_context(bypass_csp=True, **PHONE)
    try:
        page = context.new_page()
        page.goto(f"{live.url}/login")
        found = {"/login": axe_violations(page)}
        open_day_offline_ready(page, live, next(carers))
        href = first_assigned_visit(page)
        sheet = None
        from webapp.timeutil import today_paris

        tomorrow = (today_paris() + timedelta(days=1)).isoformat()
        for url in ("/ma-journee", f"/ma-journee?date={tomorrow}", href, "/mon-compte",
                    "/hors-ligne"):
            page.goto(f"{live.url}{url}")
            found[url] = axe_violations(page)
            if url == href:
                sheet = page.get_by_role("link", name="Fiche de la personne aidée")\
                    .get_attribute("href")
        # The visit under way (check-out form) and done, and the client sheet.
        page.goto(f"{live.url}{href}")
        page.get_by_role("button", name="J'arrive").click()
        expect(page.get_by_role("button", name="Je pars")).to_be_visible()
        found[href + " (en cours)"] = axe_violations(page)
        page.get_by_role("button", name="Je pars").click()
        expect(page.get_by_text("Départ enregistré. Merci !")).to_be_visible()
        found[href + " (terminée)"] = axe_violations(page)
        page.goto(f"{live.url}{sheet}")
        found[str(sheet)] = axe_violations(page)
        # Offline, with the connection bar showing what waits on the phone.
        page.goto(f"{live.url}/ma-journee")
        page.context.set_offline(True)
        page.reload()
        expect(page.locator("#sync [data-net]")).to_have_text("Hors ligne")
        found["/ma-journee (hors ligne)"] = axe_violations(page)
        print("axe violations per page:", {k: len(v) for k, v in found.items()})
        assert {k: v for k, v in found.items() if v} == {}
    finally:
        context.close()
