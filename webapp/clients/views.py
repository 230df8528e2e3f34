"""Client list, sheet and form."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.audit.services import record
from webapp.auth.forms import FamilyForm
from webapp.careplans.models import CarePlan
from webapp.carers.models import Carer
from webapp.clients import services
from webapp.clients.forms import ClientForm
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.htmx import hx_redirect, render
from webapp.organisations.models import Sector
from webapp.policy import (
    get_org_object,
    get_visible_client,
    may_see_access_notes,
    roles_required,
    visible_clients,
)

bp = Blueprint("clients", __name__, url_prefix="/clients")
SEARCH_MAX = 100


@bp.route("/")
@roles_required("coordinator", "admin")
def index() -> Response:
    """List and search the organisation's clients."""
    text = request.args.get("q", "")[:SEARCH_MAX]
    clients = db.session.scalars(services.search_clients(visible_clients(current_user), text)).all()
    record(current_user, "list_clients", "client", None, count=len(clients))
    db.session.commit()
    return render("clients/index.html", "clients/_rows.html", clients=clients, q=text)


@bp.route("/<int:client_id>")
@roles_required("coordinator", "admin", "carer")
def detail(client_id: int) -> Response:
    """Show a client's sheet (to staff, and to the carers who visit her)."""
    client = get_visible_client(current_user, client_id)
    record(current_user, "read_client", "client", client.id, client_id=client.id)
    db.session.commit()
    return _detail_page(client)


def _detail_page(client: Client, *, family_form: FamilyForm | None = None,
                 status: int = 200) -> Response:
    plans = []
    if current_user.is_staff:  # care plans are for the office, not for carers
        plans = list(db.session.scalars(
            sa.select(CarePlan).where(CarePlan.client_id == client.id)
            .order_by(CarePlan.starts_on)))
    return render("clients/detail.html", client=client, plans=plans,
                  family_form=family_form or FamilyForm(formdata=None),
                  show_access_notes=may_see_access_notes(current_user, client), status=status)


def _form_choices(form: ClientForm) -> None:
    org = current_user.organisation_id
    sectors = db.session.scalars(sa.select(Sector).where(Sector.organisation_id == org)).all()
    form.sector_id.choices = [(0, "—")] + [(s.id, s.name) for s in sectors]
    carers = db.session.scalars(
        sa.select(Carer).where(Carer.organisation_id == org, Carer.active.is_(True))
        .order_by(Carer.last_name)
    ).all()
    form.usual_carers.choices = [(c.id, c.full_name) for c in carers]
    form.refused_carers.choices = [(c.id, c.full_name) for c in carers]


def _carers(ids: list[int]) -> list[Carer]:
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Carer).where(
        Carer.id.in_(ids), Carer.organisation_id == current_user.organisation_id)))


def _save(client: Client, form: ClientForm) -> Response | None:
    data: dict[str, Any] = {f: getattr(form, f).data for f in services.CLIENT_FIELDS
                            if hasattr(form, f)}
    data["sector_id"] = data.get("sector_id") or None
    for text_field in ("phone", "postcode", "access_notes", "notes", "sex"):
        data[text_field] = (data.get(text_field) or "").strip()
    manual = (form.lat.data, form.lon.data) if form.lat.data is not None else None
    cfg = current_app.config
    services.save_client(
        client, data, current_user, manual_position=manual,
        geocoder={"domain": cfg["GEOCODER_DOMAIN"], "scheme": cfg["GEOCODER_SCHEME"],
                  "timeout": cfg["GEOCODER_TIMEOUT"], "enabled": cfg["GEOCODER_ENABLED"]},
    )
    services.set_carer_preferences(client, _carers(form.usual_carers.data or []),
                                   _carers(form.refused_carers.data or []))
    db.session.commit()
    if client.geocode_status == "not_found":
        flash(_("Adresse introuvable : saisissez la position à la main."), "warning")
    flash(_("Fiche enregistrée."), "success")
    return hx_redirect(url_for("clients.detail", client_id=client.id))


@bp.route("/nouveau", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def create() -> Response:
    """Create a client."""
    form = ClientForm()
    _form_choices(form)
    if form.validate_on_submit():
        client = Client(organisation_id=current_user.organisation_id)
        saved = _save(client, form)
        if saved is not None:
            return saved
    status = 400 if request.method == "POST" else 200
    return render("clients/form.html", form=form, client=None, status=status)


@bp.route("/<int:client_id>/modifier", methods=["GET", "POST"])
@roles_required("coordinator", "admin")
def edit(client_id: int) -> Response:
    """Edit a client."""
    client = get_org_object(Client, client_id, current_user)
    form = ClientForm(obj=client)
    _form_choices(form)
    if request.method == "GET":
        form.sector_id.data = client.sector_id or 0
        form.usual_carers.data = [c.id for c in client.usual_carers]
        form.refused_carers.data = [c.id for c in client.refused_carers]
        if client.geocode_status != "manual":
            form.lat.data = form.lon.data = None
        record(current_user, "read_client", "client", client.id, client_id=client.id, page="edit")
        db.session.commit()
    if form.validate_on_submit():
        saved = _save(client, form)
        if saved is not None:
            return saved
    status = 400 if request.method == "POST" else 200
    return render("clients/form.html", form=form, client=client, status=status)


@bp.route("/<int:client_id>/proches", methods=["POST"])
@roles_required("coordinator", "admin")
def add_family(client_id: int) -> Response:
    """Give a family member access to the client, with the consents the client gave."""
    from webapp.auth.services import AccountError

    client = get_org_object(Client, client_id, current_user)
    form = FamilyForm()
    if form.validate_on_submit():
        try:
            services.link_family(
                client, current_user, email=form.email.data or "",
                first_name=form.first_name.data or "", last_name=form.last_name.data or "",
                password=form.password.data or "",
                relationship_label=form.relationship_label.data or "",
                share_notes=bool(form.consent_share_notes.data),
                notifications=bool(form.consent_notifications.data))
        except AccountError as exc:
            db.session.rollback()
            form.email.errors = [*form.email.errors, _(str(exc))]
        else:
            db.session.commit()
            flash(_("Proche ajouté."), "success")
            return hx_redirect(url_for("clients.detail", client_id=client.id))
    return _detail_page(client, family_form=form, status=400)


@bp.route("/<int:client_id>/proches/<int:link_id>/retirer", methods=["POST"])
@roles_required("coordinator", "admin")
def remove_family(client_id: int, link_id: int) -> Response:
    """Withdraw a family member's access."""
    client = get_org_object(Client, client_id, current_user)
    link = next((lk for lk in client.family_links if lk.id == link_id), None)
    if link is None:
        abort(404)
    services.unlink_family(link, current_user)
    db.session.commit()
    flash(_("Accès du proche retiré."), "success")
    return hx_redirect(url_for("clients.detail", client_id=client.id))
