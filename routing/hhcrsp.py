"""Ruin-and-recreate search for home health care days with synchronised two-carer visits.

OR-Tools moves one node at a time, so a visit needing two carers at once is nearly frozen
once placed: moving one part breaks the synchronisation. This search removes and
re-inserts whole patients (both parts together), evaluates every plan exactly with an
event-driven schedule (earliest starts, waiting allowed, synchronisation as a minimum and
maximum gap between the two parts) and accepts changes by simulated annealing.

It works on plain lists so that the hot loops stay fast in CPython; the Mankowska reader
(:mod:`routing.mankowska`) builds a :class:`Tasks` from an instance file.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from dataclasses import dataclass, field

#: Candidate positions kept per part when pairing the two parts of a patient.
PAIR_CANDIDATES = 6
#: Weight of the estimated knock-on delay when a synchronised partner is pushed later.
PARTNER_PUSH = 0.5


@dataclass
class Tasks:
    """A day as flat task lists: one task per (patient, service).

    Parameters
    ----------
    node
        Place of each task (0 is the depot where every carer starts and ends).
    early, due
        Earliest start (hard) and due time (later starts are tardy) of each task.
    partner
        The other task of a two-carer patient, or -1.
    first
        Whether the task is the first of its pair (the gap is measured from it).
    min_gap, max_gap
        Allowed gap ``start(second) - start(first)`` for pairs (0, 0 = simultaneous).
    proc
        ``proc[t][k]``: processing time of task ``t`` by carer ``k``.
    able
        ``able[t]``: carers qualified for task ``t``.
    dist
        Node-by-node travel time (= distance).
    n_carers
        Number of carers.
    """

    node: list[int]
    early: list[float]
    due: list[float]
    partner: list[int]
    first: list[bool]
    min_gap: list[float]
    max_gap: list[float]
    proc: list[list[float]]
    able: list[list[int]]
    dist: list[list[float]]
    n_carers: int
    patients: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.patients:
            seen: set[int] = set()
            for t in range(len(self.node)):
                if t in seen:
                    continue
                q = self.partner[t]
                group = [t] if q < 0 else sorted((t, q), key=lambda x: not self.first[x])
                seen.update(group)
                self.patients.append(group)


@dataclass
class Solution:
    """Routes (task ids per carer), their schedule and objective parts."""

    routes: list[list[int]]
    start: list[float]
    distance: float
    tardiness: float
    max_tardiness: float

    @property
    def objective(self) -> float:
        """Return distance + total tardiness + maximal tardiness."""
        return self.distance + self.tardiness + self.max_tardiness


class Search:
    """Build and improve a plan for :class:`Tasks`; see :func:`search`."""

    def __init__(self, tasks: Tasks, rng: random.Random) -> None:
        self.tk = tasks
        self.rng = rng
        self.n = len(tasks.node)
        self.routes: list[list[int]] = [[] for _ in range(tasks.n_carers)]
        self.carer_of = [-1] * self.n
        self.start = [-1.0] * self.n
        self.distance = 0.0
        self.tardiness = 0.0
        self.max_tardiness = 0.0
        self.feasible = True
        # Relatedness of patients (space and time) for the related removal.
        d, node, early = tasks.dist, tasks.node, tasks.early
        heads = [g[0] for g in tasks.patients]
        self.related: list[list[int]] = []
        for a in range(len(heads)):
            ta = heads[a]
            score = [
                (d[node[ta]][node[heads[b]]] + abs(early[ta] - early[heads[b]]), b)
                for b in range(len(heads))
                if b != a
            ]
            score.sort()
            self.related.append([b for _, b in score])
        self.patient_of = [0] * self.n
        for pi, g in enumerate(tasks.patients):
            for t in g:
                self.patient_of[t] = pi

    # ------------------------------------------------------------------ evaluation

    def evaluate(self) -> bool:
        """Schedule every route at earliest starts; return False on a circular wait."""
        tk = self.tk
        node, early, due, partner, first = tk.node, tk.early, tk.due, tk.partner, tk.first
        proc, d, mind, maxd = tk.proc, tk.dist, tk.min_gap, tk.max_gap
        routes, carer_of = self.routes, self.carer_of
        n_car = tk.n_carers
        start = [-1.0] * self.n
        ready = [-1.0] * self.n
        ptr = [0] * n_car
        free = [0.0] * n_car
        loc = [0] * n_car
        queue = list(range(n_car))
        while queue:
            k = queue.pop()
            r = routes[k]
            i = ptr[k]
            f, here = free[k], loc[k]
            while i < len(r):
                t = r[i]
                nt = node[t]
                arr = f + d[here][nt]
                if arr < early[t]:
                    arr = early[t]
                q = partner[t]
                if q < 0:
                    start[t] = arr
                    f, here = arr + proc[t][k], nt
                    i += 1
                    continue
                if ready[q] < 0.0:
                    ready[t] = arr
                    break
                if first[t]:
                    s2 = max(ready[q], arr + mind[t])
                    s1 = max(arr, s2 - maxd[t])
                    start[t], start[q] = s1, s2
                else:
                    s2 = max(arr, ready[q] + mind[t])
                    s1 = max(ready[q], s2 - maxd[t])
                    start[q], start[t] = s1, s2
                f, here = start[t] + proc[t][k], nt
                i += 1
                kq = carer_of[q]
                free[kq] = start[q] + proc[q][kq]
                loc[kq] = nt
                ptr[kq] += 1
                queue.append(kq)
            ptr[k], free[k], loc[k] = i, f, here
        total = worst = dist = 0.0
        for k in range(n_car):
            r = routes[k]
            if ptr[k] != len(r):
                self.feasible = False
                return False
            prev = 0
            for t in r:
                dist += d[prev][node[t]]
                prev = node[t]
                late = start[t] - due[t]
                if late > 0.0:
                    total += late
                    if late > worst:
                        worst = late
            dist += d[prev][0]
        self.start = start
        self.distance, self.tardiness, self.max_tardiness = dist, total, worst
        self.feasible = True
        return True

    @property
    def objective(self) -> float:
        """Return the objective of the current routes (after :meth:`evaluate`)."""
        return self.distance + self.tardiness + self.max_tardiness

    def _push(self, k: int, r: list[int], j: int, f: float, here: int) -> tuple[float, float]:
        """Estimate the extra tardiness when route ``r`` resumes at ``j`` free at ``f``.

        Returns the cost increase and the largest new tardiness met.
        """
        tk = self.tk
        node, early, due, partner = tk.node, tk.early, tk.due, tk.partner
        d, proc, st = tk.dist, tk.proc, self.start
        cost = 0.0
        worst = 0.0
        while j < len(r):
            t = r[j]
            nt = node[t]
            arr = f + d[here][nt]
            if arr < early[t]:
                arr = early[t]
            old = st[t]
            if arr <= old + 1e-9:
                break
            lt = due[t]
            if arr > lt:
                cost += arr - lt - (old - lt if old > lt else 0.0)
                if arr - lt > worst:
                    worst = arr - lt
            q = partner[t]
            if q >= 0:
                oq = st[q]
                if tk.max_gap[t] == 0.0:
                    nq = arr
                elif tk.first[t]:
                    nq = max(oq, arr + tk.min_gap[t])
                else:
                    nq = max(oq, arr - tk.max_gap[t])
                if nq > oq:
                    lq = due[q]
                    cost += PARTNER_PUSH * (nq - oq)
                    if nq > lq:
                        cost += nq - lq - (oq - lq if oq > lq else 0.0)
                        if nq - lq > worst:
                            worst = nq - lq
            f, here = arr + proc[t][k], nt
            j += 1
        return cost, worst

    def _slot(self, k: int, pos: int, t: int) -> tuple[float, float]:
        """Return (arrival at task ``t`` inserted at ``pos`` of carer ``k``, extra distance)."""
        tk = self.tk
        r = self.routes[k]
        d, nt = tk.dist, tk.node[t]
        if pos == 0:
            f, here = 0.0, 0
        else:
            p = r[pos - 1]
            f, here = self.start[p] + tk.proc[p][k], tk.node[p]
        nxt = tk.node[r[pos]] if pos < len(r) else 0
        arr = f + d[here][nt]
        if arr < tk.early[t]:
            arr = tk.early[t]
        return arr, d[here][nt] + d[nt][nxt] - d[here][nxt]

    def _cost_at(self, k: int, pos: int, t: int, s: float, extra: float) -> float:
        """Estimate the cost of starting task ``t`` at ``s`` at position ``pos`` of ``k``."""
        tk = self.tk
        r = self.routes[k]
        late = s - tk.due[t]
        cost = extra + (late if late > 0.0 else 0.0)
        push, worst = self._push(k, r, pos, s + tk.proc[t][k], tk.node[t])
        worst = max(worst, late)
        return cost + push + max(0.0, worst - self.max_tardiness)

    def _best_slots(self, t: int, keep: int) -> list[tuple[float, int, int, float, float]]:
        """Return the ``keep`` cheapest places for task ``t``: (cost, k, pos, arrival, extra).

        A place whose extra distance plus own tardiness (a lower bound of its cost) cannot
        beat the ``keep``-th best so far is not evaluated further.
        """
        tk = self.tk
        due = tk.due[t]
        heap: list[tuple[float, int, int, int, float, float]] = []  # max-heap on cost
        n = 0
        for k in tk.able[t]:
            for pos in range(len(self.routes[k]) + 1):
                arr, extra = self._slot(k, pos, t)
                if len(heap) == keep:
                    bound = extra + (arr - due if arr > due else 0.0)
                    r = self.routes[k]
                    if pos < len(r):
                        # the next stop is pushed at least this much (its own tardiness)
                        nx = r[pos]
                        come = arr + tk.proc[t][k] + tk.dist[tk.node[t]][tk.node[nx]]
                        old, dn = self.start[nx], tk.due[nx]
                        if come > old and come > dn:
                            bound += come - dn - (old - dn if old > dn else 0.0)
                    if bound >= -heap[0][0]:
                        continue
                cost = self._cost_at(k, pos, t, arr, extra)
                n += 1
                item = (-cost, n, k, pos, arr, extra)
                if len(heap) < keep:
                    heapq.heappush(heap, item)
                elif cost < -heap[0][0]:
                    heapq.heapreplace(heap, item)
        return sorted((-c, k, pos, arr, extra) for c, _, k, pos, arr, extra in heap)

    def _options(self, group: list[int]) -> list[tuple[float, tuple[int, int, int, int]]]:
        """List insertions of a patient, best first: (cost, (k1, pos1, k2, pos2))."""
        tk = self.tk
        if len(group) == 1:
            return [(c, (k, pos, -1, -1)) for c, k, pos, _, _ in self._best_slots(group[0], 8)]
        t1, t2 = group
        mind, maxd = tk.min_gap[t1], tk.max_gap[t1]
        c1 = self._best_slots(t1, PAIR_CANDIDATES * 2)
        c2 = self._best_slots(t2, PAIR_CANDIDATES * 2)
        out = []
        for _, k1, p1, a1, x1 in c1:
            for _, k2, p2, a2, x2 in c2:
                if k1 == k2:
                    continue
                s2 = max(a2, a1 + mind)
                s1 = max(a1, s2 - maxd)
                cost = self._cost_at(k1, p1, t1, s1, x1) + self._cost_at(k2, p2, t2, s2, x2)
                out.append((cost, (k1, p1, k2, p2)))
        out.sort()
        return out

    def insert(self, group: list[int]) -> bool:
        """Insert a patient at its best estimated place; return False if nowhere fits."""
        for _, (k1, p1, k2, p2) in self._options(group)[:8]:
            self.routes[k1].insert(p1, group[0])
            self.carer_of[group[0]] = k1
            if k2 >= 0:
                self.routes[k2].insert(p2, group[1])
                self.carer_of[group[1]] = k2
            if self.evaluate():
                return True
            self.routes[k1].remove(group[0])
            if k2 >= 0:
                self.routes[k2].remove(group[1])
        # Last in two routes, a pair waits for nobody else's stop: never a circular wait.
        t1, t2 = group[0], group[-1]
        for k1 in self.tk.able[t1]:
            for k2 in self.tk.able[t2] if len(group) == 2 else [-1]:
                if k1 == k2:
                    continue
                self.routes[k1].append(t1)
                self.carer_of[t1] = k1
                if k2 >= 0:
                    self.routes[k2].append(t2)
                    self.carer_of[t2] = k2
                return self.evaluate()
        self.evaluate()
        return False

    def remove(self, pis: list[int]) -> None:
        """Take patients out of their routes (no re-evaluation)."""
        for pi in pis:
            for t in self.tk.patients[pi]:
                k = self.carer_of[t]
                if k >= 0:
                    self.routes[k].remove(t)
                    self.carer_of[t] = -1

    # ------------------------------------------------------------------ operators

    def _ruin(self, size: int) -> list[int]:
        rng = self.rng
        n_pat = len(self.tk.patients)
        op = rng.random()
        if op < 0.45:
            seed = rng.randrange(n_pat)
            near = self.related[seed]
            picked = [seed]
            i = 0
            while len(picked) < size and i < len(near):
                if rng.random() < 0.8:
                    picked.append(near[i])
                i += 1
            return picked
        if op < 0.7:
            # the tardiest patients and their neighbours in time
            late = sorted(
                range(n_pat),
                key=lambda p: -max(self.start[t] - self.tk.due[t] for t in self.tk.patients[p]),
            )
            top = late[: max(1, size // 2)]
            rest = rng.sample(range(n_pat), min(n_pat, size))
            return list(dict.fromkeys(top + rest))[:size]
        if op < 0.85:
            # a string of consecutive stops of one carer, with its partners
            k = rng.randrange(self.tk.n_carers)
            r = self.routes[k]
            if r:
                a = rng.randrange(len(r))
                seg = r[a : a + size]
                return list(dict.fromkeys(self.patient_of[t] for t in seg))
        return rng.sample(range(n_pat), min(n_pat, size))

    def _order(self, pis: list[int]) -> list[int]:
        rng = self.rng
        tk = self.tk
        op = rng.random()
        if op < 0.4:
            rng.shuffle(pis)
        elif op < 0.7:
            pis.sort(key=lambda p: tk.early[tk.patients[p][0]] + rng.random() * 30)
        else:
            # two-carer patients first: they are the hardest to place
            pis.sort(key=lambda p: (-len(tk.patients[p]), rng.random()))
        return pis

    # ------------------------------------------------------------------ driver

    def snapshot(self) -> Solution:
        """Copy the current routes and schedule."""
        return Solution(
            [list(r) for r in self.routes],
            list(self.start),
            self.distance,
            self.tardiness,
            self.max_tardiness,
        )

    def restore(self, sol: Solution) -> None:
        """Return to a saved solution."""
        self.routes = [list(r) for r in sol.routes]
        for k, r in enumerate(self.routes):
            for t in r:
                self.carer_of[t] = k
        self.start = list(sol.start)
        self.distance, self.tardiness = sol.distance, sol.tardiness
        self.max_tardiness = sol.max_tardiness

    def construct(self) -> bool:
        """Insert every patient, earliest windows first; return False if one is left out."""
        order = sorted(
            range(len(self.tk.patients)), key=lambda p: self.tk.early[self.tk.patients[p][0]]
        )
        self.evaluate()
        return all(self.insert(self.tk.patients[p]) for p in order)

    def run(self, deadline: float) -> Solution:
        """Improve until ``deadline`` (``time.perf_counter()``); return the best found."""
        rng = self.rng
        n_pat = len(self.tk.patients)
        if not self.construct():
            raise RuntimeError("no feasible first plan")
        best = cur = self.snapshot()
        t0 = time.perf_counter()
        span = max(1e-3, deadline - t0)
        # Annealing from 30x to 0.3x the mean cost per patient. Measured at equal CPU time
        # on D2, E3, G1, B5, C3: starting 10x or 100x cooler gave 1-8 % worse plans.
        temp0 = 30.0 * cur.objective / max(1, n_pat)
        max_size = max(2, min(30, n_pat // 5 + 2))
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            frac = (now - t0) / span
            temp = temp0 * (0.01**frac)
            size = rng.randint(1, max_size)
            pis = self._ruin(size)
            self.remove(pis)
            self.evaluate()
            ok = all(self.insert(self.tk.patients[p]) for p in self._order(pis))
            if not ok:
                self.restore(cur)
                continue
            obj = self.objective
            if obj < cur.objective - 1e-9 or rng.random() < math.exp(
                -(obj - cur.objective) / max(temp, 1e-9)
            ):
                cur = self.snapshot()
                if obj < best.objective - 1e-9:
                    best = cur
            else:
                self.restore(cur)
        return best


def search(tasks: Tasks, *, time_limit_s: float, seed: int = 0) -> Solution:
    """Plan every task within ``time_limit_s`` seconds.

    Parameters
    ----------
    tasks
        The day.
    time_limit_s
        Wall-clock budget.
    seed
        Random seed.

    Returns
    -------
    Solution
        The best plan found (every task served, synchronisation respected).
    """
    deadline = time.perf_counter() + time_limit_s
    rng = random.Random(seed)  # noqa: S311  (a search, not cryptography)
    return Search(tasks, rng).run(deadline)
