"""Secrets sealed at rest: the authenticator seed is encrypted in the database.

A copy of the database (a backup, a dump sent for support) must not be enough to produce a
staff member's second factor. The seed is encrypted with Fernet (AES-128-CBC and HMAC-SHA256)
under a key derived from the application's ``SECRET_KEY`` (HKDF-SHA256), so the key never sits
beside the data.

Changing ``SECRET_KEY`` makes the sealed seeds unreadable. They then read as
:data:`UNREADABLE`: no code matches, so a staff member signs in with a recovery code or asks
an administrator to reset their two-factor sign-in; the account never falls back to a password
alone.
"""

from __future__ import annotations

import base64
import logging
from functools import lru_cache

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy.engine import Dialect

log = logging.getLogger(__name__)

#: What a seed sealed under another key reads as: matches no code.
UNREADABLE = ""
# Fernet tokens start with the version byte 0x80, "gAAAAA" in URL-safe base64; base32 seeds
# (A-Z, 2-7) never do.
_TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a password


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"tournee/totp-seed/v1").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _box() -> Fernet:
    return _fernet(str(current_app.config["SECRET_KEY"]))


def seal(value: str) -> str:
    """Return ``value`` encrypted under the application's key."""
    return _box().encrypt(value.encode()).decode("ascii")


def is_sealed(stored: str) -> bool:
    """Tell a sealed value from one stored in clear (before sealing existed)."""
    return stored.startswith(_TOKEN_PREFIX)


def unseal(stored: str) -> str:
    """Return the clear value of a sealed one; a value never sealed is returned as it is."""
    if not is_sealed(stored):
        return stored
    try:
        return _box().decrypt(stored.encode("ascii")).decode()
    except InvalidToken:
        log.warning("a sealed secret does not open with this SECRET_KEY")
        return UNREADABLE


class SealedString(sa.types.TypeDecorator[str]):
    """A string column stored sealed (:func:`seal`) and read in clear (:func:`unseal`)."""

    impl = sa.String(255)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value)
