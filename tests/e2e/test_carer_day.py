"""A carer on a phone signs in and sees today's visits in time order."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from webapp.demo.services import DEMO_LOGINS

pytestmark = pytest.mark.e2e


def test_demo_carer_sees_todays_visits_in_time_order(page: Page, demo_server: str) -> None:
    sign_in(page, demo_server, DEMO_LOGINS["carer"])
    expect(page).to_have_url(re.compile(r"/ma-journee$"))
    expect(page.get_by_role("heading", name="Ma journée")).to_be_visible()
    visits = page.locator("ol.visits > li")
    expect(visits.first).to_be_visible()
    times = page.locator("ol.visits .time").all_inner_texts()
    assert len(times) >= 3
    assert times == sorted(times)
    # Phone layout: the list fits the screen width, with large touch targets.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    box = page.locator("ol.visits .visit-link").first.bounding_box()
    assert box is not None
    assert box["height"] >= 48


def test_carer_checks_in_and_out_from_the_visit_page(page: Page, demo_server: str) -> None:
    sign_in(page, demo_server, DEMO_LOGINS["carer"])
    page.locator("ol.visits li.status-assigned a").first.click()
    expect(page.get_by_role("heading", level=2, name="Adresse")).to_be_visible()
    expect(page.locator('a[href^="geo:"]')).to_be_visible()
    page.get_by_role("button", name="J'arrive").click()
    expect(page.get_by_text("Arrivée enregistrée.")).to_be_visible()
    page.get_by_label("Transmission").fill("Bonne journée, a bien déjeuné.")
    page.get_by_role("button", name="Je pars").click()
    expect(page.get_by_text("Départ enregistré. Merci !")).to_be_visible()
    expect(page.get_by_text("Bonne journée, a bien déjeuné.")).to_be_visible()


def test_every_role_reaches_its_home_page(page: Page, demo_server: str) -> None:
    headings = {"admin": "Planning du", "coordinator": "Planning du", "carer": "Ma journée",
                "recipient": "Vos passages", "family": "Les passages chez"}
    for role, email in DEMO_LOGINS.items():
        page.context.clear_cookies()
        sign_in(page, demo_server, email)
        expect(page.locator("h1").first).to_contain_text(headings[role])


def test_pages_work_without_javascript(browser, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    from tests.e2e.conftest import PHONE

    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    sign_in(page, demo_server, DEMO_LOGINS["carer"])
    expect(page.get_by_role("heading", name="Ma journée")).to_be_visible()
    page.locator("ol.visits li a").first.click()
    expect(page.get_by_role("heading", level=2, name="Tâches")).to_be_visible()
    context.close()
