"""Carer operations."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

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


def active_carer_choices(organisation_id: int) -> list[tuple[int, str]]:
    """Return the (id, name) choices of an organisation's active carers, "—" first."""
    carers = db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == organisation_id, Carer.active.is_(True))
        .order_by(Carer.last_name, Carer.first_name)).all()
    return [(0, "—")] + [(c.id, c.full_name) for c in carers]
