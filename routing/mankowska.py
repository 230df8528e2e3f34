"""Read and solve Mankowska, Meisel & Bierwirth (2014) home health care instances.

Each patient needs one service, or two services by two different carers with a
synchronisation rule (simultaneous when ``mind = maxd = 0``, else the second service
starts between ``mind`` and ``maxd`` after the first). Service starts must not precede
``e``; starting after ``l`` counts as tardiness. The literature objective is
``(distance + total tardiness + max tardiness) / 3``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from routing.hhcrsp import Tasks, search


@dataclass(frozen=True)
class Mankowska:
    """Hold an instance as read from the file (node 0 and the last node are the depot)."""

    name: str
    n_nodes: int
    n_carers: int
    n_services: int
    requires: list[list[int]]
    double: list[int]
    skills: list[list[int]]
    dist: list[list[float]]
    proc: list[list[list[float]]]
    mind: list[float]
    maxd: list[float]
    e: list[float]
    l: list[float]  # noqa: E741  (the paper's name)

    def services(self, node: int) -> list[int]:
        """Return the 0-based services a patient needs, in order."""
        return [s for s, r in enumerate(self.requires[node]) if r]


def read_mankowska(path: str | Path) -> Mankowska:
    """Read an instance file made of named blocks (``nbNodes``, ``r``, ``d``, ...).

    Parameters
    ----------
    path
        Instance file.

    Returns
    -------
    Mankowska
        The raw instance.
    """
    blocks: dict[str, list[list[float]]] = {}
    current = ""
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if not s:
            continue
        if s[0].isalpha():
            current = s
            blocks[current] = []
        else:
            blocks[current].append([float(x) for x in s.split()])
    n = int(blocks["nbNodes"][0][0])
    k = int(blocks["nbVehi"][0][0])
    ns = int(blocks["nbServi"][0][0])
    flat_p = blocks["p"]
    proc = [[flat_p[i * k + c] for c in range(k)] for i in range(n)]
    ds = [int(x) - 1 for row in blocks.get("DS", []) for x in row]
    return Mankowska(
        name=Path(path).stem,
        n_nodes=n,
        n_carers=k,
        n_services=ns,
        requires=[[int(x) for x in row] for row in blocks["r"]],
        double=ds,
        skills=[[int(x) for x in row] for row in blocks["a"]],
        dist=blocks["d"],
        proc=proc,
        mind=[x for row in blocks["mind"] for x in row],
        maxd=[x for row in blocks["maxd"] for x in row],
        e=[x for row in blocks["e"] for x in row],
        l=[x for row in blocks["l"] for x in row],
    )


def evaluate(inst: Mankowska, routes: list[dict[str, object]]) -> dict[str, float]:
    """Compute distance and tardiness of routes in the instance's real units."""
    dist = 0.0
    tard: list[float] = []
    for r in routes:
        stops = r["stops"]
        if not isinstance(stops, list):
            raise TypeError("stops must be a list")
        path = [0, *[int(s["node"]) for s in stops], 0]
        dist += sum(inst.dist[a][b] for a, b in itertools.pairwise(path))
        for s in stops:
            tard.append(max(0.0, float(s["start"]) - inst.l[int(s["node"])]))
    total, worst = sum(tard), max(tard, default=0.0)
    return {
        "objective": (dist + total + worst) / 3.0,
        "distance": dist,
        "total_tardiness": total,
        "max_tardiness": worst,
    }


