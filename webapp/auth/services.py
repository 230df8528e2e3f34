"""Authentication: password hashing with Argon2id and sign-in throttling."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from webapp.auth.models import LoginAttempt, User
from webapp.extensions import db
from webapp.timeutil import utcnow

_hasher = PasswordHasher()
# Verifying against this keeps the timing of unknown e-mails the same as of wrong passwords.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class ThrottledError(Exception):
    """Too many failed sign-ins recently."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s)
        self.retry_after_s = retry_after_s


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Check ``password`` against ``user``'s hash in constant-ish time."""
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and bool(user)
    except (VerificationError, InvalidHashError):
        return False


def check_throttle(email: str, remote_addr: str, *, max_failures: int, window_s: int) -> None:
    """Raise ThrottledError when the e-mail or the address failed too often lately."""
    since = utcnow() - timedelta(seconds=window_s)
    for column, value, limit in (
        (LoginAttempt.email, email, max_failures),
        # One address may front a whole office: allow it more failures than one account.
        (LoginAttempt.remote_addr, remote_addr, max_failures * 4),
    ):
        stmt = sa.select(sa.func.count(), sa.func.min(LoginAttempt.at)).where(
            column == value, LoginAttempt.at >= since
        )
        count, oldest = db.session.execute(stmt).one()
        if count >= limit:
            retry = int((oldest + timedelta(seconds=window_s) - utcnow()).total_seconds()) + 1
            raise ThrottledError(max(retry, 1))


def authenticate(email: str, password: str, remote_addr: str, *, max_failures: int,
                 window_s: int) -> User | None:
    """Return the active user for these credentials, recording a failure otherwise."""
    email = email.strip().lower()
    check_throttle(email, remote_addr, max_failures=max_failures, window_s=window_s)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if verify_password(user, password) and user is not None and user.active:
        user.last_login_at = utcnow()
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr))
    return None
