"""The observation form of a visit: carers fill it in, staff read it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.clients.models import FamilyLink
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.observations import services
from webapp.observations.forms import ObservationForm
from webapp.observations.models import (
    CONFUSION,
    DRINKS,
    FALLS,
    MOBILITY,
    MOODS,
    REPORTED,
    Observation,
)
from webapp.policy import carer_of, get_visible_visit, roles_required
from webapp.timeutil import parse_device_time

bp = Blueprint("observations", __name__)
KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
# Visits whose main task is a meal: the form then expects the share of the meal eaten.
MEAL_KINDS = ("repas",)


@dataclass
class SaveResult:
    """What a submitted observation gave: an HTTP status and a JSON-able body."""

    status: int
    body: dict[str, Any]
    visit: Any = None
    form: ObservationForm | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def save_observation(visit_id: int, formdata: Any, *, csrf_check: bool = True) -> SaveResult:
    """Validate and store the signed-in carer's observation of a visit; commit once.

    Used by the form post below and meant for the phone outbox's JSON replay as well
    (``csrf_check=False`` there): the same ``idempotency_key`` is stored once.
    """
    visit = get_visible_visit(current_user, visit_id)
    carer = carer_of(current_user)
    if carer is None:
        abort(404)
    form = ObservationForm(formdata=formdata, meta={"csrf": csrf_check})
    key = (form.idempotency_key.data or "").strip() if formdata.get("idempotency_key") else ""
    if not form.validate() or (key and not KEY_RE.match(key)):
        if key and not KEY_RE.match(key):
            form.idempotency_key.errors = [_("Clé d'envoi invalide.")]
        errors = [e for errs in form.errors.values() for e in errs if isinstance(e, str)]
        return SaveResult(400, {"error": "invalid", "fields": form.errors,
                                "message": " ".join(errors) or _("La demande est invalide.")},
                          visit, form)
    try:
        result = services.record_observation(
            visit, carer, current_user, form.answers(),
            recorded_at=parse_device_time(form.captured_at.data), idempotency_key=key or None)
    except services.ObservationError as exc:
        db.session.rollback()
        return SaveResult(exc.status, {"error": "refused", "message": _(str(exc))}, visit, form)
    observation_id, client_id = result.observation.id, visit.client_id
    db.session.commit()
    if not result.duplicate:
        # After the commit: the background rescoring must see the stored row.
        services.observation_saved.send(current_app._get_current_object(),
                                        client_id=client_id, observation_id=observation_id)
    return SaveResult(200, {"outcome": "applied", "duplicate": result.duplicate,
                            "observation_id": observation_id,
                            "message": _("Observation enregistrée. Merci !")}, visit, form)


def replay_observation(visit_id: int, formdata: Any) -> tuple[int, dict[str, Any]]:
    """Store an observation replayed from the phone's outbox; answer (status, JSON body).

    The outbox sends the form long after the page that made it, so there is no CSRF token
    (``visits.outbox_sync`` checks the request instead). An unknown or forbidden visit
    answers 404 in JSON so that the phone shows the refusal instead of retrying.
    """
    key = str(formdata.get("idempotency_key") or "")
    if not KEY_RE.match(key):
        return 400, {"error": "invalid", "message": _("Clé d'envoi invalide.")}
    try:
        result = save_observation(visit_id, formdata, csrf_check=False)
    except NotFound:
        db.session.rollback()
        return 404, {"error": "not_found", "message": _("Page introuvable.")}
    body = {**result.body, "key": key, "visit_id": visit_id, "action": "observation"}
    return result.status, body


def _family_consents(client_id: int) -> bool:
    return db.session.scalar(sa.select(FamilyLink.id).where(
        FamilyLink.client_id == client_id, FamilyLink.consent_share_notes.is_(True))) is not None


def _page(visit: Any, form: ObservationForm | None, *, status: int = 200,
          message: str | None = None) -> Response:
    observations = list(db.session.scalars(
        sa.select(Observation).where(Observation.visit_id == visit.id)
        .order_by(Observation.recorded_at)))
    return render("observations/form.html", visit=visit, client=visit.client, form=form,
                  observations=observations, family_consents=_family_consents(visit.client_id),
                  message=message, status=status, FALLS=FALLS, MOBILITY=MOBILITY,
                  DRINKS=DRINKS, MOODS=MOODS, CONFUSION=CONFUSION, REPORTED=REPORTED)


@bp.route("/visites/<int:visit_id>/observation", methods=["GET", "POST"])
@roles_required("carer", "coordinator", "admin")
def edit(visit_id: int) -> Response:
    """Show the observation form of a visit (carers) or the observations recorded (staff)."""
    if request.method == "POST":
        if current_user.role != "carer":
            abort(403)
        result = save_observation(visit_id, request.form)
        if result.status != 200:
            return _page(result.visit, result.form, status=result.status,
                         message=result.body["message"])
        flash(result.body["message"], "success")
        return hx_redirect(url_for("visits.detail", visit_id=visit_id))
    visit = get_visible_visit(current_user, visit_id)
    form = None
    carer = carer_of(current_user)
    if carer is not None:
        form = ObservationForm(formdata=None)
        stored = services.find_observation(visit, carer)
        if stored is not None:
            form.fill_from(stored)
        else:
            form.walking_aid_used.data = visit.client.walking_aid
            form.meal_share.data = "1" if visit.kind in MEAL_KINDS else ""
    record(current_user, "read_observations", "visit", visit.id, client_id=visit.client_id)
    db.session.commit()
    return _page(visit, form)
