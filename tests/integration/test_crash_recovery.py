"""Crash safety: ``kill -9`` of gunicorn and of the huey worker in the middle of writes.

Real processes on a real SQLite file (WAL; PostgreSQL in ``make test-postgres``): gunicorn
serves the app, ``huey_consumer`` runs the background tasks. Phones post outbox records
(JSON, idempotency keys) from several threads; risk-rescoring tasks are queued (some to run
at once, some scheduled a few seconds later). Then both servers are killed with SIGKILL
during the writes, and restarted:

* ``PRAGMA integrity_check`` answers ``ok``;
* every record the server acknowledged (2xx) before the crash is stored, exactly once;
* the records the phones could not get acknowledged are sent again with the same key, as
  the service worker's outbox does, and are stored exactly once;
* the tasks queued before the kill run after the restart (the task log says so), none twice.

Huey takes a task off the queue when it starts it, so a task *running* at the moment of the
kill is not retried: the test allows that for at most as many tasks as worker threads, and
says so. ``python -m bench.load`` has the long version of the load; this one is kept short.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import PASSWORD
from webapp.config import PROJECT_ROOT

pytestmark = pytest.mark.slow
WRITERS = 4
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of our processes, as an operator sets it (see the README)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TOURNEE_ENV", "HUEY_URL")}
    env.update({"DATABASE_URL": database_url, "TOURNEE_INSTANCE": str(folder),
                "SECRET_KEY": "crash-test-not-secret", "GEOCODER_ENABLED": "0",
                "TOURNEE_TASK_LOG": str(folder / "tasks.log"), "PYTHONUNBUFFERED": "1",
                **extra})
    return env


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start one of our processes in its own process group, its output appended to ``log``."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start gunicorn as the Procfile does; return once it answers."""
    proc = spawn([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                  "--threads", "2", "webapp.wsgi:app"], env, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    kill(proc)
    raise AssertionError(f"gunicorn did not start: {log.read_text()[-3000:]}")


def start_worker(env: dict[str, str], log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    """Start a huey consumer as the Procfile does (thread workers)."""
    return spawn([str(BIN / "huey_consumer"), "webapp.tasks.huey", "--workers", str(workers),
                  "--worker-type", "thread", "--delay", "0.1", "--max-delay", "0.5"], env, log)


def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group we started (master and its workers)."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=30)


def task_log(folder: Path) -> list[tuple[str, str, str, str]]:
    path = folder / "tasks.log"
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines()]  # type: ignore[misc]


def enqueue(env: dict[str, str], code: str) -> None:
    """Queue tasks from another process, as a view or a CLI command does."""
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True,
                   capture_output=True, timeout=120)


class Phone(threading.Thread):
    """Post outbox records in order; retry a record with its key until it is acknowledged."""

    def __init__(self, base: str, cookies: Any, visit_ids: list[int], stop: threading.Event,
                 ) -> None:
        super().__init__(daemon=True)
        self.base, self.visit_ids, self.stop = base, visit_ids, stop
        self.http = requests.Session()
        self.http.cookies.update(cookies)
        self.sent: list[str] = []
        self.acked: list[str] = []
        self.pending: list[dict[str, Any]] = []
        self.failures: Counter[str] = Counter()

    def post(self, body: dict[str, Any]) -> bool:
        try:
            response = self.http.post(f"{self.base}/visites/envoi", json=body, timeout=10,
                                      headers={"X-Tournee-Outbox": "1"})
        except requests.RequestException as exc:
            self.failures[type(exc).__name__] += 1
            return False
        if response.status_code != 200:
            self.failures[str(response.status_code)] += 1
            return False
        answer = response.json()
        assert answer["key"] == body["key"], answer
        self.acked.append(body["key"])
        return True

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            if not self.pending:
                n += 1
                body = {"key": str(uuid.uuid4()), "action": "note",
                        "visit_id": self.visit_ids[n % len(self.visit_ids)],
                        "at": datetime.now(UTC).isoformat(), "fields": {"note": f"Note {n}"}}
                self.sent.append(body["key"])
                self.pending.append(body)
            if self.post(self.pending[0]):
                self.pending.pop(0)
            else:
                time.sleep(0.05)

    def flush(self) -> None:
        """After the restart: send again what was never acknowledged, same keys."""
        deadline = time.monotonic() + 60
        while self.pending and time.monotonic() < deadline:
            if self.post(self.pending[0]):
                self.pending.pop(0)
            else:
                time.sleep(0.2)
        assert not self.pending, self.failures


