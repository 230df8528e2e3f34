"""Web Push: VAPID keys, subscriptions, preferences, notifications and their delivery.

Delivery is claimed before it is sent: a worker marks due notifications "dispatched" and
records one delivery row per device ("sending", with a lease) in one transaction, commits,
then posts. Two workers never take the same row; a worker that dies leaves rows whose
lease runs out, and the next worker sends them again under the same Topic, which the push
service uses to replace a message it still holds and the phone uses as notification tag.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import os
import re
import socket
import threading
import time as _time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask_babel import force_locale
from py_vapid import Vapid02
from pywebpush import WebPusher
from sqlalchemy.exc import IntegrityError

from webapp.auth.models import User
from webapp.extensions import db
from webapp.i18n import N_
from webapp.push import messages
from webapp.push.models import (
    HeatWave,
    Notification,
    PushDelivery,
    PushPreference,
    PushSubscription,
)
from webapp.timeutil import PARIS, to_paris, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600
RETRY_AFTER_MAX_S = 6 * 3600
JWT_LIFETIME_S = 12 * 3600
LABEL_MAX = 120


class PushError(ValueError):
    """A subscription or setting we refuse (message in French, translated at display)."""

    status = 400


# ----------------------------------------------------------------------------- VAPID keys
def generate_keys(path: Path) -> tuple[str, bool]:
    """Create the installation's VAPID key at ``path`` once; return (public key, created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return public_key_of(Vapid02.from_file(str(path))), False
    vapid = Vapid02()
    vapid.generate_keys()
    pem = vapid.private_pem()
    try:  # never overwrite: the devices' subscriptions are bound to this key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return public_key_of(Vapid02.from_file(str(path))), False
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return public_key_of(vapid), True


def public_key_of(vapid: Vapid02) -> str:
    """Return the applicationServerKey a browser needs (base64url, uncompressed point)."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_vapid_cache: dict[str, tuple[float, Vapid02]] = {}


def load_vapid(path: Path | None = None) -> Vapid02 | None:
    """Return the installation's VAPID key, or None until `flask push keys` made it."""
    path = Path(path or current_app.config["PUSH_VAPID_KEY_FILE"])
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _vapid_cache.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    vapid = Vapid02.from_file(str(path))
    _vapid_cache[str(path)] = (mtime, vapid)
    return vapid


def application_server_key() -> str | None:
    """Return the public key served to the app, or None when push is not set up."""
    vapid = load_vapid()
    return public_key_of(vapid) if vapid else None


# ----------------------------------------------------------------------------- allow-list
def endpoint_allowed(endpoint: str, patterns: Iterable[str]) -> bool:
    """Return whether ``endpoint`` belongs to an allowed push service.

    A pattern is ``scheme://host[:port]``; ``*.`` in front of the host allows its
    subdomains, a port ``*`` any port. No user info, no other scheme, no other host.
    """
    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError:
        return False
    if url.scheme not in ("https", "http") or not url.hostname or "@" in url.netloc:
        return False
    host = url.hostname.lower()
    port = port or (443 if url.scheme == "https" else 80)
    for pattern in patterns:
        p_scheme, _sep, rest = pattern.partition("://")
        p_host, _sep, p_port = rest.partition(":")
        p_host = p_host.lower().rstrip("/")
        if p_scheme != url.scheme:
            continue
        if p_host.startswith("*."):
            if not host.endswith(p_host[1:]) or host == p_host[2:]:
                continue
        elif host != p_host:
            continue
        if p_port == "*" or int(p_port or (443 if p_scheme == "https" else 80)) == port:
            return True
    return False


_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def _clean(text: str) -> bool:
    """Return whether ``text`` has no control character (PostgreSQL refuses NUL in text)."""
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


def _b64(value: Any, size: int | None) -> bytes:
    # Only the base64url alphabet: the decoder would skip anything else, which we would store.
    if not isinstance(value, str) or not value or len(value) > 200 or not _B64URL.fullmatch(
            value):
        raise PushError(N_("Clés de l'abonnement invalides."))
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise PushError(N_("Clés de l'abonnement invalides.")) from None
    if size is not None and len(raw) != size:
        raise PushError(N_("Clés de l'abonnement invalides."))
    return raw


