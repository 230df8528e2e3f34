"""Describe a day of home-care rounds: carers, visits, travel matrices, and the resulting plan.

All times are integer seconds from midnight of the planning day; all distances are integer
metres; positions, where they appear, are ``(lat, lon)`` pairs. Places are indices into the
travel matrices of the :class:`Problem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.int64]

#: A large number of seconds used as "no limit" for windows and working time.
DAY_END = 48 * 3600


class Mode(StrEnum):
    """Travel mode of a carer, which picks the travel-time matrix."""

    DRIVE = "drive"
    BIKE = "bike"
    WALK = "walk"


@dataclass(frozen=True)
class TimeWindow:
    """Hold an interval ``[start, end]`` of seconds from midnight (both ends included)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            msg = f"time window ends ({self.end}) before it starts ({self.start})"
            raise ValueError(msg)

    def contains(self, t: int) -> bool:
        """Return whether ``t`` lies inside the window."""
        return self.start <= t <= self.end


@dataclass(frozen=True)
class BreakRule:
    """Describe the breaks a carer must take (BAD collective agreement defaults).

    Parameters
    ----------
    after_work_s
        Longest stretch of time on duty without a break (6 h).
    min_break_s
        Duration of the break owed after that stretch (20 min).
    meal_window
        When the shift covers this whole window, a meal break must start inside it.
    meal_s
        Duration of the meal break.
    """

    after_work_s: int = 6 * 3600
    min_break_s: int = 20 * 60
    meal_window: TimeWindow | None = TimeWindow(11 * 3600 + 30 * 60, 14 * 3600)
    meal_s: int = 30 * 60

    def needs_meal(self, shift: TimeWindow) -> bool:
        """Return whether a shift spans lunch, so a meal break is owed."""
        return (
            self.meal_window is not None
            and shift.start <= self.meal_window.start
            and shift.end >= self.meal_window.end
        )


@dataclass(frozen=True)
class Carer:
    """Describe a carer (intervenante) available on the planning day.

    Parameters
    ----------
    id
        Stable identifier (the web app's primary key as text).
    shift
        Earliest departure from ``start_place`` and latest arrival at ``end_place``.
    start_place, end_place
        Matrix indices of where the day starts and ends (usually home).
    skills
        Skill codes held, e.g. ``"transferts"``, ``"toilette"``.
    mode
        Travel mode, selecting the matrix in :attr:`Problem.travel`.
    max_work_s
        Hard cap on working time (visits plus travel), ``None`` for none.
    contract_work_s
        Working time beyond which minutes count as overtime, ``None`` for none.
    breaks
        Break rule, or ``None`` when no break is to be planned.
    capacity
        Capacity for problems with demands (Solomon); home care leaves it at 0.
    name
        Display name, used in reasons.
    max_amplitude_s
        Longest span from leaving ``start_place`` to reaching ``end_place`` (amplitude of
        the working day, breaks and waiting included), ``None`` for none.
    previous_end
        When the carer's previous working day ended, in seconds from this day's midnight
        (negative for the evening before), ``None`` when unknown or long ago.
    next_start
        When the carer's next working day starts, in seconds from this day's midnight
        (e.g. ``24 * 3600 + 7 * 3600`` for 7:00 the next day), ``None`` when unknown.
    min_rest_s
        Rest owed between two working days (11 h in the BAD agreement).
    """

    id: str
    shift: TimeWindow
    start_place: int
    end_place: int
    skills: frozenset[str] = frozenset()
    mode: Mode = Mode.DRIVE
    max_work_s: int | None = None
    contract_work_s: int | None = None
    breaks: BreakRule | None = None
    capacity: int = 0
    name: str = ""
    max_amplitude_s: int | None = None
    previous_end: int | None = None
    next_start: int | None = None
    min_rest_s: int = 11 * 3600

    @property
    def label(self) -> str:
        """Return the name to show a coordinator."""
        return self.name or self.id

    @property
    def available(self) -> TimeWindow | None:
        """Return the shift shortened by the rest owed around the previous and next days.

        ``None`` when the rest leaves no time at all: the carer can take no visit.
        """
        lo, hi = self.shift.start, self.shift.end
        if self.previous_end is not None:
            lo = max(lo, self.previous_end + self.min_rest_s)
        if self.next_start is not None:
            hi = min(hi, self.next_start - self.min_rest_s)
        return TimeWindow(lo, hi) if lo <= hi else None


