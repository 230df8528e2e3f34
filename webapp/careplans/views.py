"""Care plans of a client: create, add and remove interventions."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.careplans import services
from webapp.careplans.forms import CarePlanForm, InterventionForm
from webapp.careplans.models import CarePlan, Intervention
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.policy import get_org_object, roles_required
from webapp.timeutil import today_paris

bp = Blueprint("careplans", __name__, url_prefix="/plans")
EXPAND_DAYS = 14


@bp.route("/client/<int:client_id>/nouveau", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def create(client_id: int) -> Response:
    """Open a care plan for a client."""
    client = get_org_object(Client, client_id, current_user)
    form = CarePlanForm()
    if request.method == "GET":
        form.starts_on.data = today_paris()
    if form.validate_on_submit():
        plan = CarePlan(organisation_id=client.organisation_id, client_id=client.id,
                        starts_on=form.starts_on.data, ends_on=form.ends_on.data,
                        monthly_hours=form.monthly_hours.data, notes=form.notes.data or "")
        db.session.add(plan)
        db.session.flush()
        record(current_user, "create", "care_plan", plan.id, client_id=client.id)
        db.session.commit()
        return hx_redirect(url_for("careplans.detail", plan_id=plan.id))
    status = 400 if request.method == "POST" else 200
    return render("careplans/new.html", form=form, client=client, status=status)


@bp.route("/<int:plan_id>", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def detail(plan_id: int) -> Response:
    """Show a care plan and add an intervention to it."""
    plan = get_org_object(CarePlan, plan_id, current_user)
    form = InterventionForm()
    if form.validate_on_submit():
        try:
            services.validate_intervention(
                list(form.weekdays.data or []), form.window_start.data, form.window_end.data,
                form.duration_min.data or 0, form.carers_needed.data)
        except services.CarePlanError as exc:
            form.window_end.errors = [*form.window_end.errors, _(str(exc))]
        else:
            intervention = Intervention(
                care_plan_id=plan.id, kind=form.kind.data, weekdays=sorted(form.weekdays.data),
                window_start=form.window_start.data, window_end=form.window_end.data,
                duration_min=form.duration_min.data, required_skills=form.required_skills.data,
                carers_needed=form.carers_needed.data, tasks=form.task_list())
            plan.interventions.append(intervention)
            db.session.flush()
            start = max(today_paris(), plan.starts_on)
            created = services.expand_visits(plan.organisation_id, start,
                                             start + timedelta(days=EXPAND_DAYS))
            record(current_user, "update", "care_plan", plan.id, client_id=plan.client_id,
                   added_intervention=intervention.id)
            db.session.commit()
            flash(_("Intervention ajoutée : %(n)s visites prévues.", n=created), "success")
            return hx_redirect(url_for("careplans.detail", plan_id=plan.id))
    status = 400 if request.method == "POST" else 200
    record(current_user, "read_care_plan", "care_plan", plan.id, client_id=plan.client_id)
    db.session.commit()
    return render("careplans/detail.html", plan=plan, form=form, status=status)


@bp.route("/interventions/<int:intervention_id>/supprimer", methods=["POST"])
@roles_required("coordinator", "admin")
def delete_intervention(intervention_id: int) -> Response:
    """End an intervention: its future open visits are cancelled, the past stays."""
    intervention = db.session.get(Intervention, intervention_id)
    if intervention is None:
        abort(404)
    plan = get_org_object(CarePlan, intervention.care_plan_id, current_user)
    services.end_intervention(intervention, current_user)
    db.session.commit()
    flash(_("Intervention retirée du plan."), "success")
    return hx_redirect(url_for("careplans.detail", plan_id=plan.id))
