"""Discrimination, calibration, bootstrap intervals, baselines and subgroup calibration.

Baselines, each turned into a probability on the training rows so that Brier scores compare:

* ``steadi``: the STEADI-like score (:func:`risk.features.steadi_like`), recalibrated by a
  one-variable logistic regression;
* ``interrai``: the interRAI-style falls rule, 0 / 1 / >= 2 falls in 90 days, each level's
  observed rate;
* ``deandrea6``: logistic regression on the six main Deandrea 2010 factors
  (:data:`risk.features.DEANDREA_SIX`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from risk.features import DEANDREA_SIX, FEATURES
from risk.schema import FloatArray, IntArray

_EPS = 1e-6


def calibration_slope_intercept(y: npt.ArrayLike, p: FloatArray) -> tuple[float, float]:
    """Return the calibration slope and intercept (logistic recalibration on logit p).

    The slope is the coefficient of logit(p) in a logistic regression of y; the intercept is
    calibration-in-the-large, fitted with the slope fixed at 1 (logit(p) as an offset).
    """
    yy = np.asarray(y, dtype=np.float64)
    q = np.clip(p, _EPS, 1 - _EPS)
    lp = np.log(q / (1 - q))
    slope_model = LogisticRegression(C=1e6, max_iter=1000).fit(lp.reshape(-1, 1), yy)
    slope = float(slope_model.coef_[0, 0])
    # Intercept with offset: a few Newton steps on one parameter.
    a = 0.0
    for _ in range(50):
        mu = 1.0 / (1.0 + np.exp(-(lp + a)))
        grad = float(np.sum(yy - mu))
        hess = float(np.sum(mu * (1 - mu)))
        step = grad / max(hess, 1e-12)
        a += step
        if abs(step) < 1e-10:
            break
    return slope, a


@dataclass(frozen=True, slots=True)
class Metrics:
    """Point estimates for one set of predictions."""

    auroc: float
    auprc: float
    brier: float
    cal_slope: float
    cal_intercept: float

    def as_dict(self) -> dict[str, float]:
        """Return the figures as a dict."""
        return {
            "auroc": self.auroc,
            "auprc": self.auprc,
            "brier": self.brier,
            "cal_slope": self.cal_slope,
            "cal_intercept": self.cal_intercept,
        }


def metrics(y: npt.ArrayLike, p: FloatArray) -> Metrics:
    """Return AUROC, AUPRC, Brier score and calibration slope/intercept."""
    yy = np.asarray(y)
    slope, intercept = calibration_slope_intercept(yy, p)
    return Metrics(
        float(roc_auc_score(yy, p)),
        float(average_precision_score(yy, p)),
        float(brier_score_loss(yy, p)),
        slope,
        intercept,
    )


def bootstrap_ci(
    y: npt.ArrayLike,
    p: FloatArray,
    groups: IntArray,
    stat: Callable[[npt.NDArray[np.int64], FloatArray], float],
    *,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Return a percentile bootstrap interval, resampling persons (not rows)."""
    yy = np.asarray(y, dtype=np.int64)
    uniq, inverse = np.unique(groups, return_inverse=True)
    rows_of = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[rows_of], np.arange(uniq.size))
    ends = np.append(starts[1:], rows_of.size)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        pick = rng.integers(0, uniq.size, uniq.size)
        rows = np.concatenate([rows_of[starts[g] : ends[g]] for g in pick])
        if 0 < yy[rows].sum() < rows.size:
            values.append(stat(yy[rows], p[rows]))
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _col(full: FloatArray, name: str) -> FloatArray:
    return full[:, FEATURES.index(name)]


@dataclass(slots=True)
class Baselines:
    """Baseline predictors fitted on training rows (see the module docstring)."""

    steadi_: LogisticRegression
    interrai_rates_: FloatArray
    deandrea_: LogisticRegression

    @classmethod
    def fit(cls, full: FloatArray, y: npt.ArrayLike) -> Baselines:
        """Fit the three baselines on a :data:`risk.features.FEATURES` matrix."""
        yy = np.asarray(y, dtype=np.int64)
        steadi = LogisticRegression(max_iter=1000).fit(_col(full, "steadi_like").reshape(-1, 1), yy)
        level = np.minimum(_col(full, "falls_90d"), 2).astype(np.int64)
        rates = np.array(
            [(yy[level == k].sum() + 1.0) / ((level == k).sum() + 2.0) for k in range(3)]
        )
        cols = [FEATURES.index(f) for f in DEANDREA_SIX]
        x6 = full[:, cols].copy()
        x6[:, 0] = x6[:, 0] > 0  # history of falls as yes/no, as in the meta-analysis
        deandrea = LogisticRegression(max_iter=1000).fit(x6, yy)
        return cls(steadi, rates, deandrea)

    def predict(self, full: FloatArray) -> dict[str, FloatArray]:
        """Return each baseline's probabilities."""
        level = np.minimum(_col(full, "falls_90d"), 2).astype(np.int64)
        cols = [FEATURES.index(f) for f in DEANDREA_SIX]
        x6 = full[:, cols].copy()
        x6[:, 0] = x6[:, 0] > 0
        return {
            "steadi": self.steadi_.predict_proba(_col(full, "steadi_like").reshape(-1, 1))[:, 1],
            "interrai": self.interrai_rates_[level],
            "deandrea6": self.deandrea_.predict_proba(x6)[:, 1],
        }


def subgroup_calibration(
    y: npt.ArrayLike, p: FloatArray, subgroups: Mapping[str, npt.NDArray[np.bool_]]
) -> dict[str, dict[str, float]]:
    """Return observed rate, mean predicted risk and their ratio (O/E) per subgroup."""
    yy = np.asarray(y, dtype=np.float64)
    out: dict[str, dict[str, float]] = {}
    for name, mask in subgroups.items():
        if mask.sum() == 0:
            continue
        obs = float(yy[mask].mean())
        exp = float(p[mask].mean())
        out[name] = {"n": float(mask.sum()), "observed": obs, "expected": exp,
                     "o_e": obs / exp if exp > 0 else float("nan")}
    return out


def standard_subgroups(full: FloatArray) -> dict[str, npt.NDArray[np.bool_]]:
    """Return the subgroups of the issue: sex, age band, GIR band, living alone, dementia."""
    age = _col(full, "age")
    gir = _col(full, "gir")
    female = _col(full, "female") > 0
    alone = _col(full, "living_alone") > 0
    cog = _col(full, "cognitive_impairment") > 0
    return {
        "femmes": female,
        "hommes": ~female,
        "age<85": age < 85,
        "age>=85": age >= 85,
        "GIR1-2": gir <= 2,
        "GIR3-4": (gir >= 3) & (gir <= 4),
        "GIR5-6": gir >= 5,
        "vit_seul": alone,
        "vit_accompagne": ~alone,
        "troubles_cognitifs": cog,
    }
