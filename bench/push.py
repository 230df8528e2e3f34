"""Web Push delivery: throughput, exactly-once across a killed worker, lateness over an hour.

    python -m bench.push [--n 10000] [--kill-n 4000] [--hour-n 1200] [--speed 15]

Everything is real: a migrated SQLite file, the app's sender (pywebpush, VAPID, aes128gcm)
and the local push service of the tests (tests/pushservice.py) in another process, which
verifies every VAPID JWT and decrypts every payload over HTTP; the worker of part 2 and 3 is
the real huey consumer (``huey_consumer webapp.tasks.huey``, the Procfile's ``worker:``).

1. ``n`` notifications due now to 1,000 devices, sent by ``send_due``: time, rate, and
   every payload id checked against the database (lost, duplicated).
2. ``kill-n`` due notifications; the consumer is killed (SIGKILL) mid-batch and started
   again: each notification must reach its device exactly once. A message posted just
   before the kill but not yet recorded is posted again under the same Topic; the push
   service then holds one message (RFC 8030 replacement) and the phone shows one (the
   Topic is the notification tag). Both counts are printed.
3. An hour of reminders (care-plan times cluster on the quarter hours) and of visits done
   (events the planner finds in the data), replayed ``speed`` times faster with the real
   periodic tick, eta-scheduled sends and 15-second scans: lateness = sent - due.

Last line: ``SUMMARY push n=.. seconds=.. per_second=.. lost=.. duplicates=..`` (parts 1-3
together for lost and duplicates), then the kill and lateness figures.
Targets: 10,000 in <= 20 s; exactly once; median lateness <= 30 s, max <= 90 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


def _start_push_service() -> tuple[str, Any]:
    from tests.pushservice import serve_forever

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=serve_forever, args=(0, child), daemon=True)
    process.start()
    return str(parent.recv()), process


def _cpu(pid: int) -> float:
    """Return the CPU seconds process ``pid`` used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _admin(origin: str, path: str, **body: Any) -> Any:
    response = requests.post(f"{origin}/_admin/{path}", json=body, timeout=120)
    response.raise_for_status()
    return response.json()


class Bench:
    def __init__(self, folder: Path, origin: str) -> None:
        self.folder = folder
        self.origin = origin
        self.db_file = folder / "push.sqlite3"
        self.env = {**os.environ, "DATABASE_URL": f"sqlite:///{self.db_file}",
                    "TOURNEE_INSTANCE": str(folder / "instance"), "FLASK_APP": "webapp",
                    "PUSH_ALLOWED_ORIGINS": origin,
                    "PUSH_VAPID_KEY_FILE": str(folder / "instance" / "vapid_private.pem"),
                    "PUSH_LEASE_S": "5", "PUSH_SEND_THREADS": "32"}
        os.environ.update(self.env)
        subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "flask", "push", "keys"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True)
        from webapp import create_app

        self.app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.db_file}"})
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.worker: subprocess.Popen[bytes] | None = None
        self.service_pid = 0

    # ---------------------------------------------------------------- data
    def people(self, count: int) -> list[int]:
        """Make ``count`` users with one subscribed device each; return their ids."""
        import sqlalchemy as sa

        from webapp.auth.models import User
        from webapp.extensions import db
        from webapp.organisations.models import Organisation
        from webapp.push.models import PushSubscription
        from webapp.push.services import application_server_key

        org = Organisation(name="SAAD bench", phone="04 93 00 00 00")
        db.session.add(org)
        db.session.flush()
        start = db.session.scalar(sa.select(sa.func.count(User.id))) or 0
        db.session.execute(sa.insert(User), [
            {"organisation_id": org.id, "email": f"bench{start + i}@example.org",
             "password_hash": "x", "role": "family", "first_name": "Proche",
             "last_name": f"N{i}", "locale": "fr", "active": True} for i in range(count)])
        ids = list(db.session.scalars(sa.select(User.id).where(
            User.organisation_id == org.id).order_by(User.id)))
        devices = _admin(self.origin, "devices", count=count, server_key=application_server_key())
        db.session.execute(sa.insert(PushSubscription), [
            {"user_id": uid, "endpoint": d["endpoint"], "p256dh": d["keys"]["p256dh"],
             "auth": d["keys"]["auth"], "label": "bench"} for uid, d in zip(ids, devices,
                                                                           strict=True)])
        db.session.commit()
        return ids

    def notifications(self, users: list[int], dues: list[Any], tag: str) -> set[int]:
        """Plan one notification per due time, round-robin over users; return their ids."""
        import sqlalchemy as sa

        from webapp.extensions import db
        from webapp.push.messages import topic_for
        from webapp.push.models import Notification

        rows = []
        for i, due in enumerate(dues):
            key = f"{tag}:{i}"
            rows.append({"user_id": users[i % len(users)], "kind": "visit_done", "key": key,
                         "topic": topic_for(key), "due_at": due, "status": "pending",
                         "url": "/famille/", "params": {
                             "client": "Jeanne Martin", "carers": ["Marie"], "start": "09:00",
                             "end": "09:45", "note": "A bien mangé, bonne humeur."}})
        db.session.execute(sa.insert(Notification), rows)
        db.session.commit()
        return set(db.session.scalars(sa.select(Notification.id).where(
            Notification.key.startswith(f"{tag}:"))))

    def check(self, expected: set[int]) -> tuple[int, int, int, int]:
        """Return (accepted posts, lost, posted twice, held twice) for ``expected``."""
        report = _admin(self.origin, "report")
        posted = [row[1] for row in report["accepted"] if row[1] in expected]
        held = [i for i in report["held_ids"] if i in expected]
        assert report["refused_count"] == 0, report["refused"]
        lost = len(expected - set(posted))
        return len(posted), lost, len(posted) - len(set(posted)), len(held) - len(set(held))

    # ---------------------------------------------------------------- worker
    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "huey_consumer"), "webapp.tasks.huey",
             "--workers", "2", "--worker-type", "thread", "--scheduler-interval", "1"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()
        self.worker = None

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_worker()
            self.worker = None

    def enqueue_send(self) -> None:
        from webapp.push.tasks import send_due_task

        send_due_task()  # HUEY_IMMEDIATE is off here: this goes to the worker's queue

    def unfinished(self) -> int:
        import sqlalchemy as sa

        from webapp.extensions import db
        from webapp.push.models import Notification, PushDelivery
        from webapp.timeutil import utcnow

        db.session.commit()
        pending = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.status == "pending", Notification.due_at <= utcnow()))
        busy = db.session.scalar(sa.select(sa.func.count(PushDelivery.id)).where(
            PushDelivery.status.in_(("sending", "retry"))))
        return int(pending or 0) + int(busy or 0)


