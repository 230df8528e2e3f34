"""The audit trail: who read or changed what, when; append-only and hash-chained."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.timeutil import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One audited action. Plain ids, no foreign keys: the trail outlives what it describes.

    Rows are only ever inserted (database triggers refuse UPDATE and DELETE, see migration
    0006), and each row carries ``hash = sha256(prev_hash + payload)`` where ``prev_hash`` is
    the hash of the row before it: changing or removing a row breaks the chain, which
    ``flask audit verify`` reports.
    """

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
    prev_hash: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    hash: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")


def _sha256_hex(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()


@event.listens_for(Engine, "connect")
def _register_sqlite_sha256(dbapi_connection: Any, connection_record: Any) -> None:
    """Give SQLite a ``tournee_sha256(text)`` function: the chain is computed in the INSERT."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("tournee_sha256", 1, _sha256_hex, deterministic=True)
