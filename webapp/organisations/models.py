"""Organisation and Sector models."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow


class Organisation(db.Model):
    """A home-care service (SAAD); the tenant boundary."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    km_allowance_eur: Mapped[float] = mapped_column(sa.Float, default=0.38)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sectors: Mapped[list[Sector]] = relationship(back_populates="organisation")


class Sector(db.Model):
    """A geographic sector run by a coordinator."""

    __tablename__ = "sector"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))

    organisation: Mapped[Organisation] = relationship(back_populates="sectors")
