"""Home page by role and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from webapp.extensions import db

bp = Blueprint("core", __name__)

HOME_BY_ROLE = {
    "carer": "visits.today",
    "coordinator": "rounds.board",
    "admin": "rounds.board",
    "recipient": "family.index",
    "family": "family.index",
}


@bp.route("/")
@login_required
def home() -> Response:
    """Send each role to its own home page."""
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    """Report whether the database answers."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.SQLAlchemyError:
        database = "error"
    status = "ok" if database == "ok" else "error"
    return jsonify(status=status, database=database), 200 if status == "ok" else 503
