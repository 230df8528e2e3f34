"""The demo SAAD loads on real streets and gives each role something to see."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login


def test_demo_load_builds_a_believable_service_once(app: Flask, runner: Any,
                                                    client: FlaskClient) -> None:
    from webapp.carers.models import Carer
    from webapp.clients.models import Client
    from webapp.demo.services import DEMO_LOGINS, DEMO_PASSWORD
    from webapp.demo.streets import POSTCODES
    from webapp.extensions import db
    from webapp.visits.models import Visit

    result = runner.invoke(args=["demo", "load", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "demo loaded" in result.output
    db.session.expire_all()
    clients = db.session.scalars(sa.select(Client)).all()
    assert len(clients) == 60
    assert db.session.scalar(sa.select(sa.func.count(Carer.id))) == 12
    # Real street positions in the French communes around Monaco, not in Monaco itself.
    assert {c.city for c in clients} <= set(POSTCODES)
    assert all(43.70 < c.lat < 43.78 and 7.34 < c.lon < 7.50 for c in clients)
    two_carer = db.session.scalar(sa.select(sa.func.count(Visit.id)).where(
        Visit.carers_needed == 2))
    assert two_carer > 0
    kinds = set(db.session.scalars(sa.select(Visit.kind).distinct()))
    assert {"lever", "repas", "coucher"} <= kinds

    again = runner.invoke(args=["demo", "load", "--days", "3"])
    assert again.exit_code == 0
    assert "demo loaded" not in again.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Client.id))) == 60

    for role, email in DEMO_LOGINS.items():
        assert login(client, email, DEMO_PASSWORD).status_code == 302, role
        home = client.get("/", follow_redirects=True)
        assert home.status_code == 200, role
        if role == "carer":
            assert home.get_data(as_text=True).count("data-visit-id=") >= 3
        client.post("/logout", data={"csrf_token": csrf_from(client, home.request.path)})
