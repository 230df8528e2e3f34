"""Users, roles and login attempts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


class LoginAttempt(db.Model):
    """A failed sign-in, counted for throttling (kept in the database so every worker sees it)."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
