"""Upcoming and past visits for a recipient or a family member."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.clients.models import Client, FamilyLink
from webapp.extensions import db
from webapp.htmx import render
from webapp.observations.services import shared_notes
from webapp.organisations.models import Organisation
from webapp.policy import roles_required, visible_clients, visible_visits
from webapp.timeutil import today_paris
from webapp.visits.models import Visit
from webapp.visits.services import visit_sort_key

bp = Blueprint("family", __name__, url_prefix="/famille")
UPCOMING_DAYS = 7
PAST_DAYS = 14


@bp.route("/")
@roles_required("recipient", "family")
def index() -> Response:
    """Show the followed person's coming visits and the visits done."""
    today = today_paris()
    clients = db.session.scalars(visible_clients(current_user).order_by(Client.last_name)).all()
    visits = db.session.scalars(visible_visits(current_user).where(
        Visit.day >= today - timedelta(days=PAST_DAYS),
        Visit.day <= today + timedelta(days=UPCOMING_DAYS))).all()
    # Carers' notes reach a family member only where the person consented to share them.
    consented = set(db.session.scalars(sa.select(FamilyLink.client_id).where(
        FamilyLink.user_id == current_user.id, FamilyLink.consent_share_notes.is_(True))))
    per_client = []
    for client in clients:
        mine = sorted((v for v in visits if v.client_id == client.id), key=visit_sort_key)
        upcoming = [v for v in mine if v.day >= today and v.status in ("planned", "assigned",
                                                                          "in_progress")]
        past = [v for v in reversed(mine) if v.status in ("done", "missed", "cancelled")]
        shares_notes = current_user.role == "recipient" or client.id in consented
        notes = shared_notes(current_user, client.id)
        per_client.append((client, upcoming, past, shares_notes, notes))
        record(current_user, "read_family_view", "client", client.id, client_id=client.id)
    db.session.commit()
    organisation = db.session.get(Organisation, current_user.organisation_id)
    return render("family/index.html", per_client=per_client, organisation=organisation)
