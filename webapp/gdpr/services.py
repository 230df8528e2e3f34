"""Export, erase and expire personal data, following French retention rules (docs/gdpr.md).

What is kept after an erasure, and why (the law behind each period is in RETENTION):

* visits stay as accounting records (date, kind, duration, times, tasks billed), without
  the carer's note, the positions of check-in and check-out, or the cancellation reason;
* the care plan stays (the contract behind the invoices) without its free-text notes;
* the client row stays as a pseudonymous shell ("Personne effacée n° 12") with the funding,
  GIR level and postcode that an APA or PCH invoice to the département needs;
* the audit trail stays whole: it holds ids and actions, never names or health content;
* health data goes: observations, risk scores and alerts, queued phone records.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from webapp.alerts.models import RiskAlert, RiskScore
from webapp.audit.models import AuditEvent
from webapp.audit.services import record
from webapp.auth.models import LoginAttempt, User
from webapp.auth.services import hash_password
from webapp.auth.twofactor import disable
from webapp.careplans.models import CarePlan
from webapp.carers.models import Carer
from webapp.clients.models import Client, FamilyLink, client_refused_carer, client_usual_carer
from webapp.extensions import db
from webapp.gdpr.models import Erasure
from webapp.i18n import N_
from webapp.observations.models import Observation
from webapp.push.models import Notification
from webapp.rounds.models import RoundPlan
from webapp.timeutil import PARIS, utcnow
from webapp.visits.models import OutboxRecord, Visit, VisitAssignment

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Retention:
    """One retention period, with the rule it applies."""

    days: int
    rule: str


# Periods applied by ``apply_retention`` (nightly task and ``flask gdpr retention``).
RETENTION = {
    # Health observations feed the risk models, which look back a few months: two years is
    # plenty for care continuity (CNIL référentiel « accompagnement social et médico-social »).
    "observations": Retention(2 * 365, N_("données de santé : 2 ans après leur recueil")),
    # A client who left the service: her file is kept 5 years after the last visit (civil
    # limitation period, Code civil art. 2224), then anonymised.
    "clients": Retention(5 * 365, N_("dossier de l'usager : 5 ans après la dernière intervention")),
    # Accounting records and vouchers: 10 years (Code de commerce art. L123-22); visits of an
    # anonymised client are deleted after that.
    "billing": Retention(10 * 365, N_("pièces comptables : 10 ans (C. com. L123-22)")),
    # Accounts of families and recipients no longer used: 1 year after the last sign-in.
    "family_accounts": Retention(365, N_("comptes des proches : 1 an sans connexion")),
    # Staff and carer accounts: 5 years after the last sign-in (payroll, Code du travail
    # L3243-4); the carer's HR profile is handled by the employer's HR process.
    "staff_accounts": Retention(5 * 365, N_("comptes du personnel : 5 ans sans connexion")),
    # Failed sign-ins: 30 days; phone outbox receipts (idempotency keys): 90 days.
    "login_attempts": Retention(30, N_("tentatives de connexion : 30 jours")),
    "outbox": Retention(90, N_("accusés de réception des téléphones : 90 jours")),
}


# ----------------------------------------------------------------------------- export
def _value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def row_dict(row: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of an ORM row, JSON-ready."""
    table = sa.inspect(row).mapper.local_table
    return {c.key: _value(getattr(row, c.key)) for c in table.columns if c.key not in skip}


_USER_SECRETS = ("password_hash", "totp_secret", "recovery_codes", "totp_last_step")