# ----------------------------------------------------------------------------- subscriptions
def subscribe(user: User, data: Any, *, allowed: Iterable[str], label: str = "") -> tuple[
        PushSubscription, bool]:
    """Store (or refresh) ``user``'s subscription of this device; flush.

    Refuses anything but an endpoint of an allowed push service with valid P-256 keys.
    """
    if not isinstance(data, dict):
        raise PushError(N_("Abonnement invalide."))
    endpoint = data.get("endpoint")
    keys = data.get("keys")
    if (not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1024
            or not _clean(endpoint)):
        raise PushError(N_("Abonnement invalide."))
    if not endpoint_allowed(endpoint, allowed):
        raise PushError(N_("Ce service de notification n'est pas autorisé."))
    if not isinstance(keys, dict):
        raise PushError(N_("Clés de l'abonnement invalides."))
    p256dh = _b64(keys.get("p256dh"), 65)
    _b64(keys.get("auth"), 16)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise PushError(N_("Clés de l'abonnement invalides.")) from None
    row = db.session.scalar(sa.select(PushSubscription).where(
        PushSubscription.endpoint == endpoint))
    created = row is None
    if row is None:
        row = PushSubscription(endpoint=endpoint)
        db.session.add(row)
    # The same device signed in by someone else now notifies that person only.
    row.user_id = user.id
    row.p256dh = keys["p256dh"].rstrip("=")
    row.auth = keys["auth"].rstrip("=")
    row.label = label[:LABEL_MAX]
    db.session.flush()
    return row, created


def device_label(user_agent: str) -> str:
    """Return a short, human name for a device from its User-Agent."""
    ua = user_agent or ""
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"),
                                          ("iPad", "iPad"), ("Windows", "Windows"),
                                          ("Mac OS", "Mac"), ("Linux", "Linux")) if key in ua),
                  "")
    browser = next((name for key, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"),
                                           ("Chrome/", "Chrome"), ("Safari/", "Safari"))
                    if key in ua), "")
    return " · ".join(p for p in (browser, system) if p) or "Navigateur"


def subscriptions_of(user: User) -> list[PushSubscription]:
    """Return ``user``'s devices, newest first."""
    return list(db.session.scalars(sa.select(PushSubscription).where(
        PushSubscription.user_id == user.id).order_by(PushSubscription.created_at.desc(),
                                                      PushSubscription.id.desc())))


def revoke(user: User, subscription_id: int) -> bool:
    """Delete one of ``user``'s devices; return whether it was hers."""
    row = db.session.get(PushSubscription, subscription_id)
    if row is None or row.user_id != user.id:
        return False
    _delete_subscription(row.id)
    return True


def unsubscribe_endpoint(user: User, endpoint: Any) -> bool:
    """Delete ``user``'s device with ``endpoint`` (the browser turned notifications off)."""
    if not isinstance(endpoint, str) or len(endpoint) > 1024 or not _clean(endpoint):
        return False  # never stored, and PostgreSQL cannot even compare a NUL
    row = db.session.scalar(sa.select(PushSubscription).where(
        PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id))
    if row is None:
        return False
    _delete_subscription(row.id)
    return True


def _delete_subscription(subscription_id: int) -> None:
    db.session.execute(sa.update(PushDelivery).where(
        PushDelivery.subscription_id == subscription_id,
        PushDelivery.status.in_(("sending", "retry"))).values(status="gone"))
    db.session.execute(sa.delete(PushSubscription).where(PushSubscription.id == subscription_id))
    db.session.flush()


# ----------------------------------------------------------------------------- preferences
def preference_of(user_id: int) -> PushPreference:
    """Return the user's preferences (defaults when she never set any, not stored)."""
    row = db.session.get(PushPreference, user_id)
    return row or PushPreference(user_id=user_id, discreet=False, disabled_kinds=[])


def save_preferences(user: User, *, discreet: bool, quiet_start: time | None,
                     quiet_end: time | None, enabled: Sequence[str], locale: str) -> None:
    """Store ``user``'s choices; flush."""
    if (quiet_start is None) != (quiet_end is None):
        raise PushError(N_("Indiquez le début et la fin des heures calmes, ou aucune des deux."))
    if quiet_start is not None and quiet_start == quiet_end:
        raise PushError(N_("Le début et la fin des heures calmes doivent différer."))
    allowed = messages.kinds_for(user.role)
    row = db.session.get(PushPreference, user.id)
    if row is None:
        row = PushPreference(user_id=user.id)
        db.session.add(row)
    row.discreet = discreet
    row.quiet_start, row.quiet_end = quiet_start, quiet_end
    row.disabled_kinds = [k for k in allowed if k not in enabled]
    row.updated_at = utcnow()
    user.locale = locale
    db.session.flush()


