"""The coordinator's day board, manual assignment, cancellation and absences."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.carers.forms import AbsenceForm
from webapp.carers.models import Absence, Carer
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.organisations.models import Sector
from webapp.policy import get_org_object, roles_required
from webapp.rounds import services
from webapp.timeutil import PARIS, paris_datetime, utcnow
from webapp.visits import services as visit_services
from webapp.visits.forms import AssignForm, CancelForm
from webapp.visits.models import Visit
from webapp.visits.views import parse_day, render_visit_page

bp = Blueprint("rounds", __name__, url_prefix="/planning")


def _carer_choices(form: AssignForm) -> None:
    carers = db.session.scalars(
        sa.select(Carer).where(Carer.organisation_id == current_user.organisation_id,
                               Carer.active.is_(True)).order_by(Carer.last_name)).all()
    choices = [(0, "—")] + [(c.id, c.full_name) for c in carers]
    form.carer_1.choices = choices
    form.carer_2.choices = choices


def _board(status: int = 200, forms: dict[int, AssignForm] | None = None) -> Response:
    day = parse_day(request.values.get("date"))
    sector_id = request.values.get("sector", type=int)
    board = services.day_board(current_user.organisation_id, day, sector_id)
    sectors = db.session.scalars(
        sa.select(Sector).where(Sector.organisation_id == current_user.organisation_id)).all()
    assign_forms = forms or {}
    for visit in board.unassigned:
        if visit.id not in assign_forms:
            form = AssignForm(formdata=None)
            _carer_choices(form)
            assign_forms[visit.id] = form
    return render("rounds/board.html", board=board, sectors=sectors, sector_id=sector_id,
                  assign_forms=assign_forms, cancel_form=CancelForm(formdata=None),
                  hours=range(services.BOARD_START_HOUR, services.BOARD_END_HOUR),
                  start_hour=services.BOARD_START_HOUR, end_hour=services.BOARD_END_HOUR,
                  status=status)


@bp.route("/")
@roles_required("coordinator", "admin")
def board() -> Response:
    """Show the day's visits per carer and the ones left to assign."""
    return _board()


@bp.route("/visites/<int:visit_id>/attribuer", methods=["POST"])
@roles_required("coordinator", "admin")
def assign(visit_id: int) -> Response:
    """Assign a visit by hand."""
    visit = get_org_object(Visit, visit_id, current_user)
    form = AssignForm()
    _carer_choices(form)
    if form.validate():
        ids = [i for i in (form.carer_1.data, form.carer_2.data) if i]
        carers = [get_org_object(Carer, i, current_user) for i in ids]
        start = paris_datetime(visit.day, form.start.data) if form.start.data else None
        try:
            visit_services.assign(visit, carers, current_user, planned_start=start)
        except visit_services.VisitError as exc:
            db.session.rollback()
            form.carer_1.errors = [*form.carer_1.errors, _(str(exc))]
        else:
            db.session.commit()
            flash(_("Intervention attribuée."), "success")
            if request.form.get("origin") == "visit":
                return hx_redirect(url_for("visits.detail", visit_id=visit.id))
            return hx_redirect(url_for("rounds.board", date=visit.day.isoformat()))
    if request.form.get("origin") == "visit":
        return render_visit_page(visit, status=400, assign_form=form)
    return _board(status=400, forms={visit.id: form})


@bp.route("/visites/<int:visit_id>/annuler", methods=["POST"])
@roles_required("coordinator", "admin")
def cancel(visit_id: int) -> Response:
    """Cancel a visit with a reason."""
    visit = get_org_object(Visit, visit_id, current_user)
    form = CancelForm()
    if form.validate():
        try:
            visit_services.cancel(visit, current_user, form.reason.data or "")
        except visit_services.VisitError as exc:
            db.session.rollback()
            flash(_(str(exc)), "error")
            return _board(status=409)
        db.session.commit()
        flash(_("Intervention annulée."), "success")
        return hx_redirect(url_for("rounds.board", date=visit.day.isoformat()))
    flash(_("Indiquez le motif de l'annulation."), "error")
    return _board(status=400)


@bp.route("/absences", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def absences() -> Response:
    """List current and future absences and declare a new one."""
    org = current_user.organisation_id
    form = AbsenceForm()
    carers = db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == org).order_by(Carer.last_name)).all()
    form.carer_id.choices = [(c.id, c.full_name) for c in carers]
    if form.validate_on_submit():
        carer = get_org_object(Carer, form.carer_id.data, current_user)
        starts = form.starts_at.data.replace(tzinfo=PARIS)
        ends = form.ends_at.data.replace(tzinfo=PARIS)
        _absence, released = services.declare_absence(carer, starts, ends, form.reason.data or "",
                                               current_user)
        db.session.commit()
        flash(_("Absence enregistrée : %(n)s intervention(s) à réattribuer.", n=len(released)),
              "success")
        return hx_redirect(url_for("rounds.absences"))
    listed = db.session.scalars(sa.select(Absence).where(
        Absence.organisation_id == org, Absence.ends_at >= utcnow()).order_by(Absence.starts_at)
    ).all()
    status = 400 if request.method == "POST" else 200
    return render("rounds/absences.html", form=form, absences=listed, status=status)