def export_client(client: Client) -> dict[str, Any]:
    """Everything held about a client, as one JSON-ready document."""
    visits = db.session.scalars(sa.select(Visit).where(Visit.client_id == client.id)
                                .order_by(Visit.day, Visit.window_start)).all()
    visit_ids = [v.id for v in visits]
    carers = {c.id: c.first_name for c in db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == client.organisation_id))}
    plans = db.session.scalars(sa.select(CarePlan).where(CarePlan.client_id == client.id)).all()
    links = db.session.scalars(sa.select(FamilyLink).where(
        FamilyLink.client_id == client.id)).all()
    accounts = db.session.scalars(sa.select(User).where(User.client_id == client.id)).all()
    accesses = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.client_id == client.id).order_by(AuditEvent.id)).all()
    return {
        "format": "tournee-gdpr-export", "version": FORMAT_VERSION,
        "exported_at": utcnow().isoformat(), "subject": {"type": "client", "id": client.id},
        "client": row_dict(client),
        "usual_carers": [carers.get(c.id) for c in client.usual_carers],
        "refused_carers": [carers.get(c.id) for c in client.refused_carers],
        "care_plans": [{**row_dict(p), "interventions": [row_dict(i) for i in p.interventions]}
                       for p in plans],
        "visits": [{**row_dict(v), "carers": [carers.get(a.carer_id) for a in v.assignments]}
                   for v in visits],
        "observations": [row_dict(o) for o in db.session.scalars(
            sa.select(Observation).where(Observation.client_id == client.id)
            .order_by(Observation.recorded_at))],
        "risk_scores": [row_dict(s) for s in db.session.scalars(
            sa.select(RiskScore).where(RiskScore.client_id == client.id))],
        "risk_alerts": [row_dict(a) for a in db.session.scalars(
            sa.select(RiskAlert).where(RiskAlert.client_id == client.id))],
        "phone_records": [row_dict(r) for r in db.session.scalars(
            sa.select(OutboxRecord).where(OutboxRecord.visit_id.in_(visit_ids)))]
        if visit_ids else [],
        "family": [{**row_dict(link), "user": row_dict(link.user, skip=_USER_SECRETS)}
                   for link in links],
        "accounts": [row_dict(u, skip=_USER_SECRETS) for u in accounts],
        # Who read or changed the file: the recipients of the data (GDPR art. 15.1.c).
        "accesses": [_access(e) for e in accesses],
    }


def _access(event: AuditEvent) -> dict[str, Any]:
    return {"at": event.at.isoformat(), "user_id": event.user_id, "action": event.action,
            "object_type": event.object_type, "object_id": event.object_id}


def export_user(user: User) -> dict[str, Any]:
    """Everything held about an account holder (and her own client file if a recipient)."""
    links = db.session.scalars(sa.select(FamilyLink).where(FamilyLink.user_id == user.id)).all()
    carer = db.session.scalar(sa.select(Carer).where(Carer.user_id == user.id))
    document: dict[str, Any] = {
        "format": "tournee-gdpr-export", "version": FORMAT_VERSION,
        "exported_at": utcnow().isoformat(), "subject": {"type": "user", "id": user.id},
        "account": {**row_dict(user, skip=_USER_SECRETS),
                    "two_factor_enabled": user.two_factor_enabled},
        "family_links": [row_dict(link) for link in links],
        "carer_profile": row_dict(carer) if carer else None,
        "activity": [_access(e) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.user_id == user.id)
            .order_by(AuditEvent.id))],
    }
    for table in _other_user_tables():
        rows = db.session.execute(sa.select(table).where(table.c.user_id == user.id)).mappings()
        document[table.name] = [{k: _value(v) for k, v in r.items()
                                 if k not in ("p256dh", "auth")} for r in rows]
    if user.client_id is not None:
        client = db.session.get(Client, user.client_id)
        if client is not None:
            document["client_file"] = export_client(client)
    return document


def to_json(document: dict[str, Any]) -> str:
    """Serialise an export (UTF-8, indented, stable key order)."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, default=str)


# ----------------------------------------------------------------------------- erasure
_HANDLED = {"user", "client", "visit", "visit_assignment", "observation", "risk_score",
            "risk_alert", "outbox_record", "family_link", "care_plan", "intervention",
            "carer", "audit_event", "gdpr_erasure", "login_attempt", "round_plan",
            "client_usual_carer", "client_refused_carer"}


def _other_user_tables() -> list[sa.Table]:
    """Tables of other features whose rows belong to one user (e.g. push subscriptions)."""
    found = []
    for table in db.metadata.sorted_tables:
        column = table.c.get("user_id")
        if table.name in _HANDLED or column is None or column.nullable:
            continue
        if any(fk.column.table.name == "user" for fk in column.foreign_keys):
            found.append(table)
    return found


def _other_client_tables() -> list[sa.Table]:
    found = []
    for table in db.metadata.sorted_tables:
        column = table.c.get("client_id")
        if table.name in _HANDLED or column is None:
            continue
        if any(fk.column.table.name == "client" for fk in column.foreign_keys):
            found.append(table)
    return found


def is_erased(subject_type: str, subject_id: int) -> bool:
    """Return whether this client or account was already erased."""
    return db.session.scalar(sa.select(Erasure.id).where(
        Erasure.subject_type == subject_type, Erasure.subject_id == subject_id)) is not None


def _scrub_json(value: Any, visit_ids: set[int], old: str, new: str) -> Any:
    if isinstance(value, dict):
        out = {k: _scrub_json(v, visit_ids, old, new) for k, v in value.items()}
        if out.get("visit_id") in visit_ids and "client" in out:
            out["client"] = new
        return out
    if isinstance(value, list):
        return [_scrub_json(v, visit_ids, old, new) for v in value]
    if isinstance(value, str) and old and old in value:
        return value.replace(old, new)
    return value


def _delete_notifications_about(organisation_id: int, visit_ids: set[int], name: str) -> int:
    """Delete the organisation's notifications that name a person or point at her visits."""
    rows = db.session.scalars(
        sa.select(Notification).join(User, User.id == Notification.user_id)
        .where(User.organisation_id == organisation_id)).all()
    gone = 0
    for row in rows:
        params = row.params or {}
        if params.get("visit") in visit_ids or name in json.dumps(params, ensure_ascii=False):
            db.session.delete(row)
            gone += 1
    return gone