def quiet_until(pref: PushPreference, moment: datetime) -> datetime | None:
    """Return when ``pref``'s quiet hours end if ``moment`` falls in them, else None."""
    if pref.quiet_start is None or pref.quiet_end is None:
        return None
    local = to_paris(moment)
    clock = local.time().replace(tzinfo=None)
    start, end = pref.quiet_start, pref.quiet_end
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=PARIS)


def heat_wave_until(organisation_id: int) -> Any:
    """Return the last day of the service's heat-wave mode, or None when it is off."""
    row = db.session.get(HeatWave, organisation_id)
    return row.until if row else None


def set_heat_wave(user: User, until: Any) -> None:
    """Turn the service's heat-wave mode on until ``until`` (a date) or off (None); flush."""
    row = db.session.get(HeatWave, user.organisation_id)
    if row is None:
        row = HeatWave(organisation_id=user.organisation_id)
        db.session.add(row)
    row.until = until
    row.updated_by_id = user.id
    row.updated_at = utcnow()
    db.session.flush()


# ----------------------------------------------------------------------------- notifications
def notify(user_id: int, kind: str, key: str, *, due_at: datetime,
           params: dict[str, Any] | None = None, url: str = "/", topic: str | None = None,
           expires_at: datetime | None = None) -> Notification:
    """Plan one notification for a user, once per ``key``; flush.

    Planning the same key again updates a notification not sent yet (new time, new
    text) and leaves one already sent alone.
    """
    row = db.session.scalar(sa.select(Notification).where(
        Notification.user_id == user_id, Notification.key == key))
    if row is None:
        row = Notification(user_id=user_id, kind=kind, key=key, status="pending",
                           topic=topic or messages.topic_for(key))
        try:
            with db.session.begin_nested():
                _fill(row, due_at, params, url, expires_at)
                db.session.add(row)
        except IntegrityError:  # another planner made it just now
            row = db.session.scalars(sa.select(Notification).where(
                Notification.user_id == user_id, Notification.key == key)).one()
        return row
    if row.status == "pending":
        _fill(row, due_at, params, url, expires_at)
        db.session.flush()
    return row


def _fill(row: Notification, due_at: datetime, params: dict[str, Any] | None, url: str,
          expires_at: datetime | None) -> None:
    row.due_at = due_at
    row.params = params or {}
    row.url = url
    row.expires_at = expires_at


def cancel_pending(user_id: int, prefix: str, *, keep: str) -> int:
    """Cancel ``user_id``'s pending notifications whose key starts with ``prefix``."""
    result = db.session.execute(sa.update(Notification).where(
        Notification.user_id == user_id, Notification.status == "pending",
        Notification.key.startswith(prefix, autoescape=True), Notification.key != keep,
    ).values(status="cancelled"))
    return int(result.rowcount or 0)


def listed(user: User, *, now: datetime | None = None, limit: int = 50) -> list[Notification]:
    """Return ``user``'s in-app notifications: those due, newest first."""
    now = now or utcnow()
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id, Notification.due_at <= now,
        Notification.status.in_(("dispatched", "skipped"))).order_by(
        Notification.due_at.desc(), Notification.id.desc()).limit(limit)))


def unread_count(user: User) -> int:
    """Return how many of ``user``'s notifications were not read in the app."""
    return int(db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None),
        Notification.status.in_(("dispatched", "skipped")))) or 0)


def mark_read(user: User, rows: Sequence[Notification], now: datetime | None = None) -> None:
    """Mark ``rows`` read; flush."""
    now = now or utcnow()
    for row in rows:
        if row.read_at is None and row.user_id == user.id:
            row.read_at = now
    db.session.flush()


def text_of(row: Notification, *, discreet: bool = False,
            locale: str | None = None) -> tuple[str, str]:
    """Return (title, body) of ``row`` in ``locale``, else the current language."""
    if locale is None:
        return messages.render(row.kind, row.params or {}, discreet=discreet)
    with force_locale(locale):
        return messages.render(row.kind, row.params or {}, discreet=discreet)


