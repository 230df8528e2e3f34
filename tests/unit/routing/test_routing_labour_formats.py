"""Labour figures (BAD agreement) and the standard instance formats."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from routing.labour import LabourRules, carer_day, labour_figures, rest_ok
from routing.mankowska import check_mankowska, read_mankowska, solve_mankowska
from routing.model import Break, Problem, Route, Stop
from routing.solve import solve
from tests.unit.routing.instances import ROOT, H, M

MANKOWSKA_A1 = ROOT / "bench/data/mankowska2014/InstanzCPLEX_HCSRP_10_1.txt"


def _stop(vid: str, start: int, end: int, travel_s: int, travel_m: int) -> Stop:
    return Stop(vid, 0, 1, start - travel_s, 0, start, end, travel_s, travel_m)


def test_paid_travel_stays_within_a_half_day() -> None:
    route = Route(
        carer_id="anne",
        departure=7 * H + 50 * M,
        stops=(
            _stop("a", 8 * H, 9 * H, 10 * M, 4000),
            _stop("b", 9 * H + 15 * M, 10 * H, 15 * M, 6000),  # same morning: paid
            _stop("c", 14 * H, 15 * H, 20 * M, 8000),  # after lunch: not paid
        ),
        return_time=15 * H + 10 * M,
        return_travel_s=10 * M,
        return_travel_m=3000,
        breaks=(Break(12 * H, 12 * H + 45 * M, meal=True),),
    )
    day = carer_day(route, LabourRules(km_rate_eur=0.40))
    assert day.paid_travel_s == 15 * M
    assert day.unpaid_travel_s == day.travel_s - 15 * M
    assert day.km == pytest.approx(14.0)  # between visits only
    assert day.allowance_eur == pytest.approx(5.60)
    assert day.break_owed
    assert day.break_ok
    assert day.meal_owed
    assert day.meal_ok
    assert day.amplitude_ok


def test_missing_break_is_reported() -> None:
    route = Route(
        carer_id="anne",
        departure=7 * H,
        stops=(_stop("a", 7 * H + 10 * M, 14 * H, 10 * M, 1000),),
        return_time=14 * H + 10 * M,
        return_travel_s=10 * M,
        return_travel_m=1000,
    )
    day = carer_day(route)
    assert day.break_owed
    assert not day.break_ok
    assert not day.meal_ok


def test_rest_between_days() -> None:
    assert rest_ok(20 * H, 7 * H)
    assert not rest_ok(21 * H, 7 * H)


def test_labour_figures_for_a_solved_day(morning: Problem) -> None:
    plan = solve(morning, time_limit_s=0.5)
    days = labour_figures(morning, plan)
    assert {d.carer_id for d in days} == {r.carer_id for r in plan.routes}
    assert sum(d.visits for d in days) == 5


def test_mankowska_a1_is_feasible_and_close_to_reference() -> None:
    inst = read_mankowska(MANKOWSKA_A1)
    assert inst.double == [10, 9, 8]
    doc = solve_mankowska(inst, time_limit_s=2.0)
    assert check_mankowska(inst, doc) == []
    assert doc["unassigned"] == []
    assert float(str(doc["objective"])) <= 218.2 * 1.05  # best reference: 218.2


def test_mankowska_cli_prints_the_documented_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "routing", "mankowska", str(MANKOWSKA_A1), "--time-limit", "1"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=120,
    )
    doc = json.loads(out.stdout)
    assert set(doc) == {"objective", "distance", "total_tardiness", "max_tardiness", "routes"}
    stop = doc["routes"][0]["stops"][0]
    assert set(stop) == {"node", "service", "start"}
    expected = (doc["distance"] + doc["total_tardiness"] + doc["max_tardiness"]) / 3
    assert doc["objective"] == pytest.approx(expected)
