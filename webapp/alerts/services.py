"""Score people with the shipped risk model, detect changes, and record reviews.

Rows become ``risk.Person`` / ``risk.Observation`` here; the model is an artefact trained
offline (``python -m risk train``), loaded once per process and never trained in a request.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

import risk
from webapp.alerts.models import ALERT_ACTIONS, RiskAlert, RiskScore
from webapp.alerts.texts import SCORE_MESSAGES, capitalised, percent
from webapp.audit.services import record
from webapp.clients.models import Client
from webapp.config import PROJECT_ROOT
from webapp.extensions import db
from webapp.i18n import N_
from webapp.observations.models import Observation
from webapp.timeutil import PARIS, to_paris, utcnow

log = logging.getLogger(__name__)

DEFAULT_MODEL = PROJECT_ROOT / "data" / "models" / "risk-synthetic-v3"
# The features look back one year; a little more keeps the 365-day counts whole.
HISTORY_DAYS = 400
# Change alerts older than this when first found (e.g. on history loaded at once) are not raised.
CHANGE_RECENT_DAYS = 14
# Default alert thresholds (about 1.5 x the prevalence in the training data); a service tunes
# them with RISK_FALL_THRESHOLD / RISK_DECLINE_THRESHOLD.
FALL_THRESHOLD = 0.40
DECLINE_THRESHOLD = 0.30
COMMENT_MAX = 2000

_models: dict[str, tuple[risk.RiskModel, str]] = {}
_lock = threading.Lock()


class AlertError(ValueError):
    """A review that cannot be recorded."""


def _setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default) if has_app_context() else default


def model_path() -> Path:
    """Return the directory of the artefact in use (``RISK_MODEL_PATH`` or the shipped one)."""
    return Path(_setting("RISK_MODEL_PATH", None) or DEFAULT_MODEL)


def get_model(path: str | Path | None = None) -> tuple[risk.RiskModel, str]:
    """Return the loaded model and its version string; loaded once per process and path."""
    folder = Path(path) if path is not None else model_path()
    key = str(folder.resolve())
    with _lock:
        if key not in _models:
            model = risk.load_model(folder)
            _models[key] = (model, model_version(folder, model.metadata))
        return _models[key]


def model_version(folder: Path, metadata: dict[str, Any]) -> str:
    """Name an artefact: its directory, the start of its hash and its training date."""
    sha = str(metadata.get("sha256", ""))[:8]
    trained = str(metadata.get("trained_at", ""))[:10]
    return f"{folder.name}@{sha} ({trained})"


# ----------------------------------------------------------------------------- rows -> risk
def person_for(client: Client) -> risk.Person | None:
    """Return the model's view of ``client``, or None when the profile lacks age or sex."""
    if client.birth_date is None or client.sex not in ("F", "M"):
        return None
    return risk.Person(
        person_id=str(client.id), sex=risk.Sex(client.sex), birth_date=client.birth_date,
        gir=client.gir, walking_aid=client.walking_aid, n_medicines=client.n_medicines,
        n_psychotropics=client.n_psychotropics, antiepileptics=client.antiepileptics,
        cognitive_impairment=client.cognitive_impairment, parkinson=client.parkinson,
        incontinence=client.incontinence, living_alone=client.living_alone,
        vertigo=client.vertigo)


def _enum(kind: Any, value: str | None) -> Any:
    return None if value is None else kind[value.upper()]


def local_naive(moment: datetime) -> datetime:
    """Return an aware time as naive Paris wall-clock time (the library's time axis)."""
    return to_paris(moment).replace(tzinfo=None)


def observation_for(row: Observation) -> risk.Observation:
    """Return the library's record of one stored observation."""
    return risk.Observation(
        person_id=str(row.client_id), at=local_naive(row.recorded_at), carer_id=str(row.carer_id),
        fall=_enum(risk.FallReport, row.fall), near_fall=row.near_fall,
        mobility=_enum(risk.Mobility, row.mobility), walking_aid_used=row.walking_aid_used,
        meal_share=row.meal_share, drinks=_enum(risk.Drinks, row.drinks),
        weight_kg=row.weight_kg, mood=_enum(risk.Mood, row.mood),
        confusion=_enum(risk.Confusion, row.confusion), poor_sleep=row.poor_sleep,
        continence_change=row.continence_change, pain=row.pain, skin_redness=row.skin_redness,
        breathlessness=row.breathlessness, swelling=row.swelling,
        social_contact=row.social_contact, help_toilet=row.help_toilet,
        help_dressing=row.help_dressing, help_transfers=row.help_transfers,
        help_eating=row.help_eating, medication_as_planned=row.medication_as_planned,
        note="", share_with_family=False)  # notes never reach the model


def observations_by_client(client_ids: Sequence[int], since: datetime
                           ) -> dict[int, list[risk.Observation]]:
    """Return each client's observations since ``since``, in time order."""
    found: dict[int, list[risk.Observation]] = defaultdict(list)
    if not client_ids:
        return found
    rows = db.session.scalars(sa.select(Observation).where(
        Observation.client_id.in_(client_ids), Observation.recorded_at >= since)
        .order_by(Observation.recorded_at))
    for row in rows:
        found[row.client_id].append(observation_for(row))
    return found


