"""Client operations: save with audit, geocode addresses through the Base Adresse Nationale."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from geopy.exc import GeopyError
from geopy.geocoders import BANFrance

from webapp.audit.services import record
from webapp.carers.models import Carer
from webapp.clients.models import Client, FamilyLink
from webapp.extensions import db
from webapp.i18n import N_

log = logging.getLogger(__name__)

CLIENT_FIELDS = (
    "first_name", "last_name", "birth_date", "sex", "phone", "address", "postcode", "city",
    "access_notes", "gir", "funding", "living_alone", "notes", "sector_id", "active",
    "walking_aid", "n_medicines", "n_psychotropics", "antiepileptics", "cognitive_impairment",
    "parkinson", "incontinence", "vertigo",
)


@dataclass(frozen=True)
class GeocodeResult:
    """A position and how it was obtained."""

    lat: float | None
    lon: float | None
    status: str  # "found", "not_found" or "manual"


def geocode(address: str, *, domain: str, scheme: str, timeout: float,
            enabled: bool = True) -> GeocodeResult:
    """Find ``address`` with the Base Adresse Nationale; ``not_found`` offline or on failure."""
    if not enabled or not address.strip():
        return GeocodeResult(None, None, "not_found")
    try:
        geocoder = BANFrance(domain=domain, scheme=scheme, timeout=timeout,
                             user_agent="tournee-saad")
        location = geocoder.geocode(address, exactly_one=True)
    except (GeopyError, OSError) as exc:  # offline or service down: the coordinator places it
        log.info("geocoding unavailable: %s", exc)
        return GeocodeResult(None, None, "not_found")
    if location is None:
        return GeocodeResult(None, None, "not_found")
    return GeocodeResult(location.latitude, location.longitude, "found")


def save_client(client: Client, data: dict[str, Any], actor: Any, *,
                manual_position: tuple[float, float] | None,
                geocoder: dict[str, Any]) -> Client:
    """Apply form ``data`` to ``client`` (new or existing), position it, and audit the change."""
    is_new = client.id is None
    address_before = client.full_address if not is_new else None
    changed = [f for f in CLIENT_FIELDS if f in data and getattr(client, f, None) != data[f]]
    for field in CLIENT_FIELDS:
        if field in data:
            setattr(client, field, data[field])
    if manual_position is not None:
        client.lat, client.lon = manual_position
        client.geocode_status = "manual"
    elif is_new or client.full_address != address_before or client.lat is None:
        result = geocode(client.full_address, **geocoder)
        client.lat, client.lon, client.geocode_status = result.lat, result.lon, result.status
    if is_new:
        db.session.add(client)
    db.session.flush()
    record(actor, "create" if is_new else "update", "client", client.id, client_id=client.id,
           fields=sorted(changed))
    return client


def set_carer_preferences(client: Client, usual: list[Carer], refused: list[Carer]) -> None:
    """Set the usual and refused carers; one carer cannot be both."""
    refused_ids = {c.id for c in refused}
    if any(c.id in refused_ids for c in usual):
        raise ValueError("Une intervenante ne peut pas être à la fois habituelle et refusée.")
    client.usual_carers = list(usual)
    client.refused_carers = list(refused)
    db.session.flush()


def search_clients(query: sa.Select[tuple[Client]], text: str) -> sa.Select[tuple[Client]]:
    """Filter a client query by name, city or postcode."""
    text = text.strip()
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Client.last_name).like(pattern),
                sa.func.lower(Client.first_name).like(pattern),
                sa.func.lower(Client.city).like(pattern),
                Client.postcode.like(pattern),
            )
        )
    return query.order_by(Client.last_name, Client.first_name)


def link_family(client: Client, actor: Any, *, email: str, first_name: str, last_name: str,
                password: str, relationship_label: str, share_notes: bool,
                notifications: bool) -> FamilyLink:
    """Give a family member access to ``client``: a new account, or an existing family one."""
    from webapp.auth.models import User
    from webapp.auth.services import AccountError, create_account

    email = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    if user is None:
        user = create_account(actor, email=email, password=password, role="family",
                              first_name=first_name, last_name=last_name)
    elif user.role != "family" or user.organisation_id != client.organisation_id:
        raise AccountError(N_("Cette adresse appartient déjà à un autre type de compte."))
    if any(link.user_id == user.id for link in client.family_links):
        raise AccountError(N_("Ce proche suit déjà la personne."))
    link = FamilyLink(client_id=client.id, user_id=user.id,
                      relationship_label=relationship_label.strip(),
                      consent_share_notes=share_notes, consent_notifications=notifications)
    client.family_links.append(link)
    db.session.flush()
    record(actor, "link_family", "client", client.id, client_id=client.id, user=user.id,
           share_notes=share_notes)
    return link


def unlink_family(link: FamilyLink, actor: Any) -> None:
    """Withdraw a family member's access to a client (the account stays, without access)."""
    record(actor, "unlink_family", "client", link.client_id, client_id=link.client_id,
           user=link.user_id)
    db.session.delete(link)
    db.session.flush()
