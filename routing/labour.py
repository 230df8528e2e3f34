"""Apply the French home-care collective agreement (BAD) to planned days.

Figures per carer and day: paid travel (travel between two visits of the same half-day is
working time; the trip from home to the first visit and back home is not), kilometres and
their allowance, breaks owed and planned, amplitude, and rest between two days.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from routing.model import Plan, Problem, Route


@dataclass(frozen=True)
class LabourRules:
    """Hold the agreement's parameters (defaults from the BAD agreement, configurable).

    Parameters
    ----------
    km_rate_eur
        Kilometre allowance per km travelled between visits.
    midday_s
        Boundary between the morning and afternoon half-days.
    max_gap_same_half_day_s
        A longer gap between two visits splits the half-day (an interruption).
    break_after_s, break_s
        A break of ``break_s`` is owed after ``break_after_s`` of work.
    meal_start_s, meal_end_s
        Lunch period: a shift covering it owes a meal break.
    max_amplitude_s
        Maximum time between the first departure and the last return.
    min_rest_s
        Minimum rest between two working days.
    pay_commute
        Count the trips from and to home as paid travel and in kilometres.
    """

    km_rate_eur: float = 0.38
    midday_s: int = 13 * 3600
    max_gap_same_half_day_s: int = 2 * 3600
    break_after_s: int = 6 * 3600
    break_s: int = 20 * 60
    meal_start_s: int = 11 * 3600 + 30 * 60
    meal_end_s: int = 14 * 3600
    max_amplitude_s: int = 12 * 3600
    min_rest_s: int = 11 * 3600
    pay_commute: bool = False


@dataclass(frozen=True)
class CarerDay:
    """Summarise one carer's day for payroll."""

    carer_id: str
    visits: int
    visit_s: int
    travel_s: int
    paid_travel_s: int
    unpaid_travel_s: int
    km: float
    allowance_eur: float
    amplitude_s: int
    amplitude_ok: bool
    break_owed: bool
    break_ok: bool
    meal_owed: bool
    meal_ok: bool
    start: int
    end: int


def _same_half_day(end_prev: int, start_next: int, rules: LabourRules) -> bool:
    crosses = end_prev < rules.midday_s <= start_next
    return not crosses and start_next - end_prev <= rules.max_gap_same_half_day_s


def carer_day(route: Route, rules: LabourRules | None = None) -> CarerDay:
    """Compute the payroll figures of one route.

    Parameters
    ----------
    route
        A carer's planned (or actual) day.
    rules
        Agreement parameters; defaults when ``None``.

    Returns
    -------
    CarerDay
        Paid travel, kilometres, allowance, breaks and amplitude checks.
    """
    rules = rules or LabourRules()
    stops = route.stops
    paid = 0
    metres = 0
    for prev, nxt in itertools.pairwise(stops):
        metres += nxt.travel_m
        if _same_half_day(prev.end, nxt.start, rules):
            paid += nxt.travel_s
    commute_s = (stops[0].travel_s if stops else 0) + route.return_travel_s
    commute_m = (stops[0].travel_m if stops else 0) + route.return_travel_m
    if rules.pay_commute:
        paid += commute_s
        metres += commute_m
    travel = route.travel_s
    amplitude = route.return_time - route.departure if stops else 0
    on_duty = amplitude
    break_owed = on_duty > rules.break_after_s
    # A break counts when long enough; the longest stretch without one must stay under 6 h.
    edges = [route.departure]
    for b in sorted(route.breaks, key=lambda b: b.start):
        if b.end - b.start >= rules.break_s:
            edges += [b.start, b.end]
    edges.append(route.return_time)
    stretches = [edges[i + 1] - edges[i] for i in range(0, len(edges) - 1, 2)]
    break_ok = not break_owed or max(stretches, default=0) <= rules.break_after_s
    meal_owed = bool(stops) and route.departure < rules.meal_start_s and (
        route.return_time > rules.meal_end_s
    )
    meal_ok = not meal_owed or any(
        rules.meal_start_s <= b.start <= rules.meal_end_s for b in route.breaks
    )
    km = metres / 1000.0
    return CarerDay(
        carer_id=route.carer_id,
        visits=len(stops),
        visit_s=sum(s.end - s.start for s in stops),
        travel_s=travel,
        paid_travel_s=paid,
        unpaid_travel_s=travel - paid,
        km=round(km, 3),
        allowance_eur=round(km * rules.km_rate_eur, 2),
        amplitude_s=amplitude,
        amplitude_ok=amplitude <= rules.max_amplitude_s,
        break_owed=break_owed,
        break_ok=break_ok,
        meal_owed=meal_owed,
        meal_ok=meal_ok,
        start=route.departure,
        end=route.return_time,
    )


def labour_figures(
    problem: Problem, plan: Plan, rules: LabourRules | None = None
) -> tuple[CarerDay, ...]:
    """Return the payroll figures of every carer with a route in the plan.

    Parameters
    ----------
    problem
        The day (only carers known to it are reported).
    plan
        The plan.
    rules
        Agreement parameters.

    Returns
    -------
    tuple of CarerDay
    """
    known = {c.id for c in problem.carers}
    return tuple(carer_day(r, rules) for r in plan.routes if r.carer_id in known)


def rest_ok(previous_end: int, next_start: int, rules: LabourRules | None = None) -> bool:
    """Return whether the rest between two days is long enough (11 h by default).

    Parameters
    ----------
    previous_end
        End of the previous day, seconds from midnight of that day.
    next_start
        Start of the next day, seconds from midnight of the next day.
    rules
        Agreement parameters.

    Returns
    -------
    bool
    """
    rules = rules or LabourRules()
    return next_start + 24 * 3600 - previous_end >= rules.min_rest_s
