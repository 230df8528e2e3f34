"""Morning peak: thousands of carers open their day at once, on gunicorn and SQLite.

    python -m bench.load [--carers 6000] [--services 20] [--workers 3] [--threads 4]
                         [--peak-minutes 12] [--step-seconds 30] [--rates 150,200,...]

What it does, on this machine, over loopback:

1. migrates a fresh SQLite file (WAL) and bulk-inserts a federation of ``--services`` home-care
   services sharing ``--carers`` carers, each with 8 visits today (and 8 yesterday and
   tomorrow, so the tables are not trivially small), 4 clients per carer;
2. starts gunicorn (``--workers`` x ``--threads``, gthread) on the file, the way the Procfile does;
3. warm-up, outside the measured mix: a sample of carers sign in through the real form
   (Argon2id, ~0.2 s of CPU each: 6,000 real sign-ins would take ~10 min of CPU before the
   first measured request). The other carers get a session cookie minted from that real
   sign-in's session (same keys, their own user id, signed with the app's key);
4. morning peak: a separate load-generator process (asyncio + aiohttp, keep-alive pool)
   makes every carer load "Ma journée", open her 8 visit pages and post 5 records (check-in
   and check-out of two visits, one note) to the real outbox JSON endpoint ``/visites/envoi``
   with idempotency keys, all within ``--peak-minutes``; a 2xx answer is an acknowledgement;
5. checks in the database that every acknowledged record is stored exactly once and that no
   other record is;
6. steps the offered rate of the same mix (posts are notes there) for ``--step-seconds`` each
   and reports the highest achieved rate keeping p95 <= 150 ms and 0 errors (``max_rps``).

Last line: ``SUMMARY load carers=.. requests=.. errors=.. p50_ms=.. p95_ms=.. p99_ms=..
max_rps=.. stored_once=..`` (requests and percentiles of the morning peak). Targets: 0
errors, p95 <= 150 ms, max_rps >= 200, stored_once=1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

USER_AGENT = "tournee-bench-load/1"
PASSWORD = "bench-load-password-2026"  # noqa: S105 - throw-away accounts of a temp database
P95_TARGET_MS = 150.0
VISITS_PER_CARER = 8
CLIENTS_PER_CARER = 4
DAY_START = 7 * 60 + 30  # 7:30, Paris


# ----------------------------------------------------------------------------- data
def migrate(db_file: Path, folder: Path) -> None:
    """Build the schema with the real migrations."""
    env = {**os.environ, "FLASK_APP": "webapp", "DATABASE_URL": f"sqlite:///{db_file}",
           "TOURNEE_INSTANCE": str(folder)}
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=PROJECT_ROOT,
                   env=env, check=True, capture_output=True)


def generate(app: Any, carers: int, services: int, seed: int = 7) -> list[dict[str, Any]]:
    """Bulk-insert the federation; return one dict per carer (user id, e-mail, visit ids)."""
    import sqlalchemy as sa

    from webapp.auth.models import User
    from webapp.auth.services import hash_password
    from webapp.carers.models import Carer
    from webapp.clients.models import Client
    from webapp.extensions import db
    from webapp.organisations.models import Organisation, Sector
    from webapp.timeutil import paris_datetime, today_paris
    from webapp.visits.models import Visit, VisitAssignment

    rng = random.Random(seed)
    today = today_paris()
    days = [today - timedelta(days=1), today, today + timedelta(days=1)]
    password_hash = hash_password(PASSWORD)
    shifts = {str(d): [["07:00", "13:30"], ["17:00", "21:00"]] for d in range(7)}
    skills = ["toilette", "repas", "transferts", "menage", "courses"]
    session = db.session
    with app.app_context():
        session.execute(sa.insert(Organisation), [
            {"name": f"SAAD Fédération {i + 1}", "phone": "04 93 00 00 00"}
            for i in range(services)])
        org_ids = list(session.scalars(sa.select(Organisation.id).order_by(Organisation.id)))
        session.execute(sa.insert(Sector), [{"organisation_id": o, "name": "Centre"}
                                            for o in org_ids])
        org_of = [org_ids[i * services // carers] for i in range(carers)]
        session.execute(sa.insert(User), [
            {"organisation_id": org_of[i], "email": f"aide{i}@bench.tournee.fr",
             "password_hash": password_hash, "role": "carer", "first_name": f"Aide{i}",
             "last_name": "Bench"} for i in range(carers)])
        user_ids = dict(session.execute(sa.select(User.email, User.id)).tuples().all())
        session.execute(sa.insert(Carer), [
            {"organisation_id": org_of[i], "user_id": user_ids[f"aide{i}@bench.tournee.fr"],
             "first_name": f"Aide{i}", "last_name": "Bench", "skills": skills,
             "availability": shifts, "home_lat": 43.74, "home_lon": 7.43}
            for i in range(carers)])
        carer_ids = dict(session.execute(sa.select(Carer.user_id, Carer.id)).tuples().all())
        session.execute(sa.insert(Client), [
            {"organisation_id": org_of[i // CLIENTS_PER_CARER], "first_name": "Jeanne",
             "last_name": f"Client{i}", "address": f"{i % 300 + 1} avenue de Verdun",
             "postcode": "06240", "city": "Beausoleil",
             "lat": 43.74 + rng.uniform(-0.01, 0.01), "lon": 7.42 + rng.uniform(-0.01, 0.01),
             "geocode_status": "manual", "access_notes": f"Digicode {1000 + i % 9000}",
             "gir": rng.randint(1, 4)}
            for i in range(carers * CLIENTS_PER_CARER)])
        client_ids = list(session.scalars(sa.select(Client.id).order_by(Client.id)))
        rows = []
        for i in range(carers):
            for day in days:
                for k in range(VISITS_PER_CARER):
                    start = DAY_START + k * 75
                    planned = paris_datetime(day, dtime(start // 60, start % 60))
                    rows.append({
                        "organisation_id": org_of[i],
                        "client_id": client_ids[i * CLIENTS_PER_CARER + k % CLIENTS_PER_CARER],
                        "day": day, "kind": "lever", "window_start": dtime(start // 60,
                                                                           start % 60),
                        "window_end": dtime((start + 60) // 60, (start + 60) % 60),
                        "duration_min": 45, "tasks": ["Toilette", "Petit-déjeuner", "Courses"],
                        "status": "assigned", "planned_start": planned,
                        "planned_end": planned + timedelta(minutes=45)})
        session.execute(sa.insert(Visit), rows)
        visits = session.execute(sa.select(Visit.id, Visit.client_id, Visit.day)
                                 .order_by(Visit.id)).all()
        # Visits were inserted carer by carer, day by day, in order.
        assignments, mine = [], []
        per = VISITS_PER_CARER * len(days)
        for i in range(carers):
            chunk = visits[i * per:(i + 1) * per]
            cid = carer_ids[user_ids[f"aide{i}@bench.tournee.fr"]]
            assignments.extend({"visit_id": v.id, "carer_id": cid, "position": 0}
                               for v in chunk)
            mine.append({"user_id": user_ids[f"aide{i}@bench.tournee.fr"],
                         "email": f"aide{i}@bench.tournee.fr",
                         "visits": [v.id for v in chunk if v.day == today]})
        session.execute(sa.insert(VisitAssignment), assignments)
        session.commit()
        db.engine.dispose()
    return mine


# ----------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int,
                   log: Path, worker_class: str = "gthread") -> subprocess.Popen[bytes]:
    """Start gunicorn as the Procfile does, and wait until it answers."""
    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--threads", str(threads), "--worker-class", worker_class,
         "--backlog", "2048", "--keep-alive", "30", "webapp.wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def real_sign_in(base: str, email: str) -> tuple[str, float]:
    """Sign in through the form; return the session cookie and the POST's duration."""
    import requests

    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    page = http.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on /login"
    started = time.perf_counter()
    response = http.post(f"{base}/login", data={"email": email, "password": PASSWORD,
                                                "csrf_token": token.group(1)},
                         timeout=60, allow_redirects=False)
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, (response.status_code, response.text[:300])
    cookie = http.cookies.get("session")
    assert cookie, "no session cookie after sign-in"
    return cookie, elapsed


