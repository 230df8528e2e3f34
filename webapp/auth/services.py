"""Authentication: password hashing with Argon2id and sign-in throttling."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from webapp.auth.models import LoginAttempt, User
from webapp.extensions import db
from webapp.i18n import N_
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


MIN_PASSWORD_LENGTH = 12
# Who may create which accounts: staff accounts only by an admin.
CREATABLE_ROLES = {
    "admin": ("admin", "coordinator", "carer", "recipient", "family"),
    "coordinator": ("carer", "recipient", "family"),
}


class AccountError(ValueError):
    """An account that cannot be created or changed as asked."""


def check_password_rules(password: str) -> None:
    """Refuse passwords that are too short or all one kind of character."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("Le mot de passe doit compter au moins 12 caractères."))
    if password.isdigit() or password.isalpha():
        raise AccountError(N_("Mélangez lettres et chiffres ou signes dans le mot de passe."))


def create_account(actor: User, *, email: str, password: str, role: str, first_name: str,
                   last_name: str, client_id: int | None = None,
                   locale: str = "fr") -> User:
    """Create a user in ``actor``'s organisation, within what ``actor`` may create."""
    from webapp.audit.services import record

    if role not in CREATABLE_ROLES.get(actor.role, ()):
        raise AccountError(N_("Vous ne pouvez pas créer ce type de compte."))
    email = email.strip().lower()
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email)):
        raise AccountError(N_("Un compte existe déjà avec cette adresse e-mail."))
    check_password_rules(password)
    user = User(organisation_id=actor.organisation_id, email=email, role=role,
                first_name=first_name.strip(), last_name=last_name.strip(),
                password_hash=hash_password(password), client_id=client_id, locale=locale)
    db.session.add(user)
    db.session.flush()
    record(actor, "create", "user", user.id, role=role, client_id=client_id)
    return user


def set_active(actor: User, user: User, active: bool) -> None:
    """Suspend or restore an account (never one's own)."""
    from webapp.audit.services import record

    if user.id == actor.id:
        raise AccountError(N_("Vous ne pouvez pas suspendre votre propre compte."))
    if user.role not in CREATABLE_ROLES.get(actor.role, ()):
        raise AccountError(N_("Vous ne pouvez pas modifier ce type de compte."))
    user.active = active
    record(actor, "activate" if active else "suspend", "user", user.id)
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """Replace ``user``'s password after checking the current one."""
    from webapp.audit.services import record

    if not verify_password(user, current):
        raise AccountError(N_("Le mot de passe actuel est incorrect."))
    check_password_rules(new)
    user.password_hash = hash_password(new)
    record(user, "change_password", "user", user.id)
    db.session.flush()
