"""Landmark features computed only from data strictly before the landmark time.

A *landmark* is a (person, time) pair at which a score is wanted. Every observation-derived
feature is computed from the rows whose time is strictly smaller than the landmark time; the
profile (age, GIR, diagnoses, medicines) is taken as known at that time. A property test in
``tests/unit/risk/test_features.py`` checks the strictness by rewriting every later row.

The computation is vectorised over landmarks: rows are keyed by ``(person, time)`` in one sorted
int64 array, windows are counted with prefix sums and smoothed trends read the last
:data:`EWMA_LAST` visits through a gathered index matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from risk.schema import (
    DAY_S,
    EPOCH,
    FloatArray,
    IntArray,
    ObservationTable,
    Outcome,
    OutcomeEvent,
    Person,
    Sex,
    to_seconds,
)

#: Decay time of the smoothed trends, in days (a fortnight: several visits, reacts within weeks).
EWMA_TAU_DAYS = 14.0
#: How many past visits the smoothed trends look at, and how far back at most (days).
EWMA_LAST = 24
EWMA_LOOKBACK_DAYS = 90
#: Own-baseline window for "change from usual": from 180 to 30 days before the landmark.
BASELINE_DAYS = (180, 30)

#: Items summarised by a smoothed trend, with the transform that makes 0 mean "as usual".
_TREND_ITEMS: dict[str, str] = {
    "meal_deficit": "meal_share",  # 1 - share eaten
    "drinks": "drinks",
    "mobility": "mobility",
    "confusion": "confusion",
    "mood_changed": "mood",  # any answer other than "usual"
    "help": "help_*",  # number of ADL needing more help (0-4)
    "poor_sleep": "poor_sleep",
    "continence_change": "continence_change",
    "pain": "pain",
    "skin_redness": "skin_redness",
    "breathlessness": "breathlessness",
    "swelling": "swelling",
    "no_social_contact": "social_contact",  # 1 - contact
    "medication_missed": "medication_as_planned",  # 1 - as planned
    "walking_aid_used": "walking_aid_used",
    "near_fall": "near_fall",
}

PROFILE_FEATURES: tuple[str, ...] = (
    "age",
    "female",
    "gir",
    "walking_aid",
    "n_medicines",
    "polypharmacy",
    "n_psychotropics",
    "antiepileptics",
    "cognitive_impairment",
    "parkinson",
    "incontinence",
    "living_alone",
    "vertigo",
)

HISTORY_FEATURES: tuple[str, ...] = (
    "falls_30d",
    "falls_90d",
    "falls_365d",
    "injurious_falls_90d",
    "near_falls_30d",
    "near_falls_90d",
    "days_since_fall",
    "visits_30d",
    "low_meal_last7",
    "answered_meal_last7",
    "weight_loss_1m_pct",
    "weight_loss_6m_pct",
    "weight_known",
)

TREND_FEATURES: tuple[str, ...] = tuple(f"ewma_{k}" for k in _TREND_ITEMS)
#: Long-run level of each item over the 180 days before the landmark (the person's usual state).
LEVEL_FEATURES: tuple[str, ...] = tuple(f"mean180_{k}" for k in _TREND_ITEMS)
CHANGE_FEATURES: tuple[str, ...] = (
    "change_meal_deficit",
    "change_mobility",
    "change_confusion",
    "change_help",
)

#: Products of a diagnosis or situation with the carer item it colours: "some confusion"
#: means something else in a person with a cognitive disorder than in one without, and so do a
#: continence change with incontinence, no visitor when living alone, a missed medicine with a
#: cognitive disorder. Always recomputed from their two columns (:func:`refresh_interactions`).
INTERACTIONS: dict[str, tuple[str, str]] = {
    f"{a}_x_{b}": (a, b)
    for a, item in (
        ("cognitive_impairment", "confusion"),
        ("incontinence", "continence_change"),
        ("living_alone", "no_social_contact"),
        ("cognitive_impairment", "medication_missed"),
    )
    for b in (f"ewma_{item}", f"mean180_{item}")
}
INTERACTION_FEATURES: tuple[str, ...] = tuple(INTERACTIONS)

#: All features, in matrix column order.
FEATURES: tuple[str, ...] = (
    *PROFILE_FEATURES,
    *HISTORY_FEATURES,
    *TREND_FEATURES,
    *LEVEL_FEATURES,
    *CHANGE_FEATURES,
    "steadi_like",
    *INTERACTION_FEATURES,
)

#: The six main Deandrea 2010 factors as features (baseline "Deandrea six").
DEANDREA_SIX: tuple[str, ...] = (
    "falls_365d",  # history of falls
    "ewma_mobility",  # gait problems as seen by carers
    "walking_aid",
    "vertigo",
    "parkinson",
    "antiepileptics",
)

_DAYS_SINCE_CAP = 365.0
_KEY_SHIFT = np.int64(1) << np.int64(34)
_KEY_OFFSET = np.int64(1) << np.int64(33)


def _keys(person: IntArray, time: IntArray) -> IntArray:
    # One sortable int64 per (person, time); exact, so "strictly before" is exact too.
    return person.astype(np.int64) * _KEY_SHIFT + (time.astype(np.int64) + _KEY_OFFSET)


def item_values(table: ObservationTable) -> dict[str, FloatArray]:
    """Return each trend item with 0 meaning "as usual" and NaN meaning "not answered".

    Parameters
    ----------
    table : ObservationTable

    Returns
    -------
    dict of str to float array
        One array per name of the trend items (``meal_deficit``, ``help``...), higher is worse.
    """
    it = table.items
    help_cols = np.stack(
        [it["help_toilet"], it["help_dressing"], it["help_transfers"], it["help_eating"]]
    )
    answered = ~np.isnan(help_cols)
    n_help = np.where(answered, help_cols, 0.0).sum(axis=0)
    # The count is defined when at least one help item was answered.
    help_value = np.where(answered.any(axis=0), n_help, np.nan)
    mood = it["mood"]
    return {
        "meal_deficit": 1.0 - it["meal_share"],
        "drinks": it["drinks"],
        "mobility": it["mobility"],
        "confusion": it["confusion"],
        "mood_changed": np.where(np.isnan(mood), np.nan, (mood > 0).astype(np.float64)),
        "help": help_value,
        "poor_sleep": it["poor_sleep"],
        "continence_change": it["continence_change"],
        "pain": it["pain"],
        "skin_redness": it["skin_redness"],
        "breathlessness": it["breathlessness"],
        "swelling": it["swelling"],
        "no_social_contact": 1.0 - it["social_contact"],
        "medication_missed": 1.0 - it["medication_as_planned"],
        "walking_aid_used": it["walking_aid_used"],
        "near_fall": it["near_fall"],
    }


@dataclass(slots=True)
class _Index:
    """Sorted keys and prefix sums over one observation table."""

    keys: IntArray
    time: IntArray

    def before(self, person: IntArray, at: IntArray) -> IntArray:
        """Return, per landmark, the number of rows with key < (person, at)."""
        return np.searchsorted(self.keys, _keys(person, at), side="left").astype(np.int64)

    def first(self, person: IntArray) -> IntArray:
        """Return the first row index of each person."""
        lowest = np.full(person.shape[0], -int(_KEY_OFFSET), dtype=np.int64)
        return np.searchsorted(self.keys, _keys(person, lowest), side="left").astype(np.int64)


def _prefix(values: FloatArray) -> FloatArray:
    out = np.zeros(values.shape[0] + 1)
    np.cumsum(values, out=out[1:])
    return out


def _window_sum(
    pref: FloatArray, idx: _Index, person: IntArray, lo: IntArray, hi: IntArray
) -> FloatArray:
    """Sum a row quantity over times in ``[lo, hi)`` for each landmark."""
    a = idx.before(person, lo)
    b = idx.before(person, hi)
    return pref[b] - pref[a]


def profile_matrix(persons: Sequence[Person], person: IntArray, at: IntArray) -> FloatArray:
    """Return the profile columns for landmarks ``(person, at)``.

    Parameters
    ----------
    persons : sequence of Person
        Indexed by ``person``.
    person : int array
    at : int array
        Landmark times in seconds (see :func:`risk.schema.to_seconds`).

    Returns
    -------
    float array, shape (n_landmarks, len(PROFILE_FEATURES))
    """
    base = np.array(
        [
            [
                (p.birth_date - EPOCH.date()).days,
                p.sex == Sex.FEMALE,
                p.gir,
                p.walking_aid,
                p.n_medicines,
                p.n_medicines >= 8,
                p.n_psychotropics,
                p.antiepileptics,
                p.cognitive_impairment,
                p.parkinson,
                p.incontinence,
                p.living_alone,
                p.vertigo,
            ]
            for p in persons
        ],
        dtype=np.float64,
    ).reshape(len(persons), len(PROFILE_FEATURES))
    out = base[person].copy()
    out[:, 0] = (at / DAY_S - out[:, 0]) / 365.25
    return out


def landmark_features(
    persons: Sequence[Person],
    table: ObservationTable,
    person: IntArray,
    at: IntArray,
) -> FloatArray:
    """Compute the feature matrix at landmarks from observations strictly before them.

    Parameters
    ----------
    persons : sequence of Person
        Profiles, indexed like ``table.person_ids``.
    table : ObservationTable
        Sorted observations (see :meth:`ObservationTable.sorted`).
    person : int array
        Person index of each landmark.
    at : int array
        Landmark time of each landmark, integer seconds.

    Returns
    -------
    float array, shape (n_landmarks, len(FEATURES))
        No NaN: unknown trends take their "as usual" value (0) and unknown weights give 0 loss
        with ``weight_known = 0``.
    """
    person = np.asarray(person, dtype=np.int64)
    at = np.asarray(at, dtype=np.int64)
    n = person.shape[0]
    day = np.int64(DAY_S)
    idx = _Index(_keys(table.person, table.time), table.time)
    cols: dict[str, FloatArray] = {}

    # Falls and near-falls over fixed windows, by prefix sums.
    fall = table.items["fall"]
    is_fall = np.nan_to_num(fall) >= 1
    pref_fall = _prefix(is_fall.astype(np.float64))
    pref_inj = _prefix((np.nan_to_num(fall) >= 2).astype(np.float64))
    pref_near = _prefix(np.nan_to_num(table.items["near_fall"]))
    pref_one = _prefix(np.ones(len(table)))
    for days in (30, 90, 365):
        cols[f"falls_{days}d"] = _window_sum(pref_fall, idx, person, at - days * day, at)
    cols["injurious_falls_90d"] = _window_sum(pref_inj, idx, person, at - 90 * day, at)
    cols["near_falls_30d"] = _window_sum(pref_near, idx, person, at - 30 * day, at)
    cols["near_falls_90d"] = _window_sum(pref_near, idx, person, at - 90 * day, at)
    cols["visits_30d"] = _window_sum(pref_one, idx, person, at - 30 * day, at)

    # Days since the last reported fall, from the sub-table of fall rows.
    fidx = _Index(idx.keys[is_fall], table.time[is_fall])
    fperson = table.person[is_fall]
    last = fidx.before(person, at) - 1
    ok = last >= 0
    safe = np.where(ok, last, 0)
    ok &= fperson[safe] == person if fperson.size else np.zeros(n, dtype=bool)
    since = np.where(ok, (at - fidx.time[safe]) / DAY_S if fperson.size else 0.0, _DAYS_SINCE_CAP)
    cols["days_since_fall"] = np.minimum(since, _DAYS_SINCE_CAP)

    # Smoothed trends over the last EWMA_LAST visits within EWMA_LOOKBACK_DAYS.
    hi = idx.before(person, at)
    lo = idx.first(person)
    gather = hi[:, None] - 1 - np.arange(EWMA_LAST)[None, :]
    valid = gather >= lo[:, None]
    g = np.where(valid, gather, 0)
    age_days = (at[:, None] - table.time[g]) / DAY_S if len(table) else np.zeros(g.shape)
    valid &= age_days <= EWMA_LOOKBACK_DAYS
    weight = np.where(valid, np.exp(-age_days / EWMA_TAU_DAYS), 0.0)
    values = item_values(table)
    ewma: dict[str, FloatArray] = {}
    for name, v in values.items():
        x = v[g] if len(table) else np.full(g.shape, np.nan)
        w = np.where(np.isnan(x), 0.0, weight)
        total = w.sum(axis=1)
        mean = (w * np.nan_to_num(x)).sum(axis=1) / np.maximum(total, 1e-12)
        ewma[name] = np.where(total > 0, mean, 0.0)
        cols[f"ewma_{name}"] = ewma[name]

    for name, v in values.items():
        answered_v = ~np.isnan(v)
        s = _window_sum(_prefix(np.nan_to_num(v)), idx, person, at - 180 * day, at)
        c = _window_sum(_prefix(answered_v.astype(np.float64)), idx, person, at - 180 * day, at)
        cols[f"mean180_{name}"] = np.where(c > 0, s / np.maximum(c, 1.0), 0.0)

    # Latest answer within 30 days, as a one-off questionnaire would capture it (STEADI-like).
    recent = valid & (age_days <= 30)
    latest: dict[str, FloatArray] = {}
    for name in ("mobility", "help", "mood_changed", "continence_change", "walking_aid_used"):
        x = values[name][g] if len(table) else np.full(g.shape, np.nan)
        has = recent & ~np.isnan(x)
        first = np.argmax(has, axis=1)
        pick = x[np.arange(n), first] if n else np.zeros(0)
        latest[f"latest_{name}"] = np.where(has.any(axis=1), pick, 0.0)

    # "Repas à moitié ou moins N fois sur les 7 dernières visites".
    last7 = valid[:, :7]
    meal = table.items["meal_share"][g[:, :7]] if len(table) else np.full((n, 7), np.nan)
    answered = last7 & ~np.isnan(meal)
    low = answered & (np.nan_to_num(meal, nan=1.0) <= 0.5)
    cols["low_meal_last7"] = low.sum(axis=1).astype(np.float64)
    cols["answered_meal_last7"] = answered.sum(axis=1).astype(np.float64)

    # Change from the person's own usual level (baseline window), for the main domains.
    far, near = BASELINE_DAYS
    for name in ("meal_deficit", "mobility", "confusion", "help"):
        v = values[name]
        lo_t, hi_t = at - far * day, at - near * day
        s = _window_sum(_prefix(np.nan_to_num(v)), idx, person, lo_t, hi_t)
        c = _window_sum(_prefix((~np.isnan(v)).astype(np.float64)), idx, person, lo_t, hi_t)
        base = np.where(c > 0, s / np.maximum(c, 1.0), ewma[name])
        cols[f"change_{name}"] = ewma[name] - base

    cols.update(_weight_features(table, idx, person, at))
    prof = profile_matrix(persons, person, at)
    for j, name in enumerate(PROFILE_FEATURES):
        cols[name] = prof[:, j]
    for name, (a, b) in INTERACTIONS.items():
        cols[name] = cols[a] * cols[b]
    cols["steadi_like"] = steadi_like({**cols, **latest})
    return np.column_stack([cols[f] for f in FEATURES]) if n else np.zeros((0, len(FEATURES)))


def refresh_interactions(x: FloatArray, features: Sequence[str]) -> FloatArray:
    """Recompute the interaction columns of ``x`` from their parts, in place; return ``x``.

    Used after setting some columns to other values (explanations, factor effects), so that a
    product never keeps the value of a factor that was switched off.
    """
    col = {f: j for j, f in enumerate(features)}
    for name, (a, b) in INTERACTIONS.items():
        if name in col:
            x[:, col[name]] = x[:, col[a]] * x[:, col[b]]
    return x


def _weight_features(
    table: ObservationTable, idx: _Index, person: IntArray, at: IntArray
) -> dict[str, FloatArray]:
    """Return weight-loss percentages over about 1 and 6 months (HAS 2021 thresholds)."""
    n = person.shape[0]
    has = ~np.isnan(table.items["weight_kg"])
    out = {
        "weight_loss_1m_pct": np.zeros(n),
        "weight_loss_6m_pct": np.zeros(n),
        "weight_known": np.zeros(n),
    }
    if not has.any():
        return out
    wkeys = idx.keys[has]
    wtime = table.time[has]
    wperson = table.person[has]
    wkg = table.items["weight_kg"][has]
    day = np.int64(DAY_S)

    def last_at_or_before(
        limit: IntArray, earliest: IntArray
    ) -> tuple[npt.NDArray[np.bool_], IntArray]:
        # Last weighing with earliest <= time <= limit (and strictly before the landmark).
        bound = np.minimum(limit, at - 1)
        j = np.searchsorted(wkeys, _keys(person, bound), side="right").astype(np.int64) - 1
        ok = j >= 0
        j = np.where(ok, j, 0)
        ok &= (wperson[j] == person) & (wtime[j] >= earliest)
        return ok, j

    ok_now, j_now = last_at_or_before(at - 1, at - 45 * day)
    t_now = wtime[j_now]
    out["weight_known"] = ok_now.astype(np.float64)
    for name, (a, b) in {"weight_loss_1m_pct": (21, 60), "weight_loss_6m_pct": (150, 240)}.items():
        ok_ref, j_ref = last_at_or_before(t_now - a * day, t_now - b * day)
        both = ok_now & ok_ref
        loss = 100.0 * (wkg[j_ref] - wkg[j_now]) / np.where(both, wkg[j_ref], 1.0)
        out[name] = np.where(both, loss, 0.0)
    return out


def steadi_like(cols: dict[str, FloatArray]) -> FloatArray:
    """Return a STEADI *Stay Independent*-like score (0–14) built from carer items.

    STEADI is a one-off questionnaire, so the carer items enter as the latest answer within
    30 days (``latest_*``), like answers given on the day of screening. Fell in the past year
    and uses a walking aid score 2 (as in STEADI); one point each for unsteady (mobility not
    usual), steadies on furniture (more help for an activity), worried about falling (a near
    fall in 90 days), pushes up from a chair (needed more help or stayed in bed/chair), rushes
    to the toilet (incontinence or a continence change), dizzying medicines (vertigo or
    antiepileptics), sleep or mood medicines (psychotropics) and sad or changed mood. STEADI's
    kerb and numb-feet items have no carer equivalent and score 0.
    """
    score = 2.0 * (cols["falls_365d"] > 0) + 2.0 * np.maximum(
        cols["walking_aid"], cols["latest_walking_aid_used"] > 0
    )
    score = score + (cols["latest_mobility"] >= 1)
    score = score + (cols["latest_help"] >= 1)
    score = score + (cols["near_falls_90d"] > 0)
    score = score + (cols["latest_mobility"] >= 2)
    score = score + np.maximum(cols["incontinence"], cols["latest_continence_change"] > 0)
    score = score + np.maximum(cols["vertigo"], cols["antiepileptics"])
    score = score + (cols["n_psychotropics"] > 0)
    score = score + (cols["latest_mood_changed"] > 0)
    return np.asarray(score, dtype=np.float64)


def training_landmarks(
    table: ObservationTable, *, every_days: int = 28, history_days: int = 90, horizon_days: int = 90
) -> tuple[IntArray, IntArray]:
    """Return landmarks at midnight every ``every_days`` with enough history and follow-up.

    A person contributes landmarks from ``history_days`` after their first observation to
    ``horizon_days`` before their last one (the follow-up is assumed complete while they are
    observed).

    Returns
    -------
    person, at : int arrays
    """
    persons: list[IntArray] = []
    times: list[IntArray] = []
    if not len(table):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bounds = np.flatnonzero(np.diff(table.person)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(table)]]) - 1
    for s, e in zip(starts, ends, strict=True):
        first_day = table.time[s] // DAY_S + 1
        last_day = table.time[e] // DAY_S
        days = np.arange(first_day + history_days, last_day - horizon_days + 1, every_days)
        persons.append(np.full(days.shape[0], table.person[s], dtype=np.int64))
        times.append(days.astype(np.int64) * DAY_S)
    return np.concatenate(persons), np.concatenate(times)


def landmark_labels(
    outcomes: Sequence[Outcome],
    person_ids: Sequence[str],
    person: IntArray,
    at: IntArray,
    *,
    horizon_days: int = 90,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return fall and decline labels: an event dated in ``[at, at + horizon)``.

    Returns
    -------
    fall, decline : int arrays of 0/1
    """
    index = {pid: i for i, pid in enumerate(person_ids)}
    labels = []
    for decline in (False, True):
        rows = [
            (index[o.person_id], (o.on - EPOCH.date()).days * DAY_S)
            for o in outcomes
            if o.person_id in index and ((o.event != OutcomeEvent.FALL) == decline)
        ]
        if not rows:
            labels.append(np.zeros(person.shape[0], dtype=np.int64))
            continue
        ep = np.array([r[0] for r in rows], dtype=np.int64)
        et = np.array([r[1] for r in rows], dtype=np.int64)
        keys = np.sort(_keys(ep, et))
        a = np.searchsorted(keys, _keys(person, at), side="left")
        b = np.searchsorted(keys, _keys(person, at + horizon_days * DAY_S), side="left")
        labels.append((b > a).astype(np.int64))
    return labels[0], labels[1]


def landmark_time(when: datetime | date) -> int:
    """Return the landmark time in seconds for a datetime, or midnight of a date."""
    if isinstance(when, datetime):
        return to_seconds(when)
    return to_seconds(datetime.combine(when, datetime.min.time()))


def day_of(seconds: int) -> date:
    """Return the calendar date of a time in seconds."""
    return EPOCH.date() + timedelta(days=int(seconds // DAY_S))