def stored_keys(database_url: str) -> Counter[str]:
    """How many times each outbox key is stored, read with a connection of our own."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT key, count(*) FROM outbox_record GROUP BY key")).all()
    finally:
        engine.dispose()
    return Counter(dict(rows))  # type: ignore[arg-type]


@pytest.fixture
def crash_world(app: Any, world: Any) -> dict[str, Any]:
    org = world.org()
    carer = world.carer(org)
    client = world.client(org)
    visits = [world.visit(client, [carer], start=f"{8 + i:02d}:00", end=f"{9 + i:02d}:00")
              for i in range(4)]
    world.commit()
    from webapp.extensions import db

    db.engine.dispose()  # the servers own the file from now on
    return {"email": carer.user.email, "visit_ids": [v.id for v in visits],
            "client_id": client.id}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            kill(proc, signal.SIGTERM)


def test_kill_9_of_server_and_worker_loses_nothing_acknowledged(
        crash_world: dict[str, Any], database_url: str, tmp_path: Path,
        processes: list[subprocess.Popen[bytes]]) -> None:
    from bench._demo_server import signed_in_session

    folder = tmp_path / "instance"
    folder.mkdir()
    env = server_env(database_url, folder)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = start_worker(env, folder / "worker.log")
    web = start_web(env, port, folder / "web.log")
    processes += [worker, web]
    cookies = signed_in_session(base, crash_world["email"], PASSWORD).cookies

    stop = threading.Event()
    phones = [Phone(base, cookies, crash_world["visit_ids"], stop) for _ in range(WRITERS)]
    for phone in phones:
        phone.start()
    time.sleep(1.5)
    # Tasks queued during the writes: ten to run now, ten scheduled 4 s later.
    cid = crash_world["client_id"]
    enqueue(env, "from webapp.alerts.tasks import rescore_client as t\n"
                 f"for _ in range(10): t({cid})\n"
                 f"for _ in range(10): t.schedule(({cid},), delay=4)\n")
    acked_before_kill = sum(len(p.acked) for p in phones)
    kill(worker)
    kill(web)
    killed_at = len(task_log(folder))
    time.sleep(0.5)  # the phones keep trying against a dead server
    stop.set()
    for phone in phones:
        phone.join(timeout=30)
    assert acked_before_kill > 20, "too few writes before the kill to prove anything"
    assert sum(sum(p.failures.values()) for p in phones) > 0, "the kill hit no write"

    # After the crash, before any restart: the file is sound, nothing acknowledged is lost.
    if database_url.startswith("sqlite:///"):  # PostgreSQL runs its own WAL recovery
        con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()
    stored = stored_keys(database_url)
    acked = [k for p in phones for k in p.acked]
    assert all(stored[k] == 1 for k in acked), "an acknowledged record is missing or doubled"

    # Restart both; the phones send again what was not acknowledged.
    worker = start_worker(env, folder / "worker.log")
    web = start_web(env, port, folder / "web.log")
    processes += [worker, web]
    for phone in phones:
        phone.flush()
    stored = stored_keys(database_url)
    sent = [k for p in phones for k in p.sent]
    assert len(sent) == len(set(sent))
    assert set(stored) == set(sent), "a record was lost, or one nobody sent was stored"
    assert all(n == 1 for n in stored.values())

    # The queued tasks run after the restart, each once.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        events = task_log(folder)
        # Only ours: the worker also queues its periodic tasks (push every minute).
        enqueued = {e[1] for e in events if e[0] == "enqueued" and e[2] == "rescore_client"}
        complete = Counter(e[1] for e in events if e[0] == "complete")
        in_flight_at_kill = {e[1] for e in events[:killed_at] if e[0] == "executing"} - {
            e[1] for e in events[:killed_at] if e[0] == "complete"}
        in_flight_at_kill &= enqueued
        if len(enqueued - set(complete) - in_flight_at_kill) == 0:
            break
        time.sleep(0.5)
    after_restart = {e[1] for e in events[killed_at:] if e[0] == "complete"} & enqueued
    print(f"\ncrash: {acked_before_kill} records acknowledged before kill -9, "
          f"{sum(len(p.sent) for p in phones)} sent, all stored once; tasks: {len(enqueued)} "
          f"queued, {len(after_restart)} run after the restart, {len(in_flight_at_kill)} "
          f"running at the kill (lost by design of huey)")
    assert len(enqueued) == 20
    assert enqueued - set(complete) <= in_flight_at_kill, "a queued task never ran"
    assert len(in_flight_at_kill) <= 1  # one worker thread: at most one task in flight
    assert len(after_restart) >= 10, "the scheduled tasks did not run after the restart"
    assert all(n == 1 for n in complete.values()), "a task ran twice"
    assert not any(e[0] == "error" for e in events), (folder / "worker.log").read_text()[-3000:]