def mint_sessions(app: Any, template_cookie: str, user_ids: list[int]) -> list[str]:
    """Sign session cookies for ``user_ids`` with the keys of one real sign-in's session."""
    serializer = app.session_interface.get_signing_serializer(app)
    template = serializer.loads(template_cookie)
    assert "_user_id" in template, sorted(template)
    out = []
    for uid in user_ids:
        data = {k: v for k, v in template.items() if k not in ("_flashes", "csrf_token")}
        data["_user_id"] = str(uid)
        out.append(serializer.dumps(data))
    return out


# ----------------------------------------------------------------------------- generator
def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def carer_script(carer: dict[str, Any], *, peak: bool) -> list[tuple[str, Any]]:
    """The 14 requests of one carer: her day, 8 visit pages, 5 outbox records."""
    v = carer["visits"]
    steps: list[tuple[str, Any]] = [("GET", "/ma-journee"), ("GET", f"/visites/{v[0]}")]
    if peak:
        steps += [("POST", ("check_in", v[0])), ("POST", ("check_out", v[0])),
                  ("GET", f"/visites/{v[1]}"), ("POST", ("check_in", v[1])),
                  ("POST", ("check_out", v[1])), ("GET", f"/visites/{v[2]}"),
                  ("POST", ("note", v[2]))]
    else:  # repeated rounds: the visits are done, notes always apply
        steps += [("POST", ("note", v[0])), ("POST", ("note", v[0])),
                  ("GET", f"/visites/{v[1]}"), ("POST", ("note", v[1])),
                  ("POST", ("note", v[1])), ("GET", f"/visites/{v[2]}"),
                  ("POST", ("note", v[2]))]
    steps += [("GET", f"/visites/{vid}") for vid in v[3:8]]
    return steps


