"""Build the demo SAAD and keep its coming days planned."""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from webapp.auth.models import User
from webapp.auth.services import hash_password
from webapp.careplans.models import CarePlan, Intervention
from webapp.careplans.services import expand_visits
from webapp.carers.models import Carer
from webapp.clients.models import Client, FamilyLink
from webapp.extensions import db
from webapp.organisations.models import Organisation, Sector
from webapp.timeutil import paris_datetime, today_paris
from webapp.visits.models import Visit, VisitAssignment
from webapp.visits.services import visit_sort_key

DEMO_NAME = "Aide à Domicile Riviera (démo)"
DEMO_PASSWORD = "demo-tournee-2026"  # noqa: S105 - published in the README, demo data only
DEMO_LOGINS = {
    "admin": "admin@demo.tournee.fr",
    "coordinator": "coordination@demo.tournee.fr",
    "carer": "aide1@demo.tournee.fr",
    "recipient": "beneficiaire@demo.tournee.fr",
    "family": "famille@demo.tournee.fr",
}
# Staff must use a second factor: the demo's admin and coordinator are enrolled with this
# published secret (demo data only); ``flask demo code EMAIL`` prints the current code.
DEMO_TOTP_SECRET = "TOURNEEDEMOSECRETFORSTAFFONLYXYZ"  # noqa: S105 - base32, demo data only
N_CARERS = 12
N_CLIENTS = 60
# Rough road speed and detour factor for the demo's hand-made plan (the optimiser uses roads).
DEMO_SPEED_KMH = 25.0
DETOUR = 1.4

CARER_NAMES = [
    ("Marie", "Lefebvre"), ("Fatima", "Benali"), ("Sandrine", "Giordano"), ("Julie", "Roux"),
    ("Nadia", "Haddad"), ("Céline", "Martin"), ("Sophie", "Bianchi"), ("Karima", "Mansouri"),
    ("Isabelle", "Ferrero"), ("Aurélie", "Blanc"), ("Thomas", "Gautier"), ("Laetitia", "Orsini"),
]
FIRST_NAMES_F = ["Jeanne", "Marguerite", "Simone", "Odette", "Paulette", "Yvonne", "Germaine",
                 "Lucienne", "Madeleine", "Suzanne", "Denise", "Colette", "Andrée", "Raymonde",
                 "Monique", "Josette", "Georgette", "Renée", "Huguette", "Ginette"]
FIRST_NAMES_M = ["Marcel", "René", "André", "Lucien", "Robert", "Roger", "Henri", "Gilbert",
                 "Maurice", "Raymond", "Louis", "Fernand", "Albert", "Jean", "Pierre"]
LAST_NAMES = ["Bellone", "Gastaud", "Ravel", "Amoretti", "Barral", "Cerutti", "Dalmasso",
              "Fabre", "Giraud", "Icardi", "Lanteri", "Malaussena", "Nicoletti", "Olivieri",
              "Pastorelli", "Rossi", "Sassi", "Toselli", "Vial", "Arnaud", "Baudin", "Carles",
              "Durand", "Escoffier", "Fighiera", "Guglielmi", "Hugues", "Isnard", "Julien",
              "Laurenti", "Médecin", "Noaro", "Ottavi", "Peglion", "Raybaud", "Salvetti"]

TASKS = {
    "lever": ["Lever et habillage", "Toilette", "Petit-déjeuner", "Prise des médicaments"],
    "toilette": ["Toilette", "Habillage", "Soin des pieds et des mains"],
    "repas": ["Préparation du repas", "Aide au repas", "Vaisselle", "Hydratation"],
    "coucher": ["Dîner", "Toilette du soir", "Change", "Coucher", "Vérifier la téléalarme"],
    "courses": ["Liste de courses", "Courses au marché", "Rangement"],
    "menage": ["Ménage", "Linge", "Changement des draps"],
    "transfert": ["Transfert lit–fauteuil au lève-personne", "Change", "Installation au fauteuil"],
}


@dataclass(frozen=True)
class Street:
    """A real street position from the extract."""

    street: str
    commune: str
    postcode: str
    lat: float
    lon: float


def load_streets(path: Path) -> list[Street]:
    """Read the street positions extracted from OpenStreetMap."""
    with path.open(encoding="utf-8") as handle:
        return [Street(r["street"], r["commune"], r["postcode"], float(r["lat"]), float(r["lon"]))
                for r in csv.DictReader(handle)]


def demo_organisation() -> Organisation | None:
    """Return the demo organisation if it has been loaded."""
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == DEMO_NAME))