def test_notification(user: User) -> Notification:
    """Plan a test notification for ``user``, due now; flush."""
    now = utcnow()
    return notify(user.id, "test", f"test:{now.timestamp():.6f}", due_at=now,
                  url="/notifications/", expires_at=now + timedelta(minutes=10))


# ----------------------------------------------------------------------------- delivery
@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    retried: int = 0
    gone: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    cancelled: int = 0
    deferred: int = 0
    no_device: int = 0
    lateness_s: list[float] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        for name in ("sent", "retried", "gone", "failed", "errors", "skipped", "cancelled",
                     "deferred", "no_device"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lateness_s.extend(other.lateness_s)


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    subscription_id: int
    info: dict[str, Any]
    payload: bytes
    headers: dict[str, str]
    ttl: int


@dataclass(frozen=True)
class _Result:
    job: _Job
    status: int | None
    retry_after: str | None
    error: str


def worker_name() -> str:
    """Name this process and thread in claims (for the operator reading the table)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


# Signed VAPID tokens per key and push service, reused until an hour before they expire.
_JWT_CACHE: dict[tuple[int, str, str], tuple[float, str]] = {}
_JWT_LOCK = threading.Lock()


class _Answer:
    """The part of a requests.Response pywebpush and we read."""

    def __init__(self, status: int, headers: dict[str, str], text: str) -> None:
        self.status_code = status
        self.headers = headers
        self.text = text


class KeepAliveSession:
    """A small HTTP client for one thread: one kept-alive connection per push service.

    Given to pywebpush as its ``requests_session`` (it only calls ``post``): requests adds
    about a millisecond per message, which is most of the cost at thousands a minute.
    Every request has the timeout; a connection that failed is dropped and made again.
    """

    def __init__(self) -> None:
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def close(self) -> None:
        """Close the kept-alive connections."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def post(self, url: str, *, data: bytes | None = None, headers: Any = None,
             timeout: float = 10.0) -> _Answer:
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        key = (parts.scheme, host, port)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = data or b""
        sent_headers = {str(k): str(v) for k, v in dict(headers or {}).items()}
        sent_headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            connection = self._connections.get(key)
            fresh = connection is None
            if connection is None:
                connection = (http.client.HTTPSConnection(host, port, timeout=timeout) if secure
                              else http.client.HTTPConnection(host, port, timeout=timeout))
                self._connections[key] = connection
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            try:
                connection.request("POST", path, body=body, headers=sent_headers)
                response = connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (http.client.HTTPException, OSError) as exc:
                connection.close()
                self._connections.pop(key, None)
                # A kept-alive connection the server closed meanwhile: try once on a new one.
                if fresh or attempt == 2 or isinstance(exc, TimeoutError):
                    raise requests.ConnectionError(f"{type(exc).__name__}: {exc}") from exc
                continue
            if response.will_close:
                connection.close()
                self._connections.pop(key, None)
            return _Answer(response.status, dict(response.getheaders()), text)
        raise requests.ConnectionError("unreachable")  # pragma: no cover - loop returns