# ----------------------------------------------------------------------------- scoring
def _reasons(reasons: Iterable[risk.Reason]) -> list[dict[str, Any]]:
    # The parts (message keys and figures) let each viewer read the reason in her language.
    return [{"code": r.code, "text": r.text, "effect": round(float(r.effect), 4),
             "modifiable": bool(r.modifiable),
             "parts": [[key, dict(params)] for key, params in r.parts]} for r in reasons]


def _latest_score(client_id: int) -> RiskScore | None:
    return db.session.scalar(sa.select(RiskScore).where(RiskScore.client_id == client_id)
                             .order_by(RiskScore.computed_at.desc(), RiskScore.id.desc())
                             .limit(1))


def _alert_exists(client_id: int, kind: str, item: str, *, open_only: bool = False) -> bool:
    query = sa.select(RiskAlert.id).where(RiskAlert.client_id == client_id,
                                          RiskAlert.kind == kind, RiskAlert.item == item)
    if open_only:
        query = query.where(RiskAlert.status == "open")
    return db.session.scalar(query.limit(1)) is not None


def _change_is_news(client_id: int, item: str, detected: datetime) -> bool:
    """Tell whether a detected change on ``item`` deserves a new alert.

    A worsening that lasts fires again after the detector's quiet period. While an alert on the
    item waits for its review, or when it was reviewed after the new detection, the coordinator
    already knows: another alert would only be noise.
    """
    earlier = db.session.execute(
        sa.select(RiskAlert.status, RiskAlert.reviewed_at, RiskAlert.detected_at)
        .where(RiskAlert.client_id == client_id, RiskAlert.kind == "change",
               RiskAlert.item == item)
    ).all()
    return not any(
        at == detected or status == "open" or (reviewed is not None and reviewed >= detected)
        for status, reviewed, at in earlier
    )


def score_clients(clients: Sequence[Client], *, now: datetime | None = None,
                  model_dir: str | Path | None = None) -> list[RiskScore]:
    """Score ``clients`` now, store the scores and any new alert; flush, never commit.

    Clients whose profile lacks a birth date or sex are skipped (see ``person_for``).
    """
    now = now or utcnow()
    model, version = get_model(model_dir)
    pairs = [(c, p) for c in clients if (p := person_for(c)) is not None]
    if not pairs:
        return []
    by_client = observations_by_client([c.id for c, _ in pairs],
                                       now - timedelta(days=HISTORY_DAYS))
    # Strictly before `at` counts: a second later includes what was just recorded.
    at = local_naive(now) + timedelta(seconds=1)
    all_obs = [o for c, _ in pairs for o in by_client.get(c.id, [])]
    scores = model.score([p for _, p in pairs], all_obs, at)
    thresholds = {"fall": float(_setting("RISK_FALL_THRESHOLD", FALL_THRESHOLD)),
                  "decline": float(_setting("RISK_DECLINE_THRESHOLD", DECLINE_THRESHOLD))}
    stored: list[RiskScore] = []
    for (client, _), score in zip(pairs, scores, strict=True):
        previous = _latest_score(client.id)
        row = RiskScore(organisation_id=client.organisation_id, client_id=client.id,
                        computed_at=now, fall_risk_90d=float(score.fall_risk_90d),
                        decline_risk_90d=float(score.decline_risk_90d),
                        reasons={"fall": _reasons(score.fall_reasons),
                                 "decline": _reasons(score.decline_reasons)},
                        model_version=version, n_observations=len(by_client.get(client.id, [])))
        db.session.add(row)
        db.session.flush()
        _score_alerts(client, row, previous, thresholds)
        _change_alerts(client, by_client.get(client.id, []), model, now)
        record(None, "compute_risk", "risk_score", row.id, client_id=client.id,
               organisation_id=client.organisation_id, model_version=version)
        stored.append(row)
    db.session.flush()
    return stored


def _score_alerts(client: Client, row: RiskScore, previous: RiskScore | None,
                  thresholds: dict[str, float]) -> None:
    """Raise an alert when a risk crosses its threshold (once, until reviewed)."""
    for item, text in SCORE_MESSAGES.items():
        value = getattr(row, f"{item}_risk_90d")
        before = getattr(previous, f"{item}_risk_90d") if previous else 0.0
        if value < thresholds[item]:
            continue
        if before >= thresholds[item] and _alert_exists(client.id, "score", item):
            continue  # already above: the first crossing raised it
        if _alert_exists(client.id, "score", item, open_only=True):
            continue
        reasons = "; ".join(r["text"] for r in row.reasons.get(item, []))
        # Stored in French; pages render it again in the viewer's language (texts.alert_text).
        message = text % {"risk": percent(value)} + (f" ({reasons})" if reasons else "")
        db.session.add(RiskAlert(organisation_id=client.organisation_id, client_id=client.id,
                                 kind="score", item=item, message=message[:300],
                                 detected_at=row.computed_at, score_id=row.id))


