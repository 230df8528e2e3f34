"""Build and solve the OR-Tools routing model (the only module importing ortools).

The model works on *nodes*: one per carer part of each plannable visit (two for two-carer
visits), then a start and an end node per carer. :func:`solve_nodes` takes this flat
description, which :mod:`routing.solve` derives from a :class:`~routing.model.Problem`.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.model import DAY_END, Matrix


@dataclass
class NodeModel:
    """Describe the routing model in node terms (mutable builder, internal)."""

    #: transit time node->node (service of the origin included), per distinct mode
    transit: dict[str, Matrix]
    #: arc cost node->node without vehicle-dependent terms, per mode
    arc_cost: dict[str, Matrix]
    vehicle_mode: list[str]
    starts: list[int]
    ends: list[int]
    #: hard window of each node (start/end nodes included)
    windows: list[tuple[int, int]]
    service: list[int]
    #: allowed vehicles per visit node, ``None`` for all
    allowed: list[list[int] | None]
    penalty: list[int]
    #: extra cost of serving node j with vehicle k, as (k -> array over nodes)
    vehicle_node_cost: dict[int, Matrix] = field(default_factory=dict)
    preferred: list[tuple[int, int] | None] = field(default_factory=list)
    lateness_per_s: int = 1
    pinned_start: list[int | None] = field(default_factory=list)
    #: (node a, node b, min gap, max gap): start(b) - start(a) within [min, max]
    syncs: list[tuple[int, int, int, int]] = field(default_factory=list)
    demand: list[int] = field(default_factory=list)
    capacity: list[int] = field(default_factory=list)
    #: per vehicle: max working time (travel + service), None for none
    max_work: list[int | None] = field(default_factory=list)
    contract_work: list[int | None] = field(default_factory=list)
    overtime_per_s: int = 2
    balance_target: int | None = None
    balance_per_s: int = 0
    #: per vehicle: (after_work_s, min_break_s, meal (start_min, start_max, dur) or None)
    breaks: list[tuple[int, int, tuple[int, int, int] | None] | None] = field(
        default_factory=list
    )
    vehicle_fixed_cost: int = 0
    waiting_per_s: int = 0
    #: per vehicle: longest span from start to end (amplitude), None for none
    max_span: list[int | None] = field(default_factory=list)



@dataclass(frozen=True)
class NodeSolution:
    """Hold the routes found, in node terms."""

    routes: list[list[int]]
    starts: dict[int, int]
    vehicle_start: list[int]
    vehicle_end: list[int]
    breaks: list[list[tuple[int, int, int]]]
    objective: int
    found: bool


def _register_matrix(routing: pywrapcp.RoutingModel, m: Matrix) -> int:
    """Register a matrix with the C++ side, so evaluations do not call back into Python."""
    return int(routing.RegisterTransitMatrix(m.astype(np.int64).tolist()))


def solve_nodes(
    nm: NodeModel,
    *,
    time_limit_s: float,
    initial_routes: Sequence[Sequence[int]] | None = None,
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION",
    metaheuristic: str = "GUIDED_LOCAL_SEARCH",
    log: bool = False,
) -> NodeSolution:
    """Solve the node model with OR-Tools.

    Parameters
    ----------
    nm
        Node model.
    time_limit_s
        Wall-clock budget of the local search.
    initial_routes
        Optional routes (visit nodes per vehicle) to start from; ignored when OR-Tools
        rejects them.
    first_solution
        Name of an OR-Tools first solution strategy.
    metaheuristic
        Name of an OR-Tools local search metaheuristic.
    log
        Print the search log.

    Returns
    -------
    NodeSolution
        Routes and times; ``found`` is false when no solution was found.
    """
    deadline = _time.perf_counter() + time_limit_s
    n_nodes = len(nm.windows)
    n_veh = len(nm.starts)
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_veh, nm.starts, nm.ends)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    # Transit evaluators, one per mode; the time dimension is vehicle-dependent.
    mode_cb: dict[str, int] = {m: _register_matrix(routing, t) for m, t in nm.transit.items()}
    time_cbs = [mode_cb[m] for m in nm.vehicle_mode]
    horizon = max(DAY_END, max(hi for _, hi in nm.windows))
    routing.AddDimensionWithVehicleTransits(time_cbs, horizon, horizon, False, "time")
    time = routing.GetDimensionOrDie("time")

    # Arc costs: base per mode, plus per-vehicle node costs (continuity, changes) folded in.
    cost_cb: dict[str, int] = {}
    for k in range(n_veh):
        mode = nm.vehicle_mode[k]
        extra = nm.vehicle_node_cost.get(k)
        if extra is None:
            if mode not in cost_cb:
                cost_cb[mode] = _register_matrix(routing, nm.arc_cost[mode])
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[mode], k)
        else:
            costs = nm.arc_cost[mode] + extra[np.newaxis, :]
            routing.SetArcCostEvaluatorOfVehicle(_register_matrix(routing, costs), k)
    if nm.vehicle_fixed_cost:
        routing.SetFixedCostOfAllVehicles(nm.vehicle_fixed_cost)
    if nm.waiting_per_s:
        time.SetSpanCostCoefficientForAllVehicles(nm.waiting_per_s)

    # Windows, pins, preferences.
    n_visit_nodes = n_nodes - 2 * n_veh
    for node in range(n_visit_nodes):
        idx = manager.NodeToIndex(node)
        lo, hi = nm.windows[node]
        time.CumulVar(idx).SetRange(lo, hi)
        if nm.pinned_start and nm.pinned_start[node] is not None:
            time.CumulVar(idx).SetValue(nm.pinned_start[node])
        if nm.preferred and nm.preferred[node] is not None and nm.lateness_per_s:
            plo, phi = nm.preferred[node]  # type: ignore[misc]
            if phi < hi:
                time.SetCumulVarSoftUpperBound(idx, phi, nm.lateness_per_s)
            if plo > lo:
                time.SetCumulVarSoftLowerBound(idx, plo, nm.lateness_per_s)
        allowed = nm.allowed[node]
        if allowed is not None:
            # SetAllowedVehiclesForIndex's SWIG wrapper rejects Python lists in 9.15.
            banned = sorted(set(range(n_veh)) - set(allowed))
            routing.VehicleVar(idx).RemoveValues(banned)
        routing.AddDisjunction([idx], nm.penalty[node])
    for k in range(n_veh):
        lo, hi = nm.windows[nm.starts[k]]
        time.CumulVar(routing.Start(k)).SetRange(lo, hi)
        lo, hi = nm.windows[nm.ends[k]]
        time.CumulVar(routing.End(k)).SetRange(lo, hi)
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(k)))
        routing.AddVariableMaximizedByFinalizer(time.CumulVar(routing.Start(k)))
        span = nm.max_span[k] if nm.max_span else None
        if span is not None:
            # Amplitude of the working day: leaving home to coming back, waiting included.
            time.SetSpanUpperBoundForVehicle(span, k)

    # Two-carer visits: different carers, synchronised starts. "Both parts or neither" is
    # not posted as a constraint: OR-Tools inserts one node at a time, so it could never
    # insert such a pair. Each part carries the full drop penalty instead, and a part left
    # alone is removed from the plan afterwards (see ``lone``).
    for a, b, gmin, gmax in nm.syncs:
        ia, ib = manager.NodeToIndex(a), manager.NodeToIndex(b)
        solver.Add(solver.AllDifferentExcept([routing.VehicleVar(ia), routing.VehicleVar(ib)], -1))
        ta, tb = time.CumulVar(ia), time.CumulVar(ib)
        solver.Add(tb - ta >= gmin)
        solver.Add(tb - ta <= gmax)

    # Capacity (Solomon).
    if nm.demand and any(nm.demand):
        dem = nm.demand
        dem_cb = routing.RegisterUnaryTransitVector([int(d) for d in dem])
        routing.AddDimensionWithVehicleCapacity(
            dem_cb, 0, [int(c) for c in nm.capacity], True, "load"
        )

    # Working time (travel + service, no waiting) for caps, overtime and balance.
    if any(w is not None for w in nm.max_work) or any(
        w is not None for w in nm.contract_work
    ) or nm.balance_per_s:
        # Same transits as time (travel + service) but no slack: waiting is not work.
        work_cbs = [mode_cb[mode] for mode in nm.vehicle_mode]
        routing.AddDimensionWithVehicleTransits(work_cbs, 0, horizon, True, "work")
        work = routing.GetDimensionOrDie("work")
        for k in range(n_veh):
            end = work.CumulVar(routing.End(k))
            if nm.max_work and nm.max_work[k] is not None:
                end.SetMax(nm.max_work[k])
            if nm.contract_work and nm.contract_work[k] is not None and nm.overtime_per_s:
                work.SetCumulVarSoftUpperBound(
                    routing.End(k), nm.contract_work[k], nm.overtime_per_s
                )
            if nm.balance_target is not None and nm.balance_per_s:
                work.SetCumulVarSoftUpperBound(
                    routing.End(k), nm.balance_target, nm.balance_per_s
                )

    # Breaks (BAD: 20 min after 6 h on duty; a meal break when the shift spans lunch).
    break_vars: list[list[pywrapcp.IntervalVar]] = [[] for _ in range(n_veh)]
    if nm.breaks and any(b is not None for b in nm.breaks):
        node_visit_transits = [int(s) for s in nm.service]
        for k in range(n_veh):
            rule = nm.breaks[k]
            if rule is None:
                continue
            after, dur, meal = rule
            s_lo, _ = nm.windows[nm.starts[k]]
            _, e_hi = nm.windows[nm.ends[k]]
            intervals = []
            if meal is not None:
                m_lo, m_hi, m_dur = meal
                intervals.append(
                    solver.FixedDurationIntervalVar(m_lo, m_hi, m_dur, False, f"meal {k}")
                )
            if e_hi - s_lo > after:
                n_opt = max(1, (e_hi - s_lo) // after)
                for j in range(n_opt):
                    intervals.append(
                        solver.FixedDurationIntervalVar(
                            s_lo, max(s_lo, e_hi - dur), dur, True, f"break {k}.{j}"
                        )
                    )
            if intervals:
                time.SetBreakIntervalsOfVehicle(intervals, k, node_visit_transits)
                if e_hi - s_lo > after:
                    time.SetBreakDistanceDurationOfVehicle(after, dur, k)
                break_vars[k] = intervals

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution
    )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic
    )
    params.log_search = log

    def remaining_ms() -> int:
        # Model building counts against the budget: the caller asked for wall time.
        return max(100, int((deadline - _time.perf_counter()) * 1000))

    solution = None
    params.time_limit.FromMilliseconds(remaining_ms())
    routing.CloseModelWithParameters(params)
    if initial_routes is not None:
        init = routing.ReadAssignmentFromRoutes([list(r) for r in initial_routes], True)
        if init is not None:
            params.time_limit.FromMilliseconds(remaining_ms())
            solution = routing.SolveFromAssignmentWithParameters(init, params)
    if solution is None:
        params.time_limit.FromMilliseconds(remaining_ms())
        solution = routing.SolveWithParameters(params)
    if solution is None:
        return NodeSolution([], {}, [], [], [], 0, False)

    routes: list[list[int]] = []
    starts: dict[int, int] = {}
    v_start: list[int] = []
    v_end: list[int] = []
    brks: list[list[tuple[int, int, int]]] = []
    for k in range(n_veh):
        idx = routing.Start(k)
        v_start.append(solution.Value(time.CumulVar(idx)))
        route: list[int] = []
        idx = solution.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            route.append(node)
            starts[node] = solution.Value(time.CumulVar(idx))
            idx = solution.Value(routing.NextVar(idx))
        v_end.append(solution.Value(time.CumulVar(idx)))
        routes.append(route)
        kb: list[tuple[int, int, int]] = []
        for iv in break_vars[k]:
            if solution.PerformedValue(iv):
                kb.append(
                    (solution.StartValue(iv), solution.DurationValue(iv), int("meal" in iv.Name()))
                )
        brks.append(sorted(kb))
    partner = {a: b for a, b, _, _ in nm.syncs} | {b: a for a, b, _, _ in nm.syncs}
    lone = {n for n in starts if n in partner and partner[n] not in starts}
    if lone:
        routes = [[n for n in r if n not in lone] for r in routes]
        for n in lone:
            del starts[n]
    return NodeSolution(
        routes, starts, v_start, v_end, brks, int(solution.ObjectiveValue()), True
    )
