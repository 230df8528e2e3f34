"""Optimising a day on the real road network, previewing it and accepting it."""

from __future__ import annotations

import itertools
import re
from datetime import time, timedelta
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.helpers import csrf_from, login
from webapp.timeutil import to_paris, today_paris

# Real street positions in Beausoleil, Cap-d'Ail and Roquebrune (data/demo_streets.csv).
PLACES = [(43.7436, 7.4235), (43.7239, 7.3987), (43.7634, 7.4840), (43.7478, 7.4290),
          (43.7520, 7.4400), (43.7300, 7.4050), (43.7600, 7.4700), (43.7450, 7.4180)]


def _day(world: Any) -> tuple[Any, list[Any], list[Any]]:
    org = world.org()
    day = today_paris() + timedelta(days=1)
    shift = {str(day.weekday()): [["07:00", "13:30"]]}
    carers = [world.carer(org, availability=shift, home_lat=lat, home_lon=lon)
              for lat, lon in PLACES[:2]]
    visits = []
    for i, (lat, lon) in enumerate(PLACES):
        person = world.client(org, lat=lat, lon=lon)
        person.usual_carers = [carers[i % 2]]
        visits.append(world.visit(person, None, day=day, start="07:30", end="12:30",
                                  minutes=30))
    unreachable = world.client(org, lat=None, lon=None, geocode_status="not_found",
                               last_name="Sansposition")
    visits.append(world.visit(unreachable, None, day=day, start="08:00", end="10:00"))
    world.commit()
    return org, carers, visits


def test_optimise_preview_then_accept(client: FlaskClient, world: Any) -> None:
    from webapp.audit.models import AuditEvent
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan
    from webapp.visits.models import Visit

    org, carers, visits = _day(world)
    user = world.user(org, "coordinator")
    world.commit()
    login(client, user.email)
    day = visits[0].day
    token = csrf_from(client, f"/planning/?date={day.isoformat()}")
    started = client.post("/planning/optimiser", data={"csrf_token": token,
                                                       "date": day.isoformat()})
    assert started.status_code == 303
    preview = client.get(started.headers["Location"])
    body = preview.get_data(as_text=True)
    assert "Accepter ce planning" in body
    assert "Sansposition" in body
    assert "non géolocalisée" in body
    assert "OpenStreetMap contributors" in body
    run = db.session.scalar(sa.select(RoundPlan))
    assert run.status == "done"
    assert run.result["figures"]["assigned"] == 8

    accept_url = f"/planning/optimisations/{run.id}/accepter"
    accepted = client.post(accept_url, data={"csrf_token": token})
    assert accepted.status_code == 303
    db.session.expire_all()
    for visit in db.session.scalars(sa.select(Visit)):
        if visit.client.lat is None:
            continue
        assert visit.status == "assigned"
        start = to_paris(visit.planned_start).time()
        assert time(7, 30) <= start <= time(12, 0)
        assert visit.carers[0].id in {c.id for c in carers}
    # Nobody is in two places at once.
    for carer in carers:
        mine = sorted((v.planned_start, v.planned_end) for v in db.session.scalars(
            sa.select(Visit)) if carer.id in [c.id for c in v.carers])
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(mine))
    assert db.session.scalar(sa.select(RoundPlan.status)) == "accepted"
    assert db.session.scalar(sa.select(AuditEvent.user_id).where(
        AuditEvent.action == "accept_plan")) == user.id
    again = client.post(accept_url, data={"csrf_token": token}, follow_redirects=True)
    assert "plus applicable" in again.get_data(as_text=True)


def test_carer_day_shows_travel_minutes_of_the_accepted_plan(app: Any, client: FlaskClient,
                                                             world: Any) -> None:
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan
    from webapp.visits.models import Visit

    org, carers, visits = _day(world)
    user = world.user(org, "coordinator")
    world.commit()
    login(client, user.email)
    day = visits[0].day
    token = csrf_from(client, f"/planning/?date={day.isoformat()}")
    client.post("/planning/optimiser", data={"csrf_token": token, "date": day.isoformat()})
    run = db.session.scalar(sa.select(RoundPlan))
    assert client.post(f"/planning/optimisations/{run.id}/accepter",
                       data={"csrf_token": token}).status_code == 303
    routes = {r["carer_id"]: r["stops"] for r in run.result["routes"]}
    assert routes
    for carer in carers:
        if carer.id not in routes:
            continue
        page = app.test_client()
        login(page, carer.user.email)
        body = page.get(f"/ma-journee?date={day.isoformat()}").get_data(as_text=True)
        shown = re.findall(r'data-visit-id="(\d+)">\s*<p class="travel" data-travel-min="(\d+)"',
                           body)
        # Every stop of her accepted round shows the plan's road minutes from the stop before.
        assert shown == [(str(s["visit_id"]), str(s["travel_min"])) for s in routes[carer.id]]
        assert "depuis le domicile" in body
    # A visit moved by hand since: the minutes after it no longer hold and are not shown.
    carer = next(c for c in carers if len(routes.get(c.id, [])) >= 2)
    first, second = routes[carer.id][0]["visit_id"], routes[carer.id][1]["visit_id"]
    other = next(c for c in carers if c.id != carer.id)
    moved = db.session.get(Visit, first)
    url = f"/planning/visites/{moved.id}/attribuer"
    assert client.post(url, data={"csrf_token": token, "carer_1": other.id}).status_code == 303
    page = app.test_client()
    login(page, carer.user.email)
    body = page.get(f"/ma-journee?date={day.isoformat()}").get_data(as_text=True)
    assert f'data-visit-id="{second}"' in body
    assert not re.search(rf'data-visit-id="{second}">\s*<p class="travel"', body)


