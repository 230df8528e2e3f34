"""Visits: one intervention on one date, and who does it."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.careplans.models import Intervention
from webapp.carers.models import Carer
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.i18n import N_
from webapp.timeutil import UTCDateTime

VISIT_STATUSES: dict[str, str] = {
    "planned": N_("À attribuer"),
    "assigned": N_("Attribuée"),
    "in_progress": N_("En cours"),
    "done": N_("Terminée"),
    "missed": N_("Manquée"),
    "cancelled": N_("Annulée"),
}
OPEN_STATUSES = ("planned", "assigned")


class Visit(db.Model):
    """One intervention at a client's home on a given date."""

    __tablename__ = "visit"
    __table_args__ = (
        sa.UniqueConstraint("intervention_id", "day"),
        sa.CheckConstraint(f"status IN {tuple(VISIT_STATUSES)!r}", name="status"),
        sa.Index("ix_visit_org_day", "organisation_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    intervention_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intervention.id"))
    day: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(20), default="lever")
    window_start: Mapped[time] = mapped_column(sa.Time)
    window_end: Mapped[time] = mapped_column(sa.Time)
    duration_min: Mapped[int] = mapped_column(sa.Integer)
    required_skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    carers_needed: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    tasks: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(12), default="planned")
    cancel_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_in_lat: Mapped[float | None] = mapped_column(sa.Float)
    check_in_lon: Mapped[float | None] = mapped_column(sa.Float)
    check_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_out_lat: Mapped[float | None] = mapped_column(sa.Float)
    check_out_lon: Mapped[float | None] = mapped_column(sa.Float)
    tasks_done: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    carer_note: Mapped[str] = mapped_column(sa.Text, default="")

    client: Mapped[Client] = relationship()
    intervention: Mapped[Intervention | None] = relationship()
    assignments: Mapped[list[VisitAssignment]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="VisitAssignment.position"
    )

    @property
    def carers(self) -> list[Carer]:
        return [a.carer for a in self.assignments]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class VisitAssignment(db.Model):
    """A carer assigned to a visit (two rows for a two-carer transfer)."""

    __tablename__ = "visit_assignment"
    __table_args__ = (sa.UniqueConstraint("visit_id", "carer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visit.id"), index=True)
    carer_id: Mapped[int] = mapped_column(sa.ForeignKey("carer.id"), index=True)
    position: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    # Travel from the previous stop of this carer's accepted round (the optimiser's road
    # times): ``travel_from_id`` is that stop's visit, ``None`` when she comes from home.
    # Valid only while the previous visit on her day is still that one (see services).
    travel_min: Mapped[int | None] = mapped_column(sa.SmallInteger)
    travel_from_id: Mapped[int | None] = mapped_column(sa.Integer)

    visit: Mapped[Visit] = relationship(back_populates="assignments")
    carer: Mapped[Carer] = relationship()


OUTBOX_ACTIONS = ("check_in", "check_out", "note")
OUTBOX_OUTCOMES = ("applied", "conflict")
OUTBOX_ACTION_LABELS: dict[str, str] = {
    "check_in": N_("Arrivée"),
    "check_out": N_("Départ"),
    "note": N_("Transmission"),
}


class OutboxRecord(db.Model):
    """One carer action sent from a phone, stored once per client-generated key.

    A phone may send the same action several times (lost answers, retries after a
    network failure): the unique key makes the effect happen once, and the stored
    outcome is what every repeat gets back. An action that no longer fits the visit
    (reassigned, cancelled, already checked in) is kept with outcome "conflict" and
    flagged for the coordinator instead of being dropped.
    """

    __tablename__ = "outbox_record"
    __table_args__ = (
        sa.UniqueConstraint("key"),
        sa.CheckConstraint(f"action IN {OUTBOX_ACTIONS!r}", name="action"),
        sa.CheckConstraint(f"outcome IN {OUTBOX_OUTCOMES!r}", name="outcome"),
        sa.Index("ix_outbox_record_org_flagged", "organisation_id", "flagged"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visit.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(12))
    # When the carer acted, as the phone saw it (not when the record reached us).
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, object]] = mapped_column(sa.JSON, default=dict)
    outcome: Mapped[str] = mapped_column(sa.String(12))
    message: Mapped[str] = mapped_column(sa.String(300), default="")
    flagged: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    visit: Mapped[Visit] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