def part_throughput(bench: Bench, n: int) -> tuple[float, int, int]:
    from webapp.push.services import send_due
    from webapp.timeutil import utcnow

    users = bench.people(1000)
    expected = bench.notifications(users, [utcnow()] * n, "thr")
    load = os.getloadavg()[0]
    service_cpu, own_cpu = _cpu(bench.service_pid), os.times()
    started = time.perf_counter()
    report = send_due()
    seconds = time.perf_counter() - started
    after = os.times()
    sender_s = after.user - own_cpu.user + after.system - own_cpu.system
    service_s = _cpu(bench.service_pid) - service_cpu
    posted, lost, twice, _held = bench.check(expected)
    print(f"1. throughput: {n} notifications to 1000 devices in {seconds:.2f} s "
          f"({n / seconds:.0f}/s); sent {report.sent}, accepted and decrypted {posted}, "
          f"lost {lost}, duplicated {twice}, retries {report.retried}")
    print(f"   CPU: sender {1000 * sender_s / n:.2f} ms and push service "
          f"{1000 * service_s / n:.2f} ms a message ({sender_s + service_s:.1f} s in all on "
          f"{os.cpu_count()} cores; load average {load:.1f} when it started)")
    return seconds, lost, twice


def part_kill(bench: Bench, n: int) -> tuple[int, int, int]:
    from webapp.timeutil import utcnow

    _admin(bench.origin, "reset")
    users = bench.people(500)
    expected = bench.notifications(users, [utcnow()] * n, "kill")
    bench.start_worker()
    bench.enqueue_send()
    deadline = time.monotonic() + 120
    at_kill = 0
    while time.monotonic() < deadline:
        at_kill = len(_admin(bench.origin, "report")["accepted"])
        if at_kill >= n // 3:
            break
        time.sleep(0.05)
    bench.kill_worker()
    claimed = n - bench.unfinished()
    print(f"2. worker killed (SIGKILL) after {at_kill} of {n} messages reached the push "
          f"service; {claimed} recorded as done")
    bench.start_worker()
    deadline = time.monotonic() + 180
    while bench.unfinished() and time.monotonic() < deadline:
        bench.enqueue_send()  # the minute tick does this in production
        time.sleep(2)
    bench.stop_worker()
    _posted, lost, twice, held_twice = bench.check(expected)
    print(f"   after restart: {len(expected)} due, {len(expected) - lost} reached the device, "
          f"lost {lost}; posted again after the kill (in flight, same Topic): {twice}; "
          f"held twice by the push service (what the phone gets): {held_twice}")
    return lost, held_twice, twice


