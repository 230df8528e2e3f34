"""Users, roles and login attempts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.sealing import SealedString
from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.organisations.models import Organisation

ROLES = ("admin", "coordinator", "carer", "recipient", "family")
STAFF_ROLES = ("admin", "coordinator")


class User(UserMixin, db.Model):
    """Anyone who signs in: staff, carers, care recipients and their families."""

    __tablename__ = "user"
    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr")
    active: Mapped[bool] = mapped_column(default=True)
    # A recipient's account points at their own client record.
    client_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("client.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Two-factor sign-in (TOTP, RFC 6238): the shared secret (sealed at rest), set once
    # enrolment is confirmed; the last time step accepted, so a code cannot be replayed;
    # hashes of recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(SealedString())
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    recovery_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default="[]")
    # Lockout: consecutive failures since the last success; locked until an admin unlocks.
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the account was anonymised (GDPR erasure): it can never sign in again.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None and self.totp_enabled_at is not None

    @property
    def two_factor_required(self) -> bool:
        """Staff see every client's data: they must use a second factor."""
        return self.role in STAFF_ROLES


class LoginAttempt(db.Model):
    """A failed sign-in, counted for throttling (kept in the database so every worker sees it)."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
