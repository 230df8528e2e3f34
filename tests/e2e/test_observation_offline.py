"""A carer records an observation offline; once the phone is back online the coordinator sees
the person's updated score and its reasons (issue 5, "must show" 6).

Real app over real HTTP, real Chromium with its service worker; the network is cut with the
browser context's offline switch, and the server counts what reaches it (test-side recorder).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    KEYS_ON_PHONE,
    PHONE,
    LiveServer,
    open_day_offline_ready,
    open_first_visit,
    query,
    record_worrying_observation,
    sign_in,
)
from webapp.demo.services import DEMO_LOGINS

pytestmark = pytest.mark.e2e

CACHED_FORM = """(url) => caches.keys().then(async (names) => {
  const pages = names.filter((n) => n.startsWith("tournee-pages-"));
  if (pages.length !== 1) { return false; }
  const cache = await caches.open(pages[0]);
  return (await cache.keys()).some((r) => new URL(r.url).pathname === url);
})"""


def _carer_with_a_visit_today(live: LiveServer) -> str:
    from webapp.auth.models import User
    from webapp.carers.models import Carer
    from webapp.timeutil import today_paris
    from webapp.visits.models import Visit, VisitAssignment

    def run(db: Any) -> str:
        emails = db.session.scalars(
            sa.select(User.email).join(Carer, Carer.user_id == User.id)
            .join(VisitAssignment, VisitAssignment.carer_id == Carer.id)
            .join(Visit, Visit.id == VisitAssignment.visit_id)
            .where(Visit.day == today_paris(), Visit.status == "assigned")
            .where(User.email != DEMO_LOGINS["carer"])
            .group_by(User.email).order_by(User.email)).all()
        assert emails
        return str(emails[-1])

    return str(query(live, run))


def _state(live: LiveServer, visit_id: int) -> tuple[int, str, int, int]:
    """Return the visit's client id and name, its number of observations, and the number of
    observations behind the person's latest score."""
    from webapp.alerts.models import RiskScore
    from webapp.observations.models import Observation
    from webapp.visits.models import Visit

    def run(db: Any) -> tuple[int, str, int, int]:
        visit = db.session.get(Visit, visit_id)
        stored = db.session.scalar(sa.select(sa.func.count(Observation.id)).where(
            Observation.client_id == visit.client_id))
        latest = db.session.scalar(sa.select(RiskScore).where(
            RiskScore.client_id == visit.client_id).order_by(RiskScore.id.desc()).limit(1))
        return (visit.client_id, visit.client.full_name, int(stored or 0),
                latest.n_observations if latest else -1)

    return query(live, run)  # type: ignore[no-any-return]


def test_an_observation_recorded_offline_reaches_the_coordinators_score(
        page: Page, browser: Browser, live: LiveServer) -> None:
    open_day_offline_ready(page, live, _carer_with_a_visit_today(live))
    href = open_first_visit(page, live)
    visit_id = int(href.rsplit("/", 1)[1])
    client_id, name, stored_before, scored_before = _state(live, visit_id)
    form_url = f"/visites/{visit_id}/observation"
    # The observation form of each visit of the day is kept on the phone.
    page.wait_for_function(CACHED_FORM, arg=form_url, timeout=30_000, polling=200)

    page.context.set_offline(True)
    page.get_by_role("link", name="Observation (30 secondes)").click()
    record_worrying_observation(page)
    # Back on the visit, which shows what waits on the phone.
    page.wait_for_url(re.compile(rf"/visites/{visit_id}$"))
    expect(page.locator("#sync")).to_have_attribute("data-count", "1")
    expect(page.get_by_text("Observation enregistrée sur l’appareil")).to_be_visible()
    keys = page.evaluate(KEYS_ON_PHONE)
    assert len(keys) == 1
    assert live.recorder.keys[keys[0]] == 0
    assert _state(live, visit_id)[2] == stored_before  # nothing reached the server

    page.context.set_offline(False)
    expect(page.locator("#sync")).to_have_attribute("data-count", "0", timeout=60_000)
    assert live.recorder.keys[keys[0]] == 1  # replayed exactly once
    _, _, stored_after, scored_after = _state(live, visit_id)
    assert stored_after == stored_before + 1
    # The demo scored the person on her history; the synced observation rescored her on it.
    assert scored_before == stored_before
    assert scored_after == stored_after

    from webapp.observations.models import Observation

    def stored_row(db: Any) -> tuple[Any, ...]:
        row = db.session.scalar(sa.select(Observation).where(
            Observation.idempotency_key == keys[0]))
        return (row.fall, row.meal_share, row.pain, row.mobility)

    assert query(live, stored_row) == ("with_injury", 0.5, True, "less_steady")

    office = browser.new_context(**PHONE)
    coordinator = office.new_page()
    sign_in(coordinator, live.url, DEMO_LOGINS["coordinator"])
    coordinator.goto(f"{live.url}/alertes/")
    row = coordinator.locator("table.risks tr", has_text=name)
    expect(row).to_be_visible()
    expect(row.locator("td.risk").first).to_have_text(re.compile(r"^\d+ %$"))
    coordinator.goto(f"{live.url}/alertes/personnes/{client_id}")
    expect(coordinator.get_by_role("heading", name="Risque à 90 jours")).to_be_visible()
    expect(coordinator.get_by_text(f"sur {scored_after} observation(s)")).to_be_visible()
    reasons = " ".join(coordinator.locator("ul.reasons li").all_inner_texts())
    # The fall with injury the carer reported offline is among the reasons.
    assert re.search(r"\d+ chutes? en 30 jours, dont 1 avec blessure", reasons), reasons
    office.close()
