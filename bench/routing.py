"""Benchmark the routing library against best-known solutions and peer solvers.

Usage::

    python -m bench.routing solomon --budget 5 [--instances N] [--only R1]
    python -m bench.routing mankowska --budget 10 [--max-size 100]
    python -m bench.routing matrix
    python -m bench.routing day [--budget 30]

Each prints one row per instance, then a last line starting with ``SUMMARY``.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np

from routing.check import violations
from routing.formats import (
    SOLOMON_SCALE,
    Solomon,
    read_solomon,
    solomon_problem,
    solomon_vehicle_cost,
)
from routing.model import BreakRule, Carer, Costs, Mode, Problem, TimeWindow, Visit
from routing.solve import solve

DATA = Path(__file__).resolve().parent / "data"
SOLOMON_DIR = DATA / "solomon"

Routes = list[list[int]]


# --------------------------------------------------------------------------- Solomon


#: Give the peers the same hierarchical objective (a fixed cost per vehicle larger than any
#: route); ``--peer-objective distance`` gives them their default distance-only objective.
HIERARCHICAL = True


def check_solomon(inst: Solomon, routes: Routes) -> list[str]:
    """Check routes on the double-precision Solomon data (independent of the library)."""
    errors = []
    seen: list[int] = []
    for r in routes:
        t = float(inst.ready[0])
        load = 0
        prev = 0
        for c in r:
            t = max(t + math.hypot(inst.xy[prev][0] - inst.xy[c][0],
                                   inst.xy[prev][1] - inst.xy[c][1]), inst.ready[c])
            if t > inst.due[c] + 1e-9:
                errors.append(f"customer {c} starts {t:.3f} > due {inst.due[c]}")
            t += inst.service[c]
            load += inst.demand[c]
            prev = c
            seen.append(c)
        t += math.hypot(inst.xy[prev][0] - inst.xy[0][0], inst.xy[prev][1] - inst.xy[0][1])
        if t > inst.due[0] + 1e-9:
            errors.append(f"route back at {t:.3f} > depot due {inst.due[0]}")
        if load > inst.capacity:
            errors.append(f"load {load} > {inst.capacity}")
    if sorted(seen) != list(range(1, len(inst.xy))):
        errors.append("customers not served exactly once")
    if len(routes) > inst.vehicles:
        errors.append(f"{len(routes)} routes > {inst.vehicles} vehicles")
    return errors


def run_tournee(inst: Solomon, budget: float, seed: int) -> tuple[Routes, list[str]]:
    """Solve with the library; return routes and the library checker's violations."""
    problem = solomon_problem(inst)
    plan = solve(problem, time_limit_s=budget, seed=seed)
    routes = [[int(s.visit_id) for s in r.stops] for r in plan.routes if r.stops]
    return routes, violations(problem, plan)