def _change_alerts(client: Client, observations: list[risk.Observation],
                   model: risk.RiskModel, now: datetime) -> None:
    """Raise the recent changes from the person's usual state not raised before."""
    if not observations:
        return
    recent = now - timedelta(days=CHANGE_RECENT_DAYS)
    for change in risk.detect_changes(observations, model.population):
        detected = change.at.replace(tzinfo=PARIS)
        if detected < recent:
            continue
        if not _change_is_news(client.id, change.item, detected):
            continue
        db.session.add(RiskAlert(organisation_id=client.organisation_id, client_id=client.id,
                                 kind="change", item=change.item,
                                 message=capitalised(change.text),
                                 detected_at=detected))


def rescore_client(client_id: int, *, model_dir: str | Path | None = None) -> RiskScore | None:
    """Score one active client; flush, never commit."""
    client = db.session.get(Client, client_id)
    if client is None or not client.active:
        return None
    scores = score_clients([client], model_dir=model_dir)
    return scores[0] if scores else None


def active_client_ids() -> list[int]:
    """Return the ids of every active client of every organisation (the nightly run)."""
    return list(db.session.scalars(sa.select(Client.id).where(Client.active.is_(True))
                                   .order_by(Client.id)))


def rescore_batch(client_ids: Sequence[int], *, model_dir: str | Path | None = None) -> int:
    """Score the given clients; flush, never commit. Returns how many were scored."""
    clients = db.session.scalars(sa.select(Client).where(Client.id.in_(client_ids))).all()
    return len(score_clients(clients, model_dir=model_dir))


# ----------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Row:
    """One person on the Alertes page."""

    client: Client
    score: RiskScore | None
    open_alerts: int


def overview(organisation_id: int) -> tuple[list[Row], list[RiskAlert], list[Client]]:
    """Return people by risk, open change alerts (newest first) and unscorable clients."""
    latest = (sa.select(RiskScore.client_id, sa.func.max(RiskScore.id).label("last_id"))
              .where(RiskScore.organisation_id == organisation_id)
              .group_by(RiskScore.client_id).subquery())
    scores = {s.client_id: s for s in db.session.scalars(
        sa.select(RiskScore).join(latest, RiskScore.id == latest.c.last_id))}
    counts = dict(db.session.execute(
        sa.select(RiskAlert.client_id, sa.func.count(RiskAlert.id))
        .where(RiskAlert.organisation_id == organisation_id, RiskAlert.status == "open")
        .group_by(RiskAlert.client_id)).tuples().all())
    clients = db.session.scalars(sa.select(Client).where(
        Client.organisation_id == organisation_id, Client.active.is_(True))).all()
    rows = [Row(c, scores.get(c.id), counts.get(c.id, 0)) for c in clients if c.id in scores]
    rows.sort(key=lambda r: (-(r.score.top_risk if r.score else 0.0), r.client.last_name))
    changes = list(db.session.scalars(sa.select(RiskAlert).where(
        RiskAlert.organisation_id == organisation_id, RiskAlert.status == "open")
        .order_by(RiskAlert.detected_at.desc(), RiskAlert.id.desc())))
    unscored = [c for c in clients if c.id not in scores]
    return rows, changes, unscored


def count_open_alerts(organisation_id: int) -> int:
    """Return the number of alerts awaiting review in an organisation."""
    return int(db.session.scalar(sa.select(sa.func.count(RiskAlert.id)).where(
        RiskAlert.organisation_id == organisation_id, RiskAlert.status == "open")) or 0)


def history(client: Client, *, days: int = 180, now: datetime | None = None) -> list[RiskScore]:
    """Return ``client``'s scores over ``days``, oldest first."""
    since = (now or utcnow()) - timedelta(days=days)
    return list(db.session.scalars(sa.select(RiskScore).where(
        RiskScore.client_id == client.id, RiskScore.computed_at >= since)
        .order_by(RiskScore.computed_at, RiskScore.id)))


def alerts_of(client: Client, *, limit: int = 30) -> list[RiskAlert]:
    """Return ``client``'s alerts, open ones first, newest first."""
    return list(db.session.scalars(sa.select(RiskAlert).where(RiskAlert.client_id == client.id)
                                   .order_by(sa.case((RiskAlert.status == "open", 0), else_=1),
                                             RiskAlert.detected_at.desc()).limit(limit)))


def review_alert(alert: RiskAlert, actor: Any, *, action: str, comment: str) -> RiskAlert:
    """Record what the coordinator did about ``alert``; audit it; flush."""
    if action not in ALERT_ACTIONS:
        raise AlertError(N_("Choisissez la suite donnée."))
    if alert.status == "reviewed":
        raise AlertError(N_("Cette alerte a déjà été revue."))
    if len(comment) > COMMENT_MAX:
        raise AlertError(N_("Commentaire trop long (2 000 caractères au plus)."))
    alert.status, alert.action, alert.comment = "reviewed", action, comment.strip()
    alert.reviewed_by_id, alert.reviewed_at = actor.id, utcnow()
    db.session.flush()
    record(actor, "review_alert", "risk_alert", alert.id, client_id=alert.client_id,
           action_taken=action)
    return alert
