"""Client records: search, geocoding through a local Base Adresse Nationale, bad input."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import csrf_from, login

KNOWN = {"12 avenue de verdun 06240 beausoleil": (43.7436, 7.4235)}


class BanHandler(BaseHTTPRequestHandler):
    """Answers /search like the BAN API: GeoJSON features, best first."""

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query).get("q", [""])[0].lower().replace(",", "")
        features = []
        if query in KNOWN:
            lat, lon = KNOWN[query]
            features.append({"type": "Feature",
                             "geometry": {"type": "Point", "coordinates": [lon, lat]},
                             "properties": {"label": query, "score": 0.97}})
        body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ban(app: Flask) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BanHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(GEOCODER_ENABLED=True, GEOCODER_SCHEME="http",
                      GEOCODER_DOMAIN=f"127.0.0.1:{server.server_port}")
    yield app.config["GEOCODER_DOMAIN"]
    server.shutdown()
    server.server_close()


def _coordinator(client: FlaskClient, world: Any) -> tuple[Any, str]:
    org = world.org()
    user = world.user(org, "coordinator")
    world.commit()
    login(client, user.email)
    return org, csrf_from(client, "/clients/")


FORM = {"first_name": "Odette", "last_name": "Lanteri", "address": "12 avenue de Verdun",
        "postcode": "06240", "city": "Beausoleil", "gir": "3", "funding": "apa",
        "sector_id": "0", "active": "y"}


def _clients() -> list[Any]:
    from webapp.clients.models import Client
    from webapp.extensions import db

    db.session.expire_all()
    return list(db.session.scalars(sa.select(Client)))


def test_new_client_is_geocoded_by_the_ban(client: FlaskClient, world: Any, ban: str) -> None:
    _, token = _coordinator(client, world)
    response = client.post("/clients/nouveau", data={**FORM, "csrf_token": token})
    assert response.status_code == 303
    (row,) = _clients()
    assert (row.lat, row.lon, row.geocode_status) == (43.7436, 7.4235, "found")


def test_unknown_address_asks_for_a_manual_position(client: FlaskClient, world: Any,
                                                    ban: str) -> None:
    _, token = _coordinator(client, world)
    response = client.post("/clients/nouveau", data={
        **FORM, "address": "Chemin qui n'existe pas", "csrf_token": token},
        follow_redirects=True)
    assert "saisissez la position" in response.get_data(as_text=True)
    (row,) = _clients()
    assert row.geocode_status == "not_found"
    assert row.lat is None
    edit = client.post(f"/clients/{row.id}/modifier", data={
        **FORM, "address": "Chemin qui n'existe pas", "lat": "43.75", "lon": "7.43",
        "csrf_token": token})
    assert edit.status_code == 303
    (row,) = _clients()
    assert (row.lat, row.lon, row.geocode_status) == (43.75, 7.43, "manual")


def test_geocoder_offline_still_saves_the_client(client: FlaskClient, world: Any,
                                                  app: Flask) -> None:
    app.config.update(GEOCODER_ENABLED=True, GEOCODER_SCHEME="http",
                      GEOCODER_DOMAIN="127.0.0.1:9", GEOCODER_TIMEOUT=1)
    _, token = _coordinator(client, world)
    response = client.post("/clients/nouveau", data={**FORM, "csrf_token": token})
    assert response.status_code == 303
    (row,) = _clients()
    assert row.geocode_status == "not_found"


def test_search_serves_page_or_rows_fragment(client: FlaskClient, world: Any) -> None:
    org, _ = _coordinator(client, world)
    world.client(org, last_name="Pastorelli", city="Èze")
    world.client(org, last_name="Rossi", city="La Turbie")
    world.commit()
    page = client.get("/clients/?q=pasto")
    fragment = client.get("/clients/?q=turbie", headers={"HX-Request": "true"})
    assert "<html" in page.get_data(as_text=True)
    assert "Pastorelli" in page.get_data(as_text=True)
    assert "Rossi" not in page.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Rossi" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_editing_keeps_the_record_when_the_form_is_invalid(client: FlaskClient,
                                                           world: Any) -> None:
    org, token = _coordinator(client, world)
    person = world.client(org, last_name="Intacte")
    world.commit()
    response = client.post(f"/clients/{person.id}/modifier", data={
        **FORM, "last_name": "", "gir": "9", "postcode": "ABC", "csrf_token": token})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "5 chiffres" in body
    assert [c.last_name for c in _clients()] == ["Intacte"]


TEXT = st.text(max_size=400)
CLIENT_FORMS = st.fixed_dictionaries({
    "first_name": TEXT, "last_name": TEXT, "address": TEXT, "postcode": TEXT, "city": TEXT,
    "gir": st.one_of(TEXT, st.integers(-10**12, 10**12).map(str)),
    "lat": st.one_of(TEXT, st.floats(allow_nan=True).map(str)),
    "lon": st.one_of(TEXT, st.floats(allow_nan=True).map(str)),
    "phone": TEXT, "funding": TEXT, "sector_id": TEXT, "access_notes": st.text(max_size=3000),
    "usual_carers": st.lists(TEXT, max_size=3), "birth_date": TEXT,
})


def test_fuzzed_client_form_never_fails_and_never_loses_data(
    client: FlaskClient, world: Any
) -> None:
    org, token = _coordinator(client, world)
    witness = world.client(org, last_name="Témoin")
    world.commit()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=CLIENT_FORMS)
    def post_both_forms(data: dict[str, Any]) -> None:
        before = len(_clients())
        created = client.post("/clients/nouveau", data={**data, "csrf_token": token})
        edited = client.post(f"/clients/{witness.id}/modifier",
                             data={**data, "csrf_token": token})
        assert created.status_code in (303, 400)
        assert edited.status_code in (303, 400)
        after = _clients()
        assert len(after) == before + (created.status_code == 303)
        assert any(c.id == witness.id for c in after)

    post_both_forms()
