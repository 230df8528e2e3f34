"""Fall and decline risk from carers' observations: a pure library (no web framework).

Public API for the web app::

    from risk import load_model, detect_changes, Person, Observation
    model = load_model("data/models/risk-synthetic-v3")
    scores = model.score(persons, observations, at)  # list[Score], reasons in French
    alerts = detect_changes(one_persons_observations, model.population)

Every figure obtained on the bundled generator is synthetic.
"""

from risk.change import ChangeAlert, ChangeDetector, PopulationBaseline, detect_changes
from risk.explain import Reason, Score
from risk.models import RiskModel, load_model, save_model, train_risk_model
from risk.schema import (
    Confusion,
    Drinks,
    FallReport,
    Mobility,
    Mood,
    Observation,
    Outcome,
    OutcomeEvent,
    Person,
    Sex,
)

__all__ = [
    "ChangeAlert",
    "ChangeDetector",
    "Confusion",
    "Drinks",
    "FallReport",
    "Mobility",
    "Mood",
    "Observation",
    "Outcome",
    "OutcomeEvent",
    "Person",
    "PopulationBaseline",
    "Reason",
    "RiskModel",
    "Score",
    "Sex",
    "detect_changes",
    "load_model",
    "save_model",
    "train_risk_model",
]
