"""Record, search and verify audit events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request

from webapp.audit.models import AuditEvent
from webapp.extensions import db
from webapp.timeutil import PARIS, utcnow

# Any number will do as long as every writer of the trail uses the same one (PostgreSQL).
_PG_LOCK_KEY = 7_300_612


def payload(*, organisation_id: int | None, user_id: int | None, action: str, object_type: str,
            object_id: int | None, client_id: int | None, at: datetime, remote_addr: str,
            details: dict[str, Any]) -> str:
    """Serialise an event's content canonically: what its hash covers."""
    stamp = at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return json.dumps([organisation_id, user_id, action, object_type, object_id, client_id,
                       stamp, remote_addr, details], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def chain_hash(prev_hash: str, content: str) -> str:
    """Return the hash of an event from the previous hash and its canonical content."""
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


def _event_values(actor: Any, action: str, object_type: str, object_id: int | None,
                  client_id: int | None, organisation_id: int | None,
                  details: dict[str, Any]) -> dict[str, Any]:
    """The bound values of one event's INSERT, its canonical content included."""
    remote = (request.remote_addr or "") if has_request_context() else ""
    values: dict[str, Any] = {
        "organisation_id": organisation_id if organisation_id is not None
        else getattr(actor, "organisation_id", None),
        "user_id": getattr(actor, "id", None),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "client_id": client_id,
        "at": utcnow(),
        "remote_addr": remote[:64],
        "details": json.loads(json.dumps(details, default=str)),
    }
    return {**values, "content": payload(**values)}


def record(
    actor: Any,
    action: str,
    object_type: str,
    object_id: int | None = None,
    *,
    client_id: int | None = None,
    organisation_id: int | None = None,
    **details: Any,
) -> None:
    """Append an audit event for ``actor`` (a User, or None for the system); no commit.

    The previous hash is read inside the INSERT itself, while the database's write lock is
    held (SQLite has one writer; PostgreSQL takes a transaction-scoped advisory lock), so two
    concurrent requests can never chain onto the same row.
    """
    params = _event_values(actor, action, object_type, object_id, client_id, organisation_id,
                           details)
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(_PG_LOCK, {"key": _PG_LOCK_KEY})
    db.session.execute(_insert_statement(dialect), params)


def record_read(
    actor: Any,
    action: str,
    object_type: str,
    object_id: int | None = None,
    *,
    client_id: int | None = None,
    **details: Any,
) -> None:
    """Append the event of a page that only reads, and commit it at once.

    On SQLite the INSERT runs alone, in autocommit, on the request's own connection: the
    database's one write lock is then held only while SQLite executes that statement, which
    it does without Python's GIL, instead of across the Python of a session commit that other
    threads can stretch to milliseconds. Page views are most of the morning's traffic, and
    each is a write. Elsewhere (PostgreSQL), or when the session is already writing, it is
    :func:`record` and a commit of the session.
    """
    bind = db.session.get_bind()
    if bind.dialect.name == "sqlite" and bind.url.database:
        connection = db.session.connection()
        raw = connection.connection.dbapi_connection
        # A session already writing commits the event with its own changes (below).
        if raw is not None and not raw.in_transaction:
            params = _event_values(actor, action, object_type, object_id, client_id, None,
                                   details)
            # On the request's own connection, in autocommit for this one statement. A second
            # connection from the pool would deadlock page views once every pooled
            # connection is held by a request waiting for one more.
            previous = raw.isolation_level
            raw.isolation_level = None
            try:
                connection.execute(_insert_statement("sqlite"), params)
            finally:
                raw.isolation_level = previous
            return
    record(actor, action, object_type, object_id, client_id=client_id, **details)
    db.session.commit()


_COLUMNS = ("organisation_id", "user_id", "action", "object_type", "object_id", "client_id",
            "at", "remote_addr", "details")
# The digest of the previous hash and the content, in each dialect's SQL.
_DIGEST = {
    "postgresql": "encode(sha256(convert_to(prev.hash || :content, 'UTF8')), 'hex')",
    "sqlite": "tournee_sha256(prev.hash || :content)",
}
_PG_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")


def _chained_insert(digest: str) -> sa.TextClause:
    """The chained INSERT as a plain text statement.

    Its cache key is trivial, where the same statement built with the expression language
    cost more CPU than anything else in a page view.
    """
    names = ", ".join(_COLUMNS)
    binds = ", ".join(f":{name}" for name in _COLUMNS)
    return sa.text(
        f"INSERT INTO audit_event ({names}, prev_hash, hash) "  # noqa: S608 - constants
        f"SELECT {binds}, prev.hash, {digest} "
        "FROM (SELECT coalesce((SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1), "
        "'') AS hash) AS prev"
    ).bindparams(sa.bindparam("at", type_=AuditEvent.__table__.c.at.type),
                 sa.bindparam("details", type_=AuditEvent.__table__.c.details.type))


_INSERTS = {dialect: _chained_insert(digest) for dialect, digest in _DIGEST.items()}


def _insert_statement(dialect: str) -> sa.TextClause:
    """The chained INSERT of ``dialect`` (SQLite's for any other)."""
    return _INSERTS.get(dialect, _INSERTS["sqlite"])


@dataclass
class ChainReport:
    """The outcome of checking the whole trail."""

    checked: int
    broken_at: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Recompute every hash in id order; report the first row that does not match."""
    prev = ""
    checked = 0
    last_id = 0
    while True:
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > last_id)
                                  .order_by(AuditEvent.id).limit(batch)).all()
        if not rows:
            return ChainReport(checked, None)
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(checked, row.id, "prev_hash")
            content = payload(organisation_id=row.organisation_id, user_id=row.user_id,
                              action=row.action, object_type=row.object_type,
                              object_id=row.object_id, client_id=row.client_id, at=row.at,
                              remote_addr=row.remote_addr, details=row.details)
            if chain_hash(prev, content) != row.hash:
                return ChainReport(checked, row.id, "hash")
            prev = row.hash
            checked += 1
            last_id = row.id
        db.session.expunge_all()


@dataclass
class AuditQuery:
    """Filters of the admin's audit search; all optional."""

    organisation_id: int
    user_id: int | None = None
    client_id: int | None = None
    action: str = ""
    object_type: str = ""
    day_from: date | None = None
    day_to: date | None = None


def search(query: AuditQuery, *, limit: int | None = 200) -> list[AuditEvent]:
    """Return the organisation's events matching ``query``, newest first."""
    stmt = sa.select(AuditEvent).where(AuditEvent.organisation_id == query.organisation_id)
    if query.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == query.user_id)
    if query.client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == query.client_id)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.object_type:
        stmt = stmt.where(AuditEvent.object_type == query.object_type)
    if query.day_from is not None:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(query.day_from, time(0), PARIS))
    if query.day_to is not None:
        end = datetime.combine(query.day_to + timedelta(days=1), time(0), PARIS)
        stmt = stmt.where(AuditEvent.at < end)
    stmt = stmt.order_by(AuditEvent.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def known_actions(organisation_id: int) -> list[str]:
    """Return the distinct actions recorded for an organisation (the filter's choices)."""
    return list(db.session.scalars(sa.select(AuditEvent.action).distinct().where(
        AuditEvent.organisation_id == organisation_id).order_by(AuditEvent.action)))


def details_text(details: dict[str, Any]) -> str:
    """Render an event's details compactly for a page or a CSV cell."""
    return json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""