@dataclass(frozen=True)
class Sync:
    """Synchronise the two carers of a two-carer visit.

    The second carer starts between ``min_gap_s`` and ``max_gap_s`` after the first;
    ``Sync(0, 0)`` means both start together.
    """

    min_gap_s: int = 0
    max_gap_s: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.min_gap_s <= self.max_gap_s:
            msg = f"invalid gap [{self.min_gap_s}, {self.max_gap_s}]"
            raise ValueError(msg)

    @property
    def simultaneous(self) -> bool:
        """Return whether both carers must start at the same time."""
        return self.min_gap_s == 0 and self.max_gap_s == 0


SIMULTANEOUS = Sync(0, 0)


@dataclass(frozen=True)
class Visit:
    """Describe a visit (intervention) to plan.

    Parameters
    ----------
    id
        Stable identifier.
    place
        Matrix index of the client's home.
    window
        Hard window for the start of the visit.
    duration_s
        Time on site.
    skills
        Skills the (first) carer must hold.
    carers_needed
        1, or 2 for visits needing two carers (e.g. transfers with a lift).
    sync
        For two-carer visits, how the second carer's start relates to the first's.
    second_skills, second_duration_s
        Skills and duration of the second carer's part; default to the first's.
    preferred
        Soft window: starting outside it costs lateness (or earliness).
    usual_carers
        Carers the client knows; choosing another one costs continuity.
    refused_carers
        Carers the client refuses: never assigned.
    pinned_carer
        Carer imposed for this visit (first part for two-carer visits).
    pinned_start
        Start time imposed for this visit.
    priority
        Weight of serving the visit; higher is more important (1 = normal).
    demand
        Load taken by the visit (Solomon capacity); 0 in home care.
    client
        Display name of the client, used in reasons.
    previous_carers
        Carers of this visit in a previous plan; changing them costs :attr:`Costs.change`.
    access_s
        Extra parking/access time when arriving here from another place (on top of
        :attr:`Problem.access_s`), e.g. a building with a hard-to-reach entrance.
    """

    id: str
    place: int
    window: TimeWindow
    duration_s: int
    skills: frozenset[str] = frozenset()
    carers_needed: int = 1
    sync: Sync = SIMULTANEOUS
    second_skills: frozenset[str] | None = None
    second_duration_s: int | None = None
    preferred: TimeWindow | None = None
    usual_carers: frozenset[str] = frozenset()
    refused_carers: frozenset[str] = frozenset()
    pinned_carer: str | None = None
    pinned_start: int | None = None
    priority: int = 1
    demand: int = 0
    client: str = ""
    previous_carers: tuple[str, ...] = ()
    access_s: int = 0

    def __post_init__(self) -> None:
        if self.carers_needed not in (1, 2):
            msg = f"visit {self.id}: carers_needed must be 1 or 2"
            raise ValueError(msg)
        if self.duration_s < 0 or self.priority < 0:
            msg = f"visit {self.id}: negative duration or priority"
            raise ValueError(msg)

    def part_skills(self, part: int) -> frozenset[str]:
        """Return the skills required from the carer doing ``part`` (0 or 1)."""
        if part == 1 and self.second_skills is not None:
            return self.second_skills
        return self.skills

    def part_duration(self, part: int) -> int:
        """Return the time on site of the carer doing ``part`` (0 or 1)."""
        if part == 1 and self.second_duration_s is not None:
            return self.second_duration_s
        return self.duration_s


@dataclass(frozen=True)
class Costs:
    """Weigh the objectives against travel time (1 unit = 1 second of travel).

    Serving visits comes first (``unassigned`` per unit of priority), then travel time,
    then continuity, lateness, balance and changes.
    """

    unassigned: int = 10_000_000
    vehicle: int = 0
    non_usual_carer: int = 15 * 60
    lateness_per_s: int = 1
    balance_per_s: int = 0
    change: int = 30 * 60
    waiting_per_s: int = 0