def erase_client(actor: User | None, client: Client, *, reason: str = "request") -> dict[str, int]:
    """Erase a client's personal and health data; keep what accounting and the law need."""
    if is_erased("client", client.id):
        raise ValueError("already erased")
    old_name = client.full_name
    counts: dict[str, int] = {}
    visits = db.session.scalars(sa.select(Visit).where(Visit.client_id == client.id)).all()
    visit_ids = {v.id for v in visits}

    # Health data and what was derived from it.
    alerts = sa.delete(RiskAlert).where(RiskAlert.client_id == client.id)
    counts["risk_alerts"] = db.session.execute(alerts).rowcount
    db.session.execute(sa.update(RiskAlert).where(RiskAlert.score_id.in_(
        sa.select(RiskScore.id).where(RiskScore.client_id == client.id))).values(score_id=None))
    counts["risk_scores"] = db.session.execute(
        sa.delete(RiskScore).where(RiskScore.client_id == client.id)).rowcount
    counts["observations"] = db.session.execute(
        sa.delete(Observation).where(Observation.client_id == client.id)).rowcount
    if visit_ids:
        counts["phone_records"] = db.session.execute(
            sa.delete(OutboxRecord).where(OutboxRecord.visit_id.in_(visit_ids))).rowcount
    for table in _other_client_tables():
        counts[table.name] = db.session.execute(
            sa.delete(table).where(table.c.client_id == client.id)).rowcount

    # Visits stay for accounting, without what they said about the person.
    for visit in visits:
        visit.carer_note = ""
        visit.cancel_reason = ""
        visit.check_in_lat = visit.check_in_lon = None
        visit.check_out_lat = visit.check_out_lon = None
    counts["visits_kept"] = len(visits)
    for plan in db.session.scalars(sa.select(CarePlan).where(CarePlan.client_id == client.id)):
        plan.notes = ""

    # Accounts: her own, and those of relatives who follow no one else.
    for account in db.session.scalars(sa.select(User).where(User.client_id == client.id)):
        erase_user(actor, account, reason=reason)
    for link in list(client.family_links):
        relative = link.user
        client.family_links.remove(link)
        db.session.flush()
        others = db.session.scalar(sa.select(sa.func.count(FamilyLink.id)).where(
            FamilyLink.user_id == relative.id))
        if not others and not is_erased("user", relative.id):
            erase_user(actor, relative, reason=reason)
    db.session.execute(sa.delete(client_usual_carer).where(
        client_usual_carer.c.client_id == client.id))
    db.session.execute(sa.delete(client_refused_carer).where(
        client_refused_carer.c.client_id == client.id))

    # The client row becomes a pseudonymous shell.
    pseudonym_first, pseudonym_last = "Personne", f"effacée n° {client.id}"
    client.first_name, client.last_name = pseudonym_first, pseudonym_last
    client.birth_date = None
    client.sex = ""
    client.phone = ""
    client.address = ""
    client.city = ""
    client.lat = client.lon = None
    client.geocode_status = "pending"
    client.access_notes = ""
    client.notes = ""
    client.living_alone = True
    client.walking_aid = client.antiepileptics = client.cognitive_impairment = False
    client.parkinson = client.incontinence = client.vertigo = False
    client.n_medicines = client.n_psychotropics = 0
    client.active = False

    # Reminders to other people (a coordinator's alert, a carer's rota change) name her or
    # point at her visits: they go, whoever they were for.
    counts["notifications"] = _delete_notifications_about(
        client.organisation_id, visit_ids, old_name)

    # Optimisation previews name the clients of each stop.
    new_name = f"{pseudonym_first} {pseudonym_last}"
    for run in db.session.scalars(sa.select(RoundPlan).where(
            RoundPlan.organisation_id == client.organisation_id)):
        scrubbed = _scrub_json(run.result or {}, visit_ids, old_name, new_name)
        if scrubbed != run.result:
            run.result = scrubbed
    db.session.add(Erasure(organisation_id=client.organisation_id, subject_type="client",
                           subject_id=client.id, reason=reason,
                           erased_by_id=actor.id if actor else None, counts=counts))
    record(actor, "erase", "client", client.id, client_id=client.id,
           organisation_id=client.organisation_id, reason=reason, counts=counts)
    db.session.flush()
    return counts