def test_rest_after_a_late_evening_is_respected(client: FlaskClient, world: Any) -> None:
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan

    org = world.org()
    day = today_paris() + timedelta(days=1)
    shifts = {str(d.weekday()): [["07:00", "23:30"]] for d in (day, day - timedelta(days=1))}
    (lat, lon), (lat2, lon2) = PLACES[0], PLACES[1]
    late, rested = (world.carer(org, availability=shifts, home_lat=lat, home_lon=lon)
                    for _ in range(2))
    person = world.client(org, lat=lat2, lon=lon2)
    person.usual_carers = [late]
    # Yesterday, her last visit ended at 22:45: no work for her before 9:45 today.
    world.visit(person, [late], day=day - timedelta(days=1), start="22:00", end="22:45",
                minutes=45)
    early = world.visit(person, None, day=day, start="07:30", end="08:30", minutes=30)
    user = world.user(org, "coordinator")
    world.commit()
    login(client, user.email)
    token = csrf_from(client, f"/planning/?date={day.isoformat()}")
    client.post("/planning/optimiser", data={"csrf_token": token, "date": day.isoformat()})
    run = db.session.scalar(sa.select(RoundPlan))
    assert run.status == "done"
    carers_of = {s["visit_id"]: r["carer_id"] for r in run.result["routes"] for s in r["stops"]}
    # The usual carer is the cheaper choice, but the rest owed rules her out.
    assert carers_of[early.id] == rested.id


