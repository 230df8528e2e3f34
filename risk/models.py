"""Calibrated fall and decline classifiers, model selection and versioned artefacts.

Candidates per outcome (:data:`CANDIDATES`) — histogram gradient boosting and standardised
logistic regressions, with an L2 penalty or a lasso (L1) penalty at a few strengths — are
fitted on training persons and compared on held-out validation persons (log loss); the winner
is refitted on all persons. Each candidate is recalibrated with Platt
scaling on a calibration subset of persons, so predicted probabilities are usable as risks.

Artefacts are a directory holding ``model.joblib`` and ``metadata.json`` (format version,
scikit-learn version, features, metrics, training date, SHA-256 of the joblib file). Loading
checks the hash and warns on a scikit-learn version mismatch. A joblib file runs code when
loaded: only load artefacts you produced or trust.
"""

from __future__ import annotations

import hashlib
import json
import platform
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import numpy.typing as npt
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from risk.change import PopulationBaseline
from risk.features import (
    FEATURES,
    landmark_features,
    landmark_labels,
    training_landmarks,
)
from risk.schema import FloatArray, IntArray, Observation, ObservationTable, Outcome, Person

if TYPE_CHECKING:
    from risk.explain import Score

FORMAT_VERSION = 1
#: Features the models use: all landmark features but the STEADI-like baseline score.
MODEL_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f != "steadi_like")
_MODEL_COLUMNS = np.array([FEATURES.index(f) for f in MODEL_FEATURES])
_EPS = 1e-6


class ModelVersionWarning(UserWarning):
    """The artefact was written by another scikit-learn version."""


def model_matrix(full: FloatArray) -> FloatArray:
    """Select the model's columns from a :data:`risk.features.FEATURES` matrix."""
    return full[:, _MODEL_COLUMNS]


def _logit(p: FloatArray) -> FloatArray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.asarray(np.log(p / (1.0 - p)), dtype=np.float64)


def _split_groups(
    groups: IntArray, fraction: float, random_state: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Return (first, second) row masks, putting ``fraction`` of the groups in the second."""
    uniq = np.unique(groups)
    rng = np.random.default_rng(random_state)
    chosen = rng.choice(uniq, size=max(1, round(fraction * uniq.size)), replace=False)
    second = np.isin(groups, chosen)
    return ~second, second


class LandmarkClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Binary risk classifier with Platt recalibration on held-out persons.

    Parameters
    ----------
    kind : {"gbm", "logistic"}
        Histogram gradient boosting or standardised penalised logistic regression.
    calibration_fraction : float
        Share of persons kept aside to fit the Platt calibrator.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf : gradient-boosting settings
    C : float
        Inverse penalty strength of the logistic regression.
    l1_ratio : float
        Share of L1 in the logistic regression's penalty: 0 is ridge (L2), 1 is the lasso.
    random_state : int

    Attributes
    ----------
    base_ : estimator
        The fitted uncalibrated model.
    calibrator_ : LogisticRegression
        Platt scaling of the base model's logit.
    classes_ : ndarray
    n_features_in_ : int
    """

    def __init__(
        self,
        kind: str = "gbm",
        *,
        calibration_fraction: float = 0.2,
        learning_rate: float = 0.05,
        max_iter: int = 300,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        C: float = 1.0,  # noqa: N803 - scikit-learn's name for the parameter
        l1_ratio: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.kind = kind
        self.calibration_fraction = calibration_fraction
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.C = C
        self.l1_ratio = l1_ratio
        self.random_state = random_state

    def _make_base(self) -> Any:
        if self.kind == "gbm":
            return HistGradientBoostingClassifier(
                learning_rate=self.learning_rate,
                max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                l2_regularization=1.0,
                early_stopping=True,
                random_state=self.random_state,
            )
        if self.kind == "logistic":
            # saga handles the L1 part and, unlike liblinear, leaves the intercept unpenalised.
            solver = "saga" if self.l1_ratio > 0 else "lbfgs"
            lr = LogisticRegression(
                C=self.C,
                l1_ratio=self.l1_ratio,
                solver=solver,
                max_iter=5000,
                random_state=self.random_state,
            )
            return Pipeline([("scale", StandardScaler()), ("lr", lr)])
        raise ValueError(f"unknown kind {self.kind!r}")

    def fit(
        self, x: FloatArray, y: npt.ArrayLike, groups: IntArray | None = None
    ) -> LandmarkClassifier:
        """Fit the base model, then the calibrator on persons it did not see.

        Parameters
        ----------
        x : float array, shape (n_samples, n_features)
        y : array of 0/1
        groups : int array, optional
            Person of each row, so that calibration persons are disjoint from training ones.

        Returns
        -------
        self
        """
        x = np.asarray(x, dtype=np.float64)
        yy = np.asarray(y, dtype=np.int64)
        g = np.arange(yy.shape[0]) if groups is None else np.asarray(groups)
        fit_rows, cal_rows = _split_groups(g, self.calibration_fraction, self.random_state)
        self.base_ = self._make_base().fit(x[fit_rows], yy[fit_rows])
        raw = _logit(self.base_.predict_proba(x[cal_rows])[:, 1])
        self.calibrator_ = LogisticRegression(C=1e4, max_iter=1000).fit(
            raw.reshape(-1, 1), yy[cal_rows]
        )
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = x.shape[1]
        return self

    def decision_function(self, x: FloatArray) -> FloatArray:
        """Return the calibrated log-odds."""
        raw = _logit(self.base_.predict_proba(np.asarray(x, dtype=np.float64))[:, 1])
        a = float(self.calibrator_.coef_[0, 0])
        b = float(self.calibrator_.intercept_[0])
        return a * raw + b

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Return calibrated probabilities, shape (n_samples, 2)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(x)))
        return np.column_stack([1.0 - p, p])

    def predict(self, x: FloatArray) -> IntArray:
        """Return 1 where the calibrated risk is at least one half."""
        return (self.predict_proba(x)[:, 1] >= 0.5).astype(np.int64)


