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


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run ``flask db upgrade`` once into a template database file."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    env = {"FLASK_APP": "webapp", "DATABASE_URL": f"sqlite:///{path}",
           "TOURNEE_INSTANCE": str(path.parent), "PATH": str(Path(sys.executable).parent)}
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=PROJECT_ROOT, env=env,
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def road_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of prepared road graphs for the whole run (building one takes seconds)."""
    return tmp_path_factory.mktemp("roads")


@pytest.fixture
def db_path(migrated_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "tournee.sqlite3"
    shutil.copy(migrated_db, path)
    return path


class IsolatedClient(FlaskClient):
    """Run each request in an empty context, as a real server does.

    Without this, requests would share the test's application context, hence its ``g`` and
    its database session, and state would leak from one request to the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(db_path: Path, road_cache: Path) -> Iterator[Flask]:
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{db_path}"
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


