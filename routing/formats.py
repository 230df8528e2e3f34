"""Read standard benchmark files (Solomon VRPTW) into :class:`~routing.model.Problem`.

Solomon convention, as used by the best-known solutions we compare with: Euclidean
distances in double precision, travel time equal to distance, service times and windows as
given, vehicles leave from and return to the depot within its window, capacity per vehicle.
The library works with integers, so coordinates-derived values are scaled by
:data:`SOLOMON_SCALE` and travel times rounded *up*: a plan feasible on the integers is then
feasible in double precision too.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing.model import Carer, Costs, Matrix, Problem, TimeWindow, Visit

#: Integer units per Solomon time/distance unit.
SOLOMON_SCALE = 1000


@dataclass(frozen=True)
class Solomon:
    """Hold a Solomon instance as read from the file (customer 0 is the depot)."""

    name: str
    vehicles: int
    capacity: int
    xy: list[tuple[float, float]]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]

    def distance(self, a: int, b: int) -> float:
        """Return the Euclidean distance in double precision."""
        (xa, ya), (xb, yb) = self.xy[a], self.xy[b]
        return math.hypot(xa - xb, ya - yb)

    def int_matrix(self, scale: int = SOLOMON_SCALE) -> Matrix:
        """Return distances times ``scale``, rounded up, as integers."""
        xy = np.asarray(self.xy, dtype=np.float64)
        d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        # Round half-ULP noise away before ceil so exact integers stay exact.
        return np.ceil(np.round(d * scale, 6)).astype(np.int64)

    def route_distance(self, routes: list[list[int]]) -> float:
        """Return the total double-precision distance of routes of customer ids."""
        total = 0.0
        for r in routes:
            path = [0, *r, 0]
            total += sum(self.distance(a, b) for a, b in itertools.pairwise(path))
        return total


def read_solomon(path: str | Path) -> Solomon:
    """Read a Solomon-format instance file.

    Parameters
    ----------
    path
        File in the classic text layout (``VEHICLE`` then ``CUSTOMER`` sections).

    Returns
    -------
    Solomon
        The raw instance.
    """
    lines = Path(path).read_text().splitlines()
    name = lines[0].strip()
    vehicles = capacity = 0
    rows: list[list[float]] = []
    for i, line in enumerate(lines):
        if line.strip().startswith("NUMBER"):
            vehicles, capacity = (int(x) for x in lines[i + 1].split()[:2])
        parts = line.split()
        if len(parts) == 7 and all(_is_number(p) for p in parts):
            rows.append([float(p) for p in parts])
    rows.sort(key=lambda r: r[0])
    return Solomon(
        name=name,
        vehicles=vehicles,
        capacity=capacity,
        xy=[(r[1], r[2]) for r in rows],
        demand=[int(r[3]) for r in rows],
        ready=[int(r[4]) for r in rows],
        due=[int(r[5]) for r in rows],
        service=[int(r[6]) for r in rows],
    )


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def solomon_vehicle_cost(inst: Solomon) -> int:
    """Return a per-vehicle cost larger than any possible route, so fleet size comes first."""
    return int(inst.int_matrix().max()) * 4 * len(inst.xy)


def solomon_problem(inst: Solomon, *, vehicle_cost: int | None = None) -> Problem:
    """Express a Solomon instance as a :class:`Problem` (vehicles first, then distance).

    Parameters
    ----------
    inst
        The instance.
    vehicle_cost
        Cost of each vehicle used, in scaled distance units; defaults to a value larger
        than any route, so fleet size is minimised first.

    Returns
    -------
    Problem
        One carer per vehicle, one visit per customer; place 0 is the depot.
    """
    s = SOLOMON_SCALE
    m = inst.int_matrix(s)
    shift = TimeWindow(inst.ready[0] * s, inst.due[0] * s)
    carers = tuple(
        Carer(id=f"v{k}", shift=shift, start_place=0, end_place=0, capacity=inst.capacity)
        for k in range(inst.vehicles)
    )
    visits = tuple(
        Visit(
            id=str(i),
            place=i,
            window=TimeWindow(inst.ready[i] * s, inst.due[i] * s),
            duration_s=inst.service[i] * s,
            demand=inst.demand[i],
        )
        for i in range(1, len(inst.xy))
    )
    if vehicle_cost is None:
        vehicle_cost = solomon_vehicle_cost(inst)
    costs = Costs(
        unassigned=vehicle_cost * 100, vehicle=vehicle_cost, non_usual_carer=0, lateness_per_s=0
    )
    return Problem(
        carers=carers, visits=visits, travel={"drive": m}, distance={"drive": m}, costs=costs
    )
