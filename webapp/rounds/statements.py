"""Travel statements for payroll: paid travel minutes, kilometres and allowance per carer.

The rules (travel between visits of the same half-day is paid working time, the kilometre
allowance, breaks, amplitude) are the routing library's (``routing.labour``): this module
only rebuilds each day as a route from what was recorded (or planned, for days to come).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from routing.labour import CarerDay, LabourRules, carer_day
from routing.model import Mode, Route, Stop
from routing.network import travel_matrices
from webapp.carers.models import Carer
from webapp.extensions import db
from webapp.rounds.optimise import MODES, of_day
from webapp.visits.models import Visit, VisitAssignment

COUNTED = ("assigned", "in_progress", "done")


@dataclass(frozen=True)
class Statement:
    """A carer's days over a period, with totals."""

    carer: Carer
    first: date
    last: date
    days: list[tuple[date, CarerDay]]

    @property
    def paid_travel_min(self) -> int:
        return round(sum(d.paid_travel_s for _, d in self.days) / 60)

    @property
    def km(self) -> float:
        return round(sum(d.km for _, d in self.days), 1)

    @property
    def allowance_eur(self) -> float:
        return round(sum(d.allowance_eur for _, d in self.days), 2)


def day_route(carer: Carer, day: date, *, pbf: Path, cache_dir: Path) -> Route | None:
    """Rebuild ``carer``'s day as a route: actual times when recorded, else planned ones."""
    visits = db.session.scalars(
        sa.select(Visit).join(VisitAssignment, VisitAssignment.visit_id == Visit.id).where(
            VisitAssignment.carer_id == carer.id, Visit.day == day,
            Visit.status.in_(COUNTED))).all()
    timed = []
    for visit in visits:
        start = visit.check_in_at or visit.planned_start
        end = visit.check_out_at or visit.planned_end
        if start is None or end is None or visit.client.lat is None or visit.client.lon is None:
            continue
        timed.append((of_day(day, start), of_day(day, end), visit))
    if not timed:
        return None
    timed.sort(key=lambda t: t[0])
    home = (carer.home_lat, carer.home_lon) if carer.home_lat is not None and \
        carer.home_lon is not None else (timed[0][2].client.lat, timed[0][2].client.lon)
    points = [home] + [(v.client.lat, v.client.lon) for _, _, v in timed]
    mode = str(MODES.get(carer.travel_mode, Mode.DRIVE))
    secs, metres = travel_matrices(points, [mode], cache_dir, pbf=pbf)[mode]
    stops = []
    for n, (start, end, visit) in enumerate(timed, start=1):
        travel_s, travel_m = int(secs[n - 1, n]), int(metres[n - 1, n])
        arrival = start if n == 1 else min(start, stops[-1].end + travel_s)
        stops.append(Stop(visit_id=str(visit.id), part=0, place=n, arrival=arrival,
                          waiting_s=max(0, start - arrival), start=start, end=end,
                          travel_s=travel_s, travel_m=travel_m))
    last = len(timed)
    return Route(carer_id=str(carer.id), departure=stops[0].start - stops[0].travel_s,
                 stops=tuple(stops), return_time=stops[-1].end + int(secs[last, 0]),
                 return_travel_s=int(secs[last, 0]), return_travel_m=int(metres[last, 0]))


def statement(carer: Carer, first: date, last: date, *, km_rate_eur: float, pbf: Path,
              cache_dir: Path) -> Statement:
    """Compute the travel statement of ``carer`` from ``first`` to ``last`` inclusive."""
    rules = LabourRules(km_rate_eur=km_rate_eur)
    days = db.session.scalars(
        sa.select(Visit.day).join(VisitAssignment, VisitAssignment.visit_id == Visit.id).where(
            VisitAssignment.carer_id == carer.id, Visit.day >= first, Visit.day <= last,
            Visit.status.in_(COUNTED)).distinct().order_by(Visit.day)).all()
    rows = []
    for day in days:
        route = day_route(carer, day, pbf=pbf, cache_dir=cache_dir)
        if route is not None:
            rows.append((day, carer_day(route, rules)))
    return Statement(carer=carer, first=first, last=last, days=rows)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """Return the first and last day of a month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