def erase_user(actor: User | None, user: User, *, reason: str = "request") -> None:
    """Anonymise an account: it can never sign in again, and no longer names anyone."""
    if user.erased_at is not None:
        return
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email == user.email))
    for table in _other_user_tables():
        db.session.execute(sa.delete(table).where(table.c.user_id == user.id))
    db.session.execute(sa.delete(FamilyLink).where(FamilyLink.user_id == user.id))
    user.email = f"efface-{user.id}@invalid.tournee"
    user.first_name = "Compte"
    user.last_name = f"effacé n° {user.id}"
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.active = False
    user.client_id = None
    user.erased_at = utcnow()
    disable(user)
    db.session.add(Erasure(organisation_id=user.organisation_id, subject_type="user",
                           subject_id=user.id, reason=reason,
                           erased_by_id=actor.id if actor else None))
    record(actor, "erase", "user", user.id, organisation_id=user.organisation_id, reason=reason)
    db.session.flush()


# ----------------------------------------------------------------------------- retention
def apply_retention(today: date) -> dict[str, int]:
    """Apply every retention period of RETENTION as of ``today``; flush, not commit."""
    now = datetime.combine(today, time(0), PARIS)

    def before(key: str) -> datetime:
        return now - timedelta(days=RETENTION[key].days)

    counts: dict[str, int] = {}
    old_scores = sa.select(RiskScore.id).where(RiskScore.computed_at < before("observations"))
    db.session.execute(sa.update(RiskAlert).where(RiskAlert.score_id.in_(old_scores))
                       .values(score_id=None))
    counts["risk_alerts"] = db.session.execute(sa.delete(RiskAlert).where(
        RiskAlert.detected_at < before("observations"), RiskAlert.status != "open")).rowcount
    counts["risk_scores"] = db.session.execute(sa.delete(RiskScore).where(
        RiskScore.computed_at < before("observations"))).rowcount
    counts["observations"] = db.session.execute(sa.delete(Observation).where(
        Observation.recorded_at < before("observations"))).rowcount

    # Clients gone for good: anonymised 5 years after their last visit.
    last_visit = sa.select(sa.func.max(Visit.day)).where(
        Visit.client_id == Client.id).scalar_subquery()
    cutoff = (now - timedelta(days=RETENTION["clients"].days)).date()
    erased_clients = sa.select(Erasure.subject_id).where(Erasure.subject_type == "client")
    stale = db.session.scalars(sa.select(Client).where(
        Client.active.is_(False), Client.id.not_in(erased_clients),
        sa.func.coalesce(last_visit, sa.func.date(Client.created_at)) < cutoff)).all()
    for client in stale:
        erase_client(None, client, reason="retention")
    counts["clients_anonymised"] = len(stale)

    # Accounting records of anonymised clients: deleted after 10 years.
    old_visits = sa.select(Visit.id).where(
        Visit.client_id.in_(erased_clients),
        Visit.day < (now - timedelta(days=RETENTION["billing"].days)).date())
    db.session.execute(sa.delete(OutboxRecord).where(OutboxRecord.visit_id.in_(old_visits)))
    db.session.execute(sa.delete(Observation).where(Observation.visit_id.in_(old_visits)))
    db.session.execute(sa.delete(VisitAssignment).where(VisitAssignment.visit_id.in_(old_visits)))
    counts["visits"] = db.session.execute(sa.delete(Visit).where(
        Visit.id.in_(old_visits))).rowcount

    # Unused accounts.
    seen = sa.func.coalesce(User.last_login_at, User.created_at)
    anonymised = 0
    for roles, key in ((("family", "recipient"), "family_accounts"),
                       (("carer", "coordinator", "admin"), "staff_accounts")):
        for user in db.session.scalars(sa.select(User).where(
                User.role.in_(roles), User.active.is_(False), User.erased_at.is_(None),
                seen < before(key))):
            erase_user(None, user, reason="retention")
            anonymised += 1
    counts["accounts_anonymised"] = anonymised

    counts["login_attempts"] = db.session.execute(sa.delete(LoginAttempt).where(
        LoginAttempt.at < before("login_attempts"))).rowcount
    counts["outbox"] = db.session.execute(sa.delete(OutboxRecord).where(
        OutboxRecord.received_at < before("outbox"),
        sa.or_(OutboxRecord.flagged.is_(False), OutboxRecord.resolved_at.is_not(None)))).rowcount
    record(None, "apply_retention", "retention", None, day=today.isoformat(), counts=counts)
    db.session.flush()
    return counts