def enrol_demo_staff(org: Organisation) -> int:
    """Give the demo's staff accounts the published TOTP secret, if they have none yet."""
    from webapp.auth.models import STAFF_ROLES
    from webapp.timeutil import utcnow

    enrolled = 0
    for user in db.session.scalars(sa.select(User).where(
            User.organisation_id == org.id, User.role.in_(STAFF_ROLES),
            User.totp_secret.is_(None))):
        user.totp_secret = DEMO_TOTP_SECRET
        user.totp_enabled_at = utcnow()
        enrolled += 1
    db.session.flush()
    return enrolled


def _user(org: Organisation, role: str, email: str, first: str, last: str,
          password_hash: str, **extra: object) -> User:
    user = User(organisation_id=org.id, role=role, email=email, first_name=first,
                last_name=last, password_hash=password_hash, locale="fr", **extra)
    db.session.add(user)
    return user


def build_demo(streets_csv: Path, *, seed: int = 2026) -> Organisation:
    """Create the demo SAAD: sectors, staff, 12 carers, 60 clients and their care plans."""
    rng = random.Random(seed)
    streets = load_streets(streets_csv)
    rng.shuffle(streets)
    password_hash = hash_password(DEMO_PASSWORD)

    org = Organisation(name=DEMO_NAME, phone="04 93 00 00 00",
                       address="12 avenue du Général de Gaulle, 06240 Beausoleil")
    db.session.add(org)
    db.session.flush()
    west = Sector(organisation_id=org.id, name="Beausoleil – Cap-d'Ail – La Turbie – Èze")
    east = Sector(organisation_id=org.id, name="Roquebrune-Cap-Martin")
    db.session.add_all([west, east])
    db.session.flush()

    def sector_for(commune: str) -> Sector:
        return east if commune == "Roquebrune-Cap-Martin" else west

    _user(org, "admin", DEMO_LOGINS["admin"], "Claire", "Dumas", password_hash)
    _user(org, "coordinator", DEMO_LOGINS["coordinator"], "Hélène", "Marchetti", password_hash)

    today = today_paris()
    carers = []
    for i, (first, last) in enumerate(CARER_NAMES):
        home = streets.pop()
        email = DEMO_LOGINS["carer"] if i == 0 else f"aide{i + 1}@demo.tournee.fr"
        user = _user(org, "carer", email, first, last, password_hash)
        db.session.flush()
        skills = ["toilette", "repas", "courses", "menage", "medicaments", "accompagnement"]
        if i % 3 != 2:
            skills.append("transferts")
        morning, evening = ["07:00", "13:30"], ["17:30", "21:00"]
        afternoon = ["13:30", "18:00"]
        shifts = [morning, evening] if i < 8 else [morning, afternoon]
        # Two days off a week, staggered so that every day keeps ten carers.
        days_off = {(i * 2) % 7, (i * 2 + 1) % 7} if i >= 2 else {5, 6}
        if i == 0:  # the demo login works today and the next days, whatever day it is loaded
            days_off = {(today.weekday() + 3) % 7, (today.weekday() + 4) % 7}
        availability = {str(d): ([] if d in days_off else shifts) for d in range(7)}
        carer = Carer(organisation_id=org.id, user_id=user.id,
                      sector_id=sector_for(home.commune).id, first_name=first, last_name=last,
                      phone=f"06 12 34 {56 + i:02d} {10 + i:02d}", skills=skills,
                      weekly_hours=35 if i < 8 else 28, availability=availability,
                      home_address=f"{rng.randint(1, 40)} {home.street}, {home.postcode} "
                                   f"{home.commune}",
                      home_lat=home.lat, home_lon=home.lon,
                      travel_mode="car" if i % 4 else "foot" if i == 4 else "car",
                      vehicle="Véhicule personnel" if i % 4 else "")
        db.session.add(carer)
        carers.append(carer)
    db.session.flush()

    clients = []
    for i in range(N_CLIENTS):
        place = streets.pop()
        female = rng.random() < 0.72
        first = rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M)
        gir = rng.choice([1, 2]) if i < 8 else rng.choice([3, 4]) if i < 38 else rng.choice([5, 6])
        age = rng.randint(72, 97)
        client = Client(
            organisation_id=org.id, sector_id=sector_for(place.commune).id,
            first_name=first, last_name=rng.choice(LAST_NAMES),
            birth_date=date(today.year - age, rng.randint(1, 12), rng.randint(1, 28)),
            sex="F" if female else "M", phone=f"04 93 {rng.randint(10, 99)} {rng.randint(10, 99)} "
                                              f"{rng.randint(10, 99)}",
            address=f"{rng.randint(1, 60)} {place.street}", postcode=place.postcode,
            city=place.commune, lat=place.lat, lon=place.lon, geocode_status="manual",
            access_notes=rng.choice([
                f"Digicode {rng.randint(1000, 9999)}B, {rng.randint(1, 5)}e étage",
                f"Boîte à clés code {rng.randint(1000, 9999)}, à gauche de la porte",
                "Sonner deux fois, la personne met du temps à ouvrir",
                f"Portail code {rng.randint(100, 999)}, clé chez la voisine du rez-de-chaussée",
            ]),
            gir=gir, funding="apa" if gir <= 4 else rng.choice(["caisse_retraite", "prive"]),
            living_alone=rng.random() < 0.6,
        )
        db.session.add(client)
        clients.append(client)
    db.session.flush()

    for client in clients:
        near = sorted(carers, key=lambda c: _km(client.lat, client.lon, c.home_lat, c.home_lon))
        client.usual_carers = near[:2]
        if rng.random() < 0.08:
            client.refused_carers = [near[-1]]
        _care_plan(client, rng, today)
    db.session.flush()

    recipient_client = clients[10]
    _user(org, "recipient", DEMO_LOGINS["recipient"], recipient_client.first_name,
          recipient_client.last_name, password_hash, client_id=recipient_client.id)
    family = _user(org, "family", DEMO_LOGINS["family"], "Laurent", clients[3].last_name,
                   password_hash)
    db.session.flush()
    db.session.add(FamilyLink(client_id=clients[3].id, user_id=family.id,
                              relationship_label="Fils", consent_share_notes=True))
    db.session.flush()
    return org


