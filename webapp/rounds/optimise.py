"""Turn a day's rows into a routing problem, and the solver's plan back into assignments.

The routing library knows nothing of the database: this module is the only bridge. Times
are seconds after midnight, Paris time, on the planned day; a carer with a split shift
(morning and evening) becomes one routing carer per shift, with ids ``"<carer id>:<n>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from routing.model import BreakRule, Mode, Plan, Problem, TimeWindow
from routing.model import Carer as RCarer
from routing.model import Visit as RVisit
from routing.network import travel_matrices
from routing.solve import solve
from webapp.audit.services import record
from webapp.carers.models import Absence, Carer
from webapp.clients.models import Client
from webapp.extensions import db
from webapp.i18n import N_
from webapp.rounds.models import RoundPlan
from webapp.timeutil import paris_datetime, to_paris, utcnow
from webapp.visits.models import OPEN_STATUSES, Visit, VisitAssignment
from webapp.visits.services import VisitError, assign

MODES = {"car": Mode.DRIVE, "bike": Mode.BIKE, "foot": Mode.WALK}
# Shorter pieces of a shift (after cutting out an absence) are not worth a trip.
MIN_SHIFT_S = 30 * 60
LUNCH = (12 * 3600, 14 * 3600)
NO_POSITION = N_("Adresse non géolocalisée : placez-la sur la fiche du bénéficiaire.")


def seconds(clock: time) -> int:
    """Return seconds after midnight."""
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def clock(secs: int) -> str:
    """Format seconds after midnight as HH:MM."""
    return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}"


def moment(day: date, secs: int) -> datetime:
    """Return the aware Paris datetime of ``secs`` after midnight of ``day``."""
    return paris_datetime(day, time(0)) + timedelta(seconds=secs)


def of_day(day: date, when: datetime) -> int:
    """Return ``when`` as seconds after midnight of ``day`` in Paris."""
    return int((to_paris(when) - paris_datetime(day, time(0))).total_seconds())


@dataclass
class DayModel:
    """A day ready for the solver, with the maps back to rows."""

    day: date
    problem: Problem
    visits: dict[str, Visit]
    carers: dict[str, Carer]
    places: list[tuple[float, float]]
    skipped: list[tuple[Visit, str]] = field(default_factory=list)


def _shifts(carer: Carer, day: date, absences: Sequence[Absence]) -> list[tuple[int, int]]:
    """Return the carer's working periods that day, absences cut out."""
    pieces = [(seconds(time.fromisoformat(a)), seconds(time.fromisoformat(b)))
              for a, b in carer.availability.get(str(day.weekday()), [])]
    for absence in absences:
        start, end = of_day(day, absence.starts_at), of_day(day, absence.ends_at)
        cut = []
        for a, b in pieces:
            if end <= a or start >= b:
                cut.append((a, b))
                continue
            if a < start:
                cut.append((a, start))
            if end < b:
                cut.append((end, b))
        pieces = cut
    return [(a, b) for a, b in pieces if b - a >= MIN_SHIFT_S]


def _rest_bounds(organisation_id: int, day: date) -> dict[int, tuple[int | None, int | None]]:
    """Return, per carer, when her work ends the day before and starts the day after.

    Seconds from midnight of ``day`` (negative for the evening before); the 11 hours of
    rest owed between working days are counted from them. A visit without a planned time
    counts from its window (latest end before, earliest start after).
    """
    rows = db.session.execute(
        sa.select(VisitAssignment.carer_id, Visit.day, Visit.planned_start, Visit.planned_end,
                  Visit.window_start, Visit.window_end)
        .join(Visit, Visit.id == VisitAssignment.visit_id)
        .where(Visit.organisation_id == organisation_id,
               Visit.day.in_((day - timedelta(days=1), day + timedelta(days=1))),
               Visit.status.in_((*OPEN_STATUSES, "in_progress", "done")))).all()
    out: dict[int, tuple[int | None, int | None]] = {}
    for carer_id, when, p_start, p_end, w_start, w_end in rows:
        before, after = out.get(carer_id, (None, None))
        if when < day:
            end = of_day(day, p_end) if p_end else of_day(day, paris_datetime(when, w_end))
            before = end if before is None else max(before, end)
        else:
            start = of_day(day, p_start) if p_start else of_day(day, paris_datetime(when, w_start))
            after = start if after is None else min(after, start)
        out[carer_id] = (before, after)
    return out