class Pusher:
    """Posts encrypted messages with VAPID; one per process, shared by threads."""

    def __init__(self, vapid: Vapid02, subject: str, *, timeout: float, threads: int) -> None:
        self.vapid = vapid
        self.subject = subject
        self.timeout = timeout
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="push")
        self.threads = threads
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[KeepAliveSession] = []

    def authorization(self, endpoint: str) -> str:
        """Return the VAPID Authorization header for ``endpoint``'s push service."""
        url = urlsplit(endpoint)
        aud = f"{url.scheme}://{url.netloc}"
        now = _time.time()
        key = (id(self.vapid), self.subject, aud)
        with _JWT_LOCK:
            cached = _JWT_CACHE.get(key)
            if cached and cached[0] - 3600 > now:
                return cached[1]
            exp = int(now) + JWT_LIFETIME_S
            # A new dict each time: py_vapid/pywebpush write into the claims they are given.
            header = self.vapid.sign({"sub": self.subject, "aud": aud, "exp": exp})
            _JWT_CACHE[key] = (exp, header["Authorization"])
            return header["Authorization"]

    def _session(self) -> KeepAliveSession:
        session = getattr(self._local, "session", None)
        if session is None:
            session = KeepAliveSession()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Stop the threads and close their connections."""
        self.pool.shutdown(wait=True)
        with self._lock:
            for session in self._sessions:
                session.close()

    def post(self, job: _Job) -> _Result:
        """Encrypt and post one message; never raises."""
        try:
            response = WebPusher(job.info, requests_session=self._session()).send(  # type: ignore[arg-type]
                job.payload, dict(job.headers), ttl=job.ttl, timeout=self.timeout)
        except requests.RequestException as exc:
            return _Result(job, None, None, f"{type(exc).__name__}")
        except Exception as exc:  # bad keys stored: our error, not the network's
            return _Result(job, 0, None, f"{type(exc).__name__}: {exc}"[:300])
        return _Result(job, response.status_code, response.headers.get("Retry-After"),
                       "" if response.status_code < 300 else response.text[:300])


def pusher() -> Pusher | None:
    """Return a pusher for one run of the sender, or None until the VAPID key exists.

    Each run has its own threads and connections (closed by ``Pusher.close``), so that two
    runs in one process never share a connection; the signed VAPID tokens are shared.
    """
    app = current_app
    vapid = load_vapid()
    if vapid is None:
        return None
    return Pusher(vapid, app.config["PUSH_SUBJECT"], timeout=app.config["PUSH_TIMEOUT_S"],
                  threads=app.config["PUSH_SEND_THREADS"])


def retry_delay(attempts: int, retry_after: str | None, now: datetime) -> float:
    """Return seconds to wait: the push service's Retry-After, else exponential backoff."""
    backoff = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    if retry_after:
        value = retry_after.strip()
        wait: float | None = None
        if value.isdigit():
            wait = float(value)
        else:
            try:
                wait = (parsedate_to_datetime(value) - now).total_seconds()
            except (TypeError, ValueError):
                wait = None
        if wait is not None:
            return float(min(RETRY_AFTER_MAX_S, max(1.0, wait)))
    return float(backoff)


def send_due(*, now: datetime | None = None, batch: int | None = None,
             max_batches: int | None = None) -> SendReport:
    """Send every due notification and every delivery due for a retry; commit per batch."""
    sender = pusher()
    report = SendReport()
    if sender is None:  # still listed in the app; nothing leaves the server
        log.warning("push: no VAPID key (run `flask push keys`); nothing pushed")
    size = batch or (sender.threads * 4 if sender else 200)
    lease = timedelta(seconds=current_app.config["PUSH_LEASE_S"])
    try:
        _send_loop(sender, report, now, size, lease, max_batches)
    finally:
        if sender is not None:
            sender.close()
    return report


def _send_loop(sender: Pusher | None, report: SendReport, now: datetime | None, size: int,
               lease: timedelta, max_batches: int | None) -> None:
    from webapp.push.planner import still_relevant

    name = worker_name()
    rounds = 0
    while max_batches is None or rounds < max_batches:
        rounds += 1
        moment = now or utcnow()
        db.session.commit()  # claims start a fresh write transaction
        jobs, part = _claim(sender, moment, size, lease, name, still_relevant)
        report.add(part)
        db.session.commit()
        if not jobs:
            if part.skipped + part.cancelled + part.deferred + part.no_device == 0:
                break
            continue
        if sender is None:  # never: without a key nothing is claimed for sending
            break
        results = list(sender.pool.map(sender.post, jobs))
        report.add(_record(results, now or utcnow()))
        db.session.commit()


def _materialized(query: sa.Select[Any], name: str) -> sa.Select[Any]:
    """Return ``SELECT id FROM`` ``query`` run once, as a MATERIALIZED CTE (see ``_claim``)."""
    cte = query.cte(name).prefix_with("MATERIALIZED")
    return sa.select(cte.c.id)


