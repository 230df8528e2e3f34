"""Routes of the offline app: /sw.js, the manifest, the offline page, the phone flags."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, make_response, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.extensions import db
from webapp.offline import services
from webapp.offline.session import PrefetchAwareSessionInterface, is_prefetch
from webapp.policy import carer_of, get_org_object, roles_required
from webapp.timeutil import today_paris
from webapp.visits.models import OUTBOX_ACTION_LABELS, OutboxRecord
from webapp.visits.services import count_open_flags, flagged_outbox_records, resolve_outbox_flag

bp = Blueprint("offline", __name__)


@bp.record_once
def _install_session_interface(state: Any) -> None:
    state.app.session_interface = PrefetchAwareSessionInterface()

THEME = "#0b5d58"


def _queued_texts() -> dict[str, str]:
    """Return what the phone shows when it keeps an action for later, in the current locale."""
    return {
        "check_in": _("Arrivée enregistrée sur l'appareil : elle partira dès que le "
                      "réseau revient."),
        "check_out": _("Départ enregistré sur l'appareil : il partira dès que le "
                       "réseau revient."),
        "note": _("Transmission enregistrée sur l'appareil : elle partira dès que le "
                  "réseau revient."),
        "observation": _("Observation enregistrée sur l'appareil : elle partira dès que "
                         "le réseau revient."),
    }


def _worker_script(salt: str) -> str:
    """Return the service worker: this build's shell manifest and texts, then its source."""
    version, shell = services.shell_manifest(salt)
    texts = {}
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            texts[language] = _queued_texts()
    build = {
        "version": version,
        "shell": [*shell, url_for("offline.manifest"), url_for("offline.offline_page")],
        "offline": url_for("offline.offline_page"),
        "pages": url_for("offline.pages"),
        "sync": url_for("visits.outbox_sync"),
        "maxAgeS": int(current_app.config.get("OFFLINE_MAX_AGE_S", 12 * 3600)),
        "lang": current_app.config["BABEL_DEFAULT_LOCALE"],
        "text": texts,
    }
    source = services.SW_SOURCE.read_text(encoding="utf-8")
    return f"const BUILD = {json.dumps(build, ensure_ascii=False)};\n{source}"


@bp.route("/sw.js")
def service_worker() -> Response:
    """Serve the service worker at the root (scope "/"), with this build's shell manifest.

    The worker's bytes change whenever a static file or the worker source changes, so browsers
    install the new version by themselves. They never depend on who asks or in which language:
    the worker carries its texts in every language and picks the one the page asks in
    (``X-Tournee-Lang``), so a phone whose browser speaks another language than its carer
    installs one worker, not a second one after sign-in.
    """
    salt = current_app.config.get("OFFLINE_BUILD_SALT", "")
    # Static files and translations change with a deploy, hence a restart: build the script
    # once per process (and per salt), except in debug mode, where an edited file must reach
    # the phone at once.
    scripts = current_app.extensions.setdefault("offline_worker", {})
    if current_app.debug or salt not in scripts:
        scripts[salt] = _worker_script(salt)
    body = scripts[salt]
    response = make_response(body)
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/manifest.webmanifest")
def manifest() -> Response:
    """Describe the installable app (French name, icons, standalone display)."""
    icon = "icons/icon-{size}{kind}.png"
    icons: list[dict[str, Any]] = []
    for size in (192, 512):
        icons.append({"src": url_for("static", filename=icon.format(size=size, kind="")),
                      "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"})
        icons.append({"src": url_for("static", filename=icon.format(size=size,
                                                                    kind="-maskable")),
                      "sizes": f"{size}x{size}", "type": "image/png", "purpose": "maskable"})
    body = {
        "id": "/",
        "name": "Tournée · aide à domicile",
        "short_name": "Tournée",
        "description": "La journée des intervenantes à domicile, même sans réseau.",
        "lang": "fr",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME,
        "background_color": "#ffffff",
        "categories": ["medical", "productivity"],
        "icons": icons,
    }
    response = make_response(json.dumps(body, ensure_ascii=False))
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/hors-ligne")
def offline_page() -> str:
    """The page shown offline when the wanted page is not on the phone (no personal data)."""
    return render_template("offline.html")


@bp.route("/hors-ligne/pages.json")
def pages() -> tuple[Response, int]:
    """List the pages the signed-in carer's phone keeps for offline use."""
    if not current_user.is_authenticated:
        return jsonify(error="signed_out"), 401
    carer = carer_of(current_user)
    urls = services.carer_pages(carer, today_paris()) if carer else []
    return jsonify(user=current_user.id, urls=urls), 200


@bp.route("/signalements")
@roles_required("coordinator", "admin")
def flags() -> str:
    """List the phone records a coordinator should look at (conflicts, odd clocks)."""
    rows = flagged_outbox_records(current_user.organisation_id)
    return render_template("offline/flags.html", rows=rows)


@bp.route("/signalements/<int:record_id>/traite", methods=["POST"])
@roles_required("coordinator", "admin")
def resolve(record_id: int) -> Response:
    """Mark a flagged phone record as handled."""
    from flask import flash, redirect

    row = get_org_object(OutboxRecord, record_id, current_user)
    resolve_outbox_flag(row, current_user)
    db.session.commit()
    flash(_("Signalement marqué comme traité."), "success")
    return redirect(url_for("offline.flags"), code=303)


@bp.app_context_processor
def open_flags() -> dict[str, Any]:
    """Give staff pages the number of phone records waiting for a coordinator."""
    flags = 0
    if current_user and current_user.is_authenticated and current_user.is_staff:
        flags = count_open_flags(current_user.organisation_id)
    return {"open_flags": flags, "OUTBOX_ACTION_LABELS": OUTBOX_ACTION_LABELS,
            "is_prefetch": is_prefetch}
