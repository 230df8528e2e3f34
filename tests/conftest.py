"""Shared fixtures: a real SQLite file per test, built by the real migrations once."""

from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import PASSWORD

# The task queue's SQLite file lives in the instance folder, chosen at import: keep tests'
# queue out of the developer's instance/ before webapp is imported.
os.environ.setdefault("TOURNEE_INSTANCE", tempfile.mkdtemp(prefix="tournee-tests-"))

from webapp import create_app
from webapp.config import PROJECT_ROOT, TestConfig

_counter = itertools.count(1)


# The suite runs on SQLite files by default. With TEST_DATABASE_URL (a PostgreSQL server URL,
# e.g. postgresql+psycopg://tournee@127.0.0.1:5433/postgres, as `make test-postgres` sets it)
# each test gets its own PostgreSQL database instead, copied from one migrated template.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def pytest_configure(config: pytest.Config) -> None:
    if TEST_DATABASE_URL:
        # The engine of an app a test built and dropped without dispose() closes its pooled
        # connections when collected: silently for sqlite3, with a ResourceWarning for psycopg.
        config.addinivalue_line(
            "filterwarnings", "ignore:.*was deleted while still open:ResourceWarning")


def flask_db_upgrade(database_url: str, instance: Path) -> None:
    """Run the real migrations (``flask db upgrade``) against ``database_url``."""
    env = {"FLASK_APP": "webapp", "DATABASE_URL": database_url,
           "TOURNEE_INSTANCE": str(instance), "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


class PostgresServer:
    """Create and drop databases on the server of TEST_DATABASE_URL."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.url = sa.engine.make_url(url)
        self.engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT",
                                       poolclass=sa.pool.NullPool)
        self.prefix = f"tournee_{os.getpid()}"

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            suffix = f' TEMPLATE "{template}"' if template else ""
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{suffix}')
        return self.url_of(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """The PostgreSQL server of TEST_DATABASE_URL and its migrated template, or None."""
    if not TEST_DATABASE_URL:
        yield None
        return
    server = PostgresServer(TEST_DATABASE_URL)
    template = f"{server.prefix}_template"
    flask_db_upgrade(server.create(template), Path(tempfile.mkdtemp(prefix="tournee-pg-")))
    server.template = template  # type: ignore[attr-defined]
    yield server
    server.drop(template)
    server.engine.dispose()


def new_database(postgres: PostgresServer | None, migrated_db: Path, folder: Path) -> str:
    """A fresh migrated database for one test or server: its URL.

    A copy of the migrated SQLite file, or a PostgreSQL database made from the template.
    """
    if postgres is None:
        path = folder / "tournee.sqlite3"
        shutil.copy(migrated_db, path)
        return f"sqlite:///{path}"
    return postgres.create(f"{postgres.prefix}_{next(_counter)}",
                           template=postgres.template)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def make_database(postgres: PostgresServer | None, migrated_db: Path) -> Any:
    """``make_database(folder)``: a fresh migrated database URL, for servers of a session."""
    return lambda folder: new_database(postgres, migrated_db, folder)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run ``flask db upgrade`` once into a template database file."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    flask_db_upgrade(f"sqlite:///{path}", path.parent)
    return path


@pytest.fixture(scope="session")
def road_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of prepared road graphs for the whole run (building one takes seconds)."""
    return tmp_path_factory.mktemp("roads")


@pytest.fixture
def db_path(migrated_db: Path, tmp_path: Path) -> Path:
    """A migrated SQLite file of the test's own (tests that need SQLite itself use it)."""
    path = tmp_path / "tournee.sqlite3"
    shutil.copy(migrated_db, path)
    return path


@pytest.fixture
def empty_database_url(postgres: PostgresServer | None, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own (no tables), for the migration tests."""
    if postgres is None:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"{postgres.prefix}_{next(_counter)}"
    url = postgres.create(name)
    yield url
    postgres.drop(name)


@pytest.fixture
def database_url(postgres: PostgresServer | None, db_path: Path) -> Iterator[str]:
    """The test's own migrated database: ``db_path``, or a PostgreSQL database."""
    if postgres is None:
        yield f"sqlite:///{db_path}"
        return
    url = new_database(postgres, db_path, db_path.parent)
    yield url
    postgres.drop(url.rsplit("/", 1)[1])


class IsolatedClient(FlaskClient):
    """Run each request in an empty context, as a real server does.

    Without this, requests would share the test's application context, hence its ``g`` and
    its database session, and state would leak from one request to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(database_url: str, road_cache: Path) -> Iterator[Flask]:
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        CACHE_DIR = road_cache

    application = create_app(Config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        from webapp.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# ----------------------------------------------------------------------------- factories
class World:
    """Factory for rows: every helper flushes and returns the new object."""

    def __init__(self) -> None:
        from webapp.auth.services import hash_password

        self.password_hash = hash_password(PASSWORD)

    @staticmethod
    def _db() -> Any:
        from webapp.extensions import db

        return db

    def org(self, name: str | None = None) -> Any:
        from webapp.organisations.models import Organisation, Sector

        org = Organisation(name=name or f"SAAD {next(_counter)}", phone="04 93 00 00 00")
        self._db().session.add(org)
        self._db().session.flush()
        self._db().session.add(Sector(organisation_id=org.id, name="Centre"))
        self._db().session.flush()
        return org

    def user(self, org: Any, role: str, **overrides: Any) -> Any:
        from webapp.auth.models import User

        n = next(_counter)
        values = {"email": f"{role}{n}@example.org", "first_name": f"Prénom{n}",
                  "last_name": f"Nom{n}", "password_hash": self.password_hash}
        values.update(overrides)
        user = User(organisation_id=org.id, role=role, **values)
        self._db().session.add(user)
        self._db().session.flush()
        return user

    def carer(self, org: Any, *, with_user: bool = True, **overrides: Any) -> Any:
        from webapp.carers.models import Carer

        user = self.user(org, "carer") if with_user else None
        shifts = [["07:00", "13:30"], ["17:00", "21:00"]]
        values: dict[str, Any] = {
            "first_name": user.first_name if user else "Aide", "last_name": "Carer",
            "skills": ["toilette", "repas", "transferts", "menage", "courses"],
            "availability": {str(d): shifts for d in range(7)},
            "home_lat": 43.74, "home_lon": 7.43,
        }
        values.update(overrides)
        carer = Carer(organisation_id=org.id, user_id=user.id if user else None, **values)
        self._db().session.add(carer)
        self._db().session.flush()
        return carer

    def client(self, org: Any, **overrides: Any) -> Any:
        from webapp.clients.models import Client

        n = next(_counter)
        values: dict[str, Any] = {
            "first_name": "Jeanne", "last_name": f"Client{n}", "address": f"{n} rue de la Paix",
            "postcode": "06240", "city": "Beausoleil", "lat": 43.742, "lon": 7.424,
            "geocode_status": "manual", "access_notes": f"Digicode {1000 + n}", "gir": 3,
        }
        values.update(overrides)
        client = Client(organisation_id=org.id, **values)
        self._db().session.add(client)
        self._db().session.flush()
        return client

    def visit(self, client: Any, carers: list[Any] | None = None, *, day: date | None = None,
              start: str = "08:00", end: str = "10:00", minutes: int = 45, **overrides: Any) -> Any:
        from webapp.timeutil import paris_datetime, today_paris
        from webapp.visits.models import Visit, VisitAssignment

        day = day or today_paris()
        values: dict[str, Any] = {
            "organisation_id": client.organisation_id, "client_id": client.id, "day": day,
            "kind": "lever", "window_start": time.fromisoformat(start),
            "window_end": time.fromisoformat(end), "duration_min": minutes,
            "tasks": ["Toilette", "Petit-déjeuner"], "status": "assigned" if carers else "planned",
        }
        values.update(overrides)
        visit = Visit(**values)
        if carers:
            visit.planned_start = paris_datetime(day, time.fromisoformat(start))
            visit.planned_end = visit.planned_start + timedelta(minutes=minutes)
            for i, carer in enumerate(carers):
                visit.assignments.append(VisitAssignment(carer_id=carer.id, position=i))
        self._db().session.add(visit)
        self._db().session.flush()
        return visit

    def family(self, client: Any, *, share_notes: bool = False) -> Any:
        from webapp.clients.models import FamilyLink

        org_id = client.organisation_id
        from webapp.organisations.models import Organisation

        user = self.user(self._db().session.get(Organisation, org_id), "family")
        self._db().session.add(FamilyLink(client_id=client.id, user_id=user.id,
                                          relationship_label="Fille",
                                          consent_share_notes=share_notes))
        self._db().session.flush()
        return user

    def commit(self) -> None:
        self._db().session.commit()


@pytest.fixture
def world(app: Flask) -> World:
    return World()


