"""Plan a day of rounds: ``solve`` and ``replan``.

The objective, in order: serve every visit inside its window, then travel time, continuity
of carer, lateness against preferred times, balanced workload and (when re-planning) as few
changes as possible. OR-Tools does the search; for days PyVRP can express exactly, PyVRP
provides the starting routes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from routing import _ortools
from routing.model import (
    Break,
    Carer,
    Change,
    Figures,
    Matrix,
    Plan,
    Problem,
    Route,
    Stop,
    TimeWindow,
    Unassigned,
    Visit,
)

#: Reason given when the solver could not fit a visit that some carer could do in principle.
REASON_FULL = (
    "aucune place dans les tournées : les intervenantes compétentes sont déjà occupées "
    "sur ce créneau"
)
REASON_HOURS = "hors des horaires de toutes les intervenantes"
REASON_PAST = "le créneau est déjà passé"


def _quote(skills: Sequence[str]) -> str:
    return ", ".join(f"« {s} »" for s in sorted(skills))


def _fits_shift(problem: Problem, carer: Carer, visit: Visit, part: int) -> bool:
    """Return whether the carer can reach the visit in its window and get home in time."""
    shift = carer.available
    if shift is None:
        return False
    mode = str(carer.mode)
    go = problem.travel_s(mode, carer.start_place, visit.place)
    if carer.start_place != visit.place:
        go += visit.access_s
    back = problem.travel_s(mode, visit.place, carer.end_place)
    earliest = max(visit.window.start, shift.start + go)
    if visit.pinned_start is not None:
        if visit.pinned_start < earliest:
            return False
        earliest = visit.pinned_start
    if earliest > visit.window.end:
        return False
    if earliest + visit.part_duration(part) + back > shift.end:
        return False
    amplitude = carer.max_amplitude_s
    if amplitude is not None and go + visit.part_duration(part) + back > amplitude:
        return False
    work = go + visit.part_duration(part) + back
    return carer.max_work_s is None or work <= carer.max_work_s


def eligible_carers(problem: Problem, visit: Visit, part: int) -> list[int]:
    """Return indices of carers who could do this part of the visit on their own."""
    out = []
    need = visit.part_skills(part)
    for k, c in enumerate(problem.carers):
        if not need <= c.skills or c.id in visit.refused_carers:
            continue
        if part == 0 and visit.pinned_carer is not None and c.id != visit.pinned_carer:
            continue
        if part == 1 and visit.pinned_carer is not None and c.id == visit.pinned_carer:
            continue
        if _fits_shift(problem, c, visit, part):
            out.append(k)
    return out


def explain(problem: Problem, visit: Visit) -> str | None:
    """Return why a visit cannot be planned at all, or ``None`` when it might be.

    Parameters
    ----------
    problem
        The day.
    visit
        One of its visits.

    Returns
    -------
    str or None
        A sentence in French for the coordinator.
    """
    for part in range(visit.carers_needed):
        need = visit.part_skills(part)
        held = set().union(*(c.skills for c in problem.carers)) if problem.carers else set()
        missing = need - held
        if missing:
            if len(missing) == 1:
                return f"aucune intervenante n'a la compétence {_quote(sorted(missing))}"
            return f"aucune intervenante n'a les compétences {_quote(sorted(missing))}"
        skilled = [c for c in problem.carers if need <= c.skills]
        if not skilled:
            return f"aucune intervenante ne réunit les compétences {_quote(sorted(need))}"
        if all(c.id in visit.refused_carers for c in skilled):
            return "le client refuse toutes les intervenantes qui ont les compétences requises"
    if visit.pinned_carer is not None:
        ids = {c.id for c in problem.carers}
        if visit.pinned_carer not in ids:
            return f"l'intervenante imposée ({visit.pinned_carer}) ne travaille pas ce jour-là"
        pinned = problem.carer(visit.pinned_carer)
        if not eligible_carers(problem, visit, 0):
            if not visit.part_skills(0) <= pinned.skills:
                return f"l'intervenante imposée ({pinned.label}) n'a pas les compétences requises"
            return f"l'intervenante imposée ({pinned.label}) n'est pas disponible sur ce créneau"
    parts = [eligible_carers(problem, visit, p) for p in range(visit.carers_needed)]
    if any(not p for p in parts):
        return REASON_HOURS
    if visit.carers_needed == 2 and len(set(parts[0]) | set(parts[1])) < 2:
        return (
            "il faut deux intervenantes compétentes et disponibles en même temps, "
            "une seule l'est"
        )
    return None


@dataclass(frozen=True)
class _Nodes:
    """Map OR-Tools nodes back to visits and carers."""

    visit_of: list[int]
    part_of: list[int]
    place: list[int]
    n_visit_nodes: int


def _build(problem: Problem, plannable: list[int]) -> tuple[_ortools.NodeModel, _Nodes]:
    """Translate the problem into the node model of :mod:`routing._ortools`."""
    costs = problem.costs
    visit_of: list[int] = []
    part_of: list[int] = []
    for vi in plannable:
        for part in range(problem.visits[vi].carers_needed):
            visit_of.append(vi)
            part_of.append(part)
    n_vn = len(visit_of)
    place = [problem.visits[vi].place for vi in visit_of]
    service = [problem.visits[vi].part_duration(p) for vi, p in zip(visit_of, part_of, strict=True)]
    windows = [
        (problem.visits[vi].window.start, problem.visits[vi].window.end) for vi in visit_of
    ]
    starts, ends = [], []
    for k, c in enumerate(problem.carers):
        starts.append(n_vn + 2 * k)
        ends.append(n_vn + 2 * k + 1)
        place += [c.start_place, c.end_place]
        service += [0, 0]
        # Rest owed around the previous and next working days shortens the shift.
        avail = c.available or c.shift
        windows += [(avail.start, avail.end), (avail.start, avail.end)]
    pl = np.asarray(place, dtype=np.int64)
    same = pl[:, None] == pl[None, :]
    arrive = np.zeros(len(place), dtype=np.int64)
    arrive[:n_vn] = [problem.visits[vi].access_s for vi in visit_of]
    transit: dict[str, Matrix] = {}
    arc: dict[str, Matrix] = {}
    svc = np.asarray(service, dtype=np.int64)
    for mode in sorted({str(c.mode) for c in problem.carers}):
        t = np.asarray(problem.travel[mode], dtype=np.int64)[np.ix_(pl, pl)]
        t = np.where(same, 0, t + problem.access_s + arrive[None, :])
        arc[mode] = t
        transit[mode] = t + svc[:, None]
    allowed: list[list[int] | None] = []
    penalty: list[int] = []
    preferred: list[tuple[int, int] | None] = []
    pinned: list[int | None] = []
    syncs: list[tuple[int, int, int, int]] = []
    demand: list[int] = []
    n_car = len(problem.carers)
    for n, (vi, part) in enumerate(zip(visit_of, part_of, strict=True)):
        v = problem.visits[vi]
        el = eligible_carers(problem, v, part)
        allowed.append(None if len(el) == n_car else el)
        weight = costs.unassigned * v.priority if v.priority > 0 else costs.unassigned // 10
        if v.pinned_carer is not None or v.pinned_start is not None:
            weight *= 10
        penalty.append(weight)
        preferred.append((v.preferred.start, v.preferred.end) if v.preferred else None)
        # The second part follows the first through the synchronisation rule.
        pinned.append(v.pinned_start if part == 0 else None)
        demand.append(v.demand)
        if part == 1:
            syncs.append((n - 1, n, v.sync.min_gap_s, v.sync.max_gap_s))
    demand += [0] * (2 * n_car)
    vnc: dict[int, Matrix] = {}
    for k, c in enumerate(problem.carers):
        extra = np.zeros(len(place), dtype=np.int64)
        for n, vi in enumerate(visit_of):
            v = problem.visits[vi]
            if v.usual_carers and c.id not in v.usual_carers:
                extra[n] += costs.non_usual_carer
            if v.previous_carers and c.id not in v.previous_carers:
                extra[n] += costs.change
        if extra.any():
            vnc[k] = extra
    breaks: list[tuple[int, int, tuple[int, int, int] | None] | None] = []
    for c in problem.carers:
        r = c.breaks
        if r is None:
            breaks.append(None)
            continue
        meal = None
        if r.needs_meal(c.shift) and r.meal_window is not None:
            meal = (r.meal_window.start, r.meal_window.end - r.meal_s, r.meal_s)
        breaks.append((r.after_work_s, r.min_break_s, meal))
    total_work = sum(service[:n_vn])
    nm = _ortools.NodeModel(
        transit=transit,
        arc_cost=arc,
        vehicle_mode=[str(c.mode) for c in problem.carers],
        starts=starts,
        ends=ends,
        windows=windows,
        service=service,
        allowed=allowed,
        penalty=penalty,
        vehicle_node_cost=vnc,
        preferred=preferred,
        lateness_per_s=costs.lateness_per_s,
        pinned_start=pinned,
        syncs=syncs,
        demand=demand,
        capacity=[c.capacity for c in problem.carers],
        max_work=[c.max_work_s for c in problem.carers],
        contract_work=[c.contract_work_s for c in problem.carers],
        balance_target=(total_work // max(1, n_car)) if costs.balance_per_s else None,
        balance_per_s=costs.balance_per_s,
        breaks=breaks,
        vehicle_fixed_cost=costs.vehicle,
        waiting_per_s=costs.waiting_per_s,
        max_span=[c.max_amplitude_s for c in problem.carers],
    )
    return nm, _Nodes(visit_of, part_of, place, n_vn)


def _pyvrp_compatible(problem: Problem, nm: _ortools.NodeModel) -> bool:
    """Return whether PyVRP can express every hard constraint of the problem."""
    return (
        len(nm.transit) == 1
        and not nm.syncs
        and all(a is None for a in nm.allowed)
        and all(p is None for p in nm.pinned_start)
        and all(c.breaks is None for c in problem.carers)
        and all(c.max_work_s is None for c in problem.carers)
        and all(c.max_amplitude_s is None for c in problem.carers)
    )


def _pyvrp_routes(
    problem: Problem, nm: _ortools.NodeModel, nodes: _Nodes, time_limit_s: float, seed: int
) -> list[list[int]] | None:
    """Run PyVRP on the node model and return OR-Tools initial routes, or ``None``."""
    from routing import _pyvrp

    mode = next(iter(nm.transit))
    # Places of the PyVRP model are the node indices themselves.
    travel = nm.arc_cost[mode]
    vehicles = [
        _pyvrp.VehicleSpec(
            start=nm.starts[k],
            end=nm.ends[k],
            tw_early=nm.windows[nm.starts[k]][0],
            tw_late=nm.windows[nm.ends[k]][1],
            capacity=c.capacity,
            shift_duration=None,
        )
        for k, c in enumerate(problem.carers)
    ]
    # Identical carers share start/end node *places*; map their depots to one node each.
    canon: dict[int, int] = {}
    for k in range(len(problem.carers)):
        for n in (nm.starts[k], nm.ends[k]):
            canon.setdefault(nodes.place[n], n)
    vehicles = [
        replace(
            v,
            start=canon[nodes.place[v.start]],
            end=canon[nodes.place[v.end]],
        )
        for v in vehicles
    ]
    n_vn = nodes.n_visit_nodes
    res = _pyvrp.solve_vrptw(
        travel,
        travel,
        vehicles,
        list(range(n_vn)),
        nm.windows[:n_vn],
        nm.service[:n_vn],
        nm.demand[:n_vn],
        fixed_cost=problem.costs.vehicle,
        time_limit_s=time_limit_s,
        seed=seed,
        # Fleet-minimisation problems (benchmarks) serve everything; a home-care day may
        # leave visits out, each worth its drop penalty.
        prizes=None if problem.costs.vehicle > 0 else nm.penalty[:n_vn],
    )
    if res is None:
        return None
    routes: list[list[int]] = [[] for _ in problem.carers]
    for k, r in res:
        routes[k] = r
    return routes


def _first_solution(nm: _ortools.NodeModel) -> str:
    """Pick the first-solution heuristic: arc-based when windows barely constrain.

    Measured on Mankowska instances (start-only windows, soft due dates), path cheapest
    arc gave first solutions a third cheaper than insertion; with tight hard windows it
    strands visits. Local cheapest insertion is used there: parallel insertion gave
    slightly shorter rounds on the day benchmark but sometimes found no first solution
    at all within 8 s on a loaded machine.
    """
    n_vn = len(nm.allowed)
    horizon = max(hi for _, hi in nm.windows)
    wide = sum(1 for lo, hi in nm.windows[:n_vn] if hi - lo >= horizon // 2)
    return "PATH_CHEAPEST_ARC" if wide >= 0.9 * n_vn else "LOCAL_CHEAPEST_INSERTION"


#: (first solution, metaheuristic) pairs tried on synchronised problems. OR-Tools moves
#: one node at a time, so a synchronised pair rarely moves once placed: the starting
#: solution decides most of the quality, and which heuristic wins varies by instance
#: (measured on Mankowska B1, C1, D2: savings, path cheapest arc and parallel insertion
#: each won one).
PORTFOLIO = (
    ("SAVINGS", "SIMULATED_ANNEALING"),
    ("PATH_CHEAPEST_ARC", "GUIDED_LOCAL_SEARCH"),
    ("PATH_CHEAPEST_ARC", "SIMULATED_ANNEALING"),
    ("PARALLEL_CHEAPEST_INSERTION", "SIMULATED_ANNEALING"),
    ("LOCAL_CHEAPEST_INSERTION", "SIMULATED_ANNEALING"),
)


def _portfolio(nm: _ortools.NodeModel, budget_s: float) -> _ortools.NodeSolution:
    """Try each portfolio entry briefly, then continue the best one for the rest."""
    t0 = time.perf_counter()
    slice_s = budget_s * 0.6 / len(PORTFOLIO)
    best: _ortools.NodeSolution | None = None
    best_mh = "GUIDED_LOCAL_SEARCH"
    for fs, mh in PORTFOLIO:
        sol = _ortools.solve_nodes(nm, time_limit_s=slice_s, first_solution=fs, metaheuristic=mh)
        if sol.found and (best is None or sol.objective < best.objective):
            best, best_mh = sol, mh
    rest = budget_s - (time.perf_counter() - t0)
    if best is None or rest < 0.2:
        return best or _ortools.solve_nodes(nm, time_limit_s=max(0.2, rest))
    final = _ortools.solve_nodes(
        nm, time_limit_s=rest, initial_routes=best.routes, metaheuristic=best_mh
    )
    return final if final.found and final.objective <= best.objective else best


def _routes_from_plan(
    problem: Problem, plan: Plan, nodes: _Nodes, nm: _ortools.NodeModel
) -> list[list[int]]:
    """Convert a previous plan into initial node routes.

    Visits unknown to the problem, or now forbidden to their carer (absence, pin), are
    left out so OR-Tools accepts the routes; it re-inserts them itself.
    """
    node_of = {
        (problem.visits[vi].id, p): n
        for n, (vi, p) in enumerate(zip(nodes.visit_of, nodes.part_of, strict=True))
    }
    out: list[list[int]] = []
    for k, c in enumerate(problem.carers):
        r = plan.route(c.id)
        route: list[int] = []
        for s in r.stops if r is not None else ():
            n = node_of.get((s.visit_id, s.part))
            if n is None:
                continue
            allowed = nm.allowed[n]
            lo, hi = nm.windows[n]
            if (allowed is None or k in allowed) and lo <= s.start <= hi:
                route.append(n)
        out.append(route)
    return out


def _extract(
    problem: Problem,
    sol: _ortools.NodeSolution,
    nodes: _Nodes,
    reasons: dict[str, str],
    elapsed: float,
) -> Plan:
    """Turn a node solution into a :class:`Plan` with exact times and figures."""
    routes: list[Route] = []
    served: set[str] = set()
    for k, c in enumerate(problem.carers):
        rn = sol.routes[k] if sol.found else []
        if not rn:
            continue
        mode = str(c.mode)
        brks = [Break(s, s + d, bool(meal)) for s, d, meal in sol.breaks[k]]
        stops: list[Stop] = []
        prev_place, prev_end = c.start_place, None
        first_travel = problem.travel_s(mode, c.start_place, nodes.place[rn[0]])
        if c.start_place != nodes.place[rn[0]]:
            first_travel += problem.visits[nodes.visit_of[rn[0]]].access_s
        first_start = sol.starts[rn[0]]
        before = sum(b.end - b.start for b in brks if b.end <= first_start)
        departure = max((c.available or c.shift).start, first_start - first_travel - before)
        if sol.vehicle_start:
            # A break OR-Tools placed before the start of the route is not part of the day.
            departure = max(departure, sol.vehicle_start[k])
        prev_end = departure
        for n in rn:
            v = problem.visits[nodes.visit_of[n]]
            part = nodes.part_of[n]
            tr = problem.travel_s(mode, prev_place, v.place)
            if prev_place != v.place:
                tr += v.access_s
            start = sol.starts[n]
            in_between = sum(b.end - b.start for b in brks if prev_end <= b.start < start)
            arrival = prev_end + tr + in_between
            stops.append(
                Stop(
                    visit_id=v.id,
                    part=part,
                    place=v.place,
                    arrival=arrival,
                    waiting_s=max(0, start - arrival),
                    start=start,
                    end=start + v.part_duration(part),
                    travel_s=tr,
                    travel_m=problem.distance_m(mode, prev_place, v.place),
                )
            )
            served.add(v.id)
            prev_place, prev_end = v.place, start + v.part_duration(part)
        back = problem.travel_s(mode, prev_place, c.end_place)
        after = sum(b.end - b.start for b in brks if b.start >= prev_end)
        last = stops[-1].end
        in_route = [b for b in brks if departure <= b.start < last + back + after]
        routes.append(
            Route(
                carer_id=c.id,
                departure=departure,
                stops=tuple(stops),
                return_time=last + back + sum(b.end - b.start for b in in_route if b.start >= last),
                return_travel_s=back,
                return_travel_m=problem.distance_m(mode, prev_place, c.end_place),
                breaks=tuple(in_route),
            )
        )
    unassigned = tuple(
        Unassigned(v.id, reasons.get(v.id, REASON_FULL))
        for v in problem.visits
        if v.id not in served
    )
    return Plan(
        routes=tuple(routes),
        unassigned=unassigned,
        figures=figures(problem, tuple(routes), len(unassigned)),
        objective=sol.objective,
        solve_s=elapsed,
    )


def figures(problem: Problem, routes: Sequence[Route], n_unassigned: int) -> Figures:
    """Compute the figures of a set of routes.

    Parameters
    ----------
    problem
        The day.
    routes
        The routes of the plan.
    n_unassigned
        Number of visits left out.

    Returns
    -------
    Figures
        Travel, lateness against preferred times, continuity, overtime, workload.
    """
    carers_of: dict[str, set[str]] = {}
    lateness = max_late = 0
    overtime = 0
    workload: dict[str, int] = {}
    for r in routes:
        c = problem.carer(r.carer_id)
        for s in r.stops:
            carers_of.setdefault(s.visit_id, set()).add(r.carer_id)
            v = problem.visit(s.visit_id)
            if v.preferred is not None:
                late = max(0, s.start - v.preferred.end)
                lateness += late
                max_late = max(max_late, late)
        workload[r.carer_id] = r.work_s
        if c.contract_work_s is not None:
            overtime += max(0, r.work_s - c.contract_work_s)
    with_usual = [v for v in problem.visits if v.usual_carers and v.id in carers_of]
    usual = sum(1 for v in with_usual if carers_of[v.id] & v.usual_carers)
    return Figures(
        visits=len(problem.visits),
        assigned=len(problem.visits) - n_unassigned,
        travel_s=sum(r.travel_s for r in routes),
        travel_m=sum(r.travel_m for r in routes),
        lateness_s=lateness,
        max_lateness_s=max_late,
        usual_share=usual / len(with_usual) if with_usual else 0.0,
        overtime_s=overtime,
        workload_s=workload,
        vehicles=sum(1 for r in routes if r.stops),
    )


def solve(
    problem: Problem,
    *,
    time_limit_s: float,
    seed: int = 0,
    initial: Plan | None = None,
    warm_start: bool = True,
    warm_start_share: float = 0.9,
) -> Plan:
    """Plan the day.

    Parameters
    ----------
    problem
        Carers, visits, matrices and costs.
    time_limit_s
        Wall-clock budget in seconds (model building included, approximately).
    seed
        Random seed of the warm-start search; the same seed gives the same plan.
    initial
        A previous plan to start from (re-planning).
    warm_start
        Use PyVRP for the first part of the budget when it can express the problem.
    warm_start_share
        Share of the budget given to PyVRP.

    Returns
    -------
    Plan
        Routes, unassigned visits with reasons, and figures.
    """
    t0 = time.perf_counter()
    reasons: dict[str, str] = {}
    plannable: list[int] = []
    for i, v in enumerate(problem.visits):
        why = explain(problem, v)
        if why is None:
            plannable.append(i)
        else:
            reasons[v.id] = why
    nodes_empty = _Nodes([], [], [], 0)
    if not problem.carers or not plannable:
        empty = _ortools.NodeSolution([[] for _ in problem.carers], {}, [], [], [], 0, False)
        return _extract(problem, empty, nodes_empty, reasons, time.perf_counter() - t0)
    nm, nodes = _build(problem, plannable)
    init: list[list[int]] | None = None
    if initial is not None:
        init = _routes_from_plan(problem, initial, nodes, nm)
    elif warm_start and _pyvrp_compatible(problem, nm):
        budget = time_limit_s * warm_start_share - (time.perf_counter() - t0)
        if budget > 0.1:
            init = _pyvrp_routes(problem, nm, nodes, budget, seed)
    remaining = max(0.2, time_limit_s - (time.perf_counter() - t0) - 0.05)
    first = _first_solution(nm)
    if init is None and nm.syncs and first == "PATH_CHEAPEST_ARC":
        # Synchronised visits with loose windows (Mankowska-like): see PORTFOLIO. With
        # tight windows (a home-care day) one insertion + GLS run measured better.
        sol = _portfolio(nm, remaining)
    else:
        sol = _ortools.solve_nodes(
            nm, time_limit_s=remaining, initial_routes=init, first_solution=first
        )
    return _extract(problem, sol, nodes, reasons, time.perf_counter() - t0)


REASON_REPLAN = (
    "intervenante absente : la re-planification n'a pas abouti dans le temps imparti, "
    "à réaffecter"
)


def _keep_previous(
    problem: Problem, previous: Plan, now: int, absences: Mapping[str, int]
) -> Plan:
    """Return the previous plan without the absent carers' visits after their absence."""
    routes: list[Route] = []
    dropped: set[str] = set()
    for r in previous.routes:
        if r.carer_id not in absences:
            routes.append(r)
            continue
        keep = tuple(s for s in r.stops if s.start < min(now, absences[r.carer_id]))
        dropped |= {s.visit_id for s in r.stops if s not in keep}
        if not keep:
            continue
        c = problem.carer(r.carer_id)
        mode = str(c.mode)
        back = problem.travel_s(mode, keep[-1].place, c.end_place)
        routes.append(
            replace(
                r,
                stops=keep,
                return_time=keep[-1].end + back,
                return_travel_s=back,
                return_travel_m=problem.distance_m(mode, keep[-1].place, c.end_place),
                breaks=tuple(b for b in r.breaks if b.end <= keep[-1].end),
            )
        )
    # A two-carer visit loses both parts when one carer is absent.
    served = {s.visit_id for r in routes for s in r.stops}
    routes = [
        replace(r, stops=tuple(s for s in r.stops if s.visit_id not in dropped))
        if any(s.visit_id in dropped for s in r.stops)
        else r
        for r in routes
    ]
    reasons = {u.visit_id: u.reason for u in previous.unassigned}
    unassigned = tuple(
        Unassigned(v.id, reasons.get(v.id, REASON_REPLAN))
        for v in problem.visits
        if v.id not in served or v.id in dropped
    )
    kept = tuple(r for r in routes if r.stops)
    return Plan(
        routes=kept,
        unassigned=unassigned,
        figures=figures(problem, kept, len(unassigned)),
        objective=previous.objective,
    )


