"""Carer profiles and absences."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.i18n import N_
from webapp.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.auth.models import User
    from webapp.organisations.models import Sector

# Skill codes with their French labels (the UI translates the labels).
SKILLS: dict[str, str] = {
    "toilette": N_("Aide à la toilette"),
    "transferts": N_("Transferts et mobilisation"),
    "repas": N_("Préparation et aide au repas"),
    "courses": N_("Courses"),
    "menage": N_("Entretien du logement"),
    "accompagnement": N_("Accompagnement et sorties"),
    "medicaments": N_("Aide à la prise de médicaments"),
}
TRAVEL_MODES: dict[str, str] = {"car": N_("Voiture"), "bike": N_("Vélo"), "foot": "À pied"}


class Carer(db.Model):
    """An auxiliaire de vie: skills, contract and where her day starts."""

    __tablename__ = "carer"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sector.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    weekly_hours: Mapped[float] = mapped_column(sa.Float, default=35.0)
    # {"0": [["07:00", "13:00"], ["17:00", "20:30"]], ...}: weekday (Monday 0) to shifts.
    availability: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    home_address: Mapped[str] = mapped_column(sa.String(300), default="")
    home_lat: Mapped[float | None] = mapped_column(sa.Float)
    home_lon: Mapped[float | None] = mapped_column(sa.Float)
    travel_mode: Mapped[str] = mapped_column(sa.String(10), default="car")
    vehicle: Mapped[str] = mapped_column(sa.String(100), default="")
    active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User | None] = relationship()
    sector: Mapped[Sector | None] = relationship()
    absences: Mapped[list[Absence]] = relationship(
        back_populates="carer", order_by="Absence.starts_at"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Absence(db.Model):
    """A period when a carer cannot work (sick leave, holiday, training)."""

    __tablename__ = "absence"
    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    carer_id: Mapped[int] = mapped_column(sa.ForeignKey("carer.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    carer: Mapped[Carer] = relationship(back_populates="absences")
