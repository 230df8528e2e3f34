"""The carer's day and visit page."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.policy import carer_of, get_visible_visit, may_see_access_notes, roles_required
from webapp.timeutil import to_paris, today_paris
from webapp.visits import services
from webapp.visits.forms import AssignForm, CancelForm, CheckInForm, CheckOutForm, NoteForm

bp = Blueprint("visits", __name__)


def parse_day(value: str | None) -> date:
    """Parse ``?date=YYYY-MM-DD`` (today when absent), 400 when malformed."""
    if not value:
        return today_paris()
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, description=_("Date invalide : utilisez le format AAAA-MM-JJ."))


@bp.route("/ma-journee")
@roles_required("carer")
def today() -> Response:
    """List the signed-in carer's visits of the day, in order."""
    day = parse_day(request.args.get("date"))
    carer = carer_of(current_user)
    visits = services.carer_day(carer, day) if carer else []
    record(current_user, "read_day", "carer", carer.id if carer else None, day=day.isoformat())
    db.session.commit()
    return render("visits/today.html", visits=visits, day=day, carer=carer)


def _checkout_form(visit) -> CheckOutForm:  # type: ignore[no-untyped-def]
    form = CheckOutForm()
    form.tasks_done.choices = [(t, t) for t in visit.tasks]
    if request.method == "GET":
        form.tasks_done.data = list(visit.tasks_done)
        form.note.data = visit.carer_note
    return form


def _assign_form(visit) -> AssignForm:  # type: ignore[no-untyped-def]
    """The coordinator's form to (re)assign an open visit, prefilled with its carers."""
    import sqlalchemy as sa

    from webapp.carers.models import Carer
    from webapp.extensions import db

    form = AssignForm(formdata=None)
    carers = db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == visit.organisation_id, Carer.active.is_(True))
        .order_by(Carer.last_name)).all()
    form.carer_1.choices = form.carer_2.choices = [(0, "—")] + [(c.id, c.full_name)
                                                                 for c in carers]
    ids = [c.id for c in visit.carers] + [0, 0]
    form.carer_1.data, form.carer_2.data = ids[0], ids[1]
    form.start.data = to_paris(visit.planned_start).time() if visit.planned_start else None
    return form


def render_visit_page(visit, status: int = 200, **forms) -> Response:  # type: ignore[no-untyped-def]
    """Render the visit page (or its actions fragment), with forms carrying errors if given."""
    context = {
        "visit": visit,
        "client": visit.client,
        "show_access_notes": may_see_access_notes(current_user, visit.client),
        "check_in_form": forms.get("check_in_form") or CheckInForm(),
        "check_out_form": forms.get("check_out_form") or _checkout_form(visit),
        "note_form": forms.get("note_form") or NoteForm(note=visit.carer_note),
    }
    if current_user.is_staff and visit.is_open:
        context["assign_form"] = forms.get("assign_form") or _assign_form(visit)
        context["cancel_form"] = CancelForm(formdata=None)
    return render("visits/detail.html", "visits/_actions.html", status=status, **context)


@bp.route("/visites/<int:visit_id>")
@roles_required("carer", "coordinator", "admin")
def detail(visit_id: int) -> Response:
    """Show one visit: client, address, access notes, tasks, check-in/out."""
    visit = get_visible_visit(current_user, visit_id)
    record(current_user, "read_visit", "visit", visit.id, client_id=visit.client_id)
    db.session.commit()
    return render_visit_page(visit)


def _apply(visit, action, form, status_ok_message: str) -> Response:  # type: ignore[no-untyped-def]
    try:
        action()
    except services.VisitError as exc:
        db.session.rollback()
        flash(_(str(exc)), "error")
        return render_visit_page(visit, status=409, **form)
    db.session.commit()
    flash(status_ok_message, "success")
    return hx_redirect(url_for("visits.detail", visit_id=visit.id))


@bp.route("/visites/<int:visit_id>/arrivee", methods=["POST"])
@roles_required("carer")
def check_in(visit_id: int) -> Response:
    """Record the arrival at the client's home."""
    visit = get_visible_visit(current_user, visit_id)
    form = CheckInForm()
    if not form.validate():
        return render_visit_page(visit, status=400, check_in_form=form)
    return _apply(
        visit,
        lambda: services.check_in(visit, current_user, lat=form.lat.data, lon=form.lon.data),
        {"check_in_form": form},
        _("Arrivée enregistrée."),
    )


@bp.route("/visites/<int:visit_id>/depart", methods=["POST"])
@roles_required("carer")
def check_out(visit_id: int) -> Response:
    """Record the departure, the tasks done and the note."""
    visit = get_visible_visit(current_user, visit_id)
    form = _checkout_form(visit)
    if not form.validate():
        return render_visit_page(visit, status=400, check_out_form=form)
    return _apply(
        visit,
        lambda: services.check_out(
            visit, current_user, lat=form.lat.data, lon=form.lon.data,
            tasks_done=form.tasks_done.data or [], note=form.note.data or "",
        ),
        {"check_out_form": form},
        _("Départ enregistré. Merci !"),
    )


@bp.route("/visites/<int:visit_id>/note", methods=["POST"])
@roles_required("carer")
def note(visit_id: int) -> Response:
    """Save the carer's note without ending the visit."""
    visit = get_visible_visit(current_user, visit_id)
    form = NoteForm()
    if not form.validate():
        return render_visit_page(visit, status=400, note_form=form)
    return _apply(
        visit,
        lambda: services.save_note(visit, current_user, form.note.data or ""),
        {"note_form": form},
        _("Transmission enregistrée."),
    )