def _breaks(start: int, end: int) -> BreakRule | None:
    """Owe a meal break when the shift covers lunch, a short break after six hours."""
    if start <= LUNCH[0] and end >= LUNCH[1]:
        return BreakRule()
    if end - start > 6 * 3600:
        return BreakRule(meal_window=None)
    return None


def build_day(organisation_id: int, day: date, sector_id: int | None, *, pbf: Path,
              cache_dir: Path, access_s: int = 120, replan: bool = False,
              now: datetime | None = None) -> DayModel:
    """Gather carers, visits and road travel times of ``day`` into a routing problem.

    With ``replan``, each change of a visit's carers costs (move as little as possible).
    With ``now`` on the planned day, nothing is planned before it: visits whose window has
    closed stay as they are, carers start from ``now``, started visits stay fixed.
    """
    now_s = of_day(day, now) if now is not None else None
    carers_q = sa.select(Carer).where(Carer.organisation_id == organisation_id,
                                      Carer.active.is_(True))
    visits_q = sa.select(Visit).join(Client, Client.id == Visit.client_id).where(
        Visit.organisation_id == organisation_id, Visit.day == day,
        Visit.status.in_((*OPEN_STATUSES, "in_progress", "done")))
    if sector_id:
        carers_q = carers_q.where(Carer.sector_id == sector_id)
        visits_q = visits_q.where(Client.sector_id == sector_id)
    carer_rows = db.session.scalars(carers_q.order_by(Carer.id)).all()
    visit_rows = db.session.scalars(visits_q.order_by(Visit.id)).all()
    day_start, day_end = moment(day, 0), moment(day, 24 * 3600)
    absences = db.session.scalars(sa.select(Absence).where(
        Absence.organisation_id == organisation_id, Absence.starts_at < day_end,
        Absence.ends_at > day_start)).all()

    places: list[tuple[float, float]] = []
    index: dict[tuple[float, float], int] = {}

    def place(lat: float, lon: float) -> int:
        key = (round(lat, 6), round(lon, 6))
        if key not in index:
            index[key] = len(places)
            places.append(key)
        return index[key]

    positioned = [v for v in visit_rows if v.client.lat is not None and v.client.lon is not None]
    skipped = [(v, NO_POSITION) for v in visit_rows if v not in positioned and v.is_open]
    centre = (float(np.mean([v.client.lat for v in positioned])) if positioned else 43.74,
              float(np.mean([v.client.lon for v in positioned])) if positioned else 7.43)

    routing_carers: list[RCarer] = []
    carer_map: dict[str, Carer] = {}
    shift_ids: dict[int, list[str]] = {}
    rest = _rest_bounds(organisation_id, day)
    for carer in carer_rows:
        previous_end, next_start = rest.get(carer.id, (None, None))
        home = place(carer.home_lat, carer.home_lon) if carer.home_lat is not None \
            and carer.home_lon is not None else place(*centre)
        mine = [a for a in absences if a.carer_id == carer.id]
        for n, (start, end) in enumerate(_shifts(carer, day, mine)):
            if now_s is not None and now_s >= end:
                continue
            rid = f"{carer.id}:{n}"
            carer_map[rid] = carer
            shift_ids.setdefault(carer.id, []).append(rid)
            routing_carers.append(RCarer(
                id=rid, shift=TimeWindow(start, end), start_place=home, end_place=home,
                skills=frozenset(carer.skills), mode=MODES.get(carer.travel_mode, Mode.DRIVE),
                breaks=_breaks(start, end), name=carer.full_name,
                previous_end=previous_end, next_start=next_start))

    def ids_of(carers: Sequence[Carer]) -> frozenset[str]:
        return frozenset(rid for c in carers for rid in shift_ids.get(c.id, []))

    routing_visits: list[RVisit] = []
    visit_map: dict[str, Visit] = {}
    for visit in positioned:
        rid = f"v{visit.id}"
        window_open = seconds(visit.window_start)
        latest = seconds(visit.window_end) - visit.duration_min * 60
        pinned_carer = pinned_start = None
        if not visit.is_open:  # started or done: it stays where it is
            started = visit.check_in_at or visit.planned_start
            if started is None or not visit.carers:
                continue
            pinned_start = of_day(day, started)
            pinned_carer = next((rid2 for rid2 in sorted(ids_of(visit.carers[:1]))
                                 if _covers(routing_carers, rid2, pinned_start)), None)
            if pinned_carer is None:
                continue
            window_open, latest = min(window_open, pinned_start), max(latest, pinned_start)
        elif now_s is not None:
            if latest < now_s:  # too late to do today: the coordinator decides
                continue
            window_open = max(window_open, now_s)
        visit_map[rid] = visit
        routing_visits.append(RVisit(
            id=rid, place=place(visit.client.lat, visit.client.lon),
            window=TimeWindow(window_open, max(window_open, latest)),
            duration_s=visit.duration_min * 60, skills=frozenset(visit.required_skills),
            carers_needed=visit.carers_needed,
            usual_carers=ids_of(visit.client.usual_carers),
            refused_carers=ids_of(visit.client.refused_carers),
            previous_carers=tuple(sorted(ids_of(visit.carers)))
            if replan or not visit.is_open else (),
            pinned_carer=pinned_carer, pinned_start=pinned_start,
            client=visit.client.full_name))

    modes = sorted({str(c.mode) for c in routing_carers}) or [str(Mode.DRIVE)]
    matrices = travel_matrices(places, modes, cache_dir, pbf=pbf)
    problem = Problem(
        carers=tuple(routing_carers), visits=tuple(routing_visits),
        travel={m: s for m, (s, _) in matrices.items()},
        distance={m: d for m, (_, d) in matrices.items()}, access_s=access_s)
    return DayModel(day=day, problem=problem, visits=visit_map, carers=carer_map,
                    places=places, skipped=skipped)


