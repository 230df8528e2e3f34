"""Two-factor sign-in in Chromium: staff give a code; anyone may set up an authenticator."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PHONE, demo_code, sign_in
from webapp.auth.twofactor import code_at_step, current_step
from webapp.demo.services import DEMO_LOGINS, DEMO_PASSWORD

pytestmark = pytest.mark.e2e


def test_demo_coordinator_signs_in_with_a_code(page: Page, demo_server: str) -> None:
    page.goto(f"{demo_server}/login")
    page.get_by_label("Adresse e-mail").fill(DEMO_LOGINS["coordinator"])
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_label("Code de vérification").fill("000000")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Code incorrect ou expiré.")).to_be_visible()
    page.get_by_label("Code de vérification").fill(demo_code(DEMO_LOGINS["coordinator"]))
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(re.compile(r"/planning/"))
    # The admin's audit trail is one click away for admins only.
    page.goto(f"{demo_server}/audit/")
    expect(page.get_by_text("Vous n'avez pas accès à cette page.")).to_be_visible()


def test_family_member_sets_up_an_authenticator_then_needs_it(
    page: Page, browser: Browser, demo_server: str
) -> None:
    import pyotp

    email = DEMO_LOGINS["family"]
    sign_in(page, demo_server, email)
    page.goto(f"{demo_server}/mon-compte")
    page.get_by_role("link", name="Activer la double authentification").click()
    qr = page.get_by_alt_text("QR code de la clé de double authentification")
    expect(qr).to_be_visible()
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    secret = page.locator("[data-totp-secret]").inner_text().strip()
    page.get_by_label("Code de vérification").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer").click()
    codes = page.locator("[data-recovery-codes] li")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    expect(page).to_have_url(re.compile(r"/famille/"))

    # On another phone, the password alone no longer opens her account.
    other = browser.new_context(**PHONE)
    try:
        phone = other.new_page()
        phone.goto(f"{demo_server}/login")
        phone.get_by_label("Adresse e-mail").fill(email)
        phone.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        phone.get_by_role("button", name="Se connecter").click()
        expect(phone).to_have_url(re.compile(r"/login/code$"))
        phone.get_by_label("Code de vérification").fill(
            code_at_step(secret, current_step() + 1))
        phone.get_by_role("button", name="Valider").click()
        expect(phone).to_have_url(re.compile(r"/famille/"))
    finally:
        # Optional for families: she turns it off again with her password.
        page.goto(f"{demo_server}/mon-compte")
        page.locator("#off-password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Désactiver la double authentification").click()
        expect(page.get_by_text("Double authentification désactivée.")).to_be_visible()
        other.close()
