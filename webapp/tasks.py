"""Background tasks (huey): SQLite-backed by default, Redis when ``HUEY_URL`` is set.

The consumer runs ``huey_consumer webapp.tasks.huey`` (the ``worker:`` line of the Procfile).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab

from webapp.config import INSTANCE_DIR


def _make_huey() -> Huey:
    url = os.environ.get("HUEY_URL", "")
    if url.startswith("redis://"):
        return RedisHuey("tournee", url=url)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("tournee", filename=str(INSTANCE_DIR / "huey.sqlite3"))


huey = _make_huey()


def _trace_tasks(path: str) -> None:
    """Append one line per task event to ``path``: which task ran where, and how often.

    Set ``TOURNEE_TASK_LOG`` on the web and worker processes to audit a worker pool (the
    crash and Redis tests use it to prove a task runs once). Lines are written with a
    single ``O_APPEND`` write, so processes sharing the file do not interleave them.
    """
    from huey.signals import SIGNAL_COMPLETE, SIGNAL_ENQUEUED, SIGNAL_ERROR, SIGNAL_EXECUTING

    @huey.signal(SIGNAL_ENQUEUED, SIGNAL_EXECUTING, SIGNAL_COMPLETE, SIGNAL_ERROR)
    def _log(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
        line = f"{signal} {task.id} {task.name} {os.getpid()}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


if os.environ.get("TOURNEE_TASK_LOG"):
    _trace_tasks(os.environ["TOURNEE_TASK_LOG"])
_worker_app: Flask | None = None
F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    """Run tasks in-process when the config asks for it (tests, one-off scripts)."""
    huey.immediate = bool(app.config.get("HUEY_IMMEDIATE"))


def bind_worker_app(app: Flask) -> None:
    """Make tasks run against ``app`` (an embedded consumer, e.g. in browser tests)."""
    global _worker_app
    _worker_app = app


@contextmanager
def app_context() -> Iterator[Flask]:
    """Give a task an application context: the caller's, or the worker's own app."""
    global _worker_app
    if has_app_context():
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    if _worker_app is None:
        from webapp import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        yield _worker_app


def with_app(func: F) -> F:
    """Run the wrapped task inside an application context."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with app_context():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _import_feature_tasks() -> None:
    """Register the tasks defined in feature packages (the consumer imports only this module)."""
    from webapp.alerts import tasks as _alerts_tasks  # noqa: F401
    from webapp.gdpr import tasks as _gdpr_tasks  # noqa: F401
    from webapp.push import tasks as _push_tasks  # noqa: F401
    from webapp.rounds import tasks as _rounds_tasks  # noqa: F401


@huey.periodic_task(crontab(hour="2", minute="15"))
@with_app
def expand_upcoming_visits() -> int:
    """Every night: close the days gone by, and generate the coming two weeks of visits."""
    from datetime import timedelta

    from webapp.careplans.services import expand_visits
    from webapp.extensions import db
    from webapp.organisations.models import Organisation
    from webapp.timeutil import today_paris
    from webapp.visits.services import mark_missed

    start = today_paris()
    created = 0
    for organisation in db.session.scalars(db.select(Organisation)):
        mark_missed(organisation.id, start)
        created += expand_visits(organisation.id, start, start + timedelta(days=14))
    db.session.commit()
    return created


_import_feature_tasks()
