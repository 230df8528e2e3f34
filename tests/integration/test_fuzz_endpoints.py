"""Every POST endpoint fuzzed, as forms and as JSON: thousands of cases, no server error.

The endpoints are read from the app's URL map, so a new form or JSON endpoint is fuzzed
without editing this file. Each signed-in role first finds out which endpoints it may use
(an empty post is not refused with 401/403 or sent to the sign-in page), then hypothesis
posts random fields (the names the app's forms and pages use, random and near-valid values)
with a valid CSRF token, sometimes as htmx; and random JSON bodies (near-valid outbox and
push records, and arbitrary JSON) with the custom headers the JSON endpoints require.
Background tasks are queued, not run, so that a valid "optimise" post does not start the
solver in the middle of the fuzzing. The number of cases is counted and asserted.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import csrf_from, login

FORM_CASES = 3500
JSON_CASES = 1500
# Endpoints that end the fuzzing session or cost seconds by design (Argon2 per post).
SKIPPED = {"auth.logout", "auth.login", "auth.login_code", "static"}
NAME_RE = re.compile(r'name="([A-Za-z_][A-Za-z0-9_\-]*)"')

SCALAR = st.one_of(
    st.text(max_size=80),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "0", "1", "2", "3", "-1", "y", "on", "true", "12:00", "07:30",
                     "25:61", "2026-11-30", "2026-02-30", "2026-11-30T10:00",
                     "2026-11-30T10:00:00+01:00", "null", "[]", "{}", "💥", "a" * 5000,
                     "toilette", "repas", "car", "fr", "en", "lever", "apa", "confirmer",
                     "EFFACER", "43.74", "7.43", "999999999999", "x" * 301]),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12,
)


@pytest.fixture
def fuzz_app(app: Flask) -> Iterator[Flask]:
    """The test app with background tasks queued instead of run in the request."""
    from webapp.tasks import huey

    immediate = huey.immediate
    huey.immediate = False
    yield app
    huey.immediate = immediate


def _form_field_names() -> set[str]:
    """Every field name declared by a WTForms form of the app."""
    import importlib
    import pkgutil

    from wtforms.fields.core import UnboundField

    import webapp

    names: set[str] = set()
    for module in pkgutil.walk_packages(webapp.__path__, "webapp."):
        if not module.name.endswith(".forms"):
            continue
        mod = importlib.import_module(module.name)
        for obj in vars(mod).values():
            if isinstance(obj, type):
                for klass in obj.__mro__:
                    names.update(k for k, v in vars(klass).items()
                                 if isinstance(v, UnboundField))
    return names


class Target:
    """One POST endpoint and the ids its URL may take."""

    def __init__(self, endpoint: str, rule: str, args: list[str]) -> None:
        self.endpoint, self.rule, self.args = endpoint, rule, args

    def url(self, ids: dict[str, int]) -> str:
        url = self.rule
        for name in self.args:
            url = url.replace(f"<int:{name}>", str(ids[name])).replace(f"<{name}>",
                                                                        str(ids[name]))
        return url


def _targets(app: Flask) -> list[Target]:
    targets = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or rule.endpoint in SKIPPED:
            continue
        targets.append(Target(rule.endpoint, rule.rule, sorted(rule.arguments)))
    assert len(targets) >= 20, [t.endpoint for t in targets]
    return targets


@pytest.fixture
def fuzz_world(fuzz_app: Flask, world: Any) -> dict[str, Any]:
    """An organisation with one of everything, signed-in clients for each role."""
    from webapp.careplans.models import CarePlan
    from webapp.carers.models import Absence
    from webapp.timeutil import today_paris, utcnow

    org = world.org()
    carer = world.carer(org)
    other_carer = world.carer(org)
    client = world.client(org)
    visit = world.visit(client, [carer])
    world.visit(client, [carer], start="11:30", end="13:30", kind="repas")
    tomorrow = world.visit(client, [other_carer], day=today_paris() + timedelta(days=1))
    family = world.family(client, share_notes=True)
    coordinator = world.user(org, "coordinator")
    admin = world.user(org, "admin")
    victim = world.user(org, "carer")  # accounts the fuzzing may deactivate or erase
    plan = CarePlan(organisation_id=org.id, client_id=client.id, starts_on=visit.day)
    world._db().session.add(plan)
    world._db().session.add(Absence(organisation_id=org.id, carer_id=other_carer.id,
                                    starts_at=utcnow() + timedelta(days=3),
                                    ends_at=utcnow() + timedelta(days=4), reason="Congé"))
    world.commit()
    users = {"carer": carer.user.email, "coordinator": coordinator.email,
             "admin": admin.email, "family": family.email}
    clients: dict[str, FlaskClient] = {}
    tokens: dict[str, str] = {}
    for role, email in users.items():
        http = fuzz_app.test_client()
        response = login(http, email)
        assert response.status_code in (302, 303), (role, response.status_code)
        clients[role] = http
        tokens[role] = csrf_from(http, "/mon-compte")
    ids = {"visit_id": [visit.id, tomorrow.id], "carer_id": [carer.id, other_carer.id],
           "client_id": [client.id], "plan_id": [plan.id], "user_id": [victim.id],
           "link_id": [1], "record_id": [1], "run_id": [1], "alert_id": [1],
           "intervention_id": [1], "subscription_id": [1]}
    return {"clients": clients, "tokens": tokens, "ids": ids,
            "names": sorted(_form_field_names())}


def _ids_strategy(target: Target, known: dict[str, list[int]]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({
        name: st.one_of(st.sampled_from(known.get(name, [1])), st.integers(1, 40),
                        st.integers(2**31 - 2, 2**40))
        for name in target.args})


def _allowed(world: dict[str, Any], targets: list[Target]) -> list[tuple[str, Target, list[str]]]:
    """Pairs (role, endpoint) where the role gets past access control, with the page's names."""
    pairs = []
    ids = {k: v[0] for k, v in world["ids"].items()}
    for target in targets:
        ids_here = {a: ids.get(a, 1) for a in target.args}
        for role, http in world["clients"].items():
            url = target.url(ids_here)
            response = http.post(url, data={"csrf_token": world["tokens"][role]})
            assert response.status_code < 500, (role, url, response.status_code)
            location = response.headers.get("Location", "")
            if response.status_code in (401, 403) or "/login" in location:
                continue
            page = http.get(url)
            names = NAME_RE.findall(page.get_data(as_text=True)) if page.status_code == 200 else []
            pairs.append((role, target, sorted(set(names) - {"csrf_token"})))
    assert len({t.endpoint for _, t, _ in pairs}) >= 15, pairs
    return pairs


