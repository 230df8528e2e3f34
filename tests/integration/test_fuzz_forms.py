"""Every form fuzzed: random fields never give a server error and never change saved data."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import csrf_from, login

VALUE = st.one_of(
    st.text(max_size=300),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "0", "1", "2", "y", "on", "12:00", "25:61", "2026-11-30",
                     "2026-02-30T10:00", "null", "[]", "💥"]),
)
FIELDS = {
    "carer": ["note", "lat", "lon", "tasks_done", "idempotency_key"],
    "coordinator": ["first_name", "last_name", "skills", "weekly_hours", "sector_id",
                    "home_lat", "home_lon", "travel_mode", "avail_0", "avail_6", "kind",
                    "weekdays", "window_start", "window_end", "duration_min", "carers_needed",
                    "tasks", "required_skills", "carer_1", "carer_2", "start", "reason",
                    "carer_id", "starts_at", "ends_at", "starts_on", "ends_on",
                    "monthly_hours"],
}


def _snapshot() -> tuple[Any, ...]:
    import sqlalchemy as sa

    from webapp.careplans.models import CarePlan, Intervention
    from webapp.carers.models import Absence, Carer
    from webapp.extensions import db
    from webapp.visits.models import Visit

    db.session.expire_all()
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                 for m in (Carer, CarePlan, Intervention, Visit, Absence))


@pytest.mark.parametrize("role", ["carer", "coordinator"])
def test_random_form_posts_never_fail(role: str, client: FlaskClient, world: Any) -> None:
    from webapp.careplans.models import CarePlan

    org = world.org()
    carer = world.carer(org)
    visit = world.visit(world.client(org), [carer])
    plan = CarePlan(organisation_id=org.id, client_id=visit.client_id, starts_on=visit.day)
    world._db().session.add(plan)
    user = carer.user if role == "carer" else world.user(org, "coordinator")
    world.commit()
    login(client, user.email)
    token = csrf_from(client, "/ma-journee" if role == "carer" else "/planning/")
    urls = {
        "carer": [f"/visites/{visit.id}/note", f"/visites/{visit.id}/arrivee",
                  f"/visites/{visit.id}/depart"],
        "coordinator": ["/intervenantes/nouvelle", f"/intervenantes/{carer.id}/modifier",
                        f"/plans/{plan.id}", f"/plans/client/{visit.client_id}/nouveau",
                        f"/planning/visites/{visit.id}/attribuer",
                        "/planning/absences", "/langue"],
    }[role]
    statuses: set[int] = set()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(url=st.sampled_from(urls),
           data=st.dictionaries(st.sampled_from(FIELDS[role]), VALUE, max_size=8))
    def post(url: str, data: dict[str, str]) -> None:
        before = _snapshot()
        response = client.post(url, data={**data, "csrf_token": token})
        statuses.add(response.status_code)
        assert response.status_code < 500, (url, data)
        if response.status_code >= 400:
            assert _snapshot() == before

    post()
    assert statuses, "the fuzzer posted nothing"