@dataclass(slots=True)
class Selection:
    """Validation figures of each candidate and the chosen kind."""

    chosen: str
    validation: dict[str, dict[str, float]]


#: Candidate models compared on validation persons, by name. The lasso candidates drop the
#: features that do not add to the others; on validation cohorts this ranked decline better than
#: the ridge penalty, which keeps every correlated carer item with a small weight (docs/risk.md).
CANDIDATES: dict[str, dict[str, Any]] = {
    "gbm": {"kind": "gbm"},
    "logistic": {"kind": "logistic", "C": 1.0},
    "lasso_0.003": {"kind": "logistic", "C": 0.003, "l1_ratio": 1.0},
    "lasso_0.01": {"kind": "logistic", "C": 0.01, "l1_ratio": 1.0},
    "lasso_0.03": {"kind": "logistic", "C": 0.03, "l1_ratio": 1.0},
}


def select_and_fit(
    x: FloatArray,
    y: npt.ArrayLike,
    groups: IntArray,
    *,
    candidates: Sequence[str] = tuple(CANDIDATES),
    validation_fraction: float = 0.2,
    random_state: int = 0,
) -> tuple[LandmarkClassifier, Selection]:
    """Choose a candidate on validation persons, then refit it on all persons.

    Parameters
    ----------
    x, y, groups : training matrix, labels and person of each row
    candidates : names in :data:`CANDIDATES`
    validation_fraction : share of persons used for the choice
    random_state : int

    Returns
    -------
    model : LandmarkClassifier
        The chosen candidate, refitted on all rows.
    selection : Selection
    """
    yy = np.asarray(y, dtype=np.int64)
    tr, va = _split_groups(groups, validation_fraction, random_state + 1)
    scores: dict[str, dict[str, float]] = {}
    for name in candidates:
        params = CANDIDATES[name]
        cand = LandmarkClassifier(**params, random_state=random_state).fit(
            x[tr], yy[tr], groups[tr]
        )
        p = cand.predict_proba(x[va])[:, 1]
        scores[name] = {
            "log_loss": float(log_loss(yy[va], p, labels=[0, 1])),
            "auroc": float(roc_auc_score(yy[va], p)) if 0 < yy[va].sum() < va.sum() else 0.5,
        }
    chosen = min(scores, key=lambda k: scores[k]["log_loss"])
    final = LandmarkClassifier(**CANDIDATES[chosen], random_state=random_state).fit(
        x, yy, groups
    )
    return final, Selection(chosen, scores)


