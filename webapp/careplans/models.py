"""Care plans (plans d'aide) and their recurring interventions."""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.clients.models import Client
from webapp.extensions import db
from webapp.i18n import N_

WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
INTERVENTION_KINDS: dict[str, str] = {
    "lever": N_("Lever et toilette"),
    "repas": N_("Repas"),
    "coucher": N_("Coucher"),
    "courses": N_("Courses"),
    "menage": N_("Ménage"),
    "accompagnement": N_("Accompagnement"),
    "transfert": N_("Transfert à deux"),
}


class CarePlan(db.Model):
    """A client's plan d'aide: what help, when, funded from when to when."""

    __tablename__ = "care_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    monthly_hours: Mapped[float | None] = mapped_column(sa.Float)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    client: Mapped[Client] = relationship()
    interventions: Mapped[list[Intervention]] = relationship(
        back_populates="care_plan",
        cascade="all, delete-orphan",
        order_by="Intervention.window_start",
    )


class Intervention(db.Model):
    """A recurring visit of a care plan: weekdays, time window, duration, skills, tasks."""

    __tablename__ = "intervention"
    __table_args__ = (
        sa.CheckConstraint("carers_needed IN (1, 2)", name="carers_needed"),
        sa.CheckConstraint("duration_min > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    care_plan_id: Mapped[int] = mapped_column(sa.ForeignKey("care_plan.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="lever")
    # Monday = 0 ... Sunday = 6, as in date.weekday().
    weekdays: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    window_start: Mapped[time] = mapped_column(sa.Time)
    window_end: Mapped[time] = mapped_column(sa.Time)
    duration_min: Mapped[int] = mapped_column(sa.Integer)
    required_skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    carers_needed: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    tasks: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    care_plan: Mapped[CarePlan] = relationship(back_populates="interventions")

    @property
    def weekdays_label(self) -> str:
        return ", ".join(WEEKDAYS_FR[d] for d in sorted(self.weekdays))