def test_htmx_polls_a_progress_fragment(client: FlaskClient, world: Any) -> None:
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan

    org = world.org()
    user = world.user(org, "coordinator")
    run = RoundPlan(organisation_id=org.id, day=today_paris(), status="running", step="solving",
                    time_limit_s=10)
    db.session.add(run)
    world.commit()
    login(client, user.email)
    fragment = client.get(f"/planning/optimisations/{run.id}", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body
    assert 'hx-trigger="every 1s"' in body
    assert re.search(r'<progress id="run-progress" max="100" value="\d+"', body)


def test_a_run_whose_worker_died_is_shown_as_failed(client: FlaskClient, world: Any) -> None:
    from webapp.extensions import db
    from webapp.rounds.models import STALE_AFTER_S, RoundPlan
    from webapp.timeutil import utcnow

    org = world.org()
    user = world.user(org, "coordinator")
    started = utcnow() - timedelta(seconds=10 + STALE_AFTER_S + 60)
    dead = RoundPlan(organisation_id=org.id, day=today_paris(), status="running",
                     step="solving", time_limit_s=10, started_at=started)
    alive = RoundPlan(organisation_id=org.id, day=today_paris(), status="running",
                      step="solving", time_limit_s=10, started_at=utcnow())
    db.session.add_all([dead, alive])
    world.commit()
    login(client, user.email)
    body = client.get(f"/planning/optimisations/{dead.id}").get_data(as_text=True)
    assert "Le calcul a échoué" in body
    assert 'hx-trigger="every 1s"' not in body
    db.session.expire_all()
    assert db.session.get(RoundPlan, dead.id).status == "failed"
    still = client.get(f"/planning/optimisations/{alive.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in still


def test_other_organisation_cannot_see_or_accept_a_plan(client: FlaskClient,
                                                        world: Any) -> None:
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan

    org, other = world.org(), world.org()
    run = RoundPlan(organisation_id=org.id, day=today_paris(), status="done",
                    result={"routes": []})
    db.session.add(run)
    intruder = world.user(other, "coordinator")
    world.commit()
    login(client, intruder.email)
    token = csrf_from(client, "/planning/")
    assert client.get(f"/planning/optimisations/{run.id}").status_code == 404
    assert client.post(f"/planning/optimisations/{run.id}/accepter",
                       data={"csrf_token": token}).status_code == 404


def test_absence_offers_a_replan_that_keeps_started_visits(client: FlaskClient,
                                                           world: Any) -> None:
    from webapp.extensions import db
    from webapp.rounds.models import RoundPlan
    from webapp.visits.models import Visit

    org, carers, visits = _day(world)
    user = world.user(org, "coordinator")
    for i, visit in enumerate(visits[:-1]):
        visit.assignments.clear()
        db.session.flush()
        from webapp.visits.services import assign

        assign(visit, [carers[i % 2]], user,
               planned_start=_at(visit.day, 8 + i // 2, 30 * (i % 2)))
    world.commit()
    login(client, user.email)
    token = csrf_from(client, "/planning/absences")
    day = visits[0].day
    response = client.post("/planning/absences", data={
        "csrf_token": token, "carer_id": carers[0].id, "reason": "Malade",
        "starts_at": f"{day.isoformat()}T06:00", "ends_at": f"{day.isoformat()}T14:00"})
    assert response.status_code == 303
    offer = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ré-optimiser la journée" in offer
    started = client.post("/planning/optimiser", data={
        "csrf_token": token, "date": day.isoformat(), "replan": "1"})
    assert started.status_code == 303
    run = db.session.scalar(sa.select(RoundPlan))
    assert run.replan is True
    assert run.status == "done"
    # The absent carer gets nothing; the other one takes what she can.
    assert {r["carer_id"] for r in run.result["routes"] if r["stops"]} <= {carers[1].id}
    db.session.expire_all()
    assert all(carers[0].id not in [c.id for c in v.carers]
               for v in db.session.scalars(sa.select(Visit)))


def test_past_day_cannot_be_optimised(client: FlaskClient, world: Any) -> None:
    org = world.org()
    user = world.user(org, "coordinator")
    world.commit()
    login(client, user.email)
    token = csrf_from(client, "/planning/")
    yesterday = (today_paris() - timedelta(days=1)).isoformat()
    refused = client.post("/planning/optimiser", data={"csrf_token": token, "date": yesterday})
    assert refused.status_code == 400
    assert "passée" in refused.get_data(as_text=True)


def _at(day: Any, hour: int, minute: int) -> Any:
    from webapp.timeutil import paris_datetime

    return paris_datetime(day, time(hour, minute))


def test_travel_statement_pays_travel_between_visits_of_a_half_day(
    client: FlaskClient, world: Any
) -> None:
    from webapp.visits.services import assign

    org = world.org()
    carer = world.carer(org, home_lat=PLACES[0][0], home_lon=PLACES[0][1])
    other = world.carer(org)
    user = world.user(org, "coordinator")
    day = today_paris() - timedelta(days=1)
    morning = [world.visit(world.client(org, lat=lat, lon=lon), None, day=day, start="07:30",
                           end="12:30", minutes=30) for lat, lon in PLACES[1:4]]
    for n, visit in enumerate(morning):
        assign(visit, [carer], user, planned_start=_at(day, 8 + n, 0))
    world.commit()
    login(client, user.email)
    page = client.get(f"/planning/trajets/{carer.id}?mois={day.strftime('%Y-%m')}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert day.strftime("%d/%m") in body
    csv_export = client.get(f"/planning/trajets/{carer.id}?mois={day.strftime('%Y-%m')}"
                            "&format=csv").get_data(as_text=True)
    rows = [line.split(";") for line in csv_export.splitlines() if not line.startswith("#")]
    assert rows[0][0] == "date"
    day_row = next(r for r in rows if r[0] == day.isoformat())
    assert int(day_row[1]) == 3
    assert int(day_row[2]) > 0  # two paid legs between the three morning visits
    assert float(day_row[4]) > 0
    assert abs(float(day_row[5]) - round(float(day_row[4]) * 0.38, 2)) <= 0.02
    assert "OpenStreetMap contributors" in csv_export
    assert client.get(f"/planning/trajets/{carer.id}?mois=2026-13").status_code == 400
    # A carer sees her own statement, not a colleague's.
    client.post("/logout", data={"csrf_token": csrf_from(client, "/planning/")})
    login(client, carer.user.email)
    assert client.get(f"/planning/trajets/{carer.id}").status_code == 200
    assert client.get(f"/planning/trajets/{other.id}").status_code == 404


def test_a_plan_for_today_starts_from_now(app: Any, world: Any) -> None:
    from webapp.rounds import optimise
    from webapp.timeutil import paris_datetime

    org = world.org()
    day = today_paris()
    shift = {str(day.weekday()): [["07:00", "13:30"]]}
    carer = world.carer(org, availability=shift, home_lat=PLACES[0][0], home_lon=PLACES[0][1])
    # Its window closes before 10:00: too late today, left to the coordinator.
    early = world.visit(world.client(org, lat=PLACES[1][0], lon=PLACES[1][1]), None, day=day,
                        start="07:30", end="09:00", minutes=30)
    later = [world.visit(world.client(org, lat=lat, lon=lon), None, day=day, start="07:30",
                         end="12:30", minutes=30) for lat, lon in PLACES[2:5]]
    world.commit()
    settings = {"pbf": app.config["OSM_FILE"], "cache_dir": app.config["CACHE_DIR"]}
    whole_day = optimise.build_day(org.id, day, None, **settings)
    assert f"v{early.id}" in whole_day.visits
    model = optimise.build_day(org.id, day, None, now=paris_datetime(day, time(10, 0)),
                               **settings)
    assert set(model.visits) == {f"v{v.id}" for v in later}
    result = optimise.optimise(model, time_limit_s=2)
    stops = [s for r in result["routes"] for s in r["stops"]]
    assert {s["visit_id"] for s in stops} == {v.id for v in later}
    assert all(s["start"] >= "10:00" for s in stops)
    assert {r["carer_id"] for r in result["routes"]} == {carer.id}
