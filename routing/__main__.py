"""Solve standard instance files from the command line and print JSON.

Usage::

    python -m routing solomon FILE --time-limit S [--seed N]
    python -m routing mankowska FILE --time-limit S [--seed N]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def solomon_json(path: str, time_limit_s: float, seed: int = 0) -> dict[str, object]:
    """Solve a Solomon file and return ``{"vehicles", "distance", "routes"}``.

    Parameters
    ----------
    path
        Solomon instance file.
    time_limit_s
        Wall-clock budget.
    seed
        Random seed.

    Returns
    -------
    dict
        Vehicles used, double-precision Euclidean distance, routes of customer ids.
    """
    from routing.formats import read_solomon, solomon_problem
    from routing.solve import solve

    inst = read_solomon(path)
    plan = solve(solomon_problem(inst), time_limit_s=time_limit_s, seed=seed)
    routes = [[int(s.visit_id) for s in r.stops] for r in plan.routes if r.stops]
    return {
        "vehicles": len(routes),
        "distance": round(inst.route_distance(routes), 6),
        "routes": routes,
    }


def mankowska_json(path: str, time_limit_s: float, seed: int = 0) -> dict[str, object]:
    """Solve a Mankowska et al. (2014) file and return the JSON document of the issue.

    Parameters
    ----------
    path
        Instance file.
    time_limit_s
        Wall-clock budget.
    seed
        Random seed.

    Returns
    -------
    dict
        Objective, distance, tardiness figures and routes with node, service and start.
    """
    from routing.mankowska import read_mankowska, solve_mankowska

    inst = read_mankowska(path)
    doc = solve_mankowska(inst, time_limit_s=time_limit_s, seed=seed)
    # Exactly the documented keys; a missing patient shows up in any checker as unserved.
    keys = ("objective", "distance", "total_tardiness", "max_tardiness", "routes")
    return {k: doc[k] for k in keys}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    ap = argparse.ArgumentParser(prog="python -m routing")
    ap.add_argument("format", choices=["solomon", "mankowska"])
    ap.add_argument("file")
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.format == "solomon":
        out = solomon_json(args.file, args.time_limit, args.seed)
    else:
        out = mankowska_json(args.file, args.time_limit, args.seed)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