def outbox_body(action: str, visit_id: int) -> dict[str, Any]:
    fields: dict[str, Any] = {"lat": "43.741", "lon": "7.425"}
    if action == "check_out":
        fields.update(tasks_done=["Toilette", "Petit-déjeuner"], note="RAS, bonne humeur.")
    elif action == "note":
        fields = {"note": "Transmission : a bien mangé, hydratation à surveiller."}
    return {"key": str(uuid.uuid4()), "action": action, "visit_id": visit_id,
            "at": datetime.now(UTC).isoformat(), "fields": fields}


async def run_phase(http: Any, base: str, carers: list[dict[str, Any]], rate: float,
                    duration_s: float | None, *, peak: bool, gap_s: float) -> dict[str, Any]:
    """Offer ``rate`` requests/s of the carer mix; each carer's requests run in order.

    A new carer starts every 14/rate seconds; her requests are ``gap_s`` apart (or right
    after the previous answer when it came late), so the offered rate is ``rate`` once the
    phase is running. With ``duration_s`` None every carer goes once (the morning peak);
    otherwise carers are reused in turn until ``duration_s`` is over.
    """
    per_carer = 14
    interval = per_carer / rate
    latencies: list[float] = []
    finished: list[float] = []  # loop time of each answer
    attempts = [0]
    errors: list[str] = []
    acked: list[str] = []
    sent: list[str] = []
    loop = asyncio.get_running_loop()
    t0 = loop.time()

    async def one(carer: dict[str, Any], start: float) -> None:
        cookie = carer["cookie"]
        for j, (method, target) in enumerate(carer_script(carer, peak=peak)):
            delay = start + j * gap_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            headers = {"Cookie": f"session={cookie}", "User-Agent": USER_AGENT}
            key = None
            attempts[0] += 1
            began = time.perf_counter()
            try:
                if method == "GET":
                    ctx = http.get(base + target, headers=headers, allow_redirects=False)
                else:
                    body = outbox_body(*target)
                    key = body["key"]
                    sent.append(key)
                    ctx = http.post(base + "/visites/envoi", json=body,
                                    headers={**headers, "X-Tournee-Outbox": "1"},
                                    allow_redirects=False)
                async with ctx as response:
                    payload = await response.read()
                    status = response.status
                    fresh = response.cookies.get("session")
                    if fresh is not None and fresh.value:
                        cookie = fresh.value
            except Exception as exc:  # every failure is counted, not raised
                errors.append(f"{method} {target}: {type(exc).__name__} {exc}")
                continue
            latencies.append((time.perf_counter() - began) * 1000)
            finished.append(loop.time())
            if status != 200:
                errors.append(f"{method} {target}: {status} {payload[:120]!r}")
            elif key is not None:
                answer = json.loads(payload)
                if answer.get("key") != key or answer.get("outcome") not in ("applied",
                                                                            "conflict"):
                    errors.append(f"POST {target}: unexpected answer {answer}")
                else:
                    acked.append(key)
                    if peak and answer["outcome"] != "applied":
                        errors.append(f"POST {target}: conflict {answer['message']}")
        carer["cookie"] = cookie

    tasks = []
    i = 0
    while True:
        start = t0 + i * interval
        if duration_s is None and i >= len(carers):
            break
        if duration_s is not None and start - t0 >= duration_s:
            break
        delay = start - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(carers[i % len(carers)], start)))
        i += 1
    await asyncio.gather(*tasks)
    elapsed = loop.time() - t0
    # The sustained rate: answers per second once every carer slot is busy (the first
    # per_carer*gap seconds ramp up) until the last carer starts (then it ramps down).
    steady_from, steady_to = t0 + per_carer * gap_s, t0 + (i - 1) * interval
    if steady_to - steady_from >= 5:
        steady = sum(1 for t in finished if steady_from <= t <= steady_to)
        achieved = steady / (steady_to - steady_from)
    else:
        achieved = len(latencies) / elapsed
    return {"rate": rate, "carers": i, "requests": attempts[0], "completed": len(latencies),
        "errors": len(errors), "error_samples": errors[:5], "elapsed_s": round(elapsed, 1),
        "achieved_rps": round(achieved, 1),
        "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1),
        "p99_ms": round(pct(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "acked": acked, "sent": sent}


async def generator_main(spec: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    base = spec["base"]
    carers = spec["carers"]
    connector = aiohttp.TCPConnector(limit=spec["connections"], keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=30)
    results: dict[str, Any] = {"steps": []}
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        wall0 = time.perf_counter()
        results["peak"] = await run_phase(http, base, carers, spec["peak_rate"], None,
                                          peak=True, gap_s=spec["gap_s"])
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        results["peak"]["generator_cpu_s"] = round(
            cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1)
        results["peak"]["wall_s"] = round(time.perf_counter() - wall0, 1)
        print(f"peak: {_brief(results['peak'])}", file=sys.stderr, flush=True)
        failures = 0
        for rate in spec["rates"]:
            await asyncio.sleep(2)  # let the previous step's stragglers finish
            c0 = resource.getrusage(resource.RUSAGE_SELF)
            step = await run_phase(http, base, carers, rate, spec["step_s"], peak=False,
                                   gap_s=spec["gap_s"])
            c1 = resource.getrusage(resource.RUSAGE_SELF)
            step["generator_cpu_s"] = round(
                c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime, 1)
            step["ok"] = step["errors"] == 0 and step["p95_ms"] <= P95_TARGET_MS
            print(f"step {rate}/s: {_brief(step)}", file=sys.stderr, flush=True)
            results["steps"].append(step)
            failures = 0 if step["ok"] else failures + 1
            if failures >= 2:
                break
    return results


def _brief(phase: dict[str, Any]) -> str:
    keys = ("rate", "carers", "completed", "errors", "achieved_rps", "p50_ms", "p95_ms",
            "p99_ms", "elapsed_s", "generator_cpu_s")
    text = " ".join(f"{k}={phase.get(k)}" for k in keys)
    if phase["error_samples"]:
        text += f" first_errors={phase['error_samples'][:3]}"
    return text


# ----------------------------------------------------------------------------- verification
def verify_stored_once(db_file: Path, acked: list[str], sent: list[str]) -> tuple[bool, str]:
    """Every acknowledged key is stored once; nothing but sent keys is stored."""
    import sqlite3

    con = sqlite3.connect(db_file)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT key, count(*) FROM outbox_record GROUP BY key").fetchall()
        applied = con.execute("SELECT count(*) FROM outbox_record WHERE outcome = 'applied'"
                              ).fetchone()[0]
    finally:
        con.close()
    stored = dict(rows)
    missing = [k for k in acked if k not in stored]
    doubled = [k for k, n in stored.items() if n != 1]
    unknown = set(stored) - set(sent)
    ok = not missing and not doubled and not unknown and len(set(acked)) == len(acked)
    return ok, (f"sent={len(sent)} acked={len(acked)} stored={len(stored)} "
                f"applied={applied} missing={len(missing)} doubled={len(doubled)} "
                f"unknown={len(unknown)}")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--carers", type=int, default=6000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)  # as the Procfile
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--peak-minutes", type=float, default=12.0,
                        help="spread the morning peak over this time (the target is 15)")
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument("--rates", default="150,200,250,300,350,400,450,500")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between a carer's taps")
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--real-sign-ins", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--generator", help=argparse.SUPPRESS)  # internal: spec file
    args = parser.parse_args()
    if args.generator:
        spec = json.loads(Path(args.generator).read_text())
        result = asyncio.run(generator_main(spec))
        Path(spec["out"]).write_text(json.dumps(result))
        return

    folder = Path(tempfile.mkdtemp(prefix="tournee-load-"))
    db_file = folder / "tournee.sqlite3"
    print(f"load average at start: {load_average()}  (2 shared cores: {os.cpu_count()})")
    t = time.perf_counter()
    migrate(db_file, folder)
    os.environ["TOURNEE_INSTANCE"] = str(folder)
    from webapp import create_app
    from webapp.config import DevelopmentConfig

    class Config(DevelopmentConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{db_file}"
        SECRET_KEY = "bench-load-" + uuid.uuid4().hex

    app = create_app(Config)
    carers = generate(app, args.carers, args.services)
    print(f"data: {args.services} services, {args.carers} carers, "
          f"{args.carers * CLIENTS_PER_CARER} clients, "
          f"{args.carers * VISITS_PER_CARER * 3} visits (yesterday, today, tomorrow) "
          f"in {time.perf_counter() - t:.1f} s")

    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_file}", "TOURNEE_INSTANCE":
           str(folder), "SECRET_KEY": Config.SECRET_KEY, "GEOCODER_ENABLED": "0"}
    env.pop("TOURNEE_ENV", None)
    server = start_gunicorn(env, port, args.workers, args.threads, folder / "gunicorn.log",
                            args.worker_class)
    base = f"http://127.0.0.1:{port}"
    try:
        # Warm-up (not measured): real sign-ins of a sample, then minted sessions.
        sample = random.Random(1).sample(range(len(carers)), min(args.real_sign_ins,
                                                                 len(carers)))
        sign_in_s = []
        for i in sample:
            carers[i]["cookie"], elapsed = real_sign_in(base, carers[i]["email"])
            sign_in_s.append(elapsed)
        others = [c for i, c in enumerate(carers) if i not in set(sample)]
        for carer, cookie in zip(others, mint_sessions(app, carers[sample[0]]["cookie"],
                                                       [c["user_id"] for c in others]),
                                 strict=True):
            carer["cookie"] = cookie
        print(f"warm-up (outside the measured mix): {len(sample)} real sign-ins, median "
              f"{statistics.median(sign_in_s) * 1000:.0f} ms each (Argon2id); "
              f"{len(others)} sessions minted from a real sign-in's session")

        requests_total = len(carers) * 14
        peak_rate = requests_total / (args.peak_minutes * 60)
        spec = {"base": base, "carers": [{"cookie": c["cookie"], "visits": c["visits"]}
                                         for c in carers],
                "peak_rate": peak_rate, "gap_s": args.gap, "step_s": args.step_seconds,
                "rates": [float(r) for r in args.rates.split(",")],
                "connections": args.connections, "out": str(folder / "result.json")}
        spec_file = folder / "spec.json"
        spec_file.write_text(json.dumps(spec))
        print(f"morning peak: {len(carers)} carers x 14 requests = {requests_total} requests "
              f"offered at {peak_rate:.0f}/s over {args.peak_minutes:g} min; gunicorn "
              f"{args.workers} {args.worker_class} workers x {args.threads} threads; "
              f"load average {load_average()}",
              flush=True)
        cpu_server0 = process_tree_cpu(server.pid)
        generator = subprocess.run([sys.executable, "-m", "bench.load", "--generator",
                                    str(spec_file)], cwd=PROJECT_ROOT, check=True)
        assert generator.returncode == 0
        cpu_server = process_tree_cpu(server.pid) - cpu_server0
        result = json.loads((folder / "result.json").read_text())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    peak = result["peak"]
    ok, detail = verify_stored_once(db_file, peak["acked"] + [k for s in result["steps"]
                                                              for k in s["acked"]],
                                    peak["sent"] + [k for s in result["steps"]
                                                    for k in s["sent"]])
    print(f"peak: {peak['completed']} answered in {peak['wall_s']} s "
          f"(sustained {peak['achieved_rps']}/s), errors={peak['errors']} p50={peak['p50_ms']} ms "
          f"p95={peak['p95_ms']} ms p99={peak['p99_ms']} ms; generator CPU "
          f"{peak['generator_cpu_s']} s ({100 * peak['generator_cpu_s'] / peak['wall_s']:.0f} % "
          f"of a core)")
    for sample_error in peak["error_samples"]:
        print(f"  error: {sample_error}")
    print("rate steps (same mix, notes instead of check-in/out; p95 target 150 ms):")
    max_rps = 0.0
    for step in result["steps"]:
        print(f"  offered {step['rate']:.0f}/s: achieved {step['achieved_rps']}/s, "
              f"errors={step['errors']} p50={step['p50_ms']} p95={step['p95_ms']} "
              f"p99={step['p99_ms']} ms, generator CPU {step['generator_cpu_s']} s "
              f"{'ok' if step['ok'] else 'FAIL'}")
        if step["ok"]:
            max_rps = max(max_rps, step["achieved_rps"])
    print(f"server CPU over the whole run: {cpu_server:.0f} s (gunicorn master + workers)")
    print(f"records: {detail}; integrity_check ok")
    print(f"load average at end: {load_average()}")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"kept {folder}")
    print(f"SUMMARY load carers={len(carers)} requests={peak['requests']} "
          f"errors={peak['errors']} p50_ms={peak['p50_ms']} p95_ms={peak['p95_ms']} "
          f"p99_ms={peak['p99_ms']} max_rps={max_rps:.0f} stored_once={int(ok)}")


if __name__ == "__main__":
    main()
