"""The coordinator optimises the demo's next day in the browser, watches progress, accepts; the
carer's day then follows the new plan.

Tomorrow, as a coordinator usually plans: a plan for today starts from the current time, so what
is left of today depends on the clock (late in the evening, nothing), and the test would too.
``tests/integration/test_optimise.py`` covers today's plan from a fixed "now"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import PHONE, demo_site, sign_in
from webapp import tasks
from webapp.demo.services import DEMO_LOGINS
from webapp.timeutil import today_paris

pytestmark = pytest.mark.e2e
TABLET = {"viewport": {"width": 1024, "height": 1366}, "locale": "fr-FR",
          "timezone_id": "Europe/Paris"}


@pytest.fixture(scope="module")
def queued_server(make_database: Any, road_cache: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the demo with a real background worker, as in production (no immediate mode)."""
    with demo_site(make_database, tmp_path_factory.mktemp("rounds"), days=2,
                   HUEY_IMMEDIATE=False, CACHE_DIR=road_cache,
                   ROUTING_TIME_LIMIT_S=6.0) as server:
        tasks.bind_worker_app(server.app)
        consumer = tasks.huey.create_consumer(workers=1, worker_type="thread", periodic=False)
        consumer.start()
        try:
            yield server.url
        finally:
            consumer.stop(graceful=True)
            tasks.huey.immediate = True


def test_coordinator_optimises_accepts_and_the_carer_day_follows(
    browser: Browser, queued_server: str
) -> None:
    coordinator = browser.new_context(**TABLET)
    page = coordinator.new_page()
    sign_in(page, queued_server, DEMO_LOGINS["coordinator"])
    tomorrow = (today_paris() + timedelta(days=1)).isoformat()
    page.goto(f"{queued_server}/planning/?date={tomorrow}")
    page.get_by_role("button", name="Optimiser la journée").click()
    # The page polls while the worker computes: the progress bar shows first.
    expect(page.locator("progress#run-progress")).to_be_visible()
    expect(page.get_by_role("button", name="Accepter ce planning")).to_be_visible(
        timeout=60_000)
    expect(page.locator("footer")).to_contain_text("© OpenStreetMap contributors")
    expect(page.locator("#round-map .leaflet-control-attribution")).to_contain_text(
        "OpenStreetMap contributors")
    # No map background here (offline): the page says so, and the list below stays complete.
    expect(page.get_by_text("Fond de carte indisponible")).to_be_visible()
    # The demo carer's proposed route, in order.
    planned = []
    travel: dict[str, str] = {}
    for route in page.locator("details.route", has_text="Marie Lefebvre").all():
        route.locator("summary").click()  # one route per shift (morning, evening)
        for text in route.locator("ol li").all_inner_texts():
            if "pause" in text:
                continue
            m = re.match(r"(\d\d:\d\d).*· (\d+) min de trajet", text)
            assert m, text
            planned.append(m.group(1))
            travel[m.group(1)] = m.group(2)
    assert planned
    page.get_by_role("button", name="Accepter ce planning").click()
    expect(page.get_by_text("Planning appliqué")).to_be_visible()
    coordinator.close()

    carer = browser.new_context(**PHONE)
    phone = carer.new_page()
    sign_in(phone, queued_server, DEMO_LOGINS["carer"])
    phone.goto(f"{queued_server}/ma-journee?date={tomorrow}")
    shown = phone.locator("ol.visits .time").all_inner_texts()
    assert shown == sorted(shown)
    assert set(planned) <= set(shown)
    # Travel minutes between stops come from the accepted plan.
    minutes = {}
    for item in phone.locator("ol.visits li").all():
        line = item.locator("p.travel")
        if line.count():
            minutes[item.locator(".time").inner_text()] = line.get_attribute("data-travel-min")
    assert minutes
    assert all(travel.get(at) == m for at, m in minutes.items())
    first = phone.locator("ol.visits li").first.locator("p.travel")
    if first.count():  # the day's first visit, when planned by the optimiser, is from home
        expect(first).to_contain_text("depuis le domicile")
    carer.close()