def test_every_form_endpoint_survives_random_posts(fuzz_app: Flask,
                                                   fuzz_world: dict[str, Any]) -> None:
    targets = _targets(fuzz_app)
    pairs = _allowed(fuzz_world, targets)
    names = fuzz_world["names"]
    statuses: Counter[int] = Counter()
    endpoints: Counter[str] = Counter()
    started = time.perf_counter()

    @st.composite
    def case(draw: Any) -> tuple[str, str, dict[str, Any], bool]:
        role, target, page_names = draw(st.sampled_from(pairs))
        url = target.url(draw(_ids_strategy(target, fuzz_world["ids"])))
        pool = page_names or names
        fields = draw(st.dictionaries(
            st.one_of(st.sampled_from(pool), st.sampled_from(names)),
            st.one_of(SCALAR, st.lists(SCALAR, min_size=2, max_size=3)), max_size=10))
        return role, url, fields, draw(st.booleans())

    @settings(max_examples=FORM_CASES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case())
    def post(args: tuple[str, str, dict[str, Any], bool]) -> None:
        role, url, fields, htmx = args
        headers = {"HX-Request": "true"} if htmx else {}
        response = fuzz_world["clients"][role].post(
            url, data={**fields, "csrf_token": fuzz_world["tokens"][role]}, headers=headers)
        statuses[response.status_code] += 1
        endpoints[url.split("/")[1]] += 1
        assert response.status_code < 500, (role, url, fields, response.status_code)

    post()
    total = sum(statuses.values())
    print(f"\nform fuzzing: {total} cases on {len({t.endpoint for _, t, _ in pairs})} "
          f"endpoints in {time.perf_counter() - started:.1f} s, statuses {dict(statuses)}, "
          f"server errors: 0")
    assert total >= FORM_CASES
    assert not any(code >= 500 for code in statuses)
    assert len([c for c in statuses if c < 400]) >= 1, statuses  # some posts went through