def _covers(carers: Sequence[RCarer], rid: str, at: int) -> bool:
    carer = next((c for c in carers if c.id == rid), None)
    return carer is not None and carer.shift.start <= at <= carer.shift.end


def current_figures(model: DayModel) -> dict[str, Any]:
    """Measure the day as currently assigned, with the same road travel times as the plan.

    ``late`` counts visits the carer cannot reach before the latest start of their window
    once real travel times are followed: a hand-made plan often hides them.
    """
    problem = model.problem
    by_carer: dict[int, list[tuple[int, str]]] = {}
    for rid, visit in model.visits.items():
        start = visit.check_in_at or visit.planned_start
        if start is None:
            continue
        for carer in visit.carers:
            by_carer.setdefault(carer.id, []).append((of_day(model.day, start), rid))
    homes = {rc.id.split(":")[0]: (rc.start_place, str(rc.mode)) for rc in problem.carers}
    travel_s = travel_m = assigned = usual = late = 0
    for carer_id, stops in by_carer.items():
        home, mode = homes.get(str(carer_id), (None, str(Mode.DRIVE)))
        previous, free_at = home, None
        for planned, rid in sorted(stops):
            target = problem.visit(rid)
            place_index = target.place
            leg = problem.travel_s(mode, previous, place_index) if previous is not None else 0
            if previous is not None:
                travel_s += leg
                travel_m += problem.distance_m(mode, previous, place_index)
            arrival = planned if free_at is None else max(planned, free_at + leg)
            late += arrival > target.window.end
            free_at = arrival + target.duration_s
            previous = place_index
        if home is not None and previous is not None:
            travel_s += problem.travel_s(mode, previous, home)
            travel_m += problem.distance_m(mode, previous, home)
    for visit in model.visits.values():
        if visit.carers:
            assigned += 1
            usual_ids = {c.id for c in visit.client.usual_carers}
            usual += any(c.id in usual_ids for c in visit.carers)
    return {"visits": len(model.visits) + len(model.skipped), "assigned": assigned,
            "travel_s": travel_s, "travel_m": travel_m, "late": late,
            "usual_share": usual / assigned if assigned else 0.0}