@dataclass(slots=True)
class RiskModel:
    """The two outcome models with their metadata; see :func:`train_risk_model`."""

    fall: LandmarkClassifier
    decline: LandmarkClassifier
    features: tuple[str, ...] = MODEL_FEATURES
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def population(self) -> PopulationBaseline:
        """Return the population baseline of the training data (prior for change detection)."""
        return PopulationBaseline.from_dict(self.metadata["population_baseline"])

    def predict_table(
        self,
        persons: Sequence[Person],
        table: ObservationTable,
        person: IntArray,
        at: IntArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return fall risks, decline risks and the model feature matrix at landmarks."""
        full = landmark_features(persons, table, person, at)
        x = model_matrix(full)
        return self.fall.predict_proba(x)[:, 1], self.decline.predict_proba(x)[:, 1], x

    def score(
        self,
        persons: Sequence[Person],
        observations: Sequence[Observation],
        at: datetime,
        *,
        n_reasons: int = 3,
    ) -> list[Score]:
        """Score every person at ``at`` from observations strictly before it.

        Parameters
        ----------
        persons : sequence of Person
        observations : sequence of Observation
            Observations at or after ``at`` are ignored.
        at : datetime
        n_reasons : int
            Reasons kept per outcome.

        Returns
        -------
        list of risk.explain.Score, in the order of ``persons``
        """
        # Imported here because risk.explain imports this module.
        from risk.explain import score_persons

        return score_persons(self, persons, observations, at, n_reasons=n_reasons)


def training_set(
    persons: Sequence[Person],
    table: ObservationTable,
    outcomes: Sequence[Outcome],
    *,
    every_days: int = 28,
) -> tuple[FloatArray, IntArray, IntArray, IntArray, IntArray]:
    """Build landmark rows for training.

    Returns
    -------
    full : float array
        :data:`risk.features.FEATURES` matrix.
    y_fall, y_decline : int arrays
    person, at : int arrays
    """
    person, at = training_landmarks(table, every_days=every_days)
    full = landmark_features(persons, table, person, at)
    y_fall, y_decline = landmark_labels(outcomes, table.person_ids, person, at)
    return full, y_fall, y_decline, person, at


def train_risk_model(
    persons: Sequence[Person],
    table: ObservationTable,
    outcomes: Sequence[Outcome],
    *,
    every_days: int = 28,
    random_state: int = 0,
    synthetic: bool = False,
    n_threads: int | None = 1,
) -> RiskModel:
    """Train fall and decline models on landmark rows of a service's history.

    Parameters
    ----------
    persons : sequence of Person
        Indexed like ``table.person_ids``.
    table : ObservationTable
    outcomes : sequence of Outcome
    every_days : int
        Spacing of training landmarks.
    random_state : int
    synthetic : bool
        Recorded in the metadata; set when training on the generator's cohort.
    n_threads : int or None
        OpenMP/BLAS threads while fitting; ``None`` keeps the libraries' default. One thread is
        the default because on small shared machines thread contention made fitting up to
        five times slower (measured on the 2-core development machine).

    Returns
    -------
    RiskModel
    """
    full, y_fall, y_dec, person, _ = training_set(persons, table, outcomes, every_days=every_days)
    if y_fall.size == 0:
        raise ValueError("no training landmark: each person needs 180 days of observations")
    x = model_matrix(full)
    with threadpool_limits(limits=n_threads):
        fall, sel_fall = select_and_fit(x, y_fall, person, random_state=random_state)
        decline, sel_dec = select_and_fit(x, y_dec, person, random_state=random_state)
    metadata: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": list(MODEL_FEATURES),
        "n_persons": len(persons),
        "n_landmarks": int(y_fall.size),
        "prevalence": {"fall": float(y_fall.mean()), "decline": float(y_dec.mean())},
        "selection": {
            "fall": {"chosen": sel_fall.chosen, "validation": sel_fall.validation},
            "decline": {"chosen": sel_dec.chosen, "validation": sel_dec.validation},
        },
        "synthetic": synthetic,
        "random_state": random_state,
        "population_baseline": PopulationBaseline.from_table(table).to_dict(),
    }
    return RiskModel(fall, decline, MODEL_FEATURES, metadata)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(model: RiskModel, path: str | Path) -> Path:
    """Write the artefact directory ``path`` (``model.joblib`` + ``metadata.json``).

    Returns
    -------
    Path
        The directory.
    """
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    blob = out / "model.joblib"
    joblib.dump({"fall": model.fall, "decline": model.decline}, blob, compress=3)
    meta = {**model.metadata, "sha256": _sha256(blob), "features": list(model.features)}
    (out / "metadata.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return out


def load_model(path: str | Path) -> RiskModel:
    """Load an artefact written by :func:`save_model`.

    Raises
    ------
    ValueError
        Unknown format, altered file or features that this library does not compute.
    """
    src = Path(path)
    meta: dict[str, Any] = json.loads((src / "metadata.json").read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported artefact format {meta.get('format_version')!r}")
    blob = src / "model.joblib"
    if _sha256(blob) != meta.get("sha256"):
        raise ValueError("model.joblib does not match the hash in metadata.json")
    if tuple(meta.get("features", ())) != MODEL_FEATURES:
        raise ValueError("artefact features differ from this library's features")
    if meta.get("sklearn_version") != sklearn.__version__:
        warnings.warn(
            f"artefact trained with scikit-learn {meta.get('sklearn_version')}, "
            f"running {sklearn.__version__}",
            ModelVersionWarning,
            stacklevel=2,
        )
    parts = joblib.load(blob)
    return RiskModel(parts["fall"], parts["decline"], MODEL_FEATURES, meta)
