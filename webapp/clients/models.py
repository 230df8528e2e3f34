"""Care recipients (bénéficiaires), their carers and their families."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.i18n import N_
from webapp.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.auth.models import User
    from webapp.carers.models import Carer
    from webapp.organisations.models import Sector

FUNDING: dict[str, str] = {
    "apa": N_("APA (Conseil départemental)"),
    "pch": N_("PCH"),
    "caisse_retraite": N_("Caisse de retraite"),
    "prive": N_("Privé"),
}
GEOCODE_STATUSES: dict[str, str] = {
    "pending": N_("À géolocaliser"),
    "found": N_("Trouvée (Base Adresse Nationale)"),
    "manual": N_("Position saisie à la main"),
    "not_found": N_("Adresse introuvable"),
}

client_usual_carer = sa.Table(
    "client_usual_carer",
    db.metadata,
    sa.Column("client_id", sa.ForeignKey("client.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("carer_id", sa.ForeignKey("carer.id", ondelete="CASCADE"), primary_key=True),
)
client_refused_carer = sa.Table(
    "client_refused_carer",
    db.metadata,
    sa.Column("client_id", sa.ForeignKey("client.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("carer_id", sa.ForeignKey("carer.id", ondelete="CASCADE"), primary_key=True),
)


class Client(db.Model):
    """A person receiving care at home."""

    __tablename__ = "client"
    __table_args__ = (sa.CheckConstraint("gir BETWEEN 1 AND 6", name="gir_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    sector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sector.id"), index=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100), index=True)
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    sex: Mapped[str] = mapped_column(sa.String(1), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    address: Mapped[str] = mapped_column(sa.String(300))
    postcode: Mapped[str] = mapped_column(sa.String(10), default="")
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    geocode_status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    # Door codes and key boxes: shown only to the carers of the client's visits.
    access_notes: Mapped[str] = mapped_column(sa.Text, default="")
    gir: Mapped[int] = mapped_column(sa.SmallInteger, default=4)
    funding: Mapped[str] = mapped_column(sa.String(20), default="apa")
    living_alone: Mapped[bool] = mapped_column(default=True)
    # Risk profile read by the fall and decline models (risk.Person).
    walking_aid: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    n_medicines: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    n_psychotropics: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    antiepileptics: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    cognitive_impairment: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    parkinson: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    incontinence: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    vertigo: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sector: Mapped[Sector | None] = relationship()
    usual_carers: Mapped[list[Carer]] = relationship(secondary=client_usual_carer)
    refused_carers: Mapped[list[Carer]] = relationship(secondary=client_refused_carer)
    family_links: Mapped[list[FamilyLink]] = relationship(
        back_populates="client", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_address(self) -> str:
        return ", ".join(p for p in (self.address, f"{self.postcode} {self.city}".strip()) if p)


class FamilyLink(db.Model):
    """A family user allowed to follow a client, with the consents the client gave."""

    __tablename__ = "family_link"
    __table_args__ = (sa.UniqueConstraint("client_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    relationship_label: Mapped[str] = mapped_column(sa.String(60), default="")
    consent_share_notes: Mapped[bool] = mapped_column(default=False)
    consent_notifications: Mapped[bool] = mapped_column(default=True)
    consent_recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    client: Mapped[Client] = relationship(back_populates="family_links")
    user: Mapped[User] = relationship()
