"""Property tests: every plan for a random small day passes the independent checker."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.check import violations
from routing.model import BreakRule, Carer, Problem, Sync, TimeWindow, Visit
from routing.solve import solve
from tests.unit.routing.instances import H, M, make_problem

SKILLS = ("toilette", "transferts", "soins")


@st.composite
def days(draw: st.DrawFn) -> Problem:
    """Draw a small day: 2-4 carers, 1-7 visits, skills, pins, two-carer visits, breaks.

    Carers may have a maximum amplitude and the rest owed around the neighbouring days.
    """
    n_places = draw(st.integers(2, 7))
    coords = [(0, 0)] + [
        (draw(st.integers(0, 12)), draw(st.integers(0, 12))) for _ in range(n_places - 1)
    ]
    carers = []
    for k in range(draw(st.integers(2, 4))):
        start = draw(st.integers(7, 10)) * H
        end = start + draw(st.integers(3, 10)) * H
        carers.append(
            Carer(
                id=f"c{k}",
                shift=TimeWindow(start, end),
                start_place=0,
                end_place=draw(st.sampled_from([0, n_places - 1])),
                skills=frozenset(draw(st.lists(st.sampled_from(SKILLS), max_size=2))),
                mode=draw(st.sampled_from(["drive", "bike"])),  # type: ignore[arg-type]
                max_work_s=draw(st.none() | st.integers(2, 8).map(lambda h: h * H)),
                breaks=draw(st.none() | st.just(BreakRule())),
                max_amplitude_s=draw(st.none() | st.integers(2, 9).map(lambda h: h * H)),
                # The previous day ended between 18:00 and 23:30 the evening before; the
                # next starts between 5:00 and 9:00 the morning after (seconds from today).
                previous_end=draw(st.none() | st.integers(-6 * 4, -2).map(lambda q: q * 15 * M)),
                next_start=draw(
                    st.none() | st.integers(29 * 4, 33 * 4).map(lambda q: q * 15 * M)
                ),
            )
        )
    ids = [c.id for c in carers]
    visits = []
    for i in range(draw(st.integers(1, 7))):
        lo = draw(st.integers(7 * 4, 17 * 4)) * 15 * M
        hi = lo + draw(st.integers(0, 12)) * 15 * M
        two = draw(st.integers(0, 4)) == 0
        pinned = draw(st.none() | st.sampled_from(ids)) if not two else None
        visits.append(
            Visit(
                id=f"v{i}",
                place=draw(st.integers(1, n_places - 1)),
                window=TimeWindow(lo, hi),
                duration_s=draw(st.integers(1, 8)) * 10 * M,
                skills=frozenset(draw(st.lists(st.sampled_from(SKILLS), max_size=1))),
                carers_needed=2 if two else 1,
                sync=draw(st.sampled_from([Sync(), Sync(0, 15 * M), Sync(10 * M, 30 * M)])),
                refused_carers=frozenset(draw(st.lists(st.sampled_from(ids), max_size=1))),
                pinned_carer=pinned,
                pinned_start=lo if draw(st.integers(0, 5)) == 0 else None,
                usual_carers=frozenset(draw(st.lists(st.sampled_from(ids), max_size=1))),
                preferred=TimeWindow(lo, lo) if draw(st.booleans()) else None,
                access_s=draw(st.sampled_from([0, 0, 5 * M])),
            )
        )
    return make_problem(carers, visits, coords)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(days())
def test_random_days_give_feasible_plans(problem: Problem) -> None:
    plan = solve(problem, time_limit_s=0.3)
    assert violations(problem, plan) == []
    served = set(plan.assignment())
    unassigned = {u.visit_id for u in plan.unassigned}
    assert served | unassigned == {v.id for v in problem.visits}
    assert not served & unassigned
    assert plan.figures.assigned == len(served)
