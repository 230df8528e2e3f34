"""The coordinator's day board, manual assignment, cancellation and absences."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.carers.forms import AbsenceForm
from webapp.carers.models import Absence, Carer
from webapp.carers.services import active_carer_choices
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.organisations.models import Organisation, Sector
from webapp.policy import carer_of, get_org_object, roles_required
from webapp.rounds import optimise, services, statements
from webapp.rounds.models import RoundPlan
from webapp.rounds.tasks import optimise_day as optimise_task
from webapp.timeutil import PARIS, paris_datetime, to_paris, today_paris, utcnow
from webapp.visits import services as visit_services
from webapp.visits.forms import AssignForm, CancelForm
from webapp.visits.models import Visit
from webapp.visits.views import parse_day, render_visit_page

bp = Blueprint("rounds", __name__, url_prefix="/planning")


def _board(status: int = 200, forms: dict[int, AssignForm] | None = None) -> Response:
    day = parse_day(request.values.get("date"))
    sector_id = request.values.get("sector", type=int)
    board = services.day_board(current_user.organisation_id, day, sector_id)
    sectors = db.session.scalars(
        sa.select(Sector).where(Sector.organisation_id == current_user.organisation_id)).all()
    assign_forms = forms or {}
    choices = active_carer_choices(current_user.organisation_id)  # once, for every form
    for visit in board.unassigned:
        if visit.id not in assign_forms:
            form = AssignForm(formdata=None)
            form.set_carer_choices(choices)
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
    record(current_user, "read_board", "visit", None, day=request.args.get("date", "")[:10])
    db.session.commit()
    return _board()


@bp.route("/visites/<int:visit_id>/attribuer", methods=["POST"])
@roles_required("coordinator", "admin")
def assign(visit_id: int) -> Response:
    """Assign a visit by hand."""
    visit = get_org_object(Visit, visit_id, current_user)
    form = AssignForm()
    form.set_carer_choices(active_carer_choices(current_user.organisation_id))
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
        replan_day = max(to_paris(starts).date(), today_paris())
        return hx_redirect(url_for("rounds.absences", replan=replan_day.isoformat())
                           if released else url_for("rounds.absences"))
    listed = db.session.scalars(sa.select(Absence).where(
        Absence.organisation_id == org, Absence.ends_at >= utcnow()).order_by(Absence.starts_at)
    ).all()
    status = 400 if request.method == "POST" else 200
    replan = request.args.get("replan")
    replan_day = parse_day(replan) if replan else None
    return render("rounds/absences.html", form=form, absences=listed, status=status,
                  replan_day=replan_day)


@bp.route("/optimiser", methods=["POST"])
@roles_required("coordinator", "admin")
def optimise_day() -> Response:
    """Start the optimisation of a day (and sector) in the background."""
    day = parse_day(request.form.get("date"))
    if day < today_paris():
        abort(400, description=_("Une journée passée ne se planifie plus."))
    sector_id = request.form.get("sector", type=int) or None
    if sector_id:
        get_org_object(Sector, sector_id, current_user)
    run = RoundPlan(organisation_id=current_user.organisation_id, day=day, sector_id=sector_id,
                    requested_by_id=current_user.id, replan=request.form.get("replan") == "1",
                    time_limit_s=current_app.config["ROUTING_TIME_LIMIT_S"])
    db.session.add(run)
    db.session.flush()
    record(current_user, "optimise", "round_plan", run.id, day=day.isoformat())
    db.session.commit()
    optimise_task(run.id)
    return hx_redirect(url_for("rounds.run", run_id=run.id))


@bp.route("/optimisations/<int:run_id>")
@roles_required("coordinator", "admin")
def run(run_id: int) -> Response:
    """Show an optimisation: progress while it runs, then the preview to accept."""
    plan = get_org_object(RoundPlan, run_id, current_user)
    if plan.is_stale(utcnow()):
        # Its worker died: say so instead of a progress bar that never ends.
        plan.status, plan.finished_at = "failed", utcnow()
        plan.error = "interrupted: the worker stopped during the calculation"
        db.session.commit()
    elapsed = 0.0
    if plan.started_at is not None:
        elapsed = ((plan.finished_at or utcnow()) - plan.started_at).total_seconds()
    percent = 100 if plan.status in ("done", "accepted", "failed") else min(
        95, 10 + int(85 * elapsed / max(plan.time_limit_s, 1)))
    carers = {c.id: c for c in db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == current_user.organisation_id))}
    result = plan.result or {}
    map_routes = [{"carer": r["carer"], "stops": [[s["lat"], s["lon"], s["client"]]
                                                  for s in r["stops"] if s.get("lat") is not None]}
                  for r in result.get("routes", []) if r["stops"]]
    if plan.status in ("done", "accepted"):  # the preview names clients; progress polls do not
        record(current_user, "read_round_plan", "round_plan", plan.id)
        db.session.commit()
    return render("rounds/run.html", "rounds/_progress.html", plan=plan, percent=percent,
                  carers=carers, result=result, map_routes=map_routes)


@bp.route("/optimisations/<int:run_id>/accepter", methods=["POST"])
@roles_required("coordinator", "admin")
def accept(run_id: int) -> Response:
    """Apply the computed plan to the day."""
    plan = get_org_object(RoundPlan, run_id, current_user)
    try:
        applied, skipped = optimise.accept(plan, current_user)
    except visit_services.VisitError as exc:
        db.session.rollback()
        flash(_(str(exc)), "error")
        return hx_redirect(url_for("rounds.run", run_id=plan.id))
    db.session.commit()
    flash(_("Planning appliqué : %(n)s intervention(s) modifiée(s).", n=applied), "success")
    if skipped:
        flash(_("Laissées telles quelles car elles ont changé entre-temps : %(names)s.",
                names=", ".join(skipped)), "warning")
    return hx_redirect(url_for("rounds.board", date=plan.day.isoformat()))


@bp.route("/trajets/<int:carer_id>")
@roles_required("coordinator", "admin", "carer")
def travel_statement(carer_id: int) -> Response:
    """Show (or export as CSV) a carer's monthly travel statement for payroll."""
    carer = get_org_object(Carer, carer_id, current_user)
    if current_user.role == "carer":
        own = carer_of(current_user)
        if own is None or own.id != carer.id:
            abort(404)
    month = request.args.get("mois") or today_paris().strftime("%Y-%m")
    try:
        year, number = (int(p) for p in month.split("-"))
        first, last = statements.month_bounds(year, number)
    except ValueError:
        abort(400, description=_("Mois invalide : utilisez le format AAAA-MM."))
    organisation = db.session.get(Organisation, carer.organisation_id)
    result = statements.statement(
        carer, first, last, km_rate_eur=organisation.km_allowance_eur,
        pbf=current_app.config["OSM_FILE"], cache_dir=current_app.config["CACHE_DIR"])
    record(current_user, "read_statement", "carer", carer.id, month=month)
    db.session.commit()
    if request.args.get("format") == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["date", "interventions", "trajet_paye_min", "trajet_non_paye_min",
                         "km", "indemnite_eur", "amplitude_min", "pause_due", "pause_ok"])
        for day, figures in result.days:
            writer.writerow([day.isoformat(), figures.visits, round(figures.paid_travel_s / 60),
                             round(figures.unpaid_travel_s / 60), f"{figures.km:.1f}",
                             f"{figures.allowance_eur:.2f}", round(figures.amplitude_s / 60),
                             int(figures.break_owed), int(figures.break_ok)])
        writer.writerow(["total", sum(f.visits for _, f in result.days), result.paid_travel_min,
                         "", f"{result.km:.1f}", f"{result.allowance_eur:.2f}", "", "", ""])
        out.write("# Distances : © OpenStreetMap contributors (ODbL)\n")
        response = make_response(out.getvalue())
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = (
            f'attachment; filename="trajets-{carer.last_name}-{month}.csv"')
        return response
    return render("rounds/statement.html", statement=result, month=month,
                  km_rate=organisation.km_allowance_eur)
