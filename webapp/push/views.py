"""Notification list, settings, device subscriptions and the heat-wave switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from webapp.core.templating import spoken_time
from webapp.extensions import csrf, db
from webapp.htmx import render
from webapp.policy import roles_required
from webapp.push import messages, services
from webapp.push.forms import HeatWaveForm, PreferencesForm
from webapp.push.models import Notification
from webapp.timeutil import to_paris, today_paris

bp = Blueprint("push", __name__, url_prefix="/notifications")


@bp.app_context_processor
def unread() -> dict[str, Any]:
    """Give pages the number of unread notifications (for the nav entry)."""
    count = 0
    if current_user and current_user.is_authenticated:
        count = services.unread_count(current_user)
    return {"unread_notifications": count}


@bp.app_template_filter("relative_moment")
def relative_moment(moment: datetime) -> str:
    """Say when: "aujourd'hui à 9 h 15", "hier à 18 h", or the date."""
    local = to_paris(moment)
    offset = (today_paris() - local.date()).days
    clock = spoken_time(local)
    if offset == 0:
        return _("aujourd'hui à %(time)s", time=clock)
    if offset == 1:
        return _("hier à %(time)s", time=clock)
    if offset == -1:
        return _("demain à %(time)s", time=clock)
    return _("le %(day)s à %(time)s", day=local.strftime("%d/%m"), time=clock)


@bp.route("/")
@login_required
def index() -> Response:
    """List the user's notifications, newest first, and mark them read."""
    rows = services.listed(current_user)
    items = [(row, *services.text_of(row)) for row in rows]
    unread_ids = {row.id for row in rows if row.read_at is None}
    services.mark_read(current_user, rows)
    db.session.commit()
    return render("push/index.html", items=items, unread_ids=unread_ids)


def _preferences_form() -> PreferencesForm:
    pref = services.preference_of(current_user.id)
    kinds = messages.kinds_for(current_user.role)
    form = PreferencesForm()
    form.kinds.choices = [(k, _(messages.KINDS[k].label)) for k in kinds]
    if request.method == "GET":
        form.locale.data = current_user.locale
        form.kinds.data = [k for k in kinds if k not in (pref.disabled_kinds or [])]
        form.quiet_start.data, form.quiet_end.data = pref.quiet_start, pref.quiet_end
        form.discreet.data = pref.discreet
    return form


def _settings(form: PreferencesForm, status: int = 200) -> Response:
    heat = None
    if current_user.is_staff:
        heat = HeatWaveForm()
        heat.until.data = services.heat_wave_until(current_user.organisation_id)
    return render("push/settings.html", form=form, heat=heat,
                  heat_until=services.heat_wave_until(current_user.organisation_id),
                  devices=services.subscriptions_of(current_user),
                  server_key=services.application_server_key(), status=status)


@bp.route("/reglages", methods=["GET", "POST"])
@login_required
def settings() -> Response:
    """Show and save the notification settings; list the devices."""
    form = _preferences_form()
    if form.validate_on_submit():
        try:
            services.save_preferences(
                current_user, discreet=bool(form.discreet.data),
                quiet_start=form.quiet_start.data, quiet_end=form.quiet_end.data,
                enabled=list(form.kinds.data or []), locale=form.locale.data or "fr")
        except services.PushError as exc:
            db.session.rollback()
            form.quiet_start.errors = [*form.quiet_start.errors, _(str(exc))]
        else:
            db.session.commit()
            flash(_("Réglages enregistrés."), "success")
            return redirect(url_for("push.settings"), code=303)
    return _settings(form, 400 if request.method == "POST" else 200)


def _json_request() -> bool:
    # Not a form: protected by a JSON body and a custom header, which a cross-site page
    # cannot send without a CORS preflight we never allow (as the outbox replay).
    return request.headers.get("X-Tournee-Push") == "1" and request.is_json


@bp.route("/abonnements", methods=["POST"])
@csrf.exempt
def subscribe() -> tuple[Response, int]:
    """Store this device's push subscription (JSON from static/js/push.js)."""
    if not _json_request():
        return jsonify(error="invalid", message=_("La demande est invalide.")), 400
    if not current_user.is_authenticated:
        return jsonify(error="signed_out", message=_("Reconnectez-vous.")), 401
    data = request.get_json(silent=True)
    try:
        row, created = services.subscribe(
            current_user, data, allowed=current_app.config["PUSH_ALLOWED_ORIGINS"],
            label=services.device_label(request.headers.get("User-Agent", "")))
    except services.PushError as exc:
        db.session.rollback()
        return jsonify(error="refused", message=_(str(exc))), 400
    db.session.commit()
    return jsonify(id=row.id, label=row.label), 201 if created else 200


@bp.route("/abonnements/retirer", methods=["POST"])
@csrf.exempt
def unsubscribe() -> tuple[Response, int]:
    """Forget this device (the user turned notifications off on it)."""
    if not _json_request():
        return jsonify(error="invalid", message=_("La demande est invalide.")), 400
    if not current_user.is_authenticated:
        return jsonify(error="signed_out", message=_("Reconnectez-vous.")), 401
    data = request.get_json(silent=True)
    removed = services.unsubscribe_endpoint(current_user, (data or {}).get("endpoint")
                                            if isinstance(data, dict) else None)
    db.session.commit()
    return jsonify(removed=removed), 200


@bp.route("/appareils/<int:subscription_id>/supprimer", methods=["POST"])
@login_required
def revoke(subscription_id: int) -> Response:
    """Remove one of the user's devices."""
    if not services.revoke(current_user, subscription_id):
        abort(404)
    db.session.commit()
    flash(_("Appareil retiré : il ne recevra plus de notifications."), "success")
    return redirect(url_for("push.settings"), code=303)


@bp.route("/essai", methods=["POST"])
@login_required
def send_test() -> Response:
    """Send a test notification to the user's devices now."""
    from webapp.push.tasks import send_due_task

    services.test_notification(current_user)
    db.session.commit()
    if services.subscriptions_of(current_user):
        send_due_task()
        flash(_("Notification d'essai envoyée."), "success")
    else:
        flash(_("Aucun appareil n'est abonné : activez d'abord les notifications ici."),
              "warning")
    return redirect(url_for("push.settings"), code=303)


@bp.route("/canicule", methods=["POST"])
@roles_required("coordinator", "admin")
def heat_wave() -> Response:
    """Turn the heat-wave mode (extra hydration reminders) on until a date, or off."""
    form = HeatWaveForm()
    if not form.validate_on_submit():
        flash(_("Date non valide."), "error")
        return _settings(_preferences_form(), 400)
    until = form.until.data if request.form.get("action") != "off" else None
    if request.form.get("action") != "off" and until is None:
        flash(_("Choisissez jusqu'à quel jour."), "error")
        return _settings(_preferences_form(), 400)
    if until is not None and until < today_paris():
        flash(_("Choisissez une date à venir."), "error")
        return _settings(_preferences_form(), 400)
    services.set_heat_wave(current_user, until)
    db.session.commit()
    flash(_("Plan canicule activé.") if until else _("Plan canicule désactivé."), "success")
    return redirect(url_for("push.settings"), code=303)


def notification_url(row: Notification) -> str:
    """Return where a notification leads (same origin only)."""
    return row.url if row.url.startswith("/") and not row.url.startswith("//") else "/"
