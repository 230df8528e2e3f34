"""The carer's day and visit page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from webapp.audit.services import record_read
from webapp.carers.services import active_carer_choices
from webapp.extensions import csrf, db
from webapp.htmx import hx_redirect, render
from webapp.policy import carer_of, get_visible_visit, may_see_access_notes, roles_required
from webapp.timeutil import parse_device_time, to_paris, today_paris
from webapp.visits import services
from webapp.visits.forms import AssignForm, CancelForm, CheckInForm, CheckOutForm, NoteForm
from webapp.visits.models import OPEN_STATUSES, OutboxRecord

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
    travel = services.travel_minutes(carer, visits) if carer else {}
    response = render("visits/today.html", visits=visits, day=day, carer=carer, travel=travel)
    # Audited after rendering, in a transaction of its own: one short INSERT.
    record_read(current_user, "read_day", "carer", carer.id if carer else None,
                day=day.isoformat())
    return response


def _checkout_form(visit) -> CheckOutForm:  # type: ignore[no-untyped-def]
    form = CheckOutForm()
    form.tasks_done.choices = [(t, t) for t in visit.tasks]
    if request.method == "GET":
        form.tasks_done.data = list(visit.tasks_done)
        form.note.data = visit.carer_note
    return form


def _assign_form(visit) -> AssignForm:  # type: ignore[no-untyped-def]
    """The coordinator's form to (re)assign an open visit, prefilled with its carers."""
    form = AssignForm(formdata=None)
    form.set_carer_choices(active_carer_choices(visit.organisation_id))
    ids = [c.id for c in visit.carers] + [0, 0]
    form.carer_1.data, form.carer_2.data = ids[0], ids[1]
    form.start.data = to_paris(visit.planned_start).time() if visit.planned_start else None
    return form


def render_visit_page(visit, status: int = 200, **forms) -> Response:  # type: ignore[no-untyped-def]
    """Render the visit page (or its actions fragment), with forms carrying errors if given."""
    context = {
        "visit": visit,
        "client": visit.client,
        "show_access_notes": may_see_access_notes(current_user, visit.client, visit=visit),
        **forms,
    }
    if current_user.role == "carer" and visit.status in (*OPEN_STATUSES, "in_progress"):
        # The only forms a carer's page shows, and only until she has left.
        context.setdefault("check_in_form", CheckInForm())
        context.setdefault("check_out_form", _checkout_form(visit))
    if current_user.is_staff:
        context["flags"] = services.flagged_outbox_records(visit.organisation_id,
                                                           visit_id=visit.id)
    if current_user.is_staff and visit.is_open:
        context.setdefault("assign_form", _assign_form(visit))
        context["cancel_form"] = CancelForm(formdata=None)
    return render("visits/detail.html", "visits/_actions.html", status=status, **context)


@bp.route("/visites/<int:visit_id>")
@roles_required("carer", "coordinator", "admin")
def detail(visit_id: int) -> Response:
    """Show one visit: client, address, access notes, tasks, check-in/out."""
    visit = get_visible_visit(current_user, visit_id)
    response = render_visit_page(visit)
    # Audited after rendering, as for the day.
    record_read(current_user, "read_visit", "visit", visit.id, client_id=visit.client_id)
    return response


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
    if request.form.get("idempotency_key"):
        return _keyed_form_post(visit_id, "check_in")
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
    if request.form.get("idempotency_key"):
        return _keyed_form_post(visit_id, "check_out")
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
    if request.form.get("idempotency_key"):
        return _keyed_form_post(visit_id, "note")
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


# ----------------------------------------------------------------------------- phone outbox
# A phone sends each action with a key it made (crypto.randomUUID): the same key is
# applied once, whether it comes as the form post itself or as a replay from the outbox.
KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
OUTBOX_FORMS: dict[str, Any] = {"check_in": CheckInForm, "check_out": CheckOutForm,
                                "note": NoteForm}
FORM_NAMES = {"check_in": "check_in_form", "check_out": "check_out_form", "note": "note_form"}


def _ok_message(action: str) -> str:
    return {"check_in": _("Arrivée enregistrée."), "check_out": _("Départ enregistré. Merci !"),
            "note": _("Transmission enregistrée.")}[action]


@dataclass
class OutboxResult:
    """What a keyed action gave: an HTTP status and a JSON-able body."""

    status: int
    body: dict[str, Any]
    visit: Any = None
    form: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _result_body(row: OutboxRecord, *, duplicate: bool) -> dict[str, Any]:
    reasons = [_(line) for line in row.message.splitlines() if line]
    if row.outcome == "applied":
        message = _ok_message(row.action)
    else:
        message = _("Enregistré et signalé à la coordination : %(reason)s",
                    reason=" ".join(reasons))
    return {"key": row.key, "outcome": row.outcome, "duplicate": duplicate,
            "flagged": row.flagged, "visit_id": row.visit_id, "action": row.action,
            "message": message}


