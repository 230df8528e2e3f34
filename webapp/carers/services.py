"""Carer operations."""

from __future__ import annotations

from typing import Any

from webapp.audit.services import record
from webapp.carers.models import Carer
from webapp.extensions import db

CARER_FIELDS = ("first_name", "last_name", "phone", "skills", "weekly_hours", "sector_id",
                "home_address", "home_lat", "home_lon", "travel_mode", "vehicle", "active",
                "availability")


def save_carer(carer: Carer, data: dict[str, Any], actor: Any) -> Carer:
    """Apply ``data`` to ``carer`` (new or existing) and audit it."""
    is_new = carer.id is None
    for field in CARER_FIELDS:
        if field in data:
            setattr(carer, field, data[field])
    if is_new:
        db.session.add(carer)
    db.session.flush()
    record(actor, "create" if is_new else "update", "carer", carer.id)
    return carer
