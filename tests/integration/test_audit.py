"""The audit trail: append-only, hash-chained, complete, searchable by an admin."""

from __future__ import annotations

import csv
import io
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login


def _actions(**filters: Any) -> list[str]:
    from webapp.audit.models import AuditEvent
    from webapp.extensions import db

    db.session.expire_all()
    stmt = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    for key, value in filters.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def _sql(statement: str, **params: Any) -> Any:
    """Run raw SQL on the app's real database in its own transaction, as an intruder would."""
    from webapp.extensions import db

    db.session.remove()
    with db.engine.begin() as conn:
        result = conn.execute(sa.text(statement), params)
        return result.all() if result.returns_rows else None


def _drop_guards() -> None:
    from webapp.extensions import db

    if db.engine.dialect.name == "postgresql":
        _sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
    else:
        _sql("DROP TRIGGER audit_event_no_update")
        _sql("DROP TRIGGER audit_event_no_delete")


def test_the_database_refuses_to_change_or_delete_audit_rows(
    client: FlaskClient, world: Any
) -> None:
    carer = world.carer(world.org())
    world.commit()
    login(client, carer.user.email)
    assert _sql("SELECT count(*) FROM audit_event")[0][0] >= 1
    for statement in ("UPDATE audit_event SET action = 'nothing'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            _sql(statement)
    assert _sql("SELECT count(*) FROM audit_event WHERE action = 'login'")[0][0] == 1


def test_verify_finds_the_first_tampered_row(client: FlaskClient, world: Any,
                                             runner: Any) -> None:
    org = world.org()
    carer = world.carer(org)
    person = world.client(org)
    visit = world.visit(person, [carer])
    world.commit()
    carer_user = carer.user_id
    login(client, carer.user.email)
    client.get(f"/visites/{visit.id}")
    client.get(f"/clients/{person.id}")
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output

    # Someone with the database drops the guards and rewrites who read the file.
    target = _sql("SELECT id FROM audit_event WHERE action = 'read_client'")[0][0]
    _drop_guards()
    _sql("UPDATE audit_event SET user_id = 999 WHERE id = :id", id=target)
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"BROKEN at event {target}" in broken.output
    # Deleting a row (and recomputing nothing) also breaks the chain at the next row.
    _sql("UPDATE audit_event SET user_id = :u WHERE id = :id", u=carer_user, id=target)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    _sql("DELETE FROM audit_event WHERE id = :id", id=target - 1)
    assert f"BROKEN at event {target}" in runner.invoke(args=["audit", "verify"]).output


def test_concurrent_writers_never_fork_the_chain(app: Flask, world: Any, runner: Any) -> None:
    from webapp.audit.services import record
    from webapp.extensions import db

    org = world.org()
    world.commit()
    org_id = org.id
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                for i in range(25):
                    record(None, "test_write", "thread", n * 100 + i, organisation_id=org_id)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_actions(action="test_write")) == 100
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_reads_and_changes_of_client_data_are_audited(client: FlaskClient, world: Any) -> None:
    from webapp.careplans.models import CarePlan

    org = world.org()
    person = world.client(org, last_name="Auditee")
    plan = CarePlan(organisation_id=org.id, client_id=person.id, starts_on=world.visit(
        person).day, interventions=[])
    world._db().session.add(plan)
    coordinator = world.user(org, "coordinator")
    world.commit()
    login(client, coordinator.email)
    client.get("/clients/?q=Audit")
    client.get(f"/clients/{person.id}")
    form = client.get(f"/clients/{person.id}/modifier")
    assert form.status_code == 200
    client.get(f"/plans/{plan.id}")
    assert client.get("/planning/").status_code == 200
    client.get(f"/rgpd/clients/{person.id}/export")
    mine = _actions(user_id=coordinator.id)
    assert {"list_clients", "read_client", "read_care_plan", "read_board", "export"} <= set(mine)
    assert _actions(client_id=person.id).count("read_client") == 2  # sheet and edit form


def test_admin_searches_filters_and_exports_the_trail(client: FlaskClient, world: Any) -> None:
    org = world.org()
    admin = world.user(org, "admin")
    coordinator = world.user(org, "coordinator")
    carer = world.carer(org)
    person = world.client(org, last_name="Cherchee")
    other = world.client(org, last_name="Autre")
    visit = world.visit(person, [carer])
    world.visit(other, [carer], start="14:00", end="15:00")
    world.commit()
    login(client, carer.user.email)
    client.get(f"/visites/{visit.id}")
    client.post("/logout", data={"csrf_token": csrf_from(client, "/ma-journee")})
    login(client, coordinator.email)
    client.get(f"/clients/{other.id}")
    client.post("/logout", data={"csrf_token": csrf_from(client, "/planning/")})

    assert client.get("/audit/").status_code == 302
    login(client, admin.email)
    page = client.get("/audit/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Journal d&#39;audit" in body or "Journal d'audit" in body
    fragment = client.get(f"/audit/?client={person.id}", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text
    assert "data-audit-results" in text
    assert "read_visit" in text
    assert "Cherchee" in text
    assert "Autre" not in text.split("<tbody>")[1]
    by_user = client.get(f"/audit/?user={coordinator.id}&action=read_client",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert by_user.count("<tr data-event-id") == 1
    bad = client.get("/audit/?client=abc&from=not-a-date&user=99999999999")
    assert bad.status_code == 200  # bad filters are ignored, never a 500

    export = client.get(f"/audit/export.csv?client={person.id}")
    assert export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))
    assert rows[0][:5] == ["id", "at_paris", "user_id", "user", "action"]
    assert {r[4] for r in rows[1:]} >= {"read_visit"}
    assert all(r[7] == str(person.id) for r in rows[1:])
    assert all(len(r[11]) == 64 for r in rows[1:])  # each row's hash
    assert "search_audit" in _actions(user_id=admin.id)

    client.post("/logout", data={"csrf_token": csrf_from(client, "/audit/")})
    login(client, coordinator.email)
    assert client.get("/audit/").status_code == 403


def test_an_audited_page_view_needs_one_database_connection(
        world: Any, database_url: str, road_cache: Any) -> None:
    # Each request holds one pooled connection; had the audit row of a page view needed a
    # second one, requests holding every connection would wait for each other until the
    # pool timed out (seen with 20 phones against a pool of 15). One connection in all here.
    from tests.conftest import IsolatedClient
    from webapp import create_app
    from webapp.config import TestConfig
    from webapp.extensions import db

    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    world.commit()

    class OneConnection(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        CACHE_DIR = road_cache
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 2}  # noqa: RUF012

    small = create_app(OneConnection)
    small.test_client_class = IsolatedClient
    phone = small.test_client()
    try:
        login(phone, carer.user.email)
        assert phone.get("/ma-journee").status_code == 200
        assert phone.get(f"/visites/{visit.id}").status_code == 200
    finally:
        with small.app_context():
            db.engine.dispose()
    assert {"read_day", "read_visit"} <= set(_actions(user_id=carer.user_id))