def replan(
    problem: Problem,
    previous: Plan,
    *,
    now: int,
    absences: Mapping[str, int] | None = None,
    time_limit_s: float = 5.0,
    seed: int = 0,
) -> Plan:
    """Re-plan the rest of the day from ``now``, moving as little as possible.

    Visits that started before ``now`` keep their carers and times. Carers in ``absences``
    stop working at the given time. Visits of ``problem`` absent from ``previous`` (urgent
    additions) are planned too. Every change of carer costs :attr:`Costs.change`.

    Parameters
    ----------
    problem
        The day as it stands now (may include new visits).
    previous
        The plan being executed.
    now
        Current time, seconds from midnight.
    absences
        Carer id -> time from which the carer is unavailable.
    time_limit_s
        Wall-clock budget.
    seed
        Random seed.

    Returns
    -------
    Plan
        The new plan, with :attr:`Plan.changes` listing what moved.
    """
    t0 = time.perf_counter()
    absences = dict(absences or {})
    before = previous.assignment()
    starts = previous.starts()
    fixed: dict[str, int] = {}
    for r in previous.routes:
        for s in r.stops:
            if s.start < now:
                fixed[r.carer_id] = max(fixed.get(r.carer_id, 0), s.end)
    visits: list[Visit] = []
    for v in problem.visits:
        st = starts.get(v.id)
        if st is not None and st < now:
            who = before[v.id]
            others = frozenset(c.id for c in problem.carers if c.id not in who)
            visits.append(
                replace(
                    v,
                    pinned_carer=who[0] if len(who) == 1 else None,
                    pinned_start=st,
                    refused_carers=others,
                    previous_carers=who,
                    window=TimeWindow(min(v.window.start, st), max(v.window.end, st)),
                )
            )
        elif v.window.end < now:
            visits.append(replace(v, window=TimeWindow(v.window.end, v.window.end)))
        else:
            visits.append(
                replace(
                    v,
                    window=TimeWindow(max(v.window.start, now), v.window.end),
                    previous_carers=before.get(v.id, ()),
                )
            )
    carers: list[Carer] = []
    for c in problem.carers:
        if c.id in absences:
            back = 0
            last = previous.route(c.id)
            if last is not None and c.id in fixed:
                done = [s for s in last.stops if s.start < now]
                back = fixed[c.id] + problem.travel_s(str(c.mode), done[-1].place, c.end_place)
            end = max(min(c.shift.end, absences[c.id]), back)
            carers.append(replace(c, shift=TimeWindow(c.shift.start, max(c.shift.start, end))))
        else:
            carers.append(c)
    new_problem = replace(problem, carers=tuple(carers), visits=tuple(visits))
    # Keep the whole call within the budget: preparation above and figures below count, and
    # OR-Tools overruns its limit on a loaded machine (measured on the day benchmark's
    # re-plan at load average 6-7: 5.4 s for a 4.1 s limit, 4.0 s for 3.2 s).
    budget = max(0.2, 0.7 * (time_limit_s - (time.perf_counter() - t0)) - 0.4)
    plan = solve(new_problem, time_limit_s=budget, seed=seed, initial=previous)
    started = {
        (s.visit_id, s.part): (r.carer_id, s.start)
        for r in previous.routes
        for s in r.stops
        if s.start < now
    }
    kept = {(s.visit_id, s.part): (r.carer_id, s.start) for r in plan.routes for s in r.stops}
    if any(kept.get(key) != where for key, where in started.items()):
        # A search from scratch (the previous routes no longer fit) dropped or moved a
        # visit already started: never rewrite the past, fall back as below.
        plan = _keep_previous(problem, previous, now, absences)
    elif plan.figures.assigned == 0 and previous.figures.assigned > 0:
        # No plan found in time (a loaded machine): keep the previous plan rather than
        # nothing, minus the absent carers' remaining visits, which the coordinator must
        # reassign by hand.
        plan = _keep_previous(problem, previous, now, absences)
    # Report against the caller's problem, with the reasons computed on the adjusted one.
    reasons = {u.visit_id: u.reason for u in plan.unassigned}
    for v in problem.visits:
        if v.window.end < now and v.id not in starts and v.id in reasons:
            reasons[v.id] = REASON_PAST
    after = plan.assignment()
    new_starts = plan.starts()
    changes = []
    for v in problem.visits:
        b, a = before.get(v.id, ()), after.get(v.id, ())
        sb, sa = starts.get(v.id), new_starts.get(v.id)
        moved = sb is not None and sa is not None and abs(sa - sb) >= 10 * 60
        if set(b) != set(a) or moved:
            changes.append(Change(v.id, b, a, sb, sa))
    return replace(
        plan,
        unassigned=tuple(Unassigned(u.visit_id, reasons[u.visit_id]) for u in plan.unassigned),
        figures=figures(problem, plan.routes, len(plan.unassigned)),
        changes=tuple(changes),
    )
