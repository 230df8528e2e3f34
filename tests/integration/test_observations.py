"""The carer's observation form: happy path, bad input, replays, consent, access."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login

USUAL = {"fall": "none", "mobility": "usual", "meal_share": "", "drinks": "usual",
         "mood": "usual", "confusion": "none", "note": ""}


def _setup(world: Any, **client_overrides: Any) -> tuple[Any, Any, Any, Any]:
    org = world.org()
    carer = world.carer(org)
    person = world.client(org, last_name="Observee", birth_date=date(1938, 5, 2), sex="F",
                          **client_overrides)
    visit = world.visit(person, [carer])
    world.commit()
    return org, carer, person, visit


def _post(client: FlaskClient, visit_id: int, **fields: Any) -> Any:
    url = f"/visites/{visit_id}/observation"
    token = csrf_from(client, url)
    return client.post(url, data={"csrf_token": token, **USUAL, **fields})


def _rows() -> list[Any]:
    from webapp.extensions import db
    from webapp.observations.models import Observation

    db.session.expire_all()
    return list(db.session.scalars(sa.select(Observation).order_by(Observation.id)))


def _audit(action: str) -> list[Any]:
    from webapp.audit.models import AuditEvent
    from webapp.extensions import db

    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_carer_records_an_observation_and_the_person_is_rescored(
    client: FlaskClient, world: Any
) -> None:
    _, carer, person, visit = _setup(world, walking_aid=True)
    login(client, carer.user.email)
    page = client.get(f"/visites/{visit.id}/observation")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Comme d&#39;habitude" in body or "Comme d'habitude" in body
    # Defaults mean "as usual"; the walking aid is ticked for someone who uses one.
    assert re.search(r'value="none"[^>]*checked|checked[^>]*value="none"', body)
    assert re.search(r'id="walking_aid_used"[^>]*checked|checked[^>]*id="walking_aid_used"',
                     body)
    captured = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    response = _post(client, visit.id, fall="with_injury", meal_share="0.5",
                     mobility="less_steady", pain="y", help_transfers="y",
                     no_social_contact="y", weight_kg="61.5", note="A glissé, salle de bain",
                     share_with_family="y", captured_at=captured.isoformat())
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/visites/{visit.id}")
    [row] = _rows()
    assert (row.fall, row.meal_share, row.mobility, row.weight_kg) == (
        "with_injury", 0.5, "less_steady", 61.5)
    assert row.pain is True
    assert row.help_transfers is True
    assert row.swelling is False
    assert row.social_contact is False
    assert row.medication_as_planned is True
    assert row.share_with_family is True
    assert row.client_id == person.id
    assert row.recorded_at == captured  # the phone's time, not the arrival time
    assert [e.object_id for e in _audit("record_observation")] == [row.id]
    # HUEY_IMMEDIATE: the background task scored the person with the shipped model.
    from webapp.alerts.models import RiskScore
    from webapp.extensions import db

    [score] = db.session.scalars(sa.select(RiskScore)).all()
    assert score.client_id == person.id
    assert score.n_observations == 1
    assert 0 < score.fall_risk_90d < 1
    assert score.model_version.startswith("risk-synthetic-v3@")
    texts = " ".join(r["text"] for r in score.reasons["fall"])
    assert "douleurs" in texts  # a French reason quoting what the carer reported


def test_bad_input_answers_400_with_a_message_and_keeps_what_was_typed(
    client: FlaskClient, world: Any
) -> None:
    _, carer, _, visit = _setup(world)
    login(client, carer.user.email)
    for fields, message in (
        ({"fall": "bogus"}, "Réponse non valide"),
        ({"meal_share": "0.4"}, "Réponse non valide"),
        ({"weight_kg": "500"}, "Poids entre 20 et 250 kg"),
        ({"weight_kg": "beaucoup"}, "Poids entre 20 et 250 kg"),
        ({"note": "x" * 2001}, "2000"),
        ({"idempotency_key": "no spaces allowed!"}, "Clé d&#39;envoi invalide"),
    ):
        response = _post(client, visit.id, mood="sad", **fields)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, fields
        assert message in body, (fields, message)
        # What the carer tapped is still there to correct, not lost.
        assert re.search(r'value="sad"[^>]*checked|checked[^>]*value="sad"', body), fields
    assert _rows() == []
    missing_token = client.post(f"/visites/{visit.id}/observation", data=USUAL)
    assert missing_token.status_code == 400
    assert _rows() == []


def test_a_replay_is_stored_once_and_a_second_form_corrects_the_first(
    client: FlaskClient, world: Any
) -> None:
    _, carer, _, visit = _setup(world)
    login(client, carer.user.email)
    key = "0b8f7c3e-5a1d-4c2e-9f00-123456789abc"
    assert _post(client, visit.id, meal_share="1", idempotency_key=key).status_code == 303
    assert _post(client, visit.id, meal_share="0", idempotency_key=key).status_code == 303
    [row] = _rows()
    assert row.meal_share == 1.0
    assert row.idempotency_key == key
    assert _post(client, visit.id, meal_share="0.25", mood="anxious").status_code == 303
    [row] = _rows()
    assert (row.meal_share, row.mood) == (0.25, "anxious")
    assert len(_audit("record_observation")) == 1
    assert len(_audit("update_observation")) == 1
    page = client.get(f"/visites/{visit.id}/observation").get_data(as_text=True)
    assert re.search(r'value="anxious"[^>]*checked|checked[^>]*value="anxious"', page)


def test_a_cancelled_visit_refuses_an_observation(client: FlaskClient, world: Any) -> None:
    _, carer, _, visit = _setup(world)
    visit.status = "cancelled"
    world.commit()
    login(client, carer.user.email)
    response = _post(client, visit.id)
    assert response.status_code == 409
    assert "annulée" in response.get_data(as_text=True)
    assert _rows() == []


def test_only_the_assigned_carer_posts_staff_read_other_organisations_get_404(
    app: Any, world: Any
) -> None:
    org, carer, _, visit = _setup(world)
    other_carer = world.carer(org)
    coordinator = world.user(org, "coordinator")
    foreign = world.user(world.org(), "coordinator")
    world.commit()
    url = f"/visites/{visit.id}/observation"

    def as_user(email: str) -> FlaskClient:
        c = app.test_client()
        login(c, email)
        return c

    mine = as_user(carer.user.email)
    assert _post(mine, visit.id, note="Très fatiguée aujourd'hui").status_code == 303
    other = as_user(other_carer.user.email)
    assert other.get(url).status_code == 404
    token = csrf_from(other, "/ma-journee")
    assert other.post(url, data={"csrf_token": token, **USUAL}).status_code == 404
    staff = as_user(coordinator.email)
    page = staff.get(url)
    assert page.status_code == 200
    assert "Très fatiguée aujourd&#39;hui" in page.get_data(as_text=True)
    token = csrf_from(staff, url)
    assert staff.post(url, data={"csrf_token": token, **USUAL}).status_code == 403
    assert as_user(foreign.email).get(url).status_code == 404
    assert len(_rows()) == 1


def test_a_note_reaches_the_family_only_when_shared_and_consented(
    client: FlaskClient, world: Any
) -> None:
    from webapp.observations.services import shared_notes

    _, carer, person, visit = _setup(world)
    consenting = world.family(person, share_notes=True)
    not_consenting = world.family(person, share_notes=False)
    second = world.visit(person, [carer], start="18:00", end="20:00")
    world.commit()
    login(client, carer.user.email)
    assert _post(client, visit.id, note="A bien mangé, de bonne humeur",
                 share_with_family="y").status_code == 303
    assert _post(client, second.id, note="Ecchymose au bras, à surveiller").status_code == 303
    notes = [o.note for o in shared_notes(consenting, person.id)]
    assert notes == ["A bien mangé, de bonne humeur"]
    assert shared_notes(not_consenting, person.id) == []
    assert shared_notes(carer.user, person.id) == []


def test_random_form_posts_never_fail_and_refusals_save_nothing(
    client: FlaskClient, world: Any
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    _, carer, _, visit = _setup(world)
    login(client, carer.user.email)
    url = f"/visites/{visit.id}/observation"
    token = csrf_from(client, url)
    names = ["fall", "mobility", "meal_share", "drinks", "mood", "confusion", "weight_kg",
             "near_fall", "pain", "no_social_contact", "note", "share_with_family",
             "idempotency_key", "captured_at"]
    value = st.one_of(st.text(max_size=80), st.sampled_from(
        ["", "none", "usual", "0.5", "1", "nan", "inf", "-3", "1e309", "y", "False",
         "2026-02-30T10:00", "2099-01-01T00:00:00+00:00", "💥"]))
    statuses: set[int] = set()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.dictionaries(st.sampled_from(names), value, max_size=8))
    def post(data: dict[str, str]) -> None:
        before = [(r.id, r.recorded_at, r.note) for r in _rows()]
        response = client.post(url, data={**data, "csrf_token": token})
        statuses.add(response.status_code)
        assert response.status_code < 500, data
        if response.status_code >= 400:
            assert [(r.id, r.recorded_at, r.note) for r in _rows()] == before

    post()
    assert statuses, "the fuzzer posted nothing"
    for row in _rows():  # whatever was accepted is a valid observation
        assert row.meal_share in (None, 0.0, 0.25, 0.5, 0.75, 1.0)
        assert row.weight_kg is None or 20 <= row.weight_kg <= 250


def test_an_impossible_phone_time_is_replaced_by_the_time_of_receipt(
    client: FlaskClient, world: Any
) -> None:
    _, carer, _, visit = _setup(world)
    login(client, carer.user.email)
    before = datetime.now(UTC)
    assert _post(client, visit.id, captured_at="2001-01-01T08:00:00+00:00").status_code == 303
    [row] = _rows()
    assert row.recorded_at >= before - timedelta(seconds=1)


def test_an_observation_replayed_from_the_phones_outbox_is_stored_once_and_rescored(
    client: FlaskClient, world: Any
) -> None:
    from webapp.alerts.models import RiskScore
    from webapp.extensions import db

    _, carer, person, visit = _setup(world)
    login(client, carer.user.email)
    captured = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    # What the service worker sends: the form's fields as lists, its key and capture time.
    record = {"key": "7d1f0c52-offline-obs", "action": "observation", "visit_id": visit.id,
              "at": captured.isoformat(),
              "fields": {"fall": ["with_injury"], "mobility": ["less_steady"],
                         "meal_share": ["0.5"], "drinks": ["usual"], "mood": ["usual"],
                         "confusion": ["none"], "pain": ["y"], "note": [""],
                         "csrf_token": ["stale-token-from-the-cached-page"]}}
    headers = {"X-Tournee-Outbox": "1"}
    first = client.post("/visites/envoi", headers=headers, json=record)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert (body["outcome"], body["duplicate"], body["key"]) == (
        "applied", False, "7d1f0c52-offline-obs")
    again = client.post("/visites/envoi", headers=headers, json=record)
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    [row] = _rows()
    assert (row.fall, row.mobility, row.meal_share, row.pain) == (
        "with_injury", "less_steady", 0.5, True)
    assert row.recorded_at == captured
    assert row.idempotency_key == "7d1f0c52-offline-obs"
    [score] = db.session.scalars(sa.select(RiskScore)).all()  # rescored once, not twice
    assert score.client_id == person.id
    assert score.n_observations == 1
    assert any(r["code"] == "falls" for r in score.reasons["fall"])


def test_outbox_observations_refused_in_json_and_never_stored(
    client: FlaskClient, world: Any
) -> None:
    org, carer, _, visit = _setup(world)
    other = world.visit(world.client(org), [world.carer(org)])
    world.commit()
    login(client, carer.user.email)
    headers = {"X-Tournee-Outbox": "1"}
    base = {"action": "observation", "at": None, "fields": {"fall": ["none"]}}
    bad_key = client.post("/visites/envoi", headers=headers,
                          json={**base, "key": "no spaces!", "visit_id": visit.id})
    assert bad_key.status_code == 400
    assert bad_key.get_json()["error"] == "invalid"
    not_mine = client.post("/visites/envoi", headers=headers,
                           json={**base, "key": "a1b2c3d4e5f6", "visit_id": other.id})
    assert not_mine.status_code == 404
    assert not_mine.get_json()["error"] == "not_found"
    bad_answer = client.post("/visites/envoi", headers=headers,
                             json={**base, "key": "a1b2c3d4e5f7", "visit_id": visit.id,
                                   "fields": {"fall": ["bogus"]}})
    assert bad_answer.status_code == 400
    assert _rows() == []


def test_the_observation_form_is_kept_for_the_carers_offline_day(
    client: FlaskClient, world: Any
) -> None:
    _, carer, _, visit = _setup(world)
    login(client, carer.user.email)
    urls = client.get("/hors-ligne/pages.json").get_json()["urls"]
    assert f"/visites/{visit.id}/observation" in urls
    assert client.get(f"/visites/{visit.id}/observation").status_code == 200
