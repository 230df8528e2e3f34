"""Planning operations: the day board and absences."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

import sqlalchemy as sa

from webapp.audit.services import record
from webapp.carers.models import Absence, Carer
from webapp.extensions import db
from webapp.timeutil import paris_datetime, to_paris
from webapp.visits.models import OPEN_STATUSES, Visit, VisitAssignment
from webapp.visits.services import visit_sort_key

BOARD_START_HOUR = 7
BOARD_END_HOUR = 21


@dataclass
class CarerRow:
    """One carer's line on the board."""

    carer: Carer
    visits: list[Visit] = field(default_factory=list)
    absent: bool = False
    off_duty: bool = False

    @property
    def busy_minutes(self) -> int:
        return sum(v.duration_min for v in self.visits if v.status != "cancelled")

    @cached_property
    def overlapping(self) -> set[int]:
        """Return the ids of her visits whose planned times overlap another of hers.

        Accepting a plan leaves the visits it could not place with their carer, so she may
        hold two at once until the coordinator decides: the board must show it. Read once the
        row is complete (the board's summary and its timeline both ask).
        """
        timed = sorted((v for v in self.visits if v.status != "cancelled"
                        and v.planned_start is not None and v.planned_end is not None),
                       key=lambda v: (v.planned_start, v.id))
        clashes: set[int] = set()
        latest: Visit | None = None  # the visit ending last so far
        for visit in timed:
            if latest is not None and visit.planned_start < latest.planned_end:
                clashes |= {visit.id, latest.id}
            if latest is None or visit.planned_end > latest.planned_end:
                latest = visit
        return clashes


@dataclass
class Board:
    """The day as a coordinator sees it."""

    day: date
    rows: list[CarerRow]
    unassigned: list[Visit]
    cancelled: list[Visit]


def day_board(organisation_id: int, day: date, sector_id: int | None = None) -> Board:
    """Gather the visits of ``day`` per carer, plus the unassigned and cancelled ones."""
    carers_q = sa.select(Carer).where(Carer.organisation_id == organisation_id,
                                      Carer.active.is_(True))
    visits_q = sa.select(Visit).where(Visit.organisation_id == organisation_id, Visit.day == day)
    if sector_id:
        from webapp.clients.models import Client

        carers_q = carers_q.where(Carer.sector_id == sector_id)
        visits_q = visits_q.join(Client, Client.id == Visit.client_id).where(
            Client.sector_id == sector_id)
    carers = db.session.scalars(carers_q.order_by(Carer.last_name, Carer.first_name)).all()
    visits = db.session.scalars(visits_q).all()
    rows = {c.id: CarerRow(c) for c in carers}
    day_start, day_end = paris_datetime(day, datetime.min.time()), paris_datetime(
        day, datetime.max.time())
    absent = set(db.session.scalars(sa.select(Absence.carer_id).where(
        Absence.organisation_id == organisation_id, Absence.starts_at < day_end,
        Absence.ends_at > day_start)))
    for row in rows.values():
        row.absent = row.carer.id in absent
        row.off_duty = not row.carer.availability.get(str(day.weekday()))
    unassigned, cancelled = [], []
    for visit in sorted(visits, key=visit_sort_key):
        if visit.status == "cancelled":
            cancelled.append(visit)
            continue
        if visit.is_open and len(visit.assignments) < visit.carers_needed:
            unassigned.append(visit)
        for assignment in visit.assignments:
            if assignment.carer_id in rows:
                rows[assignment.carer_id].visits.append(visit)
    return Board(day=day, rows=list(rows.values()), unassigned=unassigned, cancelled=cancelled)


def declare_absence(carer: Carer, starts_at: datetime, ends_at: datetime, reason: str,
                    actor: object) -> tuple[Absence, list[Visit]]:
    """Record an absence and release the carer's open visits that fall in it."""
    absence = Absence(organisation_id=carer.organisation_id, carer_id=carer.id,
                      starts_at=starts_at, ends_at=ends_at, reason=reason.strip())
    db.session.add(absence)
    candidates = db.session.scalars(
        sa.select(Visit).join(VisitAssignment, VisitAssignment.visit_id == Visit.id).where(
            VisitAssignment.carer_id == carer.id,
            Visit.status.in_(OPEN_STATUSES),
            Visit.day >= to_paris(starts_at).date(),
            Visit.day <= to_paris(ends_at).date(),
        )
    ).all()
    released = []
    for visit in candidates:
        start = visit.planned_start or paris_datetime(visit.day, visit.window_start)
        end = visit.planned_end or paris_datetime(visit.day, visit.window_end)
        if start < ends_at and end > starts_at:
            visit.assignments = [a for a in visit.assignments if a.carer_id != carer.id]
            visit.status = "assigned" if visit.assignments else "planned"
            released.append(visit)
    db.session.flush()
    record(actor, "create", "absence", absence.id, carer=carer.id,
           released=[v.id for v in released])
    return absence, released
