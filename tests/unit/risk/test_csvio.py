"""CSV interchange round trips, contract errors and the command line end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from risk import csvio
from risk.__main__ import main
from risk.cohort import Cohort, generate_cohort


def test_round_trip(small_cohort: Cohort, tmp_path: Path) -> None:
    csvio.write_persons(tmp_path / "p.csv", small_cohort.persons)
    csvio.write_observations(tmp_path / "o.csv", small_cohort.observations, small_cohort.notes)
    csvio.write_outcomes(tmp_path / "y.csv", small_cohort.outcomes)
    persons = csvio.read_persons(tmp_path / "p.csv")
    assert persons == small_cohort.persons
    table = csvio.read_observations(tmp_path / "o.csv", [p.person_id for p in persons])
    src = small_cohort.observations
    assert np.array_equal(table.person, src.person)
    # Times are written to the second, as ISO strings.
    assert np.array_equal(table.time, src.time)
    for k, v in src.items.items():
        assert np.array_equal(np.isnan(table.items[k]), np.isnan(v)), k
        assert np.allclose(np.nan_to_num(table.items[k]), np.nan_to_num(v)), k
    assert csvio.read_outcomes(tmp_path / "y.csv") == small_cohort.outcomes


def test_header_is_the_documented_contract(small_cohort: Cohort, tmp_path: Path) -> None:
    csvio.write_observations(tmp_path / "o.csv", small_cohort.observations)
    with (tmp_path / "o.csv").open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == csvio.OBSERVATION_COLUMNS
    assert header[:3] == ["person_id", "at", "carer_id"]


def test_bad_cells_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        ",".join(csvio.OBSERVATION_COLUMNS) + "\n"
        + "A,2025-01-01T10:00:00,C1,tripped" + "," * (len(csvio.OBSERVATION_COLUMNS) - 4) + "\n"
    )
    with pytest.raises(csvio.CsvError, match=r"o\.csv:2: fall must be one of"):
        csvio.read_observations(path, ["A"])
    missing = tmp_path / "p.csv"
    missing.write_text("person_id,sex\nA,F\n")
    with pytest.raises(csvio.CsvError, match="missing columns"):
        csvio.read_persons(missing)


def test_command_line_cohort_train_score(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert main(["cohort", "--persons", "200", "--days", "370", "--seed", "5",
                 "--out", str(data)]) == 0
    model = tmp_path / "model"
    assert main(["train", "--persons", str(data / "persons.csv"),
                 "--observations", str(data / "observations.csv"),
                 "--outcomes", str(data / "outcomes.csv"), "--out", str(model),
                 "--synthetic"]) == 0
    assert (model / "metadata.json").exists()
    out = tmp_path / "scores.csv"
    assert main(["score", "--model", str(model), "--persons", str(data / "persons.csv"),
                 "--observations", str(data / "observations.csv"), "--at", "2024-12-01",
                 "--out", str(out)]) == 0
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 200
    assert list(rows[0])[:3] == ["person_id", "fall_risk_90d", "decline_risk_90d"]
    risks = [float(r["fall_risk_90d"]) for r in rows]
    assert all(0.0 < r < 1.0 for r in risks)
    assert any(r["fall_reasons"] for r in rows)


def test_generator_is_reproducible() -> None:
    a = generate_cohort(20, n_days=60, seed=7)
    b = generate_cohort(20, n_days=60, seed=7)
    c = generate_cohort(20, n_days=60, seed=8)
    assert a.persons == b.persons
    assert np.array_equal(a.observations.time, b.observations.time)
    assert a.outcomes == b.outcomes
    assert a.persons != c.persons