def plan_result(model: DayModel, plan: Plan) -> dict[str, Any]:
    """Serialise a plan for storage and preview, with the moves it implies."""
    routes = []
    after: dict[int, dict[int, int]] = {}
    starts: dict[int, int] = {}
    for route in plan.routes:
        carer = model.carers[route.carer_id]
        stops = []
        for stop in route.stops:
            visit = model.visits[stop.visit_id]
            after.setdefault(visit.id, {})[stop.part] = carer.id
            if stop.part == 0:
                starts[visit.id] = stop.start
            stops.append({"visit_id": visit.id, "part": stop.part, "client": visit.client.full_name,
                          "arrival": clock(stop.arrival), "start": clock(stop.start),
                          "end": clock(stop.end), "waiting_min": stop.waiting_s // 60,
                          "travel_min": round(stop.travel_s / 60), "travel_m": stop.travel_m,
                          "lat": visit.client.lat, "lon": visit.client.lon})
        routes.append({"carer_id": carer.id, "carer": carer.full_name,
                       "departure": clock(route.departure), "return": clock(route.return_time),
                       "stops": stops,
                       "breaks": [{"start": clock(b.start), "end": clock(b.end), "meal": b.meal}
                                  for b in route.breaks]})
    moves = []
    for visit in model.visits.values():
        if not visit.is_open or visit.id not in after:
            continue
        new = [after[visit.id][p] for p in sorted(after[visit.id])]
        old = [c.id for c in visit.carers]
        old_start = of_day(model.day, visit.planned_start) if visit.planned_start else None
        if sorted(new) != sorted(old) or old_start != starts.get(visit.id):
            moves.append({"visit_id": visit.id, "client": visit.client.full_name,
                          "before": old, "after": new,
                          "start_before": clock(old_start) if old_start is not None else None,
                          "start_after": clock(starts[visit.id])})
    unassigned = [{"visit_id": model.visits[u.visit_id].id,
                   "client": model.visits[u.visit_id].client.full_name, "reason": u.reason}
                  for u in plan.unassigned if u.visit_id in model.visits]
    unassigned += [{"visit_id": v.id, "client": v.client.full_name, "reason": reason}
                   for v, reason in model.skipped]
    figures = plan.figures
    return {
        "routes": routes, "moves": moves, "unassigned": unassigned,
        "figures": {"visits": figures.visits + len(model.skipped),
                    "assigned": figures.assigned, "travel_s": figures.travel_s,
                    "travel_m": figures.travel_m, "lateness_s": figures.lateness_s,
                    "usual_share": figures.usual_share, "overtime_s": figures.overtime_s},
        "current": current_figures(model),
        "solve_s": round(plan.solve_s, 2),
    }


def optimise(model: DayModel, *, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """Solve the day and return the stored form of the plan."""
    plan = solve(model.problem, time_limit_s=time_limit_s, seed=seed)
    return plan_result(model, plan)


def accept(run: RoundPlan, actor: Any) -> tuple[int, list[str]]:
    """Apply a computed plan: assignments and start times; return (applied, skipped notes).

    A visit that changed since the plan was computed (started, cancelled) is left as it is
    and reported, so that accepting never overwrites what happened in the meantime.
    """
    if run.status != "done":
        raise VisitError(N_("Ce planning n'est plus applicable."))
    wanted: dict[int, dict[int, int]] = {}
    starts: dict[int, str] = {}
    for route in run.result.get("routes", []):
        for stop in route["stops"]:
            wanted.setdefault(stop["visit_id"], {})[stop["part"]] = route["carer_id"]
            if stop["part"] == 0:
                starts[stop["visit_id"]] = stop["start"]
    applied, skipped = 0, []
    followed: set[int] = set()
    carers = {c.id: c for c in db.session.scalars(sa.select(Carer).where(
        Carer.organisation_id == run.organisation_id))}
    for visit_id, parts in wanted.items():
        visit = db.session.get(Visit, visit_id)
        if visit is None or visit.organisation_id != run.organisation_id:
            continue
        if not visit.is_open:
            skipped.append(visit.client.full_name)
            continue
        chosen = [carers[parts[p]] for p in sorted(parts)]
        start = paris_datetime(run.day, time.fromisoformat(starts[visit_id]))
        if [c.id for c in visit.carers] == [c.id for c in chosen] and \
                visit.planned_start == start:
            followed.add(visit_id)
            continue
        try:
            with db.session.begin_nested():
                assign(visit, chosen, actor, planned_start=start)
            applied += 1
            followed.add(visit_id)
        except VisitError:
            skipped.append(visit.client.full_name)
    _record_travel(run, followed)
    run.status = "accepted"
    run.accepted_by_id = getattr(actor, "id", None)
    run.accepted_at = utcnow()
    record(actor, "accept_plan", "round_plan", run.id, day=run.day.isoformat(), applied=applied,
           skipped=len(skipped))
    db.session.flush()
    return applied, skipped


def _record_travel(run: RoundPlan, followed: set[int]) -> None:
    """Store each carer's travel minutes to the visits of the accepted plan.

    Each assignment keeps the minutes from the previous stop of the carer's round and which
    visit that stop was (``None``: from home), so the carer's day shows them only while
    that is still the visit before.
    """
    rows = db.session.scalars(sa.select(VisitAssignment).where(
        VisitAssignment.visit_id.in_(followed))) if followed else []
    by_key = {(row.visit_id, row.carer_id): row for row in rows}
    for route in run.result.get("routes", []):
        previous: int | None = None
        for stop in route["stops"]:
            row = by_key.get((stop["visit_id"], route["carer_id"]))
            if row is not None:
                row.travel_min = int(stop["travel_min"])
                row.travel_from_id = previous
            previous = stop["visit_id"]
