"""Record audit events."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from webapp.audit.models import AuditEvent
from webapp.extensions import db


def record(
    actor: Any,
    action: str,
    object_type: str,
    object_id: int | None = None,
    *,
    client_id: int | None = None,
    organisation_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event for ``actor`` (a User, or None for the system); flush, not commit."""
    remote = (request.remote_addr or "") if has_request_context() else ""
    event = AuditEvent(
        organisation_id=organisation_id if organisation_id is not None
        else getattr(actor, "organisation_id", None),
        user_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        remote_addr=remote,
        details=details,
    )
    db.session.add(event)
    return event