def _apply_outbox(visit_id: int, action: str, formdata: Any, *, csrf_check: bool) -> OutboxResult:
    """Store and apply one keyed carer action, once; a repeat gets the stored result."""
    key = (formdata.get("idempotency_key") or "").strip()
    if not KEY_RE.match(key):
        return OutboxResult(400, {"error": "invalid", "message": _("Clé d'envoi invalide.")})
    found = services.visit_for_outbox(current_user, visit_id)
    if found is None:
        return OutboxResult(404, {"error": "not_found", "message": _("Page introuvable.")})
    visit, still_assigned = found
    existing = services.find_outbox_record(key)
    if existing is not None:
        if existing.user_id != current_user.id:
            return OutboxResult(403, {"error": "forbidden", "message": _("Clé d'envoi invalide.")})
        return OutboxResult(200, _result_body(existing, duplicate=True), visit)
    form = OUTBOX_FORMS[action](formdata=formdata, meta={"csrf": csrf_check})
    if action == "check_out":
        form.tasks_done.choices = [(t, t) for t in visit.tasks]
    if not form.validate():
        errors = [e for errs in form.errors.values() for e in errs if isinstance(e, str)]
        return OutboxResult(400, {"error": "invalid", "message": " ".join(errors) or
                                  _("La demande est invalide."), "fields": form.errors},
                            visit, form)
    payload: dict[str, Any] = {}
    for name in ("lat", "lon", "note", "tasks_done"):
        if hasattr(form, name) and getattr(form, name).data not in (None, ""):
            payload[name] = getattr(form, name).data

    def apply(at: datetime) -> object:
        if action == "check_in":
            return services.check_in(visit, current_user, at=at, lat=form.lat.data,
                                     lon=form.lon.data)
        if action == "check_out":
            return services.check_out(visit, current_user, at=at, lat=form.lat.data,
                                      lon=form.lon.data, tasks_done=form.tasks_done.data or [],
                                      note=form.note.data or "")
        return services.save_note(visit, current_user, form.note.data or "")

    try:
        row, created = services.record_outbox_action(
            visit, current_user, key=key, action=action,
            captured_at=parse_device_time(formdata.get("captured_at")), payload=payload,
            still_assigned=still_assigned, apply=apply)
    except services.OutboxKeyError:
        db.session.rollback()
        return OutboxResult(403, {"error": "forbidden", "message": _("Clé d'envoi invalide.")})
    body = _result_body(row, duplicate=not created)
    db.session.commit()
    return OutboxResult(200, body, visit)


def _keyed_form_post(visit_id: int, action: str) -> Response:
    """A form post carrying a key: apply it once, then show the visit as usual."""
    result = _apply_outbox(visit_id, action, request.form, csrf_check=True)
    if result.status == 404:
        abort(404)
    if result.status == 403:
        abort(403)
    if result.status == 400 and result.form is not None:
        return render_visit_page(result.visit, status=400,
                                 **{FORM_NAMES[action]: result.form})
    if result.status != 200:
        abort(result.status)
    category = "success" if result.body["outcome"] == "applied" else "warning"
    flash(result.body["message"], category)
    return hx_redirect(url_for("visits.detail", visit_id=result.visit.id))


@bp.route("/visites/envoi", methods=["POST"])
@csrf.exempt
def outbox_sync() -> tuple[Response, int]:
    """Receive one record replayed from a phone's outbox (JSON), and answer in JSON.

    Not a form: the service worker sends it long after the page that made it, when its
    CSRF token may be gone. It is protected instead by requiring a JSON body and a custom
    header, which a cross-site page cannot send without a CORS preflight we never allow,
    on top of the SameSite=Lax session cookie.
    """
    if request.headers.get("X-Tournee-Outbox") != "1" or not request.is_json:
        return jsonify(error="invalid", message=_("La demande est invalide.")), 400
    if not current_user.is_authenticated:
        return jsonify(error="signed_out", message=_("Reconnectez-vous pour envoyer.")), 401
    if current_user.role != "carer":
        return jsonify(error="forbidden", message=_("Vous n'avez pas accès à cette page.")), 403
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or data.get("action") not in (*OUTBOX_FORMS, "observation"):
        return jsonify(error="invalid", message=_("La demande est invalide.")), 400
    visit_id = data.get("visit_id")
    fields = data.get("fields") or {}
    if not isinstance(visit_id, int) or not 0 < visit_id < 2**31 or not isinstance(fields, dict):
        return jsonify(error="invalid", message=_("La demande est invalide.")), 400
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((str(name), str(v)) for v in values if v is not None)
    pairs = [p for p in pairs if p[0] not in ("idempotency_key", "captured_at", "csrf_token")]
    pairs += [("idempotency_key", str(data.get("key") or "")),
              ("captured_at", str(data.get("at") or ""))]
    if data["action"] == "observation":
        # The observation form keeps its own key (one row per visit and carer); imported
        # here because observations depend on visits, not the other way round.
        from webapp.observations.views import replay_observation

        status, body = replay_observation(visit_id, MultiDict(pairs))
        return jsonify(body), status
    result = _apply_outbox(visit_id, data["action"], MultiDict(pairs), csrf_check=False)
    return jsonify(result.body), result.status
