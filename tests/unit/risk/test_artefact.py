"""The shipped synthetic artefact loads, is small, and scores."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from risk import FallReport, Observation, detect_changes, load_model
from risk.cohort import Cohort

ARTEFACT = Path(__file__).resolve().parents[3] / "data" / "models" / "risk-synthetic-v3"


def test_shipped_artefact_loads_and_scores(small_cohort: Cohort) -> None:
    size = sum(p.stat().st_size for p in ARTEFACT.iterdir())
    assert size < 5 * 1024 * 1024
    model = load_model(ARTEFACT)
    assert model.metadata["synthetic"] is True
    person = small_cohort.persons[0]
    at = datetime(2025, 6, 1)
    obs = [
        Observation(person.person_id, at - timedelta(days=d), meal_share=0.5,
                    fall=FallReport.WITHOUT_INJURY if d == 4 else FallReport.NONE)
        for d in range(1, 60, 3)
    ]
    (score,) = model.score([person], obs, at)
    assert 0.0 < score.fall_risk_90d < 1.0
    assert all(r.text for r in score.fall_reasons)
    # Steady half meals for two months: the person's usual, so no appetite alert at the end.
    late = [a for a in detect_changes(obs, model.population) if a.at > at - timedelta(days=20)]
    assert not [a for a in late if a.item == "meal_deficit"]
