"""A carer records an observation; the coordinator sees the updated score and its reasons.

Online version: the offline path (outbox replay of the observation form) depends on the
outbox registering this form.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import PHONE, record_worrying_observation, sign_in
from webapp.demo.services import DEMO_LOGINS

pytestmark = pytest.mark.e2e


def test_observation_updates_the_score_the_coordinator_sees(
    browser: Browser, demo_server: str
) -> None:
    carer = browser.new_context(**PHONE)
    page = carer.new_page()
    sign_in(page, demo_server, DEMO_LOGINS["carer"])
    page.locator("ol.visits li a").first.click()
    page.wait_for_url(re.compile(r"/visites/\d+$"))
    visit_id = int(page.url.rsplit("/", 1)[1])
    name = page.locator("h1").first.inner_text().strip()
    page.goto(f"{demo_server}/visites/{visit_id}/observation")
    record_worrying_observation(page)
    expect(page.get_by_text("Observation enregistrée. Merci !").first).to_be_visible()
    carer.close()

    office = browser.new_context(**PHONE)
    page = office.new_page()
    sign_in(page, demo_server, DEMO_LOGINS["coordinator"])
    page.goto(f"{demo_server}/alertes/")
    row = page.locator("table.risks tr", has_text=name)
    expect(row).to_be_visible()
    expect(row.locator("td.risk").first).to_have_text(re.compile(r"^\d+ %$"))
    row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name="Risque à 90 jours")).to_be_visible()
    reasons = page.locator("ul.reasons li")
    expect(reasons.first).to_be_visible()
    texts = " ".join(reasons.all_inner_texts())
    assert re.search(r"chute|douleur|repas|marche", texts), texts
    expect(page.locator("svg.trend polyline")).to_have_count(2)
    office.close()
