"""Scores computed by the shipped risk model, and alerts awaiting a coordinator's review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.i18n import N_
from webapp.timeutil import UTCDateTime, utcnow

ALERT_KINDS: dict[str, str] = {"score": N_("Risque élevé"), "change": N_("Changement")}
ALERT_STATUSES: dict[str, str] = {"open": N_("À revoir"), "reviewed": N_("Revue")}
# What the coordinator did; nothing here changes a care plan by itself.
ALERT_ACTIONS: dict[str, str] = {
    "call_family": N_("Appeler la famille"),
    "physio": N_("Demander un bilan de kinésithérapie"),
    "inform_gp": N_("Informer le médecin traitant"),
    "adapt_plan": N_("Adapter le plan d'aide"),
    "nothing": N_("Rien à faire"),
}


class RiskScore(db.Model):
    """A person's risks at one time, with the model's reasons (French) and version."""

    __tablename__ = "risk_score"
    __table_args__ = (sa.Index("ix_risk_score_client_computed", "client_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fall_risk_90d: Mapped[float] = mapped_column(sa.Float)
    decline_risk_90d: Mapped[float] = mapped_column(sa.Float)
    # {"fall": [{"code", "text", "effect", "modifiable"}...], "decline": [...]}
    reasons: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    model_version: Mapped[str] = mapped_column(sa.String(80))
    n_observations: Mapped[int] = mapped_column(sa.Integer, default=0)

    client: Mapped[Client] = relationship()

    @property
    def top_risk(self) -> float:
        return max(self.fall_risk_90d, self.decline_risk_90d)


class RiskAlert(db.Model):
    """A high risk or a change from the person's usual state, reviewed by a person."""

    __tablename__ = "risk_alert"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {tuple(ALERT_KINDS)!r}", name="kind"),
        sa.CheckConstraint(f"status IN {tuple(ALERT_STATUSES)!r}", name="status"),
        sa.CheckConstraint(f"action IS NULL OR action IN {tuple(ALERT_ACTIONS)!r}",
                           name="action"),
        # A change found again by a later run is the same alert.
        sa.UniqueConstraint("client_id", "kind", "item", "detected_at"),
        sa.Index("ix_risk_alert_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("client.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    # "fall" / "decline" for a score alert; the followed item (risk.change) for a change.
    item: Mapped[str] = mapped_column(sa.String(40))
    message: Mapped[str] = mapped_column(sa.String(300))
    # When the change shows in the observations (or the score was computed).
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    score_id: Mapped[int | None] = mapped_column(sa.ForeignKey("risk_score.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    action: Mapped[str | None] = mapped_column(sa.String(20))
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    client: Mapped[Client] = relationship()
    reviewed_by: Mapped[User | None] = relationship()
    score: Mapped[RiskScore | None] = relationship()
