"""The family portal in Debian's Chromium: only the family's own relative, accessible."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import AXE, PHONE, axe_violations, demo_site, sign_in
from webapp.demo.services import DEMO_LOGINS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def family_site(make_database: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[str, Any]]:
    with demo_site(make_database, tmp_path_factory.mktemp("family")) as server:
        yield server.url, server.app


def _clients(app: Any) -> tuple[str, str, list[str]]:
    """Return the family's relative, the note shared about her, and every other client."""
    from webapp.auth.models import User
    from webapp.clients.models import Client, FamilyLink
    from webapp.extensions import db
    from webapp.timeutil import today_paris, utcnow
    from webapp.visits.models import Visit

    with app.app_context():
        family = db.session.scalars(sa.select(User).where(
            User.email == DEMO_LOGINS["family"])).one()
        link = db.session.scalars(sa.select(FamilyLink).where(
            FamilyLink.user_id == family.id)).one()
        relative = db.session.get(Client, link.client_id)
        assert relative is not None
        # A visit done today with a note: the relative consented to share notes.
        visit = db.session.scalars(sa.select(Visit).where(
            Visit.client_id == relative.id, Visit.day == today_paris())).first()
        assert visit is not None
        visit.status, visit.carer_note = "done", "A fait une belle promenade au jardin."
        visit.check_in_at = visit.planned_start or utcnow()
        visit.check_out_at = visit.check_in_at
        db.session.commit()
        # (The demo may give two people the same name: only other names can tell a leak.)
        others = [c.full_name for c in db.session.scalars(sa.select(Client).where(
            Client.id != relative.id)) if c.full_name != relative.full_name]
        name = relative.full_name
        db.session.remove()
    return name, "A fait une belle promenade au jardin.", others


@pytest.mark.skipif(not AXE.exists(), reason="npm ci installs axe-core (make test does)")
def test_family_portal_shows_only_their_relative_with_no_axe_violation(
        browser: Browser, family_site: tuple[str, Any]) -> None:
    base, app = family_site
    relative, note, others = _clients(app)
    context = browser.new_context(bypass_csp=True, **PHONE)
    page = context.new_page()
    sign_in(page, base, DEMO_LOGINS["family"])
    expect(page).to_have_url(f"{base}/famille/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Les passages chez {relative}")
    body = page.locator("main").inner_text()
    assert len(others) > 50
    assert [name for name in others if name in body] == []
    expect(page.get_by_role("heading", name="Prochains passages")).to_be_visible()
    expect(page.get_by_role("heading", name="Passages effectués")).to_be_visible()
    expect(page.get_by_text(f"« {note} »")).to_be_visible()  # shared under consent
    # Who comes (first name only) and around when, "9 h 15" style.
    coming = page.locator("section.upcoming li", has_text=re.compile(r"^\w+ vers \d{1,2} h"))
    expect(coming.first).to_be_visible()
    expect(page.get_by_role("link", name="04 93 00 00 00")).to_have_attribute(
        "href", "tel:0493000000")
    found = {"/famille/": axe_violations(page)}
    for url in ("/notifications/", "/notifications/reglages"):
        page.goto(f"{base}{url}")
        found[url] = axe_violations(page)
    assert found == {url: [] for url in found}
    context.close()
