"""Evaluation metrics, bootstrap intervals, baselines and the generator's truth."""

from __future__ import annotations

import numpy as np

from risk.cohort import Cohort
from risk.evaluate import (
    Baselines,
    bootstrap_ci,
    calibration_slope_intercept,
    metrics,
    standard_subgroups,
    subgroup_calibration,
)
from risk.features import landmark_features, landmark_labels, training_landmarks
from risk.schema import DAY_S, EPOCH


def test_calibrated_predictions_have_unit_slope_and_zero_intercept() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.6, 20_000)
    y = (rng.random(p.size) < p).astype(np.int64)
    slope, intercept = calibration_slope_intercept(y, p)
    assert abs(slope - 1.0) < 0.1
    assert abs(intercept) < 0.05
    # Overconfident predictions (logits doubled) have a slope near one half.
    lp = np.log(p / (1 - p))
    slope2, _ = calibration_slope_intercept(y, 1 / (1 + np.exp(-2 * lp)))
    assert abs(slope2 - 0.5) < 0.07


def test_bootstrap_interval_brackets_the_estimate() -> None:
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(200), 5)
    p = rng.uniform(0.1, 0.9, groups.size)
    y = (rng.random(p.size) < p).astype(np.int64)
    point = metrics(y, p).auroc
    lo, hi = bootstrap_ci(y, p, groups, lambda yy, pp: metrics(yy, pp).auroc, n_boot=100)
    assert lo < point < hi


def test_baselines_and_oracle_on_the_cohort(small_cohort: Cohort) -> None:
    person, at = training_landmarks(small_cohort.observations)
    full = landmark_features(small_cohort.persons, small_cohort.observations, person, at)
    y, _ = landmark_labels(small_cohort.outcomes, small_cohort.observations.person_ids,
                           person, at)
    preds = Baselines.fit(full, y).predict(full)
    assert set(preds) == {"steadi", "interrai", "deandrea6"}
    for p in preds.values():
        assert p.shape == y.shape
        assert ((p > 0) & (p < 1)).all()
    day = at // DAY_S - (small_cohort.start - EPOCH.date()).days
    true_fall, _ = small_cohort.true_risk(person, day)
    assert ((true_fall > 0) & (true_fall < 1)).all()
    # The generator's truth is informative but realistic (published AUROCs 0.65-0.75).
    assert 0.65 < metrics(y, true_fall).auroc < 0.85
    groups = subgroup_calibration(y, true_fall, standard_subgroups(full))
    assert {"femmes", "hommes", "GIR1-2", "vit_seul"} <= set(groups)