def _claim(sender: Pusher | None, now: datetime, size: int, lease: timedelta, name: str,
           still_relevant: Any) -> tuple[list[_Job], SendReport]:
    """Claim due notifications and due retries, record their deliveries; caller commits."""
    report = SendReport()
    # SKIP LOCKED (PostgreSQL; SQLite has one writer anyway): a second worker takes the next
    # rows instead of waiting for the first worker's and finding them gone. A MATERIALIZED
    # CTE, not ``IN (subquery)``: PostgreSQL may run such a subquery again for each row of
    # the update, and each run skips the rows the update already changed, so LIMIT would
    # not bound the claim and one worker could take every due row at once.
    due = _materialized(sa.select(Notification.id).where(
        Notification.status == "pending", Notification.due_at <= now,
    ).order_by(Notification.due_at, Notification.id).limit(size).with_for_update(
        skip_locked=True), "due")
    claimed = list(db.session.execute(sa.update(Notification).where(
        Notification.id.in_(due), Notification.status == "pending").values(
        status="dispatched", dispatched_at=now).returning(Notification.id)).scalars())
    lease_until = now + lease
    if claimed:
        # Plain rows, not ORM objects: thousands a minute go through here.
        rows = db.session.execute(sa.select(
            Notification.id, Notification.user_id, Notification.kind, Notification.params,
            Notification.expires_at).where(Notification.id.in_(claimed))).all()
        active = dict(db.session.execute(sa.select(User.id, User.active).where(
            User.id.in_({r.user_id for r in rows}))).tuples().all())
        prefs = {p.user_id: p for p in db.session.scalars(sa.select(PushPreference).where(
            PushPreference.user_id.in_(active)))}
        subs: dict[int, list[int]] = {}
        if sender is not None:
            for sub_id, user_id in db.session.execute(sa.select(
                    PushSubscription.id, PushSubscription.user_id).where(
                    PushSubscription.user_id.in_(active))).tuples():
                subs.setdefault(user_id, []).append(sub_id)
        new: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for row in rows:
            pref = prefs.get(row.user_id)
            if not active.get(row.user_id) or (pref and row.kind in (pref.disabled_kinds or [])):
                changes.append({"id": row.id, "status": "skipped"})
                report.skipped += 1
                continue
            if row.expires_at is not None and row.expires_at <= now:
                # Too late to be of use; still listed in the app.
                changes.append({"id": row.id, "status": "skipped"})
                report.skipped += 1
                continue
            if not still_relevant(row, now):
                changes.append({"id": row.id, "status": "cancelled"})
                report.cancelled += 1
                continue
            later = quiet_until(pref, now) if pref else None
            if later is not None:
                if row.expires_at is not None and later >= row.expires_at:
                    changes.append({"id": row.id, "status": "skipped"})
                    report.skipped += 1
                else:
                    changes.append({"id": row.id, "status": "pending", "dispatched_at": None,
                                    "due_at": later})
                    report.deferred += 1
                continue
            devices = subs.get(row.user_id, [])
            if not devices:
                report.no_device += 1  # listed in the app only
            for sub_id in devices:
                new.append({"notification_id": row.id, "subscription_id": sub_id,
                            "status": "sending", "attempts": 0, "claimed_by": name,
                            "lease_until": lease_until, "error": ""})
        for change in changes:  # few: skipped, cancelled or held for quiet hours
            db.session.execute(sa.update(Notification).where(
                Notification.id == change.pop("id")).values(**change))
        if new:
            db.session.execute(sa.insert(PushDelivery), new)
    if sender is None:
        return [], report
    # Retries that are due, and claims of workers that died (their lease ran out).
    again = _materialized(sa.select(PushDelivery.id).where(sa.or_(
        sa.and_(PushDelivery.status == "retry", PushDelivery.next_attempt_at <= now),
        sa.and_(PushDelivery.status == "sending", PushDelivery.lease_until < now),
    )).limit(size).with_for_update(skip_locked=True), "again")
    db.session.execute(sa.update(PushDelivery).where(PushDelivery.id.in_(again)).values(
        status="sending", claimed_by=name, lease_until=lease_until + timedelta(microseconds=1)))
    mine = db.session.execute(sa.select(
        PushDelivery.id, Notification.id.label("notification_id"), Notification.user_id,
        Notification.kind, Notification.params, Notification.url, Notification.topic,
        Notification.due_at, Notification.expires_at, PushSubscription.id.label("sub_id"),
        PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth).join(
        Notification, Notification.id == PushDelivery.notification_id).join(
        PushSubscription, PushSubscription.id == PushDelivery.subscription_id).where(
        PushDelivery.status == "sending", PushDelivery.claimed_by == name,
        PushDelivery.lease_until >= lease_until)).all()
    if not mine:
        return [], report
    user_ids = {item.user_id for item in mine}
    locales = dict(db.session.execute(sa.select(User.id, User.locale).where(
        User.id.in_(user_ids))).tuples().all())
    discreet = set(db.session.scalars(sa.select(PushPreference.user_id).where(
        PushPreference.user_id.in_(user_ids), PushPreference.discreet.is_(True))))
    jobs = []
    by_locale: dict[str, list[Any]] = {}
    for item in mine:
        by_locale.setdefault(locales.get(item.user_id) or "fr", []).append(item)
    for locale, items in by_locale.items():
        with force_locale(locale if locale in current_app.config["LANGUAGES"] else "fr"):
            gettext = messages.fast_gettext()
            for item in items:
                jobs.append(_job(sender, item, item.user_id in discreet, gettext))
    return jobs, report


