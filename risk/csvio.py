"""The documented CSV interchange (a public contract, see ``docs/risk.md``).

Files are UTF-8 with a header row, comma-separated. An empty cell means "not answered".
Booleans are ``1``/``0`` (``true``/``false``, ``oui``/``non`` are accepted on input). Dates are
ISO 8601 (``2025-03-14``), times ISO 8601 without time zone (``2025-03-14T09:30:00``, local
time).
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np

from risk.explain import Score
from risk.schema import (
    ITEM_COLUMNS,
    Confusion,
    Drinks,
    FallReport,
    Mobility,
    Mood,
    ObservationTable,
    Outcome,
    OutcomeEvent,
    Person,
    Sex,
    from_seconds,
    to_seconds,
)

PERSON_COLUMNS: tuple[str, ...] = (
    "person_id",
    "sex",
    "birth_date",
    "gir",
    "walking_aid",
    "n_medicines",
    "n_psychotropics",
    "antiepileptics",
    "cognitive_impairment",
    "parkinson",
    "incontinence",
    "living_alone",
    "vertigo",
)
OBSERVATION_COLUMNS: tuple[str, ...] = (
    "person_id",
    "at",
    "carer_id",
    *ITEM_COLUMNS,
    "note",
    "share_with_family",
)
OUTCOME_COLUMNS: tuple[str, ...] = ("person_id", "date", "event")
SCORE_COLUMNS: tuple[str, ...] = (
    "person_id",
    "fall_risk_90d",
    "decline_risk_90d",
    "fall_reasons",
    "decline_reasons",
)

#: Categorical items and their enum; the CSV holds the lower-case member name.
CATEGORICAL: dict[str, type[enum.IntEnum]] = {
    "fall": FallReport,
    "mobility": Mobility,
    "drinks": Drinks,
    "mood": Mood,
    "confusion": Confusion,
}

_TRUE = {"1", "true", "oui", "yes", "vrai"}
_FALSE = {"0", "false", "non", "no", "faux"}


class CsvError(ValueError):
    """A CSV file breaks the documented contract."""


def _bool(cell: str, where: str) -> bool:
    v = cell.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise CsvError(f"{where}: expected 1/0, got {cell!r}")


def _rows(path: str | Path, required: Sequence[str]) -> Iterable[tuple[int, dict[str, str]]]:
    with Path(path).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise CsvError(f"{path}: missing columns {', '.join(missing)}")
        yield from enumerate(reader, start=2)


def read_persons(path: str | Path) -> list[Person]:
    """Read the persons file."""
    out = []
    for line, r in _rows(path, PERSON_COLUMNS):
        where = f"{path}:{line}"
        try:
            out.append(
                Person(
                    person_id=r["person_id"],
                    sex=Sex(r["sex"].strip().upper()),
                    birth_date=date.fromisoformat(r["birth_date"]),
                    gir=int(r["gir"]),
                    walking_aid=_bool(r["walking_aid"], where),
                    n_medicines=int(r["n_medicines"]),
                    n_psychotropics=int(r["n_psychotropics"]),
                    antiepileptics=_bool(r["antiepileptics"], where),
                    cognitive_impairment=_bool(r["cognitive_impairment"], where),
                    parkinson=_bool(r["parkinson"], where),
                    incontinence=_bool(r["incontinence"], where),
                    living_alone=_bool(r["living_alone"], where),
                    vertigo=_bool(r["vertigo"], where),
                )
            )
        except (KeyError, ValueError) as exc:
            raise CsvError(f"{where}: {exc}") from exc
    return out


def write_persons(path: str | Path, persons: Iterable[Person]) -> None:
    """Write the persons file."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PERSON_COLUMNS)
        for p in persons:
            w.writerow(
                [p.person_id, p.sex.value, p.birth_date.isoformat(), p.gir, int(p.walking_aid),
                 p.n_medicines, p.n_psychotropics, int(p.antiepileptics),
                 int(p.cognitive_impairment), int(p.parkinson), int(p.incontinence),
                 int(p.living_alone), int(p.vertigo)]
            )


