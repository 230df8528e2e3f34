"""Typed records for persons, carer observations and outcomes.

These dataclasses are the library's public vocabulary: the web app builds them from its
rows, the CSV interchange (:mod:`risk.csvio`) reads and writes them, and
:class:`ObservationTable` turns many of them into the column arrays the feature code works on.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Origin of the library's time axis; times are seconds since this instant (naive, local).
EPOCH = datetime(2000, 1, 1)
DAY_S = 86_400


class Sex(enum.StrEnum):
    """Sex as recorded in the care file."""

    FEMALE = "F"
    MALE = "M"


class FallReport(enum.IntEnum):
    """Answer to "fall since the last visit?"."""

    NONE = 0
    WITHOUT_INJURY = 1
    WITH_INJURY = 2
    FOUND_ON_FLOOR = 3


class Mobility(enum.IntEnum):
    """Mobility compared with usual, ordered from best to worst."""

    USUAL = 0
    LESS_STEADY = 1
    MORE_HELP = 2
    BED_OR_CHAIR = 3


class Drinks(enum.IntEnum):
    """Fluid intake compared with usual."""

    USUAL = 0
    LESS = 1
    VERY_LITTLE = 2


class Mood(enum.IntEnum):
    """Mood compared with usual (categorical, not ordered)."""

    USUAL = 0
    SAD = 1
    ANXIOUS = 2
    AGITATED = 3


class Confusion(enum.IntEnum):
    """Confusion compared with usual, ordered."""

    NONE = 0
    SOME = 1
    MARKED = 2


class OutcomeEvent(enum.StrEnum):
    """Event kinds in the outcomes file; all but ``FALL`` count as decline."""

    FALL = "fall"
    HOSPITALISATION = "hospitalisation"
    GIR_WORSENING = "gir_worsening"
    ADL_LOSS = "adl_loss"


#: Allowed meal shares, as tapped on the form.
MEAL_SHARES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, slots=True)
class Person:
    """Profile of a person receiving care, as known at scoring time.

    Parameters
    ----------
    person_id : str
        Stable identifier (pseudonymous in exports).
    sex : Sex
    birth_date : date
    gir : int
        AGGIR group 1 (most dependent) to 6 (autonomous).
    walking_aid : bool
        Uses a cane, walker or wheelchair.
    n_medicines : int
        Number of regular medicines.
    n_psychotropics : int
        Regular psychotropics (benzodiazepines, antidepressants, antipsychotics, hypnotics).
    antiepileptics : bool
    cognitive_impairment : bool
    parkinson : bool
    incontinence : bool
    living_alone : bool
    vertigo : bool
        Recorded dizziness or vertigo.
    """

    person_id: str
    sex: Sex
    birth_date: date
    gir: int
    walking_aid: bool = False
    n_medicines: int = 0
    n_psychotropics: int = 0
    antiepileptics: bool = False
    cognitive_impairment: bool = False
    parkinson: bool = False
    incontinence: bool = False
    living_alone: bool = False
    vertigo: bool = False

    def __post_init__(self) -> None:
        """Reject values outside the documented ranges."""
        if not 1 <= self.gir <= 6:
            raise ValueError(f"gir must be 1..6, got {self.gir}")
        if self.n_medicines < 0 or self.n_psychotropics < 0:
            raise ValueError("medicine counts must be non-negative")

    def age_at(self, when: datetime) -> float:
        """Return the age in years at ``when``."""
        return (when.date() - self.birth_date).days / 365.25


@dataclass(frozen=True, slots=True)
class Observation:
    """One carer's answers after one visit; ``None`` means "not answered".

    Parameters
    ----------
    person_id : str
    at : datetime
        End of the visit (naive local time).
    carer_id : str
    fall, near_fall, mobility, walking_aid_used, meal_share, drinks, weight_kg, mood,
    confusion, poor_sleep, continence_change, pain, skin_redness, breathlessness, swelling,
    social_contact, help_toilet, help_dressing, help_transfers, help_eating,
    medication_as_planned
        The form items, see ``docs/risk.md``.
    note : str
        Free text; never used by the models.
    share_with_family : bool
        Whether the note may be shown to the family (subject to consent).
    """

    person_id: str
    at: datetime
    carer_id: str = ""
    fall: FallReport | None = None
    near_fall: bool | None = None
    mobility: Mobility | None = None
    walking_aid_used: bool | None = None
    meal_share: float | None = None
    drinks: Drinks | None = None
    weight_kg: float | None = None
    mood: Mood | None = None
    confusion: Confusion | None = None
    poor_sleep: bool | None = None
    continence_change: bool | None = None
    pain: bool | None = None
    skin_redness: bool | None = None
    breathlessness: bool | None = None
    swelling: bool | None = None
    social_contact: bool | None = None
    help_toilet: bool | None = None
    help_dressing: bool | None = None
    help_transfers: bool | None = None
    help_eating: bool | None = None
    medication_as_planned: bool | None = None
    note: str = ""
    share_with_family: bool = False

    def __post_init__(self) -> None:
        """Reject impossible answers."""
        if self.meal_share is not None and self.meal_share not in MEAL_SHARES:
            raise ValueError(f"meal_share must be one of {MEAL_SHARES}, got {self.meal_share}")
        if self.weight_kg is not None and not 20.0 <= self.weight_kg <= 250.0:
            raise ValueError(f"weight_kg out of range: {self.weight_kg}")


@dataclass(frozen=True, slots=True)
class Outcome:
    """A dated event used as a training label."""

    person_id: str
    on: date
    event: OutcomeEvent


#: Numeric columns of :class:`ObservationTable`, in the order of the CSV file.
ITEM_COLUMNS: tuple[str, ...] = (
    "fall",
    "near_fall",
    "mobility",
    "walking_aid_used",
    "meal_share",
    "drinks",
    "weight_kg",
    "mood",
    "confusion",
    "poor_sleep",
    "continence_change",
    "pain",
    "skin_redness",
    "breathlessness",
    "swelling",
    "social_contact",
    "help_toilet",
    "help_dressing",
    "help_transfers",
    "help_eating",
    "medication_as_planned",
)


def to_seconds(when: datetime) -> int:
    """Return ``when`` as integer seconds on the library's time axis."""
    return int((when - EPOCH) // timedelta(seconds=1))


def from_seconds(seconds: int) -> datetime:
    """Return the datetime for integer seconds on the library's time axis."""
    return EPOCH + timedelta(seconds=int(seconds))


def _num(value: float | int | bool | None) -> float:
    return float("nan") if value is None else float(value)


@dataclass(slots=True)
class ObservationTable:
    """Column arrays of many observations, sorted by person then time.

    ``person`` indexes into ``person_ids``; ``time`` is integer seconds (see
    :func:`to_seconds`); ``items`` maps each name of :data:`ITEM_COLUMNS` to a float array
    where NaN means "not answered". ``carer`` holds carer ids (used by change detection only).
    """

    person_ids: tuple[str, ...]
    person: IntArray
    time: IntArray
    items: dict[str, FloatArray]
    carer: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        """Return the number of observations."""
        return int(self.person.shape[0])

    @classmethod
    def from_records(
        cls, observations: Iterable[Observation], person_ids: Sequence[str]
    ) -> ObservationTable:
        """Build a sorted table, dropping observations of persons not in ``person_ids``.

        Parameters
        ----------
        observations : iterable of Observation
        person_ids : sequence of str
            Defines the person index used by the feature code.

        Returns
        -------
        ObservationTable
        """
        index = {pid: i for i, pid in enumerate(person_ids)}
        rows = [o for o in observations if o.person_id in index]
        person = np.array([index[o.person_id] for o in rows], dtype=np.int64)
        time = np.array([to_seconds(o.at) for o in rows], dtype=np.int64)
        items = {
            name: np.array([_num(getattr(o, name)) for o in rows], dtype=np.float64)
            for name in ITEM_COLUMNS
        }
        carer = tuple(o.carer_id for o in rows)
        return cls(tuple(person_ids), person, time, items, carer).sorted()

    def sorted(self) -> ObservationTable:
        """Return a copy sorted by person, then time (stable)."""
        order = np.lexsort((self.time, self.person))
        carer = tuple(self.carer[i] for i in order) if self.carer else ()
        return ObservationTable(
            self.person_ids,
            self.person[order],
            self.time[order],
            {k: v[order] for k, v in self.items.items()},
            carer,
        )

    def subset(self, mask: npt.NDArray[np.bool_]) -> ObservationTable:
        """Return the rows where ``mask`` is true, keeping the person index."""
        carer = tuple(c for c, m in zip(self.carer, mask, strict=True) if m) if self.carer else ()
        return ObservationTable(
            self.person_ids,
            self.person[mask],
            self.time[mask],
            {k: v[mask] for k, v in self.items.items()},
            carer,
        )
