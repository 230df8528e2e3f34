"""Find a warm start with PyVRP for plain VRPTW-like days.

PyVRP is excellent at fleet-size and distance minimisation under time windows, so for
problems it can express exactly (one carer per visit, no breaks, no pinned times, no skill
restrictions, one travel mode) :mod:`routing.solve` runs it for most of the budget and
hands its routes to OR-Tools, which then optimises the full objective.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routing.model import Matrix


@dataclass(frozen=True)
class VehicleSpec:
    """Describe one carer for PyVRP (places are location indices)."""

    start: int
    end: int
    tw_early: int
    tw_late: int
    capacity: int
    shift_duration: int | None


def _fleet_then_distance(
    data: Any, fleet_s: float, total_s: float, t0: float, seed: int
) -> Any:
    """Shrink the fleet until no feasible plan is found, then minimise distance with it.

    Like :func:`pyvrp.minimise_fleet`, but the best feasible solution found while
    shrinking seeds the distance phase instead of being thrown away.
    """
    import pyvrp
    from pyvrp.stop import FirstFeasible, MaxRuntime, MultipleCriteria

    data = data.replace(vehicle_types=[v.replace(fixed_cost=0) for v in data.vehicle_types()])
    vt = data.vehicle_type(0)

    def left(limit: float) -> float:
        return max(0.01, limit - (time.perf_counter() - t0))

    res = pyvrp.solve(
        data, stop=MultipleCriteria([FirstFeasible(), MaxRuntime(left(fleet_s))]), seed=seed
    )
    if not res.is_feasible():
        return None
    best = res.best
    k = best.num_routes()
    while k > 1 and time.perf_counter() - t0 < fleet_s:
        trial = data.replace(vehicle_types=[vt.replace(num_available=k - 1)])
        res = pyvrp.solve(
            trial, stop=MultipleCriteria([FirstFeasible(), MaxRuntime(left(fleet_s))]), seed=seed
        )
        if not res.is_feasible():
            break
        best = res.best
        k = best.num_routes()
    final = data.replace(vehicle_types=[vt.replace(num_available=k)])
    init = pyvrp.Solution(
        final, [[int(a.idx) for a in r if a.is_client()] for r in best.routes()]
    )
    res = pyvrp.solve(final, stop=MaxRuntime(left(total_s)), seed=seed, initial_solution=init)
    return res if res.is_feasible() else None


def solve_vrptw(
    travel: Matrix,
    cost: Matrix,
    vehicles: Sequence[VehicleSpec],
    client_place: Sequence[int],
    windows: Sequence[tuple[int, int]],
    service: Sequence[int],
    demand: Sequence[int],
    *,
    fixed_cost: int,
    time_limit_s: float,
    seed: int,
    prizes: Sequence[int] | None = None,
    fleet_share: float = 0.4,
) -> list[tuple[int, list[int]]] | None:
    """Solve a VRPTW with PyVRP; return ``(vehicle, [client indices])`` or ``None``.

    Parameters
    ----------
    travel, cost
        Travel time and arc cost between places (square, integer).
    vehicles
        One spec per vehicle; identical specs are grouped into PyVRP vehicle types.
    client_place, windows, service, demand
        Per client: place index, start window, service duration, load.
    fixed_cost
        Cost of using a vehicle (fleet minimisation).
    time_limit_s
        Wall-clock budget.
    seed
        Random seed.
    prizes
        When given, clients are optional and serving one earns its prize (the drop
        penalty); otherwise every client is required.
    fleet_share
        With a fixed vehicle cost, share of the budget spent shrinking the fleet before
        minimising distance with that fleet (0.4 measured best on Solomon at 5 s, against
        0.6; a fixed cost alone, without shrinking, left 30 extra vehicles).

    Returns
    -------
    list of (int, list of int) or None
        Routes by vehicle index, or ``None`` when PyVRP found no feasible solution.
    """
    import pyvrp
    from pyvrp.stop import MaxRuntime

    m = pyvrp.Model()
    places = sorted({v.start for v in vehicles} | {v.end for v in vehicles})
    loc_place = list(places) + list(client_place)
    locs = [m.add_location(x=0, y=0) for _ in loc_place]
    depot_of = {p: m.add_depot(locs[i]) for i, p in enumerate(places)}
    has_load = any(demand)
    groups: dict[VehicleSpec, list[int]] = {}
    for k, v in enumerate(vehicles):
        groups.setdefault(v, []).append(k)
    type_members: list[list[int]] = []
    for spec, members in groups.items():
        kwargs: dict[str, object] = {}
        if spec.shift_duration is not None:
            kwargs["shift_duration"] = spec.shift_duration
        m.add_vehicle_type(
            num_available=len(members),
            capacity=[spec.capacity] if has_load else [],
            start_depot=depot_of[spec.start],
            end_depot=depot_of[spec.end],
            fixed_cost=fixed_cost,
            tw_early=spec.tw_early,
            tw_late=spec.tw_late,
            **kwargs,  # type: ignore[arg-type]
        )
        type_members.append(members)
    clients = []
    for i in range(len(client_place)):
        clients.append(
            m.add_client(
                locs[len(places) + i],
                delivery=[int(demand[i])] if has_load else [],
                service_duration=int(service[i]),
                tw_early=int(windows[i][0]),
                tw_late=int(windows[i][1]),
                required=prizes is None,
                prize=0 if prizes is None else int(prizes[i]),
            )
        )
    idx = np.asarray(loc_place)
    tt = travel[np.ix_(idx, idx)]
    cc = cost[np.ix_(idx, idx)]
    for a, la in enumerate(locs):
        for b, lb in enumerate(locs):
            if a != b:
                m.add_edge(la, lb, distance=int(cc[a, b]), duration=int(tt[a, b]))
    # Fleet minimisation (a fixed vehicle cost, one vehicle type, every client required):
    # shrink the fleet, then minimise distance with it. Otherwise one plain solve.
    fleet_first = fixed_cost > 0 and len(type_members) == 1 and prizes is None
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # Over-booked days make PyVRP warn that its penalties hit their bound; OR-Tools
        # then works from scratch, which is the intended fallback.
        warnings.simplefilter("ignore", pyvrp.exceptions.PenaltyBoundWarning)
        if fleet_first:
            res = _fleet_then_distance(
                m.data(), time_limit_s * fleet_share, time_limit_s, t0, seed
            )
        else:
            res = m.solve(stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    if res is None or not res.is_feasible():
        return None
    out: list[tuple[int, list[int]]] = []
    used = [0] * len(type_members)
    for route in res.best.routes():
        t = route.vehicle_type()
        k = type_members[t][used[t]]
        used[t] += 1
        out.append((k, [int(a.idx) for a in route if a.is_client()]))
    return out