def _parse_item(name: str, cell: str, where: str) -> float:
    v = cell.strip()
    if not v:
        return float("nan")
    if name in CATEGORICAL:
        try:
            return float(CATEGORICAL[name][v.upper()])
        except KeyError as exc:
            allowed = "/".join(m.name.lower() for m in CATEGORICAL[name])
            raise CsvError(f"{where}: {name} must be one of {allowed}, got {v!r}") from exc
    if name == "meal_share":
        x = float(v)
        if x not in (0.0, 0.25, 0.5, 0.75, 1.0):
            raise CsvError(f"{where}: meal_share must be 0, 0.25, 0.5, 0.75 or 1")
        return x
    if name == "weight_kg":
        x = float(v)
        if not 20.0 <= x <= 250.0:
            raise CsvError(f"{where}: weight_kg out of range")
        return x
    return float(_bool(v, where))


def read_observations(path: str | Path, person_ids: Sequence[str]) -> ObservationTable:
    """Read the observations file into a table indexed by ``person_ids``.

    Rows of persons absent from ``person_ids`` are skipped. Free text is not loaded: the models
    never use it.
    """
    index = {pid: i for i, pid in enumerate(person_ids)}
    person: list[int] = []
    time: list[int] = []
    carer: list[str] = []
    cols: dict[str, list[float]] = {k: [] for k in ITEM_COLUMNS}
    for line, r in _rows(path, ("person_id", "at", *ITEM_COLUMNS)):
        i = index.get(r["person_id"])
        if i is None:
            continue
        where = f"{path}:{line}"
        try:
            time.append(to_seconds(datetime.fromisoformat(r["at"])))
        except ValueError as exc:
            raise CsvError(f"{where}: {exc}") from exc
        person.append(i)
        carer.append(r.get("carer_id") or "")
        for k in ITEM_COLUMNS:
            cols[k].append(_parse_item(k, r[k], where))
    return ObservationTable(
        tuple(person_ids),
        np.array(person, dtype=np.int64),
        np.array(time, dtype=np.int64),
        {k: np.array(v, dtype=np.float64) for k, v in cols.items()},
        tuple(carer),
    ).sorted()


def _format_item(name: str, x: float) -> str:
    if np.isnan(x):
        return ""
    if name in CATEGORICAL:
        return CATEGORICAL[name](int(x)).name.lower()
    if name in ("meal_share", "weight_kg"):
        return f"{x:g}"
    return str(int(x))


def write_observations(
    path: str | Path, table: ObservationTable, notes: Sequence[str] = ()
) -> None:
    """Write a table (and optional free-text notes, one per row) as the observations file."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(OBSERVATION_COLUMNS)
        items = [table.items[k] for k in ITEM_COLUMNS]
        for i in range(len(table)):
            w.writerow(
                [
                    table.person_ids[int(table.person[i])],
                    from_seconds(int(table.time[i])).isoformat(),
                    table.carer[i] if table.carer else "",
                    *(_format_item(k, float(col[i])) for k, col in zip(ITEM_COLUMNS, items,
                                                                        strict=True)),
                    notes[i] if notes else "",
                    0,
                ]
            )


def read_outcomes(path: str | Path) -> list[Outcome]:
    """Read the outcomes file."""
    out = []
    for line, r in _rows(path, OUTCOME_COLUMNS):
        try:
            out.append(Outcome(r["person_id"], date.fromisoformat(r["date"]),
                               OutcomeEvent(r["event"].strip().lower())))
        except ValueError as exc:
            raise CsvError(f"{path}:{line}: {exc}") from exc
    return out


def write_outcomes(path: str | Path, outcomes: Iterable[Outcome]) -> None:
    """Write the outcomes file."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(OUTCOME_COLUMNS)
        for o in outcomes:
            w.writerow([o.person_id, o.on.isoformat(), o.event.value])


def write_scores(path: str | Path, scores: Iterable[Score]) -> None:
    """Write the scores file; reasons are French texts separated by `` ; ``."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(SCORE_COLUMNS)
        for s in scores:
            w.writerow(
                [s.person_id, f"{s.fall_risk_90d:.4f}", f"{s.decline_risk_90d:.4f}",
                 " ; ".join(r.text for r in s.fall_reasons),
                 " ; ".join(r.text for r in s.decline_reasons)]
            )