def _json_body(draw: Any, ids: dict[str, list[int]]) -> Any:
    visit = st.one_of(st.sampled_from(ids["visit_id"]), st.integers(-5, 50),
                      st.integers(2**31 - 2, 2**64), st.text(max_size=5), st.none())
    outbox = st.fixed_dictionaries(
        {"key": st.one_of(st.uuids().map(str), st.text(max_size=70)),
         "action": st.sampled_from(["check_in", "check_out", "note", "observation", "x", ""]),
         "visit_id": visit,
         "at": st.one_of(st.none(), SCALAR, st.datetimes(timezones=st.timezones()).map(
             lambda d: d.isoformat()))},
        optional={"fields": st.one_of(JSON_VALUE, st.dictionaries(
            st.sampled_from(["lat", "lon", "note", "tasks_done", "csrf_token",
                             "idempotency_key", "fall", "pain", "appetite", "mood",
                             "mobility", "confusion", "comment"]),
            st.one_of(SCALAR, JSON_VALUE), max_size=6))})
    push = st.fixed_dictionaries(
        {"endpoint": st.one_of(SCALAR, st.sampled_from([
            "https://fcm.googleapis.com/fcm/send/abc", "http://127.0.0.1:9/push/x",
            "https://evil.example/x", "file:///etc/passwd"]))},
        optional={"keys": st.one_of(JSON_VALUE, st.fixed_dictionaries(
            {"p256dh": SCALAR, "auth": SCALAR})), "expirationTime": JSON_VALUE})
    return draw(st.one_of(outbox, push, JSON_VALUE))


def test_every_json_endpoint_survives_random_bodies(fuzz_app: Flask,
                                                    fuzz_world: dict[str, Any]) -> None:
    targets = _targets(fuzz_app)
    roles = sorted(fuzz_world["clients"])
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    # The JSON endpoints: exempt from the form CSRF token, they check a custom header instead.
    from webapp.extensions import csrf

    exempt = csrf._exempt_views  # Flask-WTF's registry of @csrf.exempt views
    json_targets = [t for t in targets
                    if "{0.__module__}.{0.__name__}".format(fuzz_app.view_functions[t.endpoint])
                    in exempt]
    headers = {"X-Tournee-Outbox": "1", "X-Tournee-Push": "1", "Accept": "application/json"}
    assert {"/visites/envoi"} <= {t.rule for t in json_targets}, [t.rule for t in json_targets]

    @settings(max_examples=JSON_CASES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(role=st.sampled_from(roles), target=st.sampled_from(json_targets),
           data=st.data(), raw=st.booleans())
    def post(role: str, target: Target, data: Any, raw: bool) -> None:
        url = target.url(data.draw(_ids_strategy(target, fuzz_world["ids"])))
        body = _json_body(data.draw, fuzz_world["ids"])
        http = fuzz_world["clients"][role]
        extra = {**headers, "X-CSRFToken": fuzz_world["tokens"][role]}
        if raw:  # not JSON at all, or truncated JSON, still announced as JSON
            text = data.draw(st.one_of(st.text(max_size=100), st.just('{"key": "abc'),
                                       st.just("[" * 500)))
            response = http.post(url, data=text.encode(), headers=extra,
                                 content_type="application/json")
        else:
            response = http.post(url, json=body, headers=extra)
        statuses[response.status_code] += 1
        assert response.status_code < 500, (role, url, body, response.status_code)

    post()
    total = sum(statuses.values())
    print(f"\nJSON fuzzing: {total} cases on {[t.rule for t in json_targets]} in "
          f"{time.perf_counter() - started:.1f} s, statuses {dict(statuses)}, server errors: 0")
    assert total >= JSON_CASES
    assert not any(code >= 500 for code in statuses)
    assert statuses[200] + statuses[201] >= 1, statuses  # some bodies were accepted
