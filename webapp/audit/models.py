"""The audit trail: who read or changed what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One audited action. Plain ids, no foreign keys: the trail outlives what it describes."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_org_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.Integer)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None] = mapped_column(sa.Integer)
    client_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