def _care_plan(client: Client, rng: random.Random, today: date) -> None:
    plan = CarePlan(organisation_id=client.organisation_id, client_id=client.id,
                    starts_on=today - timedelta(days=60), notes="")
    every_day = list(range(7))

    def add(kind: str, start: str, end: str, minutes: int, skills: list[str],
            days: list[int] | None = None, carers_needed: int = 1) -> None:
        plan.interventions.append(Intervention(
            kind=kind, weekdays=days if days is not None else every_day,
            window_start=time.fromisoformat(start), window_end=time.fromisoformat(end),
            duration_min=minutes, required_skills=skills, carers_needed=carers_needed,
            tasks=TASKS["toilette" if kind == "lever" and minutes < 45 else kind]))

    if client.gir <= 2:
        if rng.random() < 0.4:
            add("transfert", "08:00", "10:00", 30, ["transferts"], carers_needed=2)
            add("lever", "07:30", "10:00", 45, ["toilette"])
        else:
            add("lever", "07:30", "10:00", 45, ["toilette", "transferts"])
        add("repas", "11:30", "13:30", 30, ["repas"])
        add("coucher", "18:30", "20:30", 30, ["toilette", "transferts"])
    elif client.gir <= 4:
        if rng.random() < 0.6:
            add("lever", "07:30", "10:00", 45, ["toilette"])
        else:
            add("lever", "09:30", "12:00", 30, ["toilette"], days=[0, 2, 4, 6])
        if rng.random() < 0.5:
            add("repas", "11:30", "13:30", 30, ["repas"])
        if rng.random() < 0.4:
            add("coucher", "18:30", "20:30", 30, ["toilette"])
    else:
        days = sorted(rng.sample(range(6), rng.choice([1, 2])))
        kind = rng.choice(["menage", "courses"])
        add(kind, "14:00", "17:30", rng.choice([60, 90, 120]), [kind], days=days)
    db.session.add(plan)


def _km(lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None) -> float:
    if None in (lat1, lon1, lat2, lon2):
        return 5.0
    # Equirectangular approximation: plenty at a few kilometres.
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))  # type: ignore[operator]
    y = math.radians(lat2 - lat1)  # type: ignore[operator]
    return 6371.0 * math.hypot(x, y)


Position = tuple[float | None, float | None]


def travel_minutes(a: Position, b: Position) -> int:
    """Estimate the minutes of a short trip for the demo's hand-made plan."""
    return max(3, round(_km(*a, *b) * DETOUR / DEMO_SPEED_KMH * 60))