def mankowska_tasks(inst: Mankowska) -> tuple[Tasks, list[int]]:
    """Express an instance as flat :class:`~routing.hhcrsp.Tasks` (one per service).

    Parameters
    ----------
    inst
        Instance.

    Returns
    -------
    tuple
        The tasks and, per task, its 0-based service index.
    """
    last = inst.n_nodes - 1
    node: list[int] = []
    early: list[float] = []
    due: list[float] = []
    partner: list[int] = []
    first: list[bool] = []
    min_gap: list[float] = []
    max_gap: list[float] = []
    proc: list[list[float]] = []
    able: list[list[int]] = []
    service: list[int] = []
    for i in range(1, last):
        srv = inst.services(i)
        two = len(srv) == 2
        base = len(node)
        for j, s in enumerate(srv):
            node.append(i)
            early.append(inst.e[i])
            due.append(inst.l[i])
            partner.append(base + 1 - j if two else -1)
            first.append(two and j == 0)
            min_gap.append(inst.mind[i] if two else 0.0)
            max_gap.append(inst.maxd[i] if two else 0.0)
            proc.append([inst.proc[i][k][s] for k in range(inst.n_carers)])
            able.append([k for k in range(inst.n_carers) if inst.skills[k][s]])
            service.append(s)
    # The last node is a copy of the depot: every route starts and ends at node 0.
    dist = [row[:last] for row in inst.dist[:last]]
    tasks = Tasks(
        node=node,
        early=early,
        due=due,
        partner=partner,
        first=first,
        min_gap=min_gap,
        max_gap=max_gap,
        proc=proc,
        able=able,
        dist=dist,
        n_carers=inst.n_carers,
    )
    return tasks, service


def solve_mankowska(inst: Mankowska, *, time_limit_s: float, seed: int = 0) -> dict[str, object]:
    """Solve an instance and return the JSON document of the CLI.

    Whole patients (both services of a two-carer patient together) are removed and
    re-inserted by the ruin-and-recreate search of :mod:`routing.hhcrsp`, which schedules
    every plan exactly; OR-Tools, moving one service at a time, cannot move a synchronised
    pair once placed.

    Parameters
    ----------
    inst
        Instance.
    time_limit_s
        Wall-clock budget.
    seed
        Random seed.

    Returns
    -------
    dict
        ``objective``, ``distance``, ``total_tardiness``, ``max_tardiness`` and ``routes``
        (``carer``, then ``stops`` of ``node``, 0-based ``service`` and ``start``).
    """
    tasks, service = mankowska_tasks(inst)
    sol = search(tasks, time_limit_s=time_limit_s, seed=seed)
    routes: list[dict[str, object]] = [
        {
            "carer": k,
            "stops": [
                {"node": tasks.node[t], "service": service[t], "start": sol.start[t]}
                for t in r
            ],
        }
        for k, r in enumerate(sol.routes)
        if r
    ]
    out: dict[str, object] = dict(evaluate(inst, routes))
    out["routes"] = routes
    out["unassigned"] = []
    return out


def check_mankowska(inst: Mankowska, doc: dict[str, object]) -> list[str]:
    """Check a CLI document against the raw instance (real arithmetic, own code)."""
    errors: list[str] = []
    eps = 1e-6
    done: dict[int, dict[int, tuple[int, float]]] = {}
    routes = doc["routes"]
    if not isinstance(routes, list):
        raise TypeError("routes must be a list")
    for r in routes:
        k = int(r["carer"])
        t, prev = 0.0, 0
        for s in r["stops"]:
            i, srv, st = int(s["node"]), int(s["service"]), float(s["start"])
            if not inst.skills[k][srv]:
                errors.append(f"carer {k} lacks service {srv} at {i}")
            if not inst.requires[i][srv]:
                errors.append(f"node {i} does not need service {srv}")
            if st + eps < t + inst.dist[prev][i]:
                errors.append(f"node {i} starts {st} before arrival {t + inst.dist[prev][i]}")
            if st + eps < inst.e[i]:
                errors.append(f"node {i} starts {st} before e={inst.e[i]}")
            t, prev = st + inst.proc[i][k][srv], i
            done.setdefault(i, {})[srv] = (k, st)
    for i in range(1, inst.n_nodes - 1):
        need = inst.services(i)
        got = done.get(i, {})
        if sorted(got) != need:
            errors.append(f"node {i} served {sorted(got)} instead of {need}")
            continue
        if len(need) == 2:
            (k1, t1), (k2, t2) = got[need[0]], got[need[1]]
            if k1 == k2:
                errors.append(f"node {i} double service by one carer")
            gap = t2 - t1
            if not inst.mind[i] - eps <= gap <= inst.maxd[i] + eps:
                errors.append(f"node {i} gap {gap} outside [{inst.mind[i]}, {inst.maxd[i]}]")
    obj = evaluate(inst, routes)["objective"]
    if not math.isclose(obj, float(str(doc["objective"])), rel_tol=1e-9, abs_tol=1e-6):
        errors.append("objective does not match the routes")
    return errors
