"""Download a person's data; erase a client or an account."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.audit.services import record
from webapp.auth.models import User
from webapp.auth.services import CREATABLE_ROLES
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.gdpr import services
from webapp.htmx import hx_redirect, render
from webapp.policy import get_org_object, roles_required
from webapp.timeutil import today_paris

bp = Blueprint("gdpr", __name__, url_prefix="/rgpd")


def _download(document: dict[str, object], name: str) -> Response:
    response = Response(services.to_json(document), mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{today_paris().isoformat()}.json"')
    return response


@bp.route("/mes-donnees")
@login_required
def export_me() -> Response:
    """Download everything held about oneself (GDPR art. 15 and 20)."""
    document = services.export_user(current_user)
    record(current_user, "export", "user", current_user.id, client_id=current_user.client_id)
    db.session.commit()
    return _download(document, "mes-donnees-tournee")


@bp.route("/clients/<int:client_id>")
@roles_required("admin", "coordinator")
def client_page(client_id: int) -> Response:
    """Show a client's rights: export, rectify (the edit form), erase (admins)."""
    client = get_org_object(Client, client_id, current_user)
    return render("gdpr/client.html", client=client, retention=services.RETENTION,
                  erased=services.is_erased("client", client.id))


@bp.route("/clients/<int:client_id>/export")
@roles_required("admin", "coordinator")
def export_client(client_id: int) -> Response:
    """Download everything held about a client, as JSON."""
    client = get_org_object(Client, client_id, current_user)
    document = services.export_client(client)
    record(current_user, "export", "client", client.id, client_id=client.id)
    db.session.commit()
    return _download(document, f"donnees-beneficiaire-{client.id}")


@bp.route("/clients/<int:client_id>/effacer", methods=["POST"])
@roles_required("admin")
def erase_client(client_id: int) -> Response:
    """Erase a client's personal and health data (typed confirmation required)."""
    client = get_org_object(Client, client_id, current_user)
    if services.is_erased("client", client.id):
        abort(409, description=_("Ce dossier est déjà effacé."))
    if request.form.get("confirm", "").strip() != str(client.id):
        flash(_("Recopiez le numéro du dossier pour confirmer l'effacement."), "error")
        return render("gdpr/client.html", client=client, retention=services.RETENTION,
                      erased=False, status=400)
    services.erase_client(current_user, client)
    db.session.commit()
    flash(_("Données personnelles effacées ; les pièces comptables sont conservées sans "
            "elles."), "success")
    return hx_redirect(url_for("gdpr.client_page", client_id=client.id))


@bp.route("/comptes/<int:user_id>/export")
@roles_required("admin", "coordinator")
def export_user(user_id: int) -> Response:
    """Download everything held about an account holder, as JSON."""
    user = get_org_object(User, user_id, current_user)
    if user.role not in CREATABLE_ROLES[current_user.role] and user.id != current_user.id:
        abort(403)
    document = services.export_user(user)
    record(current_user, "export", "user", user.id, client_id=user.client_id)
    db.session.commit()
    return _download(document, f"donnees-compte-{user.id}")


@bp.route("/comptes/<int:user_id>/effacer", methods=["POST"])
@roles_required("admin")
def erase_user(user_id: int) -> Response:
    """Anonymise an account (never one's own)."""
    user = get_org_object(User, user_id, current_user)
    if user.id == current_user.id:
        abort(403, description=_("Vous ne pouvez pas effacer votre propre compte."))
    if user.erased_at is not None:
        abort(409, description=_("Ce compte est déjà effacé."))
    if request.form.get("confirm", "").strip() != str(user.id):
        flash(_("Recopiez le numéro du compte pour confirmer l'effacement."), "error")
        return hx_redirect(url_for("accounts.index"))
    services.erase_user(current_user, user)
    db.session.commit()
    flash(_("Compte anonymisé."), "success")
    return hx_redirect(url_for("accounts.index"))
