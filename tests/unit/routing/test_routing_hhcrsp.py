"""The ruin-and-recreate search for synchronised home health care days (Mankowska)."""

from __future__ import annotations

import math
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.hhcrsp import Search, Tasks, search
from routing.mankowska import (
    Mankowska,
    check_mankowska,
    evaluate,
    read_mankowska,
    solve_mankowska,
)
from tests.unit.routing.instances import ROOT

MANKOWSKA_A1 = ROOT / "bench/data/mankowska2014/InstanzCPLEX_HCSRP_10_1.txt"


@st.composite
def instances(draw: st.DrawFn) -> Mankowska:
    """Draw a small instance: 2-4 carers, 2-9 patients, 1-3 services, some two-carer ones."""
    n_pat = draw(st.integers(2, 9))
    n_car = draw(st.integers(2, 4))
    n_srv = draw(st.integers(1, 3))
    pts = [(50.0, 50.0)] + [
        (float(draw(st.integers(0, 100))), float(draw(st.integers(0, 100)))) for _ in range(n_pat)
    ]
    pts.append(pts[0])
    n = len(pts)
    dist = [[math.dist(a, b) for b in pts] for a in pts]
    # Every service has at least two qualified carers, so a two-carer patient always fits.
    skills = [[0] * n_srv for _ in range(n_car)]
    for s in range(n_srv):
        for k in draw(st.sets(st.integers(0, n_car - 1), min_size=2)):
            skills[k][s] = 1
    requires = [[1] * n_srv]
    double: list[int] = []
    mind = [0.0] * n
    maxd = [0.0] * n
    for i in range(1, n - 1):
        row = [0] * n_srv
        if n_srv >= 2 and draw(st.integers(0, 2)) == 0:
            a, b = sorted(draw(st.sets(st.integers(0, n_srv - 1), min_size=2, max_size=2)))
            row[a] = row[b] = 1
            double.append(i)
            if draw(st.booleans()):
                mind[i] = float(draw(st.integers(5, 30)))
                maxd[i] = mind[i] * 2
        else:
            row[draw(st.integers(0, n_srv - 1))] = 1
        requires.append(row)
    requires.append([1] * n_srv)
    e = [0.0] + [float(draw(st.integers(0, 400))) for _ in range(n_pat)] + [0.0]
    due = [600.0] + [x + 120 for x in e[1:-1]] + [1000.0]
    dur = [0.0] + [float(draw(st.integers(5, 40))) for _ in range(n_pat)] + [0.0]
    proc = [
        [
            [dur[i] * requires[i][s] if 0 < i < n - 1 else 0.0 for s in range(n_srv)]
            for _ in range(n_car)
        ]
        for i in range(n)
    ]
    return Mankowska(
        name="random",
        n_nodes=n,
        n_carers=n_car,
        n_services=n_srv,
        requires=requires,
        double=double,
        skills=skills,
        dist=dist,
        proc=proc,
        mind=mind,
        maxd=maxd,
        e=e,
        l=due,
    )


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(instances())
def test_random_instances_give_checked_plans(inst: Mankowska) -> None:
    doc = solve_mankowska(inst, time_limit_s=0.1)
    # The checker re-derives every start bound, skill, service and synchronisation gap.
    assert check_mankowska(inst, doc) == []
    served = sum(len(r["stops"]) for r in doc["routes"])  # type: ignore[attr-defined]
    assert served == sum(sum(inst.requires[i]) for i in range(1, inst.n_nodes - 1))


def _line(n_pat: int) -> Tasks:
    """Build patients on a line 10 apart from the depot, two carers, all qualified."""
    pts = list(range(n_pat + 1))
    dist = [[10.0 * abs(a - b) for b in pts] for a in pts]
    return Tasks(
        node=list(range(1, n_pat + 1)),
        early=[0.0] * n_pat,
        due=[1000.0] * n_pat,
        partner=[-1] * n_pat,
        first=[False] * n_pat,
        min_gap=[0.0] * n_pat,
        max_gap=[0.0] * n_pat,
        proc=[[5.0, 5.0] for _ in range(n_pat)],
        able=[[0, 1] for _ in range(n_pat)],
        dist=dist,
        n_carers=2,
    )


def test_schedule_waits_for_the_partner() -> None:
    # Patient at node 1 needs both carers together; carer 1 visits node 2 first.
    dist = [[0.0, 10.0, 20.0], [10.0, 0.0, 10.0], [20.0, 10.0, 0.0]]
    tasks = Tasks(
        node=[1, 1, 2],
        early=[0.0, 0.0, 0.0],
        due=[5.0, 5.0, 100.0],
        partner=[1, 0, -1],
        first=[True, False, False],
        min_gap=[0.0, 0.0, 0.0],
        max_gap=[0.0, 0.0, 0.0],
        proc=[[5.0, 5.0], [5.0, 5.0], [5.0, 5.0]],
        able=[[0, 1], [0, 1], [0, 1]],
        dist=dist,
        n_carers=2,
    )
    s = Search(tasks, random.Random(0))  # noqa: S311  (a search seed)
    s.routes = [[0], [2, 1]]
    s.carer_of = [0, 1, 1]
    assert s.evaluate()
    # Carer 1 reaches node 2 at 20, leaves at 25, reaches node 1 at 35: carer 0 waits.
    assert s.start == [35.0, 35.0, 20.0]
    assert s.distance == 20.0 + 40.0
    assert s.tardiness == 60.0
    assert s.max_tardiness == 30.0
    # Two pairs waiting for each other in opposite orders cannot be scheduled.
    tasks.node.append(2)
    tasks.partner[2] = 3
    tasks.partner.append(2)
    tasks.first[2] = True
    tasks.first.append(False)
    for lst in (tasks.early, tasks.min_gap, tasks.max_gap):
        lst.append(0.0)
    tasks.due.append(100.0)
    tasks.proc.append([5.0, 5.0])
    tasks.able.append([0, 1])
    s = Search(tasks, random.Random(0))  # noqa: S311  (a search seed)
    s.routes = [[0, 2], [3, 1]]
    s.carer_of = [0, 1, 0, 1]
    assert not s.evaluate()


def test_search_finds_the_obvious_split() -> None:
    # Four patients on a line, no tardiness possible: the optimum is one carer out and back
    # to the farthest patient (80 units), whatever the split.
    sol = search(_line(4), time_limit_s=0.2)
    assert sorted(t for r in sol.routes for t in r) == [0, 1, 2, 3]
    assert sol.tardiness == 0.0
    assert sol.distance == 80.0
    assert sol.objective == 80.0


def test_evaluate_matches_the_reference_formula() -> None:
    inst = read_mankowska(MANKOWSKA_A1)
    doc = solve_mankowska(inst, time_limit_s=1.0)
    assert check_mankowska(inst, doc) == []
    again = evaluate(inst, doc["routes"])  # type: ignore[arg-type]
    assert again["objective"] == doc["objective"]
    assert math.isclose(
        3 * again["objective"],
        again["distance"] + again["total_tardiness"] + again["max_tardiness"],
    )
