"""The administrator's view of the audit trail: search, filter, export."""

from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, Response, request
from flask_login import current_user

from webapp.audit import services
from webapp.auth.models import User
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.htmx import render
from webapp.policy import roles_required
from webapp.timeutil import to_paris

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 200


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return None


def _query() -> services.AuditQuery:
    return services.AuditQuery(
        organisation_id=current_user.organisation_id, user_id=_int("user"),
        client_id=_int("client"), action=request.args.get("action", "")[:40],
        object_type=request.args.get("object", "")[:40], day_from=_day("from"),
        day_to=_day("to"))


def _names() -> tuple[dict[int, str], dict[int, str]]:
    org = current_user.organisation_id
    users = {u.id: u.full_name for u in db.session.scalars(
        sa.select(User).where(User.organisation_id == org))}
    clients = {c.id: c.full_name for c in db.session.scalars(
        sa.select(Client).where(Client.organisation_id == org))}
    return users, clients


@bp.route("/")
@roles_required("admin")
def index() -> Response:
    """Search the organisation's audit trail (htmx refreshes the results as filters change)."""
    query = _query()
    events = services.search(query, limit=PAGE)
    users, clients = _names()
    services.record(current_user, "search_audit", "audit_event", None,
                    filters={k: str(v) for k, v in vars(query).items()
                             if v not in (None, "") and k != "organisation_id"})
    db.session.commit()
    return render("audit/index.html", "audit/_results.html", events=events, query=query,
                  users=users, clients=clients,
                  actions=services.known_actions(current_user.organisation_id), limit=PAGE,
                  args=request.args)


@bp.route("/export.csv")
@roles_required("admin")
def export() -> Response:
    """Download the events matching the filters as CSV (UTF-8, semicolons for French Excel)."""
    query = _query()
    users, clients = _names()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["id", "at_paris", "user_id", "user", "action", "object_type", "object_id",
                     "client_id", "client", "remote_addr", "details", "hash"])
    for e in services.search(query, limit=None):
        writer.writerow([e.id, to_paris(e.at).isoformat(timespec="seconds"), e.user_id or "",
                         users.get(e.user_id or 0, ""), e.action, e.object_type,
                         e.object_id or "", e.client_id or "", clients.get(e.client_id or 0, ""),
                         e.remote_addr, services.details_text(e.details), e.hash])
    services.record(current_user, "export_audit", "audit_event", None)
    db.session.commit()
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="journal-audit.csv"'
    return response
