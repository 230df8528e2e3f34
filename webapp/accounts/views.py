"""List, create, suspend and restore accounts."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth import services
from webapp.auth.forms import ROLE_LABELS, AccountForm
from webapp.auth.models import User
from webapp.carers.models import Carer
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.i18n import N_
from webapp.policy import get_org_object, roles_required

bp = Blueprint("accounts", __name__, url_prefix="/comptes")


@bp.route("/")
@roles_required("admin", "coordinator")
def index() -> Response:
    """List the organisation's accounts."""
    users = db.session.scalars(sa.select(User).where(
        User.organisation_id == current_user.organisation_id).order_by(
        User.role, User.last_name)).all()
    return render("accounts/index.html", users=users, role_labels=ROLE_LABELS,
                  manageable=services.CREATABLE_ROLES[current_user.role])


def _choices(form: AccountForm) -> None:
    org = current_user.organisation_id
    form.role.choices = [(r, ROLE_LABELS[r]) for r in services.CREATABLE_ROLES[current_user.role]]
    carers = db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == org, Carer.user_id.is_(None)).order_by(Carer.last_name)).all()
    form.carer_id.choices = [(0, "—")] + [(c.id, c.full_name) for c in carers]
    clients = db.session.scalars(sa.select(Client).where(
        Client.organisation_id == org, Client.active.is_(True)).order_by(Client.last_name)).all()
    form.client_id.choices = [(0, "—")] + [(c.id, c.full_name) for c in clients]


@bp.route("/nouveau", methods=["GET", "POST"])
@roles_required("admin", "coordinator")
def create() -> Response:
    """Create an account, linked to a carer profile or a client where the role needs it."""
    form = AccountForm()
    _choices(form)
    if form.validate_on_submit():
        role = form.role.data
        carer = get_org_object(Carer, form.carer_id.data, current_user) \
            if role == "carer" and form.carer_id.data else None
        client = get_org_object(Client, form.client_id.data, current_user) \
            if role in ("recipient", "family") and form.client_id.data else None
        try:
            if role == "carer" and carer is None:
                raise services.AccountError(N_("Choisissez la fiche de l'intervenante."))
            if role in ("recipient", "family") and client is None:
                raise services.AccountError(N_("Choisissez le ou la bénéficiaire."))
            user = services.create_account(
                current_user, email=form.email.data or "", password=form.password.data or "",
                role=role, first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                client_id=client.id if role == "recipient" and client else None)
            if carer is not None:
                carer.user_id = user.id
            if role == "family" and client is not None:
                from webapp.clients.models import FamilyLink

                db.session.add(FamilyLink(client_id=client.id, user_id=user.id))
        except services.AccountError as exc:
            db.session.rollback()
            form.email.errors = [*form.email.errors, _(str(exc))]
        else:
            db.session.commit()
            flash(_("Compte créé. Transmettez le mot de passe initial en main propre."),
                  "success")
            return hx_redirect(url_for("accounts.index"))
    status = 400 if request.method == "POST" else 200
    return render("accounts/form.html", form=form, status=status)


@bp.route("/<int:user_id>/statut", methods=["POST"])
@roles_required("admin", "coordinator")
def set_status(user_id: int) -> Response:
    """Suspend or restore an account."""
    user = get_org_object(User, user_id, current_user)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400, description=_("Statut inconnu."))
    try:
        services.set_active(current_user, user, wanted == "1")
    except services.AccountError as exc:
        db.session.rollback()
        flash(_(str(exc)), "error")
        return hx_redirect(url_for("accounts.index"))
    db.session.commit()
    flash(_("Compte mis à jour."), "success")
    return hx_redirect(url_for("accounts.index"))


@bp.route("/<int:user_id>/deverrouiller", methods=["POST"])
@roles_required("admin", "coordinator")
def unlock(user_id: int) -> Response:
    """Unlock an account locked after repeated failed sign-ins."""
    return _apply_to_account(user_id, services.unlock, _("Compte déverrouillé."))


@bp.route("/<int:user_id>/double-authentification", methods=["POST"])
@roles_required("admin")
def reset_two_factor(user_id: int) -> Response:
    """Remove a user's authenticator (lost phone): she enrols again at her next sign-in."""
    return _apply_to_account(user_id, services.reset_two_factor,
                             _("Double authentification réinitialisée."))


def _apply_to_account(user_id: int, action: Callable[[User, User], object],
                      done: str) -> Response:
    """Run one account service for the current user, then go back to the accounts list."""
    user = get_org_object(User, user_id, current_user)
    try:
        action(current_user, user)
    except services.AccountError as exc:
        db.session.rollback()
        flash(_(str(exc)), "error")
        return hx_redirect(url_for("accounts.index"))
    db.session.commit()
    flash(done, "success")
    return hx_redirect(url_for("accounts.index"))