def payload_for(row: Any, *, discreet: bool, gettext: messages.Gettext | None = None,
                notification_id: int | None = None) -> bytes:
    """Return the JSON the service worker shows, at most MAX_PAYLOAD bytes."""
    title, body = messages.render(row.kind, row.params or {}, discreet=discreet,
                                  gettext=gettext)
    data = {"id": notification_id or row.id, "title": title, "body": body, "url": row.url,
            "tag": row.topic, "ts": int(row.due_at.timestamp() * 1000)}
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    while len(raw) > messages.MAX_PAYLOAD:
        data["body"] = str(data["body"])[: max(0, len(str(data["body"])) - 200)] + "…"
        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return raw


def _job(sender: Pusher, item: Any, discreet: bool, gettext: messages.Gettext) -> _Job:
    """Make the request of one claimed delivery (``item``: a row of the claim query)."""
    kind = messages.KINDS.get(item.kind, messages.KINDS["test"])
    ttl = kind.ttl_s
    if item.expires_at is not None:
        ttl = max(60, min(ttl, int((item.expires_at - utcnow()).total_seconds())))
    info = {"endpoint": item.endpoint, "keys": {"p256dh": item.p256dh, "auth": item.auth}}
    headers = {"Authorization": sender.authorization(item.endpoint), "Urgency": kind.urgency,
               "Topic": item.topic}
    payload = payload_for(item, discreet=discreet, gettext=gettext,
                          notification_id=item.notification_id)
    return _Job(item.id, item.sub_id, info, payload, headers, ttl)


def _record(results: Sequence[_Result], now: datetime) -> SendReport:
    """Store each outcome; delete subscriptions the push service says are gone."""
    report = SendReport()
    updates: list[dict[str, Any]] = []
    gone: set[int] = set()
    ok_subs: set[int] = set()
    attempts = dict(db.session.execute(sa.select(PushDelivery.id, PushDelivery.attempts).where(
        PushDelivery.id.in_([r.job.delivery_id for r in results]))).tuples().all())
    for result in results:
        job, status = result.job, result.status
        change: dict[str, Any] = {"id": job.delivery_id, "response_status": status,
                                  "lease_until": None}
        if status is not None and 200 <= status < 300:
            change.update(status="sent", sent_at=now, error="")
            ok_subs.add(job.subscription_id)
            report.sent += 1
        elif status in (404, 410):
            change.update(status="gone", error=result.error[:300])
            gone.add(job.subscription_id)
            report.gone += 1
        elif status is None or status == 429 or status >= 500:
            tries = attempts.get(job.delivery_id, 0) + 1
            change["attempts"] = tries
            change["error"] = (result.error or f"HTTP {status}")[:300]
            if tries >= MAX_ATTEMPTS:
                change["status"] = "failed"
                report.failed += 1
            else:
                wait = retry_delay(tries, result.retry_after, now)
                change.update(status="retry", next_attempt_at=now + timedelta(seconds=wait))
                report.retried += 1
        else:  # 400, 401, 403, 413...: the push service refuses what we sent
            log.error("push delivery %s refused with HTTP %s (our error): %s",
                      job.delivery_id, status, result.error[:200])
            change.update(status="error", error=(result.error or f"HTTP {status}")[:300])
            report.errors += 1
        updates.append(change)
    if updates:
        db.session.execute(sa.update(PushDelivery), updates)
    if ok_subs:
        db.session.execute(sa.update(PushSubscription).where(
            PushSubscription.id.in_(ok_subs)).values(last_success_at=now))
    for subscription_id in gone:
        _delete_subscription(subscription_id)
    return report