def run_pyvrp(inst: Solomon, budget: float, seed: int) -> tuple[Routes, list[str]]:
    """Solve with PyVRP on the same integer data and objective (fixed cost per vehicle)."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    s = SOLOMON_SCALE
    d = inst.int_matrix(s)
    m = pyvrp.Model()
    locs = [m.add_location(x=x, y=y) for x, y in inst.xy]
    depot = m.add_depot(locs[0], tw_early=inst.ready[0] * s, tw_late=inst.due[0] * s)
    m.add_vehicle_type(
        num_available=inst.vehicles,
        capacity=inst.capacity,
        start_depot=depot,
        end_depot=depot,
        tw_early=inst.ready[0] * s,
        tw_late=inst.due[0] * s,
        fixed_cost=solomon_vehicle_cost(inst) if HIERARCHICAL else 0,
    )
    for i in range(1, len(inst.xy)):
        m.add_client(
            locs[i],
            delivery=inst.demand[i],
            service_duration=inst.service[i] * s,
            tw_early=inst.ready[i] * s,
            tw_late=inst.due[i] * s,
        )
    for a, la in enumerate(locs):
        for b, lb in enumerate(locs):
            if a != b:
                m.add_edge(la, lb, distance=int(d[a, b]), duration=int(d[a, b]))
    res = m.solve(stop=MaxRuntime(budget), seed=seed, display=False)
    routes = [[int(a.idx) + 1 for a in r if a.is_client()] for r in res.best.routes()]
    return routes, ([] if res.is_feasible() else ["pyvrp: infeasible"])


def run_vroom(inst: Solomon, budget: float, seed: int) -> tuple[Routes, list[str]]:
    """Solve with VROOM (pyvroom) on the same integer data and objective, one thread."""
    import vroom

    del seed  # VROOM is deterministic
    s = SOLOMON_SCALE
    d = inst.int_matrix(s)
    p = vroom.Input()
    p.set_durations_matrix(profile="car", matrix_input=d.tolist())
    tw0 = vroom.TimeWindow(inst.ready[0] * s, inst.due[0] * s)
    costs = vroom.VehicleCosts(fixed=solomon_vehicle_cost(inst) if HIERARCHICAL else 0)
    for k in range(inst.vehicles):
        p.add_vehicle(
            vroom.Vehicle(
                k + 1, start=0, end=0, capacity=[inst.capacity], time_window=tw0, costs=costs
            )
        )
    for i in range(1, len(inst.xy)):
        p.add_job(
            vroom.Job(
                i,
                location=i,
                default_service=inst.service[i] * s,
                delivery=vroom.Amount([inst.demand[i]]),
                time_windows=[vroom.TimeWindow(inst.ready[i] * s, inst.due[i] * s)],
            )
        )
    sol = p.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=budget))
    routes_df = sol.routes
    routes: dict[int, list[int]] = {}
    for row in routes_df.itertuples():
        if row.type == "job":
            routes.setdefault(int(row.vehicle_id), []).append(int(row.id))
    errs = [] if not len(sol.unassigned) else [f"vroom: {len(sol.unassigned)} unassigned"]
    return [r for r in routes.values() if r], errs


def _bks() -> dict[str, tuple[int, float]]:
    with (DATA / "solomon_bks.csv").open() as f:
        return {
            r["instance"]: (int(r["vehicles"]), float(r["distance"]))
            for r in csv.DictReader(f)
            if r["objective"] == "hierarchical" and r["rounding"] == "double"
        }


def bench_solomon(args: argparse.Namespace) -> None:
    """Run the three solvers on the Solomon instances and print the summary."""
    global HIERARCHICAL  # a module switch read by the peer runners
    HIERARCHICAL = args.peer_objective == "hierarchical"
    bks = _bks()
    files = sorted(SOLOMON_DIR.glob("*.txt"))
    if args.only:
        files = [f for f in files if f.stem.startswith(tuple(args.only.split(",")))]
    if args.instances:
        files = files[: args.instances]
    solvers: dict[str, Callable[[Solomon, float, int], tuple[Routes, list[str]]]] = {
        "tournee": run_tournee,
        "pyvrp": run_pyvrp,
        "vroom": run_vroom,
    }
    if args.solvers:
        solvers = {k: v for k, v in solvers.items() if k in args.solvers.split(",")}
    stats: dict[str, dict[str, list[float]]] = {
        k: {"extra": [], "gap": [], "feasible": []} for k in solvers
    }
    print("instance solver vehicles bks_vehicles distance bks_distance gap% seconds feasible")
    for f in files:
        inst = read_solomon(f)
        bv, bd = bks[inst.name]
        for name, run in solvers.items():
            t0 = time.perf_counter()
            routes, errs = run(inst, args.budget, args.seed)
            secs = time.perf_counter() - t0
            errs = errs + check_solomon(inst, routes)
            dist = inst.route_distance(routes)
            ok = not errs
            gap = 100.0 * (dist / bd - 1.0)
            st = stats[name]
            st["feasible"].append(float(ok))
            if ok:
                st["extra"].append(len(routes) - bv)
                if len(routes) <= bv:
                    st["gap"].append(gap)
            print(
                f"{inst.name} {name} {len(routes)} {bv} {dist:.2f} {bd:.2f} {gap:.2f} "
                f"{secs:.2f} {'yes' if ok else 'NO ' + '; '.join(errs[:2])}",
                flush=True,
            )
    feasible = min(int(sum(s["feasible"])) for s in stats.values()) if stats else 0
    parts = [
        f"SUMMARY solomon budget={args.budget:g} instances={len(files)} "
        f"feasible={int(sum(stats['tournee']['feasible'])) if 'tournee' in stats else feasible}"
    ]
    for name, st in stats.items():
        gap = statistics.fmean(st["gap"]) if st["gap"] else float("nan")
        parts.append(
            f"{name}_extra_vehicles={int(sum(st['extra']))} "
            f"{name}_at_bks_vehicles={len(st['gap'])} {name}_gap_at_bks={gap:.2f}%"
        )
    print(" ".join(parts))



# --------------------------------------------------------------------------- Mankowska

SIZE_SET = {10: "A", 25: "B", 50: "C", 75: "D", 100: "E", 200: "F", 300: "G"}


def bench_mankowska(args: argparse.Namespace) -> None:
    """Solve the Mankowska instances and compare with the best reference method."""
    from routing.mankowska import check_mankowska, read_mankowska, solve_mankowska

    mdir = DATA / "mankowska2014"
    with (mdir / "reference_results_other-methods.csv").open() as f:
        ref: dict[str, float] = {}
        for r in csv.DictReader(f):
            vals = [float(r[k]) for k in ("mk", "lf", "matheur", "brkga") if r[k] != "NA"]
            ref[r["instance"]] = min(vals)
    files = sorted(
        mdir.glob("Instanz*.txt"),
        key=lambda p: (int(p.stem.split("_")[-2]), int(p.stem.split("_")[-1])),
    )
    files = [
        f for f in files if args.min_size <= int(f.stem.split("_")[-2]) <= args.max_size
    ]
    if args.instances:
        files = files[: args.instances]
    gaps: list[float] = []
    feasible = 0
    print("instance ref objective distance total_tardiness max_tardiness gap% seconds feasible")
    for f in files:
        size, iid = (int(x) for x in f.stem.split("_")[-2:])
        name = f"{SIZE_SET[size]}{iid}"
        inst = read_mankowska(f)
        t0 = time.perf_counter()
        doc = solve_mankowska(inst, time_limit_s=args.budget, seed=args.seed)
        secs = time.perf_counter() - t0
        errs = check_mankowska(inst, doc)
        ok = not errs
        feasible += ok
        obj = float(str(doc["objective"]))
        gap = 100.0 * (obj / ref[name] - 1.0)
        if ok:
            gaps.append(gap)
        print(
            f"{name} {ref[name]:.2f} {obj:.2f} {float(str(doc['distance'])):.2f} "
            f"{float(str(doc['total_tardiness'])):.2f} {float(str(doc['max_tardiness'])):.2f} "
            f"{gap:.2f} {secs:.2f} {'yes' if ok else 'NO ' + '; '.join(errs[:2])}",
            flush=True,
        )
    mean_gap = statistics.fmean(gaps) if gaps else float("nan")
    print(
        f"SUMMARY mankowska budget={args.budget:g} instances={len(files)} "
        f"feasible={feasible} mean_gap={mean_gap:.2f}%"
    )


# --------------------------------------------------------------------------- matrix

MONACO = Path(__file__).resolve().parents[1] / "data" / "monaco.osm.pbf"
# Prepared graphs are regenerable: keep them out of the working tree.
CACHE = Path(tempfile.gettempdir()) / "tournee-roads"


def bench_matrix(args: argparse.Namespace) -> None:
    """Time N x N matrices on the Monaco drive graph against networkx."""
    import networkx as nx

    from routing.network import load_network, network_matrices

    del args
    t0 = time.perf_counter()
    net = load_network(MONACO, "drive", CACHE)
    load_s = time.perf_counter() - t0
    print(f"graph nodes={net.n_nodes} edges={len(net.src)} load_s={load_s:.3f}")
    g = nx.DiGraph()
    for u, v, w in zip(net.src, net.dst, net.seconds, strict=True):
        g.add_edge(int(u), int(v), weight=float(w))
    rng = np.random.default_rng(0)
    # Nodes jittered by up to ~100 m: addresses near streets, not uniform in the bbox.
    network_matrices(net, [(float(net.lat[0]), float(net.lon[0]))])  # build the KD-tree
    rows = []
    print("n ours_s networkx_s speedup max_abs_diff_s")
    for n in (50, 200, 500):
        idx = rng.choice(net.n_nodes, n)
        pts = [
            (float(net.lat[i] + rng.uniform(-9e-4, 9e-4)),
             float(net.lon[i] + rng.uniform(-9e-4, 9e-4)))
            for i in idx
        ]
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            secs, _metres = network_matrices(net, pts, max_snap_m=1e9)
            best = min(best, time.perf_counter() - t0)
        nodes, snap_m = net.snap(pts)
        t0 = time.perf_counter()
        ref = np.zeros((n, n))
        for a, u in enumerate(nodes):
            dist = nx.single_source_dijkstra_path_length(g, int(u), weight="weight")
            ref[a] = [dist[int(v)] for v in nodes]
        nx_s = time.perf_counter() - t0
        speed = 30 / 3.6
        ref = ref + snap_m[:, None] / speed + snap_m[None, :] / speed
        np.fill_diagonal(ref, 0)
        diff = float(np.abs(secs - np.rint(ref)).max())
        rows.append((n, best, nx_s, diff))
        print(f"{n} {best:.4f} {nx_s:.3f} {nx_s / best:.1f} {diff:.1f}", flush=True)
    agree = all(r[3] <= 1.0 for r in rows)
    t500 = next(r[1] for r in rows if r[0] == 500)
    print(
        f"SUMMARY matrix graph=monaco_drive nodes={net.n_nodes} n500_s={t500:.3f} "
        f"agreement={'yes' if agree else 'no'} max_abs_diff_s={max(r[3] for r in rows):.1f}"
    )


# --------------------------------------------------------------------------- day

H = 3600
MIN = 60


def make_day(seed: int = 0) -> Problem:
    """Generate a realistic SAAD day on the Monaco network: 30 carers, 300 visits.

    Peaks at morning (getting up, washing), lunch (meals) and evening (bedtime); skills,
    ten two-carer transfers, one or two usual carers per client, BAD breaks.
    """
    from routing.network import load_network, network_matrices, street_points

    rng = random.Random(seed)
    n_carers, n_clients = 30, 140
    pts = street_points(MONACO, n_carers + n_clients, seed, cache_dir=CACHE)
    travel: dict[str, np.ndarray] = {}
    distance: dict[str, np.ndarray] = {}
    for mode in ("drive", "bike"):
        secs, metres = network_matrices(load_network(MONACO, mode, CACHE), pts)
        travel[mode], distance[mode] = secs, metres
    carers = []
    for k in range(n_carers):
        # 11 morning, 7 full-day, 12 afternoon/evening carers (a SAAD's usual spread).
        if k < 11:
            shift = TimeWindow(7 * H, 13 * H + 30 * MIN)
        elif k < 18:
            shift = TimeWindow(8 * H, 17 * H + 30 * MIN)
        else:
            shift = TimeWindow(12 * H, 21 * H)
        skills = {"toilette", "repas"}
        if k % 5 in (0, 2):
            skills.add("transferts")
        carers.append(
            Carer(
                id=f"c{k:02d}",
                name=f"Intervenante {k + 1}",
                shift=shift,
                start_place=k,
                end_place=k,
                skills=frozenset(skills),
                mode=Mode.BIKE if k % 6 == 5 else Mode.DRIVE,
                max_work_s=9 * H,
                contract_work_s=7 * H,
                breaks=BreakRule(),
            )
        )
    kinds = [
        # name, probability, window start range (h), hard width, duration range (min), skills
        ("lever", 0.75, (7.25, 10.25), 105, (25, 35), {"toilette"}),
        ("repas", 0.50, (11.25, 12.75), 90, (20, 30), {"repas"}),
        ("courses", 0.35, (13.5, 16.5), 120, (40, 50), {"repas"}),
        ("coucher", 0.50, (17.0, 19.75), 90, (20, 30), {"toilette"}),
    ]
    raw: list[tuple[int, str, int, int, int, set[str]]] = []
    for c in range(n_clients):
        for name, prob, (lo, hi), width, (dmin, dmax), skills in kinds:
            if rng.random() < prob:
                start = int(rng.uniform(lo, hi) * 4) * 15 * MIN
                raw.append((c, name, start, width * MIN, rng.randint(dmin, dmax) * MIN, skills))
    rng.shuffle(raw)
    raw = raw[:300]
    while len(raw) < 300:
        c = rng.randrange(n_clients)
        raw.append((c, "repas", 12 * H, 75 * MIN, 30 * MIN, {"repas"}))
    # Usual carers: two carers living near the client whose shift covers the visit.
    visits = []
    two_left = 10
    for i, (c, name, start, width, dur, skills) in enumerate(sorted(raw, key=lambda r: r[2])):
        place = n_carers + c
        able = [
            k for k in range(n_carers)
            if carers[k].shift.start <= start - 20 * MIN
            and start + width + dur + 20 * MIN <= carers[k].shift.end
            and skills <= carers[k].skills
        ]
        able.sort(key=lambda k: int(travel["drive"][k, place]))
        usual = frozenset(carers[k].id for k in able[:2])
        two = name == "lever" and two_left > 0 and rng.random() < 0.15
        if two:
            two_left -= 1
            skills = {"toilette", "transferts"}
        visits.append(
            Visit(
                id=f"v{i:03d}",
                place=place,
                client=f"Client {c + 1}",
                window=TimeWindow(start, start + width),
                preferred=TimeWindow(start, start + 30 * MIN),
                duration_s=dur,
                skills=frozenset(skills),
                carers_needed=2 if two else 1,
                usual_carers=usual,
            )
        )
    costs = Costs(non_usual_carer=3 * MIN, lateness_per_s=0, waiting_per_s=0)
    return Problem(
        carers=tuple(carers),
        visits=tuple(visits),
        travel=travel,
        distance=distance,
        costs=costs,
        access_s=2 * MIN,
    )


def coordinator_baseline(problem: Problem) -> dict[str, float]:
    """Assign visits like a coordinator: by window start, to the usual carer when able.

    A carer is able when she holds the skills, can reach the client within the window
    after her previous visit, and can still get home before her shift ends. Otherwise the
    visit goes to the able carer who is closest. Visits are appended to the end of routes.
    """
    state = {c.id: (c.start_place, c.shift.start) for c in problem.carers}
    carers = {c.id: c for c in problem.carers}
    travel = 0
    assigned = 0
    usual_hits = usual_total = 0
    last_place: dict[str, int] = {}

    def option(cid: str, v: Visit) -> int | None:
        c = carers[cid]
        if not v.skills <= c.skills or cid in v.refused_carers:
            return None
        place, t = state[cid]
        start = max(t + problem.travel_s(str(c.mode), place, v.place), v.window.start)
        back = problem.travel_s(str(c.mode), v.place, c.end_place)
        if start > v.window.end or start + v.duration_s + back > c.shift.end:
            return None
        return start

    for v in sorted(problem.visits, key=lambda v: v.window.start):
        order = sorted(v.usual_carers) + sorted(
            (c.id for c in problem.carers if c.id not in v.usual_carers),
            key=lambda cid: problem.travel_s("drive", state[cid][0], v.place),
        )
        chosen: list[tuple[str, int]] = []
        for cid in order:
            st = option(cid, v)
            if st is not None:
                chosen.append((cid, st))
            if len(chosen) == v.carers_needed:
                break
        if len(chosen) < v.carers_needed:
            continue
        start = max(st for _, st in chosen)
        if start > v.window.end:
            continue
        assigned += 1
        if v.usual_carers:
            usual_total += 1
            usual_hits += any(cid in v.usual_carers for cid, _ in chosen)
        for cid, _ in chosen:
            c = carers[cid]
            place, _t = state[cid]
            travel += problem.travel_s(str(c.mode), place, v.place)
            state[cid] = (v.place, start + v.duration_s)
            last_place[cid] = v.place
    for cid, place in last_place.items():
        c = carers[cid]
        travel += problem.travel_s(str(c.mode), place, c.end_place)
    return {
        "assigned": assigned,
        "travel_s": travel,
        "continuity": usual_hits / usual_total if usual_total else 0.0,
    }


def _hm(t: int | None) -> str:
    return "-" if t is None else f"{t // H}:{t % H // MIN:02d}"


def bench_day(args: argparse.Namespace) -> None:
    """Solve the generated day, compare with the coordinator baseline, then re-plan."""
    from routing.solve import replan

    problem = make_day(args.seed)
    base = coordinator_baseline(problem)
    t0 = time.perf_counter()
    plan = solve(problem, time_limit_s=args.budget, seed=args.seed)
    solve_s = time.perf_counter() - t0
    errs = violations(problem, plan)
    window_viol = sum(1 for e in errs if "outside" in e)
    print("carer visits travel_min work_min breaks")
    for r in plan.routes:
        print(
            f"{r.carer_id} {len(r.stops)} {r.travel_s / 60:.0f} {r.work_s / 60:.0f} "
            f"{len(r.breaks)}"
        )
    f = plan.figures
    print(
        f"baseline assigned={base['assigned']} travel_min={base['travel_s'] / 60:.0f} "
        f"continuity={100 * base['continuity']:.1f}%"
    )
    print(
        f"tournee assigned={f.assigned} travel_min={f.travel_s / 60:.0f} "
        f"km={f.travel_m / 1000:.1f} violations={len(errs)} {'; '.join(errs[:3])}"
    )
    reasons: dict[str, int] = {}
    for u in plan.unassigned:
        reasons[u.reason] = reasons.get(u.reason, 0) + 1
    for reason, count in reasons.items():
        print(f"unassigned {count}: {reason}")
    # Re-plan: the busiest morning carer is absent from 10:12.
    now = 10 * H + 12 * MIN
    busy = max(
        (r for r in plan.routes if r.stops and r.stops[-1].start >= now),
        key=lambda r: sum(1 for s in r.stops if s.start >= now),
    )
    t0 = time.perf_counter()
    after = replan(problem, plan, now=now, absences={busy.carer_id: now}, time_limit_s=5.0)
    replan_s = time.perf_counter() - t0
    before_started = {
        (s.visit_id, s.part): (r.carer_id, s.start)
        for r in plan.routes for s in r.stops if s.start < now
    }
    after_all = {(s.visit_id, s.part): (r.carer_id, s.start) for r in after.routes for s in r.stops}
    untouched = all(after_all.get(k) == v for k, v in before_started.items())
    absent_after = after.route(busy.carer_id)
    absent_ok = absent_after is None or all(s.start < now for s in absent_after.stops)
    errs2 = violations(problem, after)
    print(
        f"REPLAN absent={busy.carer_id} from=10:12 replan_s={replan_s:.2f} "
        f"started_untouched={'yes' if untouched and absent_ok else 'no'} "
        f"changes={len(after.changes)} assigned={after.figures.assigned} "
        f"violations={len(errs2)}"
    )
    for ch in after.changes[:15]:
        was, now_ = ",".join(ch.before) or "-", ",".join(ch.after) or "-"
        t_was, t_now = _hm(ch.start_before), _hm(ch.start_after)
        print(f"  change {ch.visit_id}: {was} {t_was} -> {now_} {t_now}")
    ratio = f.travel_s / base["travel_s"] if base["travel_s"] else float("nan")
    print(
        f"SUMMARY day visits={len(problem.visits)} assigned={f.assigned} "
        f"window_violations={window_viol} travel_ratio_vs_baseline={ratio:.2f} "
        f"continuity={100 * f.usual_share:.1f}% solve_s={solve_s:.1f}"
    )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one benchmark."""
    ap = argparse.ArgumentParser(prog="python -m bench.routing")
    sub = ap.add_subparsers(dest="bench", required=True)
    so = sub.add_parser("solomon")
    so.add_argument("--budget", type=float, default=5.0)
    so.add_argument("--instances", type=int, default=0)
    so.add_argument("--only", default="")
    so.add_argument("--solvers", default="")
    so.add_argument("--seed", type=int, default=0)
    so.add_argument(
        "--peer-objective", choices=["hierarchical", "distance"], default="hierarchical"
    )
    mk = sub.add_parser("mankowska")
    mk.add_argument("--budget", type=float, default=10.0)
    mk.add_argument("--max-size", type=int, default=1000)
    mk.add_argument("--min-size", type=int, default=0)
    mk.add_argument("--instances", type=int, default=0)
    mk.add_argument("--seed", type=int, default=0)
    sub.add_parser("matrix")
    dy = sub.add_parser("day")
    dy.add_argument("--budget", type=float, default=27.0)
    dy.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.bench == "solomon":
        bench_solomon(args)
    elif args.bench == "mankowska":
        bench_mankowska(args)
    elif args.bench == "matrix":
        bench_matrix(args)
    else:
        bench_day(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

