"""The coordinator's Alertes pages: people by risk, a person's trend and reviews, model card."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.alerts import services, texts
from webapp.alerts.chart import trend_chart
from webapp.alerts.forms import ReviewForm
from webapp.alerts.models import ALERT_ACTIONS, ALERT_KINDS, ALERT_STATUSES, RiskAlert
from webapp.audit.services import record
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.policy import get_org_object, roles_required

bp = Blueprint("alerts", __name__, url_prefix="/alertes")
LABELS = {"ALERT_KINDS": ALERT_KINDS, "ALERT_STATUSES": ALERT_STATUSES,
          "ALERT_ACTIONS": ALERT_ACTIONS}


bp.add_app_template_global(texts.alert_text, "alert_text")
bp.add_app_template_global(texts.reason_text, "reason_text")


@bp.app_context_processor
def open_alerts() -> dict[str, Any]:
    """Give staff pages the number of alerts awaiting review (for the "Alertes" nav entry)."""
    count = 0
    if current_user and current_user.is_authenticated and current_user.is_staff:
        count = services.count_open_alerts(current_user.organisation_id)
    return {"open_alerts": count}


@bp.route("/")
@roles_required("coordinator", "admin")
def index() -> Response:
    """List people by risk and the open alerts, newest first."""
    rows, alerts, unscored = services.overview(current_user.organisation_id)
    for row in rows:  # every view of a score is audited
        record(current_user, "read_risk", "risk_score", row.score.id if row.score else None,
               client_id=row.client.id, page="list")
    db.session.commit()
    return render("alerts/index.html", rows=rows, alerts=alerts, unscored=unscored, **LABELS)


def _person_page(client: Client, *, forms: dict[int, ReviewForm] | None = None,
                 status: int = 200) -> Response:
    scores = services.history(client)
    latest = scores[-1] if scores else None
    alerts = services.alerts_of(client)
    forms = forms or {}
    for alert in alerts:
        if alert.status == "open" and alert.id not in forms:
            forms[alert.id] = ReviewForm(formdata=None, prefix=f"a{alert.id}")
    chart = trend_chart([(s.computed_at, s.fall_risk_90d, s.decline_risk_90d) for s in scores])
    record(current_user, "read_risk", "risk_score", latest.id if latest else None,
           client_id=client.id, page="person")
    db.session.commit()
    return render("alerts/person.html", client=client, latest=latest, scores=scores,
                  alerts=alerts, forms=forms, chart=chart,
                  incomplete=services.person_for(client) is None, status=status, **LABELS)


@bp.route("/personnes/<int:client_id>")
@roles_required("coordinator", "admin")
def person(client_id: int) -> Response:
    """Show one person's risks, reasons, trend and alerts with their review forms."""
    client = get_org_object(Client, client_id, current_user)
    return _person_page(client)


@bp.route("/<int:alert_id>/revue", methods=["POST"])
@roles_required("coordinator", "admin")
def review(alert_id: int) -> Response:
    """Record what was done about an alert (nothing changes a care plan automatically)."""
    alert = get_org_object(RiskAlert, alert_id, current_user)
    form = ReviewForm(prefix=f"a{alert.id}")
    if not form.validate():
        return _person_page(alert.client, forms={alert.id: form}, status=400)
    try:
        services.review_alert(alert, current_user, action=form.action.data or "",
                              comment=form.comment.data or "")
    except services.AlertError as exc:
        db.session.rollback()
        flash(_(str(exc)), "error")
        return _person_page(alert.client, forms={alert.id: form}, status=409)
    db.session.commit()
    flash(_("Revue enregistrée."), "success")
    return hx_redirect(url_for("alerts.person", client_id=alert.client_id))


@bp.route("/modele")
@roles_required("coordinator", "admin")
def model_card() -> Response:
    """Describe the model in French: use, data, synthetic figures, limits, oversight."""
    try:
        model, version = services.get_model()
        metadata = model.metadata
    except (OSError, ValueError):
        metadata, version = {}, ""
    return render("alerts/model_card.html", metadata=metadata, version=version,
                  path=services.model_path().name, candidate_label=texts.candidate_label)
