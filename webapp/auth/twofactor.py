"""Two-factor sign-in with TOTP (RFC 6238) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno

from webapp.auth.models import User
from webapp.timeutil import utcnow

ISSUER = "Tournée"
STEP_S = 30
# Accept the previous and the next 30-second step: phones' clocks drift.
VALID_WINDOW = 1
RECOVERY_CODES = 10


def new_secret() -> str:
    """Return a fresh base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """Return the QR code of ``uri`` as an SVG data: URI (an <img>, no inline script/style)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def current_step(at: float | None = None) -> int:
    """Return the TOTP time step of ``at`` (now by default)."""
    return int((time.time() if at is None else at) // STEP_S)


def code_at_step(secret: str, step: int) -> str:
    """Return the code of ``secret`` for a given step (demo and test helpers use it)."""
    return str(pyotp.TOTP(secret).at(step * STEP_S))


def matching_step(secret: str, code: str, *, after: int | None) -> int | None:
    """Return the step whose code is ``code`` near now and later than ``after``, else None."""
    code = "".join(code.split())
    if not secret or len(code) != 6 or not code.isdigit():
        return None  # an empty secret is one sealed under another key (webapp.auth.sealing)
    now = current_step()
    totp = pyotp.TOTP(secret)
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(str(totp.at(step * STEP_S)), code):
            return step
    return None


def verify_totp(user: User, code: str) -> bool:
    """Check a code of ``user``'s authenticator; a code is accepted once only."""
    if user.totp_secret is None:
        return False
    step = matching_step(user.totp_secret, code, after=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Give ``user`` fresh recovery codes; return them in clear (shown once), keep hashes."""
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    user.recovery_codes = [_hash_code(c) for c in codes]
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Accept one of ``user``'s recovery codes once; it is struck off."""
    digest = _hash_code(code)
    remaining = list(user.recovery_codes or [])
    for stored in remaining:
        if hmac.compare_digest(stored, digest):
            remaining.remove(stored)
            user.recovery_codes = remaining
            return True
    return False


def enable(user: User, secret: str, code: str) -> list[str] | None:
    """Turn on TOTP for ``user`` if ``code`` matches ``secret``; return recovery codes."""
    step = matching_step(secret, code, after=None)
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    return new_recovery_codes(user)


def disable(user: User) -> None:
    """Turn TOTP off (lost phone reset by an admin, or the user's own choice)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = []
