"""Who may see what: the one place that scopes queries and checks objects.

Every view that shows client data goes through here. A forbidden object answers 404,
so that its existence is not revealed either.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, g, has_request_context
from flask_login import current_user, login_required

from webapp.auth.models import User
from webapp.carers.models import Carer
from webapp.clients.models import Client, FamilyLink
from webapp.extensions import db
from webapp.timeutil import today_paris
from webapp.visits.models import Visit, VisitAssignment

F = TypeVar("F", bound=Callable[..., Any])

# A carer may open the sheet of a client she visited recently or will visit soon.
CARER_CLIENT_PAST_DAYS = 7
CARER_CLIENT_FUTURE_DAYS = 14


def roles_required(*roles: str) -> Callable[[F], F]:
    """Restrict a view to signed-in users with one of ``roles`` (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def carer_of(user: User) -> Carer | None:
    """Return the carer profile of ``user``, if any (looked up once per request)."""
    if user.role != "carer":
        return None
    known: dict[int, Carer | None] = g.setdefault("carer_of_user", {}) \
        if has_request_context() else {}
    if user.id not in known:
        known[user.id] = db.session.scalar(sa.select(Carer).where(Carer.user_id == user.id))
    return known[user.id]


def remember_carer(user: User, carer: Carer | None) -> None:
    """Note ``user``'s carer profile, loaded with her (the sign-in's user loader)."""
    if has_request_context():
        g.setdefault("carer_of_user", {})[user.id] = carer


def followed_client_ids(user: User) -> list[int]:
    """Return the ids of the clients a recipient or family member may follow."""
    if user.role == "recipient":
        return [user.client_id] if user.client_id else []
    if user.role == "family":
        return list(
            db.session.scalars(sa.select(FamilyLink.client_id).where(FamilyLink.user_id == user.id))
        )
    return []


def visible_visits(user: User) -> sa.Select[tuple[Visit]]:
    """Return a query of the visits ``user`` may see."""
    query = sa.select(Visit).where(Visit.organisation_id == user.organisation_id)
    if user.is_staff:
        return query
    if user.role == "carer":
        carer = carer_of(user)
        if carer is None:
            return query.where(sa.false())
        mine = sa.select(VisitAssignment.visit_id).where(VisitAssignment.carer_id == carer.id)
        return query.where(Visit.id.in_(mine))
    if user.role in ("recipient", "family"):
        return query.where(Visit.client_id.in_(followed_client_ids(user)))
    return query.where(sa.false())


def visible_clients(user: User, *, today: date | None = None) -> sa.Select[tuple[Client]]:
    """Return a query of the clients ``user`` may see."""
    query = sa.select(Client).where(Client.organisation_id == user.organisation_id)
    if user.is_staff:
        return query
    if user.role == "carer":
        carer = carer_of(user)
        if carer is None:
            return query.where(sa.false())
        today = today or today_paris()
        recent = (
            sa.select(Visit.client_id)
            .join(VisitAssignment, VisitAssignment.visit_id == Visit.id)
            .where(
                VisitAssignment.carer_id == carer.id,
                Visit.day >= today - timedelta(days=CARER_CLIENT_PAST_DAYS),
                Visit.day <= today + timedelta(days=CARER_CLIENT_FUTURE_DAYS),
            )
        )
        return query.where(Client.id.in_(recent))
    if user.role in ("recipient", "family"):
        return query.where(Client.id.in_(followed_client_ids(user)))
    return query.where(sa.false())


def may_see_visit(user: User, visit: Visit) -> bool:
    """Whether ``user`` may see ``visit``: :func:`visible_visits` for one loaded visit.

    The two must agree (``tests/integration/test_access_matrix.py`` checks every user against
    every visit of the demo service); this one spares a carer's visit page a filtered query.
    """
    if visit.organisation_id != user.organisation_id:
        return False
    if user.is_staff:
        return True
    if user.role == "carer":
        carer = carer_of(user)
        return carer is not None and any(a.carer_id == carer.id for a in visit.assignments)
    if user.role in ("recipient", "family"):
        return visit.client_id in followed_client_ids(user)
    return False


def get_visible_visit(user: User, visit_id: int) -> Visit:
    """Return the visit if ``user`` may see it, else abort with 404."""
    visit = db.session.get(Visit, visit_id)
    if visit is None or not may_see_visit(user, visit):
        abort(404)
    return visit


def get_visible_client(user: User, client_id: int) -> Client:
    """Return the client if ``user`` may see it, else abort with 404."""
    client = db.session.scalar(visible_clients(user).where(Client.id == client_id))
    if client is None:
        abort(404)
    return client


def get_org_object(model: type[Any], object_id: int, user: User) -> Any:
    """Return a staff-managed object of ``user``'s organisation, else abort with 404."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.organisation_id != user.organisation_id:
        abort(404)
    return obj


def may_see_access_notes(user: User, client: Client, *, visit: Visit | None = None) -> bool:
    """Return whether ``user`` may read the door code and key-box notes of ``client``.

    ``visit``, when given, is a visit of ``client`` already checked visible to ``user``
    (:func:`get_visible_visit`): a carer's own visit inside the window of
    :func:`visible_clients` settles it without another query.
    """
    if user.organisation_id != client.organisation_id:
        return False
    if user.is_staff:
        return True
    if user.role == "carer":
        if visit is not None and visit.client_id == client.id:
            today = today_paris()
            if (today - timedelta(days=CARER_CLIENT_PAST_DAYS) <= visit.day
                    <= today + timedelta(days=CARER_CLIENT_FUTURE_DAYS)):
                return True
        return db.session.scalar(visible_clients(user).where(Client.id == client.id)) is not None
    return False
