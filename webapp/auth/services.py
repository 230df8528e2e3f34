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


class LockedError(Exception):
    """The account is locked after repeated failures; an administrator must unlock it."""


def authenticate(email: str, password: str, remote_addr: str, *, max_failures: int,
                 window_s: int, lockout_after: int = 0) -> User | None:
    """Return the active user for these credentials, recording a failure otherwise.

    Every failure counts against the account (``failed_logins``); at ``lockout_after``
    consecutive failures the account is locked until an administrator unlocks it. A locked
    account is told so only when the right password is given, so the lock does not reveal
    which addresses have accounts.
    """
    from webapp.audit.services import record

    email = email.strip().lower()
    check_throttle(email, remote_addr, max_failures=max_failures, window_s=window_s)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    good = verify_password(user, password) and user is not None
    if good and user is not None and user.locked_at is not None:
        raise LockedError
    if good and user is not None and user.active and user.erased_at is None:
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr))
    if user is not None and not good:
        note_failure(user, lockout_after)
        if user.locked_at is not None and user.failed_logins == lockout_after:
            record(user, "lock", "user", user.id, failures=user.failed_logins)
    return None


def note_failure(user: User, lockout_after: int) -> None:
    """Count a failed password or second-factor code; lock the account at the threshold."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if lockout_after and user.failed_logins >= lockout_after and user.locked_at is None:
        user.locked_at = utcnow()


def signed_in(user: User) -> None:
    """Note a completed sign-in: reset the failure count."""
    user.failed_logins = 0
    user.last_login_at = utcnow()


def unlock(actor: User, user: User) -> None:
    """Unlock an account locked after repeated failures."""
    from webapp.audit.services import record

    if user.role not in CREATABLE_ROLES.get(actor.role, ()):
        raise AccountError(N_("Vous ne pouvez pas modifier ce type de compte."))
    user.locked_at = None
    user.failed_logins = 0
    record(actor, "unlock", "user", user.id)
    db.session.flush()


def reset_two_factor(actor: User, user: User) -> None:
    """Remove a user's authenticator (lost phone); staff enrol again at their next sign-in."""
    from webapp.audit.services import record
    from webapp.auth.twofactor import disable

    if actor.role != "admin" or user.id == actor.id:
        raise AccountError(N_("Seul un autre administrateur peut réinitialiser la double "
                              "authentification."))
    disable(user)
    record(actor, "reset_2fa", "user", user.id)
    db.session.flush()


MIN_PASSWORD_LENGTH = 12
# Who may create which accounts: staff accounts only by an admin.
CREATABLE_ROLES = {
    "admin": ("admin", "coordinator", "carer", "recipient", "family"),
    "coordinator": ("carer", "recipient", "family"),
}


class AccountError(ValueError):
    """An account that cannot be created or changed as asked."""


def _common_passwords() -> frozenset[str]:
    global _COMMON
    if _COMMON is None:
        from webapp.config import PROJECT_ROOT

        path = PROJECT_ROOT / "data" / "common-passwords.txt"
        _COMMON = frozenset(line.strip().lower() for line in path.read_text().splitlines()
                            if line.strip() and not line.startswith("#"))
    return _COMMON


_COMMON: frozenset[str] | None = None


def check_password_rules(password: str, *, email: str = "", names: tuple[str, ...] = ()) -> None:
    """Refuse passwords that are short, of one kind, common, or made of the e-mail or name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("Le mot de passe doit compter au moins 12 caractères."))
    if password.isdigit() or password.isalpha():
        raise AccountError(N_("Mélangez lettres et chiffres ou signes dans le mot de passe."))
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) <= 3:
        raise AccountError(N_("Ce mot de passe est trop courant : choisissez-en un autre."))
    email = email.strip().lower()
    local = email.split("@")[0]
    letters = "".join(c for c in lowered if c.isalpha())
    words = ["".join(c for c in p.lower() if c.isalpha()) for p in (local, *names)]
    words.append("".join(words[1:]))  # first and last name together
    # The e-mail itself, or the e-mail's name part or the person's name padded with digits or
    # signs ("Dupont2026!!"): guessed first by anyone who knows the person.
    if (email and email in lowered) or (len(local) >= 6 and local in lowered) or any(
            len(w) >= 3 and letters == w for w in words):
        raise AccountError(N_("Le mot de passe ne doit pas reprendre l'adresse e-mail ni le "
                              "nom."))


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
    check_password_rules(password, email=email, names=(first_name, last_name))
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
    check_password_rules(new, email=user.email, names=(user.first_name, user.last_name))
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    record(user, "change_password", "user", user.id)
    db.session.flush()
