"""Replay stress: 1,000 outbox records from 20 phones through a faulty network, none lost.

The app runs on a real HTTP server (werkzeug, threaded) over a real SQLite file. Between
the phones and the server sits a test-side proxy that answers 500 to 10 % of requests
(half of them after the server has applied the record, so the phone retries something
already stored), and drops 5 % of connections (before or after forwarding). Phones also
send 5 % of records a second time after success. Every phone sends its records in order
and retries until the server answers, as the service worker does.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.helpers import PASSWORD

pytestmark = pytest.mark.slow

DEVICES = 20
VISITS_PER_DEVICE = 10
RECORDS_PER_VISIT = 5  # check-in, three notes, check-out
FAULTS = (("500_before", 0.05), ("500_after", 0.05), ("drop_before", 0.02),
          ("drop_after", 0.03))


class FaultyProxy(ThreadingHTTPServer):
    """Forward HTTP to the app, injecting 500s and dropped connections at random."""

    daemon_threads = True

    def __init__(self, target_port: int, seed: int) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.target_port = target_port
        self.rng = random.Random(seed)  # noqa: S311 - fault injection, not secrets
        self.lock = threading.Lock()
        self.faults: Counter[str] = Counter()
        self.forwarded = 0

    def pick(self) -> str:
        with self.lock:
            roll = self.rng.random()
        for name, share in FAULTS:
            if roll < share:
                return name
            roll -= share
        return "none"

    def note(self, fault: str, forwarded: bool) -> None:
        with self.lock:
            self.faults[fault] += 1
            self.forwarded += forwarded


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultyProxy

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = self.server.pick()
        if fault == "drop_before":
            self.server.note(fault, forwarded=False)
            self.close_connection = True
            return
        if fault == "500_before":
            self.server.note(fault, forwarded=False)
            self._answer(500, b'{"error": "injected"}', [])
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.target_port, timeout=120)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        upstream.request("POST", self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.server.note(fault, forwarded=True)
        if fault == "drop_after":
            self.close_connection = True
            return
        if fault == "500_after":
            self._answer(500, b'{"error": "injected after the server applied it"}', [])
            return
        self._answer(response.status, data, [(k, v) for k, v in response.getheaders()
                                             if k.lower() in ("content-type",)])

    def _answer(self, status: int, data: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      session.get(f"{base}/login", timeout=60).text)
    assert token
    response = session.post(f"{base}/login", data={"email": email, "password": PASSWORD,
                                                   "csrf_token": token.group(1)}, timeout=60)
    assert response.ok
    return session


def send_until_answered(session: requests.Session, url: str, record: dict[str, Any],
                        stats: Counter[str]) -> requests.Response:
    """Send one record until the server answers something other than 5xx or a dropped line."""
    delay = 0.005
    while True:
        try:
            response = session.post(url, json=record, headers={"X-Tournee-Outbox": "1"},
                                    timeout=120)
        except requests.ConnectionError:
            stats["dropped"] += 1
        else:
            if response.status_code < 500:
                return response
            stats["5xx"] += 1
        time.sleep(delay)  # back off before retrying, as the phone does
        delay = min(delay * 2, 0.2)


def test_thousand_records_from_twenty_phones_arrive_exactly_once(app: Any, world: Any) -> None:
    from webapp.extensions import db
    from webapp.timeutil import to_paris, utcnow
    from webapp.visits.models import OutboxRecord, Visit

    start = utcnow() - timedelta(minutes=30)
    day = to_paris(start).date()
    org = world.org()
    phones = []
    for _ in range(DEVICES):
        carer = world.carer(org)
        visits = [world.visit(world.client(org), [carer], day=day)
                  for _ in range(VISITS_PER_DEVICE)]
        phones.append((carer.user.email, [v.id for v in visits]))
    world.commit()
    org_id = org.id

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = FaultyProxy(server.server_port, seed=20261129)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    direct = f"http://127.0.0.1:{server.server_port}"
    sync_url = f"http://127.0.0.1:{proxy.server_port}/visites/envoi"

    stats: Counter[str] = Counter()
    refused: list[tuple[str, int, str]] = []
    sent_keys: list[str] = []
    lock = threading.Lock()

    def phone(index: int, email: str, visit_ids: list[int]) -> None:
        rng = random.Random(index)  # noqa: S311 - simulated phones, not secrets
        session = sign_in(direct, email)
        local: Counter[str] = Counter()
        keys = []
        for v, visit_id in enumerate(visit_ids):
            base = start + timedelta(minutes=2 * v)
            steps = [("check_in", {}), ("note", {"note": ["Note 1"]}),
                     ("note", {"note": ["Note 2"]}), ("note", {"note": ["Note 3"]}),
                     ("check_out", {"tasks_done": ["Toilette"], "note": ["Fin de visite"]})]
            for s, (action, fields) in enumerate(steps):
                record = {"key": str(uuid.uuid4()), "action": action, "visit_id": visit_id,
                          "at": (base + timedelta(seconds=10 * s)).isoformat(),
                          "fields": fields}
                keys.append(record["key"])
                answer = send_until_answered(session, sync_url, record, local)
                if answer.status_code != 200:
                    refused.append((record["key"], answer.status_code, answer.text))
                    continue
                if rng.random() < 0.05:  # the phone sends it again (lost acknowledgement)
                    again = send_until_answered(session, sync_url, record, local)
                    local["duplicates_sent"] += 1
                    assert again.status_code == 200
                    assert again.json()["duplicate"] is True
        session.close()
        with lock:
            stats.update(local)
            sent_keys.extend(keys)

    threads = [threading.Thread(target=phone, args=(i, email, ids))
               for i, (email, ids) in enumerate(phones)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.monotonic() - began
    proxy.shutdown()
    proxy.server_close()
    server.shutdown()
    server.server_close()

    assert not [t for t in threads if t.is_alive()], "a phone never finished"
    assert refused == []
    total = DEVICES * VISITS_PER_DEVICE * RECORDS_PER_VISIT
    assert len(sent_keys) == len(set(sent_keys)) == total
    db.session.remove()
    stored = list(db.session.scalars(sa.select(OutboxRecord.key)))
    assert len(stored) == total
    assert set(stored) == set(sent_keys)  # none lost, none invented
    outcomes = Counter(db.session.scalars(sa.select(OutboxRecord.outcome)))
    assert outcomes == {"applied": total}
    statuses = Counter(db.session.scalars(sa.select(Visit.status).where(
        Visit.organisation_id == org_id)))
    assert statuses == {"done": DEVICES * VISITS_PER_DEVICE}
    # The faults really happened, in the intended proportions.
    requests_seen = sum(proxy.faults.values())
    assert proxy.faults["500_before"] + proxy.faults["500_after"] >= 0.07 * requests_seen
    assert proxy.faults["drop_before"] + proxy.faults["drop_after"] >= 0.03 * requests_seen
    assert stats["duplicates_sent"] > 0
    print(f"\nstress: {total} records, {len(stored)} rows, {requests_seen} requests through "
          f"the proxy, faults {dict(proxy.faults)}, phone retries {dict(stats)}, "
          f"{elapsed:.1f} s")
