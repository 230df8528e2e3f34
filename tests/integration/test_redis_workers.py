"""Scale-out: two huey worker processes on Redis share the queue, and no task runs twice.

Debian's ``redis-server`` is started by the test on a free port (``make test`` installs it).
Optimisations of two organisations' days (the real solver on the real road network) and
dozens of push sends and risk rescorings are queued with ``HUEY_URL=redis://...`` once two
``huey_consumer`` processes (two threads each; only the first runs the periodic scheduler,
as the README's deployment says) are consuming, and they empty the queue. The task log
written by every process (``TOURNEE_TASK_LOG``) proves each task ran exactly once and both
workers took a share.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_crash_recovery import (
    BIN,
    enqueue,
    free_port,
    kill,
    server_env,
    spawn,
    task_log,
)

PLACES = [(43.7436, 7.4235), (43.7239, 7.3987), (43.7634, 7.4840), (43.7478, 7.4290),
          (43.7520, 7.4400), (43.7300, 7.4050)]
PUSH_TASKS = 40
RESCORES = 20


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throw-away redis-server on loopback, stopped after the test."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: `make redis` installs Debian's package")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=20)


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _organisation_day(world: Any) -> int:
    """A day of six visits and two carers to optimise; return the queued RoundPlan's id."""
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan
    from webapp.timeutil import today_paris

    org = world.org()
    day = today_paris() + timedelta(days=1)
    shift = {str(day.weekday()): [["07:00", "13:30"]]}
    carers = [world.carer(org, availability=shift, home_lat=lat, home_lon=lon)
              for lat, lon in PLACES[:2]]
    for i, (lat, lon) in enumerate(PLACES):
        person = world.client(org, lat=lat, lon=lon)
        person.usual_carers = [carers[i % 2]]
        world.visit(person, None, day=day, start="07:30", end="12:30", minutes=30)
    run = RoundPlan(organisation_id=org.id, day=day, status="queued", time_limit_s=1.0)
    db.session.add(run)
    db.session.flush()
    return run.id


def test_two_workers_on_redis_share_tasks_and_run_each_once(
        app: Any, world: Any, database_url: str, road_cache: Path, tmp_path: Path,
        redis_url: str) -> None:
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan

    runs = [_organisation_day(world), _organisation_day(world)]
    client_id = world.client(world.org()).id
    world.commit()
    db.session.remove()

    env = server_env(database_url, tmp_path, HUEY_URL=redis_url, TOURNEE_CACHE=str(road_cache))

    def worker(name: str, *extra: str) -> Any:
        return spawn([str(BIN / "huey_consumer"), "webapp.tasks.huey", "--workers", "2",
                      "--worker-type", "thread", "--delay", "0.05", "--max-delay", "0.2",
                      *extra], env, tmp_path / f"{name}.log")

    # One pool: the first worker also runs the periodic scheduler, the second does not.
    workers = [worker("worker-1"), worker("worker-2", "--no-periodic")]
    try:
        # Queue the tasks once both workers consume: a worker still importing the app (a
        # few seconds on a busy machine) would otherwise find the other one done already.
        deadline = time.monotonic() + 120
        while not all("Huey consumer started" in _text(tmp_path / f"worker-{n}.log")
                      for n in (1, 2)):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(w.poll() is None for w in workers), _text(tmp_path / "worker-1.log")
            time.sleep(0.1)
        enqueue(env, "from webapp.alerts.tasks import rescore_client\n"
                     "from webapp.push.tasks import send_due_task\n"
                     "from webapp.rounds.tasks import optimise_day\n"
                     f"for run in {runs!r}: optimise_day(run)\n"
                     f"for _ in range({PUSH_TASKS}): send_due_task()\n"
                     f"for _ in range({RESCORES}): rescore_client({client_id})\n")
        # The tasks this test queued; not those the first worker's scheduler queues.
        pids = {str(w.pid) for w in workers}
        queued = {e[1]: e[2] for e in task_log(tmp_path)
                  if e[0] == "enqueued" and e[3] not in pids}
        assert len(queued) == len(runs) + PUSH_TASKS + RESCORES

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            events = task_log(tmp_path)
            done = {e[1] for e in events if e[0] in ("complete", "error")}
            if set(queued) <= done:
                break
            assert all(w.poll() is None for w in workers), _text(tmp_path / "worker-1.log")
            time.sleep(0.3)
    finally:
        for w in workers:
            kill(w, 15)

    events = task_log(tmp_path)
    executing = Counter(e[1] for e in events if e[0] == "executing")
    errors = [e for e in events if e[0] == "error"]
    assert not errors, (tmp_path / "worker-1.log").read_text()[-3000:]
    assert set(queued) <= {e[1] for e in events if e[0] == "complete"}, "a task never ran"
    twice = {task: n for task, n in executing.items() if n != 1}
    assert not twice, f"tasks run more than once: {twice}"
    pids_by_task = {e[1]: e[3] for e in events if e[0] == "executing"}
    share = Counter(pids_by_task[task] for task in queued)
    assert len(share) == 2, f"one worker did everything: {share}"
    optimisers = {pids_by_task[t] for t, name in queued.items() if name == "optimise_day"}
    db.session.remove()
    statuses = [db.session.get(RoundPlan, run).status for run in runs]
    assert statuses == ["done", "done"], [db.session.get(RoundPlan, r).error for r in runs]
    print(f"\nredis: {len(queued)} tasks ({len(runs)} optimisations, {PUSH_TASKS} push sends, "
          f"{RESCORES} rescorings) by two workers, share {dict(share)}; optimisations by "
          f"{len(optimisers)} worker(s); every task ran once")