@dataclass(frozen=True)
class Problem:
    """Gather everything the solver needs for one planning day.

    Parameters
    ----------
    carers, visits
        The people and the work.
    travel
        Travel time in seconds between places, one square matrix per mode.
    distance
        Travel distance in metres, same shape and keys as ``travel`` (may be empty).
    costs
        Objective weights.
    access_s
        Parking/access time added to each travel leg arriving at a different place.
    """

    carers: tuple[Carer, ...]
    visits: tuple[Visit, ...]
    travel: Mapping[str, Matrix] = field(compare=False)
    distance: Mapping[str, Matrix] = field(default_factory=dict, compare=False)
    costs: Costs = Costs()
    access_s: int = 0

    def __post_init__(self) -> None:
        ids = [c.id for c in self.carers]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate carer ids")
        vids = [v.id for v in self.visits]
        if len(set(vids)) != len(vids):
            raise ValueError("duplicate visit ids")
        for mode in {c.mode for c in self.carers}:
            if str(mode) not in self.travel:
                msg = f"no travel matrix for mode {mode}"
                raise ValueError(msg)

    def travel_s(self, mode: str, a: int, b: int) -> int:
        """Return the travel time from place ``a`` to ``b``, parking included."""
        if a == b:
            return 0
        return int(self.travel[str(mode)][a, b]) + self.access_s

    def distance_m(self, mode: str, a: int, b: int) -> int:
        """Return the distance in metres from place ``a`` to ``b`` (0 without matrix)."""
        m = self.distance.get(str(mode))
        return 0 if m is None or a == b else int(m[a, b])

    def carer(self, carer_id: str) -> Carer:
        """Return the carer with this id."""
        for c in self.carers:
            if c.id == carer_id:
                return c
        raise KeyError(carer_id)

    def visit(self, visit_id: str) -> Visit:
        """Return the visit with this id."""
        for v in self.visits:
            if v.id == visit_id:
                return v
        raise KeyError(visit_id)


@dataclass(frozen=True)
class Stop:
    """Record one visit (or one carer's part of a two-carer visit) in a route."""

    visit_id: str
    part: int
    place: int
    arrival: int
    waiting_s: int
    start: int
    end: int
    travel_s: int
    travel_m: int


@dataclass(frozen=True)
class Break:
    """Record a planned break in a route."""

    start: int
    end: int
    meal: bool = False


@dataclass(frozen=True)
class Route:
    """Record the ordered day of one carer."""

    carer_id: str
    departure: int
    stops: tuple[Stop, ...]
    return_time: int
    return_travel_s: int
    return_travel_m: int
    breaks: tuple[Break, ...] = ()

    @property
    def travel_s(self) -> int:
        """Return the total travel time, the way home included."""
        return sum(s.travel_s for s in self.stops) + self.return_travel_s

    @property
    def travel_m(self) -> int:
        """Return the total travel distance in metres."""
        return sum(s.travel_m for s in self.stops) + self.return_travel_m

    @property
    def work_s(self) -> int:
        """Return working time: visits plus travel."""
        return sum(s.end - s.start for s in self.stops) + self.travel_s


@dataclass(frozen=True)
class Unassigned:
    """Record a visit left out with a reason a coordinator understands."""

    visit_id: str
    reason: str


@dataclass(frozen=True)
class Figures:
    """Summarise a plan."""

    visits: int
    assigned: int
    travel_s: int
    travel_m: int
    lateness_s: int
    max_lateness_s: int
    usual_share: float
    overtime_s: int
    workload_s: Mapping[str, int]
    vehicles: int


@dataclass(frozen=True)
class Change:
    """Record how re-planning moved a visit."""

    visit_id: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    start_before: int | None
    start_after: int | None


@dataclass(frozen=True)
class Plan:
    """Hold the solver's answer: routes, unassigned visits and figures."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    figures: Figures
    objective: int = 0
    solve_s: float = 0.0
    changes: tuple[Change, ...] = ()

    def route(self, carer_id: str) -> Route | None:
        """Return the route of a carer, or ``None`` when idle."""
        for r in self.routes:
            if r.carer_id == carer_id:
                return r
        return None

    def assignment(self) -> dict[str, tuple[str, ...]]:
        """Return the carers of each assigned visit, first part first."""
        parts: dict[str, dict[int, str]] = {}
        for r in self.routes:
            for s in r.stops:
                parts.setdefault(s.visit_id, {})[s.part] = r.carer_id
        return {v: tuple(p[k] for k in sorted(p)) for v, p in parts.items()}

    def starts(self) -> dict[str, int]:
        """Return the start time of each assigned visit (first part)."""
        out: dict[str, int] = {}
        for r in self.routes:
            for s in r.stops:
                if s.part == 0:
                    out[s.visit_id] = s.start
        return out