def plan_demo_day(org: Organisation, day: date) -> int:
    """Assign the day's open visits as a coordinator would: usual carer first, in window order.

    This is the hand-made baseline; the optimiser of the rounds feature does better.
    Visits already assigned, started or done are kept.
    """
    visits = db.session.scalars(sa.select(Visit).where(
        Visit.organisation_id == org.id, Visit.day == day)).all()
    carers = db.session.scalars(sa.select(Carer).where(Carer.organisation_id == org.id,
                                                        Carer.active.is_(True))).all()
    shifts = {c.id: [(paris_datetime(day, time.fromisoformat(a)),
                      paris_datetime(day, time.fromisoformat(b)))
                     for a, b in c.availability.get(str(day.weekday()), [])] for c in carers}
    # Per carer: the (start, end, position) of what she already does that day.
    busy: dict[int, list[tuple[datetime, datetime, tuple[float | None, float | None]]]] = {
        c.id: [] for c in carers}
    for visit in visits:
        for a in visit.assignments:
            if visit.planned_start and visit.planned_end and a.carer_id in busy:
                busy[a.carer_id].append((visit.planned_start, visit.planned_end,
                                         (visit.client.lat, visit.client.lon)))
    assigned = 0
    for visit in sorted((v for v in visits if v.status == "planned"), key=visit_sort_key):
        client = visit.client
        usual = {c.id for c in client.usual_carers}
        refused = {c.id for c in client.refused_carers}
        here = (client.lat, client.lon)
        options = []
        for carer in carers:
            if carer.id in refused or not set(visit.required_skills) <= set(carer.skills):
                continue
            start = _earliest_start(visit, day, shifts[carer.id], busy[carer.id], here,
                                    (carer.home_lat, carer.home_lon))
            if start is not None:
                options.append((carer.id not in usual, start, carer))
        options.sort(key=lambda o: (o[0], o[1]))
        chosen = options[:visit.carers_needed]
        if len(chosen) < visit.carers_needed:
            continue
        start = max(o[1] for o in chosen)
        end = start + timedelta(minutes=visit.duration_min)
        for position, (_, _, carer) in enumerate(chosen):
            visit.assignments.append(VisitAssignment(carer_id=carer.id, position=position))
            busy[carer.id].append((start, end, here))
        visit.planned_start, visit.planned_end, visit.status = start, end, "assigned"
        assigned += 1
    db.session.flush()
    return assigned


def _earliest_start(visit: Visit, day: date, shifts: list[tuple[datetime, datetime]],
                    busy: list[tuple[datetime, datetime, tuple[float | None, float | None]]],
                    here: tuple[float | None, float | None],
                    home: tuple[float | None, float | None]) -> datetime | None:
    window_open = paris_datetime(day, visit.window_start)
    latest = paris_datetime(day, visit.window_end) - timedelta(minutes=visit.duration_min)
    length = timedelta(minutes=visit.duration_min)
    for shift_start, shift_end in shifts:
        before = [b for b in busy if shift_start <= b[0] < shift_end]
        last_end, last_place = shift_start, home
        if before:
            last = max(before, key=lambda b: b[1])
            last_end, last_place = last[1], last[2]
        start = max(window_open, last_end + timedelta(minutes=travel_minutes(last_place, here)))
        if start <= latest and start + length <= shift_end:
            return start
    return None


def refresh_demo(org: Organisation, first: date, days: int) -> tuple[int, int]:
    """Generate the coming visits and plan them; return (visits created, visits assigned)."""
    created = expand_visits(org.id, first, first + timedelta(days=days))
    assigned = 0
    for offset in range(days + 1):
        assigned += plan_demo_day(org, first + timedelta(days=offset))
    _complete_past_days(org, today_paris())
    return created, assigned


PAST_NOTES = ["Bonne humeur, a bien mangé.", "Un peu fatiguée ce matin.",
              "Frigo presque vide : courses à prévoir.", "RAS.",
              "A parlé de sa fille au téléphone."]


def _complete_past_days(org: Organisation, today: date) -> None:
    """Mark the demo's past assigned visits as done, as carers would have recorded them."""
    rng = random.Random(today.toordinal())
    past = db.session.scalars(sa.select(Visit).where(
        Visit.organisation_id == org.id, Visit.day < today, Visit.status == "assigned")).all()
    for visit in past:
        if visit.planned_start is None or visit.planned_end is None:
            continue
        late = timedelta(minutes=rng.randint(-3, 8))
        visit.status = "done"
        visit.check_in_at = visit.planned_start + late
        visit.check_out_at = visit.planned_end + late + timedelta(minutes=rng.randint(-2, 5))
        visit.tasks_done = list(visit.tasks)
        visit.carer_note = rng.choice(PAST_NOTES) if rng.random() < 0.3 else ""
    db.session.flush()
