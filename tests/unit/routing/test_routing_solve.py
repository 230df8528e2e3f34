"""Solve tiny named instances and check plans with the independent checker."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from routing.check import violations
from routing.model import BreakRule, Costs, Problem, Sync, TimeWindow
from routing.solve import REASON_HOURS, replan, solve
from tests.unit.routing.instances import ROOT, H, M, carer, make_problem, visit

LIMIT = 0.5


def test_morning_is_fully_served_and_feasible(morning: Problem) -> None:
    plan = solve(morning, time_limit_s=LIMIT)
    assert violations(morning, plan) == []
    assert plan.figures.assigned == 5
    assert plan.unassigned == ()
    # v5 needs « transferts », which only Béatrice holds.
    assert plan.assignment()["v5"] == ("beatrice",)
    # Lower bound: each visited place must be reached from somewhere.
    assert 0 < plan.figures.travel_s <= 3 * H
    assert plan.figures.travel_m == plan.figures.travel_s * 10


def test_same_seed_gives_same_plan(morning: Problem) -> None:
    a = solve(morning, time_limit_s=LIMIT, seed=3)
    b = solve(morning, time_limit_s=LIMIT, seed=3)
    assert a.assignment() == b.assignment()


def test_missing_skill_is_explained_in_french(morning: Problem) -> None:
    extra = visit("v6", 2, 9 * H, 10 * H, skills=frozenset({"stomie"}))
    p = replace(morning, visits=(*morning.visits, extra))
    plan = solve(p, time_limit_s=LIMIT)
    reasons = {u.visit_id: u.reason for u in plan.unassigned}
    assert reasons == {"v6": "aucune intervenante n'a la compétence « stomie »"}
    assert violations(p, plan) == []


def test_visit_outside_every_shift_is_explained(morning: Problem) -> None:
    late = visit("late", 1, 20 * H, 21 * H)
    p = replace(morning, visits=(*morning.visits, late))
    plan = solve(p, time_limit_s=LIMIT)
    assert {u.visit_id: u.reason for u in plan.unassigned} == {"late": REASON_HOURS}


def test_overbooked_visit_gets_a_capacity_reason() -> None:
    # Three one-hour visits in the same hour, far apart, one carer: one must be left out.
    p = make_problem(
        [carer("anne")],
        [visit(f"x{i}", i, 9 * H, 9 * H + 10 * M, dur=H) for i in (1, 2, 3)],
        [(0, 0), (1, 0), (0, 1), (1, 1)],
    )
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    assert plan.figures.assigned == 1
    assert all("occupées" in u.reason for u in plan.unassigned)


def test_two_carer_visit_is_simultaneous_with_two_people(morning: Problem) -> None:
    lift = visit("lift", 3, 9 * H, 10 * H, carers_needed=2)
    p = replace(morning, visits=(*morning.visits, lift))
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    who = plan.assignment()["lift"]
    assert len(set(who)) == 2
    starts = {s.start for r in plan.routes for s in r.stops if s.visit_id == "lift"}
    assert len(starts) == 1


def test_gap_synchronisation_is_respected() -> None:
    coords = [(0, 0), (3, 3), (1, 4)]
    v = visit(
        "care",
        1,
        9 * H,
        11 * H,
        carers_needed=2,
        sync=Sync(20 * M, 40 * M),
        skills=frozenset({"soins"}),
        second_skills=frozenset({"toilette"}),
        second_duration_s=20 * M,
    )
    p = make_problem(
        [
            carer("infirmiere", skills=frozenset({"soins"})),
            carer("aide", skills=frozenset({"toilette"})),
        ],
        [v, visit("other", 2, 9 * H, 12 * H)],
        coords,
    )
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    parts = {
        s.part: (r.carer_id, s.start) for r in plan.routes for s in r.stops if s.visit_id == "care"
    }
    assert parts[0][0] == "infirmiere"
    assert parts[1][0] == "aide"
    assert 20 * M <= parts[1][1] - parts[0][1] <= 40 * M


def test_pins_and_refusals_hold(morning: Problem) -> None:
    visits = list(morning.visits)
    visits[0] = replace(visits[0], pinned_carer="beatrice", pinned_start=8 * H + 30 * M)
    visits[1] = replace(visits[1], refused_carers=frozenset({"beatrice"}))
    p = replace(morning, visits=tuple(visits))
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    assert plan.assignment()["v1"] == ("beatrice",)
    assert plan.starts()["v1"] == 8 * H + 30 * M
    assert plan.assignment()["v2"] == ("anne",)


def test_usual_carer_is_preferred() -> None:
    coords = [(0, 0), (1, 1)]
    p = make_problem(
        [carer("anne"), carer("beatrice")],
        [visit("v", 1, 9 * H, 10 * H, usual_carers=frozenset({"beatrice"}))],
        coords,
    )
    plan = solve(p, time_limit_s=LIMIT)
    assert plan.assignment()["v"] == ("beatrice",)
    assert plan.figures.usual_share == 1.0


def test_full_day_gets_meal_and_breaks(full_day: Problem) -> None:
    plan = solve(full_day, time_limit_s=1.0)
    assert violations(full_day, plan) == []
    assert plan.figures.assigned >= 7
    route = plan.routes[0]
    assert any(b.meal for b in route.breaks)


def test_max_work_is_a_hard_cap() -> None:
    coords = [(0, 0), *[(i, 0) for i in range(1, 6)]]
    c = carer("anne", 8 * H, 18 * H, max_work_s=2 * H)
    p = make_problem([c], [visit(f"w{i}", i, 8 * H, 17 * H) for i in range(1, 6)], coords)
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    assert plan.routes[0].work_s <= 2 * H
    assert 1 <= plan.figures.assigned < 5


def test_max_amplitude_is_a_hard_cap() -> None:
    # An early and a late visit 9 h apart: with an 8 h amplitude one carer cannot do both.
    coords = [(0, 0), (1, 0), (2, 0)]
    early = visit("early", 1, 8 * H, 8 * H + 30 * M)
    late = visit("late", 2, 17 * H, 17 * H + 30 * M)
    free = make_problem([carer("anne", 7 * H, 20 * H)], [early, late], coords)
    assert solve(free, time_limit_s=LIMIT).figures.assigned == 2
    capped = make_problem(
        [carer("anne", 7 * H, 20 * H, max_amplitude_s=8 * H)], [early, late], coords
    )
    plan = solve(capped, time_limit_s=LIMIT)
    assert violations(capped, plan) == []
    assert plan.figures.assigned == 1
    route = plan.routes[0]
    assert route.return_time - route.departure <= 8 * H


def test_rest_between_days_shortens_the_shift() -> None:
    # Anne finished at 23:00 yesterday: 11 h of rest rule out her 8:30 visit, not the 10:30 one.
    coords = [(0, 0), (1, 0), (2, 0)]
    visits = [
        visit("v830", 1, 8 * H + 30 * M, 8 * H + 30 * M),
        visit("v1030", 2, 10 * H + 30 * M, 11 * H),
    ]
    anne = carer("anne", 7 * H, 14 * H, previous_end=-1 * H)
    p = make_problem([anne], visits, coords)
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    assert set(plan.assignment()) == {"v1030"}
    assert plan.routes[0].departure >= 10 * H
    # Starting at 7:00 tomorrow, she must be home by 20:00 today.
    evening = [visit("v19", 1, 19 * H, 19 * H + 30 * M), visit("v20", 2, 20 * H, 20 * H + 30 * M)]
    beatrice = carer("beatrice", 17 * H, 23 * H, next_start=31 * H)
    q = make_problem([beatrice], evening, coords)
    plan = solve(q, time_limit_s=LIMIT)
    assert violations(q, plan) == []
    assert set(plan.assignment()) == {"v19"}
    assert plan.routes[0].return_time <= 20 * H


def test_checker_catches_amplitude_and_rest() -> None:
    coords = [(0, 0), (1, 0), (2, 0)]
    visits = [visit("a", 1, 8 * H, 8 * H), visit("b", 2, 16 * H, 16 * H)]
    loose = make_problem([carer("anne", 7 * H, 20 * H)], visits, coords)
    plan = solve(loose, time_limit_s=LIMIT)
    assert violations(loose, plan) == []
    tight = [
        carer("anne", 7 * H, 20 * H, max_amplitude_s=6 * H),
        carer("anne", 7 * H, 20 * H, previous_end=-2 * H),
        carer("anne", 7 * H, 20 * H, next_start=24 * H + 3 * H),
    ]
    expected = ("amplitude", "since the previous day", "before the next day")
    for c, words in zip(tight, expected, strict=True):
        found = violations(make_problem([c], visits, coords), plan)
        assert any(words in v for v in found), found


def test_modes_use_their_own_matrix(morning: Problem) -> None:
    slow = replace(morning.carers[0], mode="walk")  # type: ignore[arg-type]
    p = replace(morning, carers=(slow, morning.carers[1]))
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []


def test_access_time_is_added_to_travel(morning: Problem) -> None:
    p = replace(morning, access_s=5 * M)
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    first = plan.routes[0].stops[0]
    assert first.travel_s >= 5 * M


def test_per_visit_access_time_counts(morning: Problem) -> None:
    visits = (replace(morning.visits[0], access_s=10 * M), *morning.visits[1:])
    p = replace(morning, visits=visits)
    plan = solve(p, time_limit_s=LIMIT)
    assert violations(p, plan) == []
    stop = next(s for r in plan.routes for s in r.stops if s.visit_id == "v1")
    assert stop.travel_s >= 10 * M


def test_checker_catches_broken_plans(morning: Problem) -> None:
    plan = solve(morning, time_limit_s=LIMIT)
    route = plan.routes[0]
    stop = route.stops[0]
    early = replace(stop, start=stop.start - 4 * H, end=stop.end - 4 * H)
    bad_route = replace(route, stops=(early, *route.stops[1:]))
    broken = replace(plan, routes=(bad_route, *plan.routes[1:]))
    assert any("outside" in v for v in violations(morning, broken))
    dropped = replace(plan, routes=plan.routes[1:])
    assert any("neither served" in v for v in violations(morning, dropped))


def test_replan_after_absence_keeps_the_past() -> None:
    coords = [(0, 0), *[(i % 4, i // 4) for i in range(1, 13)]]
    carers = [carer(c, 8 * H, 13 * H) for c in ("anne", "beatrice", "chloe")]
    visits = [
        visit(f"r{i}", i, 8 * H + (i % 6) * 40 * M, 8 * H + (i % 6) * 40 * M + H, dur=25 * M)
        for i in range(1, 13)
    ]
    p = make_problem(carers, visits, coords, costs=Costs(change=20 * M))
    before = solve(p, time_limit_s=LIMIT)
    assert violations(p, before) == []
    absent = before.routes[0].carer_id
    now = 10 * H
    after = replan(p, before, now=now, absences={absent: now}, time_limit_s=LIMIT)
    assert violations(p, after) == [] or all("pinned" not in v for v in violations(p, after))
    started = {
        s.visit_id: (r.carer_id, s.start)
        for r in before.routes
        for s in r.stops
        if s.start < now
    }
    new = {s.visit_id: (r.carer_id, s.start) for r in after.routes for s in r.stops}
    for vid, where in started.items():
        assert new[vid] == where
    absent_route = after.route(absent)
    assert absent_route is None or all(s.start < now for s in absent_route.stops)
    listed = {c.visit_id for c in after.changes if set(c.before) != set(c.after)}
    reassigned = {
        vid for vid in new if set(before.assignment().get(vid, ())) != set(after.assignment()[vid])
    }
    assert reassigned <= listed


def test_solomon_c101_reaches_best_known(tmp_path: object) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "routing", "solomon", str(ROOT / "bench/data/solomon/C101.txt"),
         "--time-limit", "2"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=120,
    )
    doc = json.loads(out.stdout)
    assert set(doc) == {"vehicles", "distance", "routes"}
    assert doc["vehicles"] == 10
    assert doc["distance"] <= 828.94 * 1.01
    assert sorted(c for r in doc["routes"] for c in r) == list(range(1, 101))


@pytest.mark.parametrize("hours", [(7, 8), (12, 14)])
def test_tiny_shift_windows(hours: tuple[int, int]) -> None:
    lo, hi = hours
    p = make_problem(
        [carer("anne", lo * H, hi * H)], [visit("v", 1, lo * H, hi * H)], [(0, 0), (1, 0)]
    )
    plan = solve(p, time_limit_s=0.3)
    assert violations(p, plan) == []
    assert plan.figures.assigned == 1


def test_breaks_default_rule_matches_agreement() -> None:
    r = BreakRule()
    assert (r.after_work_s, r.min_break_s) == (6 * H, 20 * M)
    assert r.needs_meal(TimeWindow(8 * H, 18 * H))
    assert not r.needs_meal(TimeWindow(8 * H, 12 * H))


def test_replan_adds_an_urgent_visit(morning: Problem) -> None:
    before = solve(morning, time_limit_s=LIMIT)
    urgent = visit("urgent", 2, 10 * H, 11 * H, dur=20 * M, priority=5)
    p = replace(morning, visits=(*morning.visits, urgent))
    after = replan(p, before, now=9 * H + 30 * M, time_limit_s=LIMIT)
    assert violations(p, after) == []
    assert "urgent" in after.assignment()
    added = [c for c in after.changes if c.visit_id == "urgent"]
    assert len(added) == 1
    assert added[0].before == ()


def test_replan_fallback_keeps_the_previous_plan(morning: Problem) -> None:
    from routing.solve import REASON_REPLAN, _keep_previous

    before = solve(morning, time_limit_s=LIMIT)
    absent = before.routes[0].carer_id
    now = 9 * H
    kept = _keep_previous(morning, before, now, {absent: now})
    assert violations(morning, kept) == []
    route = kept.route(absent)
    assert route is None or all(s.start < now for s in route.stops)
    later = {s.visit_id for s in before.routes[0].stops if s.start >= now}
    assert later <= {u.visit_id for u in kept.unassigned if u.reason == REASON_REPLAN}
