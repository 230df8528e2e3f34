"""Optimisation runs: a computed plan for a day, its preview, and who accepted it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow

RUN_STATUSES = ("queued", "running", "done", "failed", "accepted")
#: Seconds beyond its time limit after which a running optimisation is taken for dead (building
#: the road graph from the OSM file on a cold cache takes well under a minute).
STALE_AFTER_S = 300


class RoundPlan(db.Model):
    """One optimisation of a day (and sector): its status, result and acceptance."""

    __tablename__ = "round_plan"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status"),
        sa.Index("ix_round_plan_org_day", "organisation_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    day: Mapped[date] = mapped_column(sa.Date)
    sector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sector.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    step: Mapped[str] = mapped_column(sa.String(80), default="")
    time_limit_s: Mapped[float] = mapped_column(sa.Float, default=10.0)
    # A re-plan moves as little as possible (a cost per change); an optimisation starts afresh.
    replan: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str] = mapped_column(sa.Text, default="")

    def is_stale(self, now: datetime) -> bool:
        """Whether a running optimisation outlived any honest run: its worker died mid-solve
        (``kill -9``, a redeploy), and huey will not run it again."""
        if self.status != "running" or self.started_at is None:
            return False
        return (now - self.started_at).total_seconds() > self.time_limit_s + STALE_AFTER_S
