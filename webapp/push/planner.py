"""Derive due notifications from the data: visits, care plans, rotas, risk alerts.

Runs every minute and more (tasks.py): each occurrence has a key, so planning again
only updates what is not sent yet. Conditions that may change before the due time (has
the carer arrived?) are checked again when the notification is about to be sent.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from webapp.alerts.models import RiskAlert
from webapp.auth.models import User
from webapp.careplans.models import CarePlan
from webapp.carers.models import Carer
from webapp.clients.models import Client, FamilyLink
from webapp.extensions import db
from webapp.organisations.models import Organisation
from webapp.push import messages
from webapp.push.models import Notification, PushWatch
from webapp.push.services import cancel_pending, heat_wave_until, notify
from webapp.timeutil import paris_datetime, to_paris, utcnow
from webapp.visits.models import Visit, VisitAssignment

HORIZON = timedelta(hours=26)
# Nothing is planned that was due longer ago than this (no flood after a pause).
LOOKBACK = timedelta(minutes=10)
EVENT_LOOKBACK = timedelta(hours=6)
TOMORROW_AT = time(18, 0)
ROTA_PUBLISHED_AT = time(17, 0)
WEEKLY_AT = time(18, 0)
ETA_BEFORE = timedelta(minutes=60)
LATE_AFTER = timedelta(minutes=30)
MISSED_AFTER = timedelta(minutes=30)
NOT_STARTED_AFTER = timedelta(minutes=20)
HYDRATION_TIMES = (time(10, 30), time(16, 0))
HEAT_WAVE_TIMES = (time(9, 0), time(11, 0), time(13, 0), time(15, 0), time(17, 0), time(19, 0))
MEAL_TIME = time(12, 0)
OPEN = ("planned", "assigned")


def plan(now: datetime | None = None) -> int:
    """Plan every organisation's notifications around ``now``; flush. Return rows touched."""
    now = now or utcnow()
    count = 0
    for org_id in db.session.scalars(sa.select(Organisation.id)):
        planner = _Planner(org_id, now)
        count += planner.run()
    db.session.flush()
    return count


def still_relevant(row: Notification, now: datetime) -> bool:
    """Return whether a conditional notification still says something true."""
    if row.kind not in ("visit_late", "not_started", "eta"):
        return True
    visit = db.session.get(Visit, (row.params or {}).get("visit", 0))
    if visit is None:
        return False
    if row.kind == "eta":
        return visit.status in OPEN
    return visit.status in OPEN


def _hhmm(moment: datetime | time) -> str:
    clock = to_paris(moment).time() if isinstance(moment, datetime) else moment
    return f"{clock.hour:02d}:{clock.minute:02d}"


def _start(visit: Visit) -> datetime:
    return visit.planned_start or paris_datetime(visit.day, visit.window_start)


