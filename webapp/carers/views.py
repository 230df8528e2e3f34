"""Carer list and form."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.carers import services
from webapp.carers.forms import CarerForm
from webapp.carers.models import Carer
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.organisations.models import Sector
from webapp.policy import get_org_object, roles_required

bp = Blueprint("carers", __name__, url_prefix="/intervenantes")


@bp.route("/")
@roles_required("coordinator", "admin")
def index() -> Response:
    """List the organisation's carers."""
    carers = db.session.scalars(
        sa.select(Carer).where(Carer.organisation_id == current_user.organisation_id)
        .order_by(Carer.active.desc(), Carer.last_name)
    ).all()
    return render("carers/index.html", carers=carers)


def _sectors(form: CarerForm) -> None:
    sectors = db.session.scalars(
        sa.select(Sector).where(Sector.organisation_id == current_user.organisation_id)).all()
    form.sector_id.choices = [(0, "—")] + [(s.id, s.name) for s in sectors]


def _edit(carer: Carer, is_new: bool) -> Response:
    form = CarerForm(obj=None if is_new else carer)
    _sectors(form)
    if request.method == "GET" and not is_new:
        form.sector_id.data = carer.sector_id or 0
        for day in range(7):
            shifts = carer.availability.get(str(day), [])
            getattr(form, f"avail_{day}").data = ", ".join(f"{a}-{b}" for a, b in shifts)
    if form.validate_on_submit():
        data = {f: getattr(form, f).data for f in services.CARER_FIELDS if hasattr(form, f)}
        data["sector_id"] = data["sector_id"] or None
        data["availability"] = form.availability()
        data["phone"] = (data["phone"] or "").strip()
        data["home_address"] = (data["home_address"] or "").strip()
        data["vehicle"] = (data["vehicle"] or "").strip()
        services.save_carer(carer, data, current_user)
        db.session.commit()
        flash(_("Intervenante enregistrée."), "success")
        return hx_redirect(url_for("carers.index"))
    status = 400 if request.method == "POST" else 200
    return render("carers/form.html", form=form, carer=None if is_new else carer, status=status)


@bp.route("/nouvelle", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def create() -> Response:
    """Create a carer."""
    return _edit(Carer(organisation_id=current_user.organisation_id), is_new=True)


@bp.route("/<int:carer_id>/modifier", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def edit(carer_id: int) -> Response:
    """Edit a carer."""
    return _edit(get_org_object(Carer, carer_id, current_user), is_new=False)