def part_hour(bench: Bench, n: int, speed: float) -> list[float]:
    """Replay an hour of reminders and visits done, ``speed`` times faster."""
    import sqlalchemy as sa

    from webapp.extensions import db
    from webapp.push.models import Notification, PushDelivery
    from webapp.timeutil import utcnow

    _admin(bench.origin, "reset")
    rng = random.Random(7)
    users = bench.people(300)
    events = _visits(bench, max(20, n // 20))
    span = 3600 / speed
    bench.start_worker()
    # The first tick runs at the next minute: the hour starts just after it.
    now = utcnow()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=3)
    offsets = []
    for _ in range(n):
        if rng.random() < 0.7:  # care plans cluster on the quarter hours
            offsets.append(rng.choice(range(0, 3600, 900)) + rng.choice((0, 0, 0, 30, 60)))
        else:
            offsets.append(rng.uniform(0, 3600))
    dues = [start + timedelta(seconds=o / speed) for o in sorted(offsets)]
    bench.notifications(users, dues, "hour")
    event_times = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in events)
    print(f"3. simulated hour: {n} reminders and {len(events)} visits done over "
          f"{span:.0f} s (x{speed:g}), from {start:%H:%M:%S} UTC")
    for visit_id, moment in zip(events, event_times, strict=True):
        while utcnow() < moment:
            time.sleep(min(1.0, (moment - utcnow()).total_seconds()))
        _check_out(visit_id, moment)
    end = start + timedelta(seconds=span + 45)
    while utcnow() < end or bench.unfinished():
        time.sleep(1)
        if utcnow() > end + timedelta(seconds=120):
            break
    bench.stop_worker()
    db.session.commit()
    late = [(sent - due).total_seconds() for sent, due in db.session.execute(
        sa.select(PushDelivery.sent_at, Notification.due_at).join(
            Notification, Notification.id == PushDelivery.notification_id).where(
            PushDelivery.status == "sent", Notification.due_at >= start))]
    events_late = [(sent - due).total_seconds() for sent, due in db.session.execute(
        sa.select(PushDelivery.sent_at, Notification.due_at).join(
            Notification, Notification.id == PushDelivery.notification_id).where(
            PushDelivery.status == "sent", Notification.kind == "visit_done",
            Notification.key.startswith("done:")))]
    unsent = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.due_at >= start, Notification.due_at <= utcnow(),
        Notification.status == "pending"))
    print(f"   {len(late)} sent ({len(events_late)} visits done), {unsent} due but unsent; "
          f"lateness median {statistics.median(late):.1f} s, p95 "
          f"{statistics.quantiles(late, n=20)[-1]:.1f} s, max {max(late):.1f} s; visits done: "
          f"median {statistics.median(events_late or [0]):.1f} s, "
          f"max {max(events_late or [0]):.1f} s")
    return late


def _visits(bench: Bench, count: int) -> list[int]:
    """Make clients with a relative subscribed, and a visit each today; return visit ids."""
    import sqlalchemy as sa

    from webapp.auth.models import User
    from webapp.carers.models import Carer
    from webapp.clients.models import Client, FamilyLink
    from webapp.extensions import db
    from webapp.organisations.models import Organisation
    from webapp.timeutil import paris_datetime, today_paris
    from webapp.visits.models import Visit, VisitAssignment

    relatives = bench.people(count)
    org_id = db.session.get(User, relatives[0]).organisation_id
    assert db.session.get(Organisation, org_id) is not None
    carer = Carer(organisation_id=org_id, first_name="Marie", last_name="Bench")
    db.session.add(carer)
    db.session.flush()
    from datetime import time as clock

    ids = []
    for i, relative in enumerate(relatives):
        client = Client(organisation_id=org_id, first_name="Jeanne", last_name=f"B{i}",
                        address="1 rue de la Paix")
        db.session.add(client)
        db.session.flush()
        db.session.add(FamilyLink(client_id=client.id, user_id=relative))
        visit = Visit(organisation_id=org_id, client_id=client.id, day=today_paris(),
                      kind="lever", window_start=clock(0, 0), window_end=clock(23, 59),
                      duration_min=30, status="assigned",
                      planned_start=paris_datetime(today_paris(), clock(23, 0)))
        visit.assignments.append(VisitAssignment(carer_id=carer.id))
        db.session.add(visit)
        db.session.flush()
        ids.append(visit.id)
    db.session.commit()
    assert sa is not None
    return ids


def _check_out(visit_id: int, moment: Any) -> None:
    from webapp.extensions import db
    from webapp.visits.models import Visit

    visit = db.session.get(Visit, visit_id)
    assert visit is not None
    visit.status, visit.check_in_at = "done", moment - timedelta(minutes=30)
    visit.check_out_at = moment
    db.session.commit()


def main() -> None:
    """Run the three parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--kill-n", type=int, default=4_000)
    parser.add_argument("--hour-n", type=int, default=1_200)
    parser.add_argument("--speed", type=float, default=15.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-push-"))
    origin, service = _start_push_service()
    bench = Bench(folder, origin)
    bench.service_pid = int(service.pid)
    try:
        seconds, lost1, dup1 = part_throughput(bench, args.n)
        lost2, dup2, reposted = part_kill(bench, args.kill_n)
        late = part_hour(bench, args.hour_n, args.speed)
    finally:
        bench.stop_worker()
        service.kill()
    lost, duplicates = lost1 + lost2, dup1 + dup2
    print(f"SUMMARY push n={args.n} seconds={seconds:.2f} per_second={args.n / seconds:.0f} "
          f"lost={lost} duplicates={duplicates} kill_n={args.kill_n} kill_reposted={reposted} "
          f"late_median_s={statistics.median(late):.1f} late_max_s={max(late):.1f}")


if __name__ == "__main__":
    main()
