"""What was erased, when and by whom (ids only: it names no one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow


class Erasure(db.Model):
    """One erasure (GDPR art. 17) or retention-period anonymisation of a client or an account.

    Plain ids and no foreign keys, like the audit trail: the record says that the row with
    this id was emptied of personal data, so nothing (the retention job included) treats the
    pseudonymous shell left for accounting as a person again.
    """

    __tablename__ = "gdpr_erasure"
    __table_args__ = (sa.UniqueConstraint("subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.Integer)
    subject_type: Mapped[str] = mapped_column(sa.String(10))  # "client" or "user"
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(20))  # "request" or "retention"
    erased_by_id: Mapped[int | None] = mapped_column(sa.Integer)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
