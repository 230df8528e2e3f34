"""Landmark features: exact windows, and never any data from the landmark time or later."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.features import FEATURES, landmark_features, landmark_labels, training_landmarks
from risk.schema import (
    DAY_S,
    ITEM_COLUMNS,
    FallReport,
    Observation,
    ObservationTable,
    Outcome,
    OutcomeEvent,
    Person,
    Sex,
    to_seconds,
)

T0 = datetime(2025, 1, 1)


def _person(pid: str = "A") -> Person:
    return Person(pid, Sex.FEMALE, date(1940, 5, 1), gir=4, walking_aid=True, n_medicines=9)


def _features(persons: list[Person], obs: list[Observation], at: datetime) -> dict[str, float]:
    table = ObservationTable.from_records(obs, [p.person_id for p in persons])
    row = landmark_features(
        persons, table, np.array([0], dtype=np.int64), np.array([to_seconds(at)], dtype=np.int64)
    )[0]
    return dict(zip(FEATURES, row.tolist(), strict=True))


def test_fall_windows_and_days_since() -> None:
    obs = [
        Observation("A", T0 - timedelta(days=10), fall=FallReport.WITH_INJURY),
        Observation("A", T0 - timedelta(days=20), fall=FallReport.WITHOUT_INJURY),
        Observation("A", T0 - timedelta(days=60), fall=FallReport.FOUND_ON_FLOOR),
        Observation("A", T0 - timedelta(days=200), fall=FallReport.WITHOUT_INJURY),
        Observation("A", T0 - timedelta(days=5), fall=FallReport.NONE),
        Observation("A", T0, fall=FallReport.WITH_INJURY),  # at the landmark: excluded
    ]
    f = _features([_person()], obs, T0)
    assert f["falls_30d"] == 2
    assert f["falls_90d"] == 3
    assert f["falls_365d"] == 4
    assert f["injurious_falls_90d"] == 2
    assert f["days_since_fall"] == 10
    assert f["visits_30d"] == 3


def test_meals_last_seven_visits_and_weight_loss() -> None:
    shares = [1.0, 0.5, 0.25, 0.5, 1.0, 0.0, 0.5, 0.75, 1.0]  # oldest first
    obs = [
        Observation("A", T0 - timedelta(days=len(shares) - i), meal_share=s)
        for i, s in enumerate(shares)
    ]
    obs += [
        Observation("A", T0 - timedelta(days=35), weight_kg=60.0),
        Observation("A", T0 - timedelta(days=3, hours=5), weight_kg=56.4),
    ]
    f = _features([_person()], obs, T0)
    # The last seven visits are six meal visits (0.5 1 0 0.5 0.75 1, three at half or less)
    # and the weighing visit 3 days 5 hours before, which has no meal answer.
    assert f["low_meal_last7"] == 3
    assert f["answered_meal_last7"] == 6
    assert abs(f["weight_loss_1m_pct"] - 6.0) < 1e-9
    assert f["weight_known"] == 1


def test_no_observation_gives_usual_values() -> None:
    f = _features([_person()], [], T0)
    assert f["falls_90d"] == 0
    assert f["ewma_meal_deficit"] == 0
    assert f["days_since_fall"] == 365
    assert abs(f["age"] - (T0.date() - date(1940, 5, 1)).days / 365.25) < 1e-6


def test_labels_count_events_from_landmark_day_for_90_days() -> None:
    at = np.array([to_seconds(T0)] * 1, dtype=np.int64)
    person = np.zeros(1, dtype=np.int64)
    inside = [Outcome("A", T0.date(), OutcomeEvent.FALL)]
    outside = [
        Outcome("A", T0.date() - timedelta(days=1), OutcomeEvent.FALL),
        Outcome("A", T0.date() + timedelta(days=90), OutcomeEvent.HOSPITALISATION),
    ]
    assert landmark_labels(inside, ["A"], person, at)[0].tolist() == [1]
    fall, decline = landmark_labels(outside, ["A"], person, at)
    assert fall.tolist() == [0]
    assert decline.tolist() == [0]


def test_training_landmarks_need_history_and_follow_up(small_cohort) -> None:  # type: ignore[no-untyped-def]
    person, at = training_landmarks(small_cohort.observations)
    assert person.size > 0
    day0 = (small_cohort.start - T0.date().replace(year=2000, month=1, day=1)).days
    days = at // DAY_S - day0
    assert days.min() >= 90
    assert days.max() <= small_cohort.n_days - 90


_value = st.one_of(st.none(), st.integers(min_value=0, max_value=1))


@st.composite
def _rows(draw: st.DrawFn) -> list[dict[str, object]]:
    n = draw(st.integers(min_value=0, max_value=20))
    rows = []
    for _ in range(n):
        row: dict[str, object] = {
            "person": draw(st.integers(min_value=0, max_value=2)),
            "time": draw(st.integers(min_value=-400 * DAY_S, max_value=60 * DAY_S)),
        }
        for k in ITEM_COLUMNS:
            if k == "weight_kg":
                row[k] = draw(st.one_of(st.none(), st.floats(min_value=40, max_value=90)))
            elif k in ("fall", "mobility", "mood"):
                row[k] = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=3)))
            elif k in ("drinks", "confusion"):
                row[k] = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=2)))
            elif k == "meal_share":
                row[k] = draw(st.one_of(st.none(), st.sampled_from([0, 0.25, 0.5, 0.75, 1.0])))
            else:
                row[k] = draw(_value)
        rows.append(row)
    return rows


def _table(rows: list[dict[str, object]], base: int) -> ObservationTable:
    def col(k: str) -> np.ndarray:
        return np.array(
            [np.nan if r[k] is None else float(r[k]) for r in rows],  # type: ignore[arg-type]
            dtype=np.float64,
        )

    return ObservationTable(
        ("P0", "P1", "P2"),
        np.array([r["person"] for r in rows], dtype=np.int64),
        np.array([base + int(r["time"]) for r in rows], dtype=np.int64),  # type: ignore[call-overload]
        {k: col(k) for k in ITEM_COLUMNS},
    ).sorted()


@settings(max_examples=40, deadline=None)
@given(
    past=_rows(),
    future_a=_rows(),
    future_b=_rows(),
    offset=st.integers(min_value=0, max_value=30 * DAY_S),
)
def test_no_feature_uses_data_at_or_after_the_landmark(
    past: list[dict[str, object]],
    future_a: list[dict[str, object]],
    future_b: list[dict[str, object]],
    offset: int,
) -> None:
    """Replacing everything at or after the landmark never changes any feature."""
    base = to_seconds(T0)
    landmark = base + offset
    persons = [_person(f"P{i}") for i in range(3)]

    def keep_before(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        return [r for r in rows if base + int(r["time"]) < landmark]  # type: ignore[call-overload]

    def move_after(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        # Shift into [landmark, landmark + 460 days], including exactly the landmark time.
        return [{**r, "time": landmark - base + abs(int(r["time"])) % (460 * DAY_S)}  # type: ignore[call-overload]
                for r in rows]

    before = keep_before(past)
    person = np.array([0, 1, 2], dtype=np.int64)
    at = np.full(3, landmark, dtype=np.int64)
    a = landmark_features(persons, _table(before + move_after(future_a), base), person, at)
    b = landmark_features(persons, _table(before + move_after(future_b), base), person, at)
    c = landmark_features(persons, _table(before, base), person, at)
    assert np.array_equal(a, b)
    assert np.array_equal(a, c)
    assert np.isfinite(a).all()