class _Planner:
    def __init__(self, org_id: int, now: datetime) -> None:
        self.org_id = org_id
        self.now = now
        self.local = to_paris(now)
        self.today = self.local.date()
        self.tomorrow = self.today + timedelta(days=1)
        self.count = 0
        self.heat_until = heat_wave_until(org_id)
        visits = db.session.scalars(sa.select(Visit).where(
            Visit.organisation_id == org_id, Visit.day.in_((self.today, self.tomorrow)))
            .options(selectinload(Visit.assignments).selectinload(VisitAssignment.carer),
                     selectinload(Visit.client))).all()
        self.visits: dict[int, list[Visit]] = {}
        for visit in visits:
            self.visits.setdefault(visit.client_id, []).append(visit)
        self.all_visits = visits

    def in_window(self, due: datetime, lookback: timedelta = LOOKBACK) -> bool:
        return self.now - lookback <= due <= self.now + HORIZON

    def add(self, user_id: int, kind: str, key: str, due: datetime, *,
            lookback: timedelta = LOOKBACK, **kw: Any) -> None:
        # Events (a visit done, an alert) are told however late the planner finds them.
        if not self.in_window(due, lookback):
            return
        notify(user_id, kind, key, due_at=due, **kw)
        self.count += 1

    def users(self, *roles: str) -> list[User]:
        return list(db.session.scalars(sa.select(User).where(
            User.organisation_id == self.org_id, User.role.in_(roles), User.active.is_(True))))

    def run(self) -> int:
        self.recipients()
        self.families()
        self.carers()
        self.coordinators()
        return self.count

    # ------------------------------------------------------------------ recipients
    def recipients(self) -> None:
        users = [u for u in self.users("recipient") if u.client_id]
        if not users:
            return
        plans = db.session.scalars(sa.select(CarePlan).where(
            CarePlan.organisation_id == self.org_id, CarePlan.active.is_(True),
            CarePlan.client_id.in_([u.client_id for u in users]))
            .options(selectinload(CarePlan.interventions))).all()
        by_client: dict[int, list[CarePlan]] = {}
        for care_plan in plans:
            by_client.setdefault(care_plan.client_id, []).append(care_plan)
        for user in users:
            visits = self.visits.get(user.client_id or 0, [])
            self.tomorrow_visits(user, visits)
            self.eta(user, visits)
            self.care_plan_reminders(user, by_client.get(user.client_id or 0, []))

    def tomorrow_visits(self, user: User, visits: list[Visit]) -> None:
        due = paris_datetime(self.today, TOMORROW_AT)
        items = [{"carers": [c.first_name for c in v.carers], "time": _hhmm(_start(v))}
                 for v in sorted(visits, key=_start)
                 if v.day == self.tomorrow and v.status in OPEN]
        self.add(user.id, "visits_tomorrow", f"tomorrow:{self.tomorrow}", due,
                 params={"items": items}, url="/famille/",
                 expires_at=paris_datetime(self.tomorrow, time(0, 0)))

    def eta(self, user: User, visits: list[Visit]) -> None:
        for visit in visits:
            if visit.day != self.today or visit.status not in OPEN or not visit.assignments \
                    or visit.planned_start is None or visit.planned_start < self.now:
                continue
            key = f"eta:{visit.id}:{_hhmm(visit.planned_start)}"
            cancel_pending(user.id, f"eta:{visit.id}:", keep=key)
            due = max(visit.planned_start - ETA_BEFORE, min(self.now, visit.planned_start))
            self.add(user.id, "eta", key, due, topic=messages.topic_for(f"eta:{visit.id}"),
                     params={"visit": visit.id, "carers": [c.first_name for c in visit.carers],
                             "time": _hhmm(visit.planned_start)},
                     url="/famille/", expires_at=visit.planned_start + timedelta(minutes=30))

    def care_plan_reminders(self, user: User, plans: list[CarePlan]) -> None:
        interventions = [(p, i) for p in plans for i in p.interventions]
        if not interventions:
            return
        drinks = any("hydrat" in t.lower() for _p, i in interventions for t in i.tasks)
        meals = any(i.kind == "repas" for _p, i in interventions)
        for day in (self.today, self.tomorrow):
            live = [(p, i) for p, i in interventions if day.weekday() in i.weekdays
                    and p.starts_on <= day and (p.ends_on is None or day <= p.ends_on)]
            for _plan, item in live:
                if any("médicament" in t.lower() for t in item.tasks):
                    due = paris_datetime(day, item.window_start)
                    self.add(user.id, "medication", f"med:{item.id}:{day}", due,
                             url="/famille/", expires_at=due + timedelta(hours=2))
            if meals and not any(i.kind == "repas" for _p, i in live):
                due = paris_datetime(day, MEAL_TIME)
                self.add(user.id, "meal", f"meal:{day}", due, url="/famille/",
                         expires_at=due + timedelta(hours=2))
            heat = self.heat_until is not None and day <= self.heat_until
            times = set(HYDRATION_TIMES if drinks else ()) | set(HEAT_WAVE_TIMES if heat else ())
            for clock in sorted(times):
                due = paris_datetime(day, clock)
                self.add(user.id, "hydration", f"drink:{day}:{_hhmm(clock)}", due,
                         params={"heat_wave": heat}, url="/famille/",
                         expires_at=due + timedelta(hours=2))

    # ------------------------------------------------------------------ families
    def families(self) -> None:
        links = db.session.execute(sa.select(FamilyLink, User, Client).join(
            User, User.id == FamilyLink.user_id).join(Client, Client.id == FamilyLink.client_id)
            .where(Client.organisation_id == self.org_id, User.active.is_(True),
                   User.role == "family", FamilyLink.consent_notifications.is_(True))).all()
        if not links:
            return
        done = db.session.scalars(sa.select(Visit).where(
            Visit.organisation_id == self.org_id, Visit.status == "done",
            Visit.client_id.in_([c.id for _l, _u, c in links]),
            Visit.check_out_at >= self.now - EVENT_LOOKBACK)
            .options(selectinload(Visit.assignments).selectinload(VisitAssignment.carer))).all()
        for link, user, client in links:
            name = client.full_name
            for visit in done:
                if visit.client_id != client.id or visit.check_out_at is None:
                    continue
                note = ""
                if link.consent_share_notes and visit.carer_note:
                    note = visit.carer_note.strip()[:messages.NOTE_MAX]
                self.add(user.id, "visit_done", f"done:{visit.id}", visit.check_out_at,
                         params={"client": name, "carers": [c.first_name for c in visit.carers],
                                 "start": _hhmm(visit.check_in_at or visit.check_out_at),
                                 "end": _hhmm(visit.check_out_at), "note": note},
                         url="/famille/", lookback=EVENT_LOOKBACK)
            for visit in self.visits.get(client.id, []):
                if visit.status not in OPEN:
                    continue
                window_end = paris_datetime(visit.day, visit.window_end)
                if visit.planned_start is not None and visit.assignments:
                    self.add(user.id, "visit_late", f"late:{visit.id}",
                             visit.planned_start + LATE_AFTER,
                             params={"visit": visit.id, "client": name,
                                     "time": _hhmm(visit.planned_start)},
                             url="/famille/", expires_at=window_end + timedelta(hours=2))
                self.add(user.id, "visit_late", f"missed:{visit.id}", window_end + MISSED_AFTER,
                         params={"visit": visit.id, "client": name, "missed": True,
                                 "start": _hhmm(visit.window_start),
                                 "end": _hhmm(visit.window_end)},
                         url="/famille/", expires_at=window_end + timedelta(hours=6))
            self.weekly(user, client)

    def weekly(self, user: User, client: Client) -> None:
        sunday = self.today + timedelta(days=6 - self.today.weekday())
        due = paris_datetime(sunday, WEEKLY_AT)
        if not self.in_window(due):
            return
        monday = sunday - timedelta(days=6)
        counts = dict(db.session.execute(sa.select(Visit.status, sa.func.count(Visit.id)).where(
            Visit.client_id == client.id, Visit.day >= monday, Visit.day <= sunday)
            .group_by(Visit.status)).tuples().all())
        year, week, _ = sunday.isocalendar()
        self.add(user.id, "weekly_summary", f"week:{client.id}:{year}-{week:02d}", due,
                 params={"client": client.full_name, "done": counts.get("done", 0),
                         "missed": counts.get("missed", 0)}, url="/famille/",
                 expires_at=due + timedelta(days=2))

    # ------------------------------------------------------------------ carers
    def carers(self) -> None:
        rows = db.session.execute(sa.select(Carer, User).join(User, User.id == Carer.user_id)
                                  .where(Carer.organisation_id == self.org_id,
                                         User.active.is_(True))).all()
        if not rows:
            return
        days = [self.today]
        if self.local.time() >= ROTA_PUBLISHED_AT:  # tomorrow's rota is announced at 17 h
            days.append(self.tomorrow)
        watches = {(w.user_id, w.key): w for w in db.session.scalars(sa.select(PushWatch).where(
            PushWatch.user_id.in_([u.id for _c, u in rows]),
            PushWatch.key.in_([f"rota:{d}" for d in days])))}
        for carer, user in rows:
            for day in days:
                mine = {str(v.id): _hhmm(_start(v)) for v in self.all_visits
                        if v.day == day and v.status != "cancelled"
                        and any(a.carer_id == carer.id for a in v.assignments)}
                self.rota(user, day, mine, watches.get((user.id, f"rota:{day}")))

    def rota(self, user: User, day: date, mine: dict[str, str], watch: PushWatch | None) -> None:
        key = f"rota:{day}"
        if watch is not None and watch.value == mine:
            return
        digest = hashlib.sha256(json.dumps(mine, sort_keys=True).encode()).hexdigest()[:12]
        url = f"/ma-journee?date={day.isoformat()}"
        label = day.strftime("%d/%m")
        topic = messages.topic_for(key)
        if watch is None:
            db.session.add(PushWatch(user_id=user.id, key=key, value=mine))
            if day != self.today and mine:
                notify(user.id, "rota", f"{key}:{digest}", due_at=self.now, topic=topic,
                       params={"day": label, "count": len(mine)}, url=url,
                       expires_at=paris_datetime(day, time(23, 59)))
                self.count += 1
            return  # today's first look is only the baseline
        before = dict(watch.value or {})
        watch.value, watch.updated_at = mine, self.now
        added = [vid for vid in mine if vid not in before]
        others = [vid for vid in before if vid not in mine or before[vid] != mine.get(vid)]
        if day == self.today:
            for vid in added:
                visit = db.session.get(Visit, int(vid))
                if visit is None or _start(visit) < self.now - timedelta(minutes=30):
                    continue
                notify(user.id, "short_notice", f"added:{vid}", due_at=self.now,
                       params={"visit": visit.id, "time": _hhmm(_start(visit)),
                               "client": visit.client.full_name},
                       url=f"/visites/{visit.id}", expires_at=_start(visit) + timedelta(hours=1))
                self.count += 1
        if day != self.today or others:
            notify(user.id, "rota", f"{key}:{digest}", due_at=self.now, topic=topic,
                   params={"day": label, "count": len(mine), "changed": True}, url=url,
                   expires_at=paris_datetime(day, time(23, 59)))
            self.count += 1

    # ------------------------------------------------------------------ coordinators
    def coordinators(self) -> None:
        staff = self.users("coordinator", "admin")
        if not staff:
            return
        alerts = db.session.scalars(sa.select(RiskAlert).where(
            RiskAlert.organisation_id == self.org_id, RiskAlert.kind == "score",
            RiskAlert.status == "open", RiskAlert.created_at >= self.now - EVENT_LOOKBACK)
            .options(selectinload(RiskAlert.client))).all()
        watched = [v for v in self.all_visits if v.day == self.today and v.status in OPEN]
        for user in staff:
            for visit in watched:
                due = paris_datetime(visit.day, visit.window_start) + NOT_STARTED_AFTER
                self.add(user.id, "not_started", f"notstarted:{visit.id}", due,
                         params={"visit": visit.id, "client": visit.client.full_name,
                                 "start": _hhmm(visit.window_start),
                                 "carers": [c.first_name for c in visit.carers]},
                         url=f"/visites/{visit.id}",
                         expires_at=paris_datetime(visit.day, visit.window_end)
                         + timedelta(hours=1))
            for alert in alerts:
                self.add(user.id, "risk_alert", f"alert:{alert.id}", alert.created_at,
                         lookback=EVENT_LOOKBACK,
                         params={"client": alert.client.full_name, "message": alert.message},
                         url=f"/alertes/personnes/{alert.client_id}")


def pending_due_between(start: datetime, end: datetime) -> list[datetime]:
    """Return the distinct due times of pending notifications in (start, end]."""
    return sorted(set(db.session.scalars(sa.select(Notification.due_at).where(
        Notification.status == "pending", Notification.due_at > start,
        Notification.due_at <= end))))
