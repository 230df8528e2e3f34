"""Check a plan against its problem, independently of the solver.

Nothing here is shared with :mod:`routing.solve` or :mod:`routing._ortools`: times are
re-derived from the matrices and the stop order, so a bug in the solver's bookkeeping shows
up as a violation here.
"""

from __future__ import annotations

from routing.model import Plan, Problem


def _travel(problem: Problem, mode: str, a: int, b: int) -> int:
    if a == b:
        return 0
    return int(problem.travel[mode][a][b]) + problem.access_s


def violations(problem: Problem, plan: Plan) -> list[str]:
    """List every broken hard rule of a plan (empty when feasible).

    Checked: each visit served once (two distinct carers for two-carer visits) or listed
    as unassigned with a reason; windows, pinned carers and times; skills; refused carers;
    shifts including travel from and to home; travel time between consecutive stops, breaks
    included; breaks (20 min within every 6 h on duty; meal break when the shift spans
    lunch); synchronisation; capacity; maximum working time; amplitude of the day (leaving
    home to coming back); the rest owed after the previous working day and before the next.

    Parameters
    ----------
    problem
        The day.
    plan
        A plan for it.

    Returns
    -------
    list of str
        Human-readable violations.
    """
    out: list[str] = []
    carers = {c.id: c for c in problem.carers}
    visits = {v.id: v for v in problem.visits}
    parts: dict[str, list[tuple[str, int, int]]] = {}
    for r in plan.routes:
        c = carers.get(r.carer_id)
        if c is None:
            out.append(f"unknown carer {r.carer_id}")
            continue
        mode = str(c.mode)
        t = r.departure
        if t < c.shift.start:
            out.append(f"{c.id}: leaves at {t} before shift start {c.shift.start}")
        place = c.start_place
        load = 0
        work = 0
        breaks = sorted(r.breaks, key=lambda b: b.start)
        for b in breaks:
            if b.end <= b.start:
                out.append(f"{c.id}: empty break at {b.start}")
        for s in r.stops:
            v = visits.get(s.visit_id)
            if v is None:
                out.append(f"{c.id}: unknown visit {s.visit_id}")
                continue
            if s.place != v.place:
                out.append(f"{v.id}: stop place {s.place} is not the visit's {v.place}")
            tr = _travel(problem, mode, place, v.place)
            if place != v.place:
                tr += v.access_s
            pause = sum(b.end - b.start for b in breaks if t <= b.start and b.end <= s.start)
            for b in breaks:
                if b.start < s.end and s.start < b.end:
                    out.append(f"{c.id}: break {b.start}-{b.end} overlaps visit {v.id}")
            if s.start < t + tr + pause:
                out.append(
                    f"{c.id}: visit {v.id} starts at {s.start}, cannot arrive before "
                    f"{t + tr + pause}"
                )
            if not v.window.start <= s.start <= v.window.end:
                out.append(
                    f"{v.id}: start {s.start} outside [{v.window.start}, {v.window.end}]"
                )
            if s.part not in range(v.carers_needed):
                out.append(f"{v.id}: invalid part {s.part}")
                continue
            dur = (
                v.second_duration_s
                if s.part == 1 and v.second_duration_s is not None
                else v.duration_s
            )
            if s.end - s.start != dur:
                out.append(f"{v.id}: lasts {s.end - s.start}, expected {dur}")
            need = v.second_skills if s.part == 1 and v.second_skills is not None else v.skills
            if not need <= c.skills:
                out.append(f"{v.id}: {c.id} lacks {sorted(need - c.skills)}")
            if c.id in v.refused_carers:
                out.append(f"{v.id}: refused carer {c.id}")
            if v.pinned_carer is not None and s.part == 0 and c.id != v.pinned_carer:
                out.append(f"{v.id}: pinned to {v.pinned_carer}, done by {c.id}")
            if v.pinned_start is not None and s.part == 0 and s.start != v.pinned_start:
                out.append(f"{v.id}: pinned at {v.pinned_start}, starts {s.start}")
            parts.setdefault(v.id, []).append((c.id, s.part, s.start))
            load += v.demand
            work += tr + dur
            t = s.end
            place = v.place
        back = _travel(problem, mode, place, c.end_place)
        pause = sum(b.end - b.start for b in breaks if t <= b.start and b.end <= r.return_time)
        work += back
        if r.return_time < t + back + pause:
            out.append(f"{c.id}: home at {r.return_time}, cannot before {t + back + pause}")
        if r.return_time > c.shift.end:
            out.append(f"{c.id}: home at {r.return_time} after shift end {c.shift.end}")
        if c.capacity and load > c.capacity:
            out.append(f"{c.id}: load {load} > capacity {c.capacity}")
        if c.max_work_s is not None and work > c.max_work_s:
            out.append(f"{c.id}: works {work} s > {c.max_work_s}")
        if r.stops and c.max_amplitude_s is not None:
            span = r.return_time - r.departure
            if span > c.max_amplitude_s:
                out.append(f"{c.id}: amplitude {span} s > {c.max_amplitude_s}")
        if r.stops and c.previous_end is not None:
            rest = r.departure - c.previous_end
            if rest < c.min_rest_s:
                out.append(f"{c.id}: {rest} s of rest since the previous day < {c.min_rest_s}")
        if r.stops and c.next_start is not None:
            rest = c.next_start - r.return_time
            if rest < c.min_rest_s:
                out.append(f"{c.id}: {rest} s of rest before the next day < {c.min_rest_s}")
        rule = c.breaks
        if rule is not None and r.stops:
            long_enough = [b for b in breaks if b.end - b.start >= rule.min_break_s]
            edge = r.departure
            for b in long_enough:
                if b.start >= r.return_time or b.end <= r.departure:
                    continue
                if b.start - edge > rule.after_work_s:
                    out.append(f"{c.id}: {b.start - edge} s on duty without a break")
                edge = max(edge, b.end)
            if r.return_time - edge > rule.after_work_s:
                out.append(f"{c.id}: {r.return_time - edge} s on duty without a break")
            mw = rule.meal_window
            spans = mw is not None and c.shift.start <= mw.start and c.shift.end >= mw.end
            route_spans = mw is not None and r.departure < mw.start and r.return_time > mw.end
            if spans and route_spans and mw is not None:
                meals = [
                    b
                    for b in breaks
                    if b.end - b.start >= rule.meal_s and mw.start <= b.start <= mw.end
                ]
                if not meals:
                    out.append(f"{c.id}: no meal break in the lunch window")
    assigned = set(parts)
    listed = [u.visit_id for u in plan.unassigned]
    if len(set(listed)) != len(listed):
        out.append("a visit is listed twice as unassigned")
    for u in plan.unassigned:
        if not u.reason:
            out.append(f"{u.visit_id}: unassigned without a reason")
        if u.visit_id in assigned:
            out.append(f"{u.visit_id}: both assigned and unassigned")
    for v in problem.visits:
        got = parts.get(v.id)
        if got is None:
            if v.id not in listed:
                out.append(f"{v.id}: neither served nor listed as unassigned")
            continue
        if sorted(p for _, p, _ in got) != list(range(v.carers_needed)):
            out.append(f"{v.id}: parts served {sorted(p for _, p, _ in got)}")
            continue
        if v.carers_needed == 2:
            (c0, _, t0), (c1, _, t1) = sorted(got, key=lambda g: g[1])
            if c0 == c1:
                out.append(f"{v.id}: both parts by {c0}")
            gap = t1 - t0
            if not v.sync.min_gap_s <= gap <= v.sync.max_gap_s:
                out.append(
                    f"{v.id}: gap {gap} outside [{v.sync.min_gap_s}, {v.sync.max_gap_s}]"
                )
            if v.pinned_carer is not None and c1 == v.pinned_carer:
                out.append(f"{v.id}: pinned carer on the second part")
    return out


def is_feasible(problem: Problem, plan: Plan) -> bool:
    """Return whether the plan breaks no hard rule."""
    return not violations(problem, plan)
