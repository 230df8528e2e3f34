"""Per-person explanations in plain French, faithful to the model.

A reason is a group of features describing one thing a coordinator can check (falls, meals,
weight, mobility...). Its effect is measured on the model itself: the drop in the predicted
log-odds when the group is set to its "nothing to report" value (no fall, full meals, usual
mobility, no diagnosis...). Reasons are the groups with the largest positive effects; their text
quotes the person's own figures ("2 chutes en 30 jours"). Age, sex and GIR are never reasons:
they are not something to act on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from risk.schema import (
    FloatArray,
    IntArray,
    Observation,
    ObservationTable,
    Person,
    from_seconds,
    to_seconds,
)

if TYPE_CHECKING:
    from risk.models import LandmarkClassifier, RiskModel

#: Minimal effect (log-odds) for a group to be quoted as a reason.
MIN_EFFECT = 0.03


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a risk.

    Attributes
    ----------
    code : str
        Stable identifier of the reason group (e.g. ``"falls"``).
    text : str
        Plain French, quoting the person's figures.
    effect : float
        Log-odds removed if this group were at its "nothing to report" value.
    modifiable : bool
        False for diagnoses and living situation (context, not a target for action).
    """

    code: str
    text: str
    effect: float
    modifiable: bool


@dataclass(frozen=True, slots=True)
class Score:
    """Risks of one person at one time, with reasons."""

    person_id: str
    at: datetime
    fall_risk_90d: float
    decline_risk_90d: float
    fall_reasons: tuple[Reason, ...]
    decline_reasons: tuple[Reason, ...]


Values = dict[str, float]


def _plural(n: float, one: str, many: str) -> str:
    k = round(n)
    return f"{k} {one if k <= 1 else many}"


def _falls(v: Values) -> str:
    inj = v["injurious_falls_90d"]
    suffix = f", dont {round(inj)} avec blessure ou au sol" if inj >= 1 else ""
    if v["falls_30d"] >= 1:
        return _plural(v["falls_30d"], "chute", "chutes") + " en 30 jours" + suffix
    if v["falls_90d"] >= 1:
        return _plural(v["falls_90d"], "chute", "chutes") + " en 90 jours" + suffix
    if v["falls_365d"] >= 1:
        return _plural(v["falls_365d"], "chute", "chutes") + " dans l'année"
    return "pas de chute signalée récemment"


def _meals(v: Values) -> str:
    if v["low_meal_last7"] >= 1:
        return (
            f"repas à moitié ou moins {round(v['low_meal_last7'])} fois sur les "
            f"{round(v['answered_meal_last7'])} dernières visites"
        )
    if v["change_meal_deficit"] > 0.05:
        return "appétit en baisse par rapport à d'habitude"
    return "mange souvent moins que le repas servi"


def _weight(v: Values) -> str:
    if v["weight_loss_1m_pct"] >= 1:
        return f"perte de poids de {v['weight_loss_1m_pct']:.0f} % en un mois"
    return f"perte de poids de {v['weight_loss_6m_pct']:.0f} % en six mois"


def _trend(usual: str, changed: str, change_key: str | None = None) -> Callable[[Values], str]:
    def text(v: Values) -> str:
        if change_key is not None and v[change_key] > 0.1:
            return changed
        return usual

    return text


def _share(label: str, key: str) -> Callable[[Values], str]:
    def text(v: Values) -> str:
        return f"{label} à {100 * v[key]:.0f} % des visites récentes"

    return text


@dataclass(frozen=True, slots=True)
class Group:
    """Features of one reason, their "nothing to report" values and the French text."""

    code: str
    reference: dict[str, float]
    text: Callable[[Values], str]
    modifiable: bool = True


def _ref(*names: str, value: float = 0.0) -> dict[str, float]:
    return dict.fromkeys(names, value)


GROUPS: tuple[Group, ...] = (
    Group(
        "falls",
        {**_ref("falls_30d", "falls_90d", "falls_365d", "injurious_falls_90d"),
         "days_since_fall": 365.0},
        _falls,
    ),
    Group(
        "near_falls",
        _ref("near_falls_30d", "near_falls_90d", "ewma_near_fall", "mean180_near_fall"),
        lambda v: _plural(v["near_falls_90d"], "quasi-chute", "quasi-chutes") + " en 90 jours",
    ),
    Group(
        "meals",
        _ref("ewma_meal_deficit", "mean180_meal_deficit", "change_meal_deficit", "low_meal_last7"),
        _meals,
    ),
    Group("drinks", _ref("ewma_drinks", "mean180_drinks"),
          _trend("boit peu", "boit moins que d'habitude")),
    Group("weight", _ref("weight_loss_1m_pct", "weight_loss_6m_pct"), _weight),
    Group(
        "mobility",
        _ref("ewma_mobility", "mean180_mobility", "change_mobility"),
        _trend("marche souvent instable ou avec plus d'aide",
               "marche moins assurée que d'habitude", "change_mobility"),
    ),
    Group(
        "help",
        _ref("ewma_help", "mean180_help", "change_help"),
        _trend("a besoin de plus d'aide (toilette, habillage, transferts ou repas)",
               "plus d'aide nécessaire que d'habitude pour les gestes du quotidien",
               "change_help"),
    ),
    Group(
        "confusion",
        _ref("ewma_confusion", "mean180_confusion", "change_confusion"),
        _trend("confusion fréquente", "plus confus(e) que d'habitude", "change_confusion"),
    ),
    Group("mood", _ref("ewma_mood_changed", "mean180_mood_changed"),
          _share("humeur inhabituelle (triste, anxieux·se ou agité·e)", "ewma_mood_changed")),
    Group("sleep", _ref("ewma_poor_sleep", "mean180_poor_sleep"),
          _share("sommeil perturbé", "ewma_poor_sleep")),
    Group("continence", _ref("ewma_continence_change", "mean180_continence_change"),
          _share("changement de continence", "ewma_continence_change")),
    Group("pain", _ref("ewma_pain", "mean180_pain"), _share("douleurs", "ewma_pain")),
    Group("skin", _ref("ewma_skin_redness", "mean180_skin_redness"),
          _share("rougeurs aux points d'appui", "ewma_skin_redness")),
    Group("breathlessness", _ref("ewma_breathlessness", "mean180_breathlessness"),
          _share("essoufflement", "ewma_breathlessness")),
    Group("swelling", _ref("ewma_swelling", "mean180_swelling"),
          _share("jambes gonflées (œdèmes)", "ewma_swelling")),
    Group("social", _ref("ewma_no_social_contact", "mean180_no_social_contact"),
          _share("sans contact social", "ewma_no_social_contact")),
    Group("medication", _ref("ewma_medication_missed", "mean180_medication_missed"),
          _share("traitement pas pris comme prévu", "ewma_medication_missed")),
    Group(
        "walking_aid",
        _ref("walking_aid", "ewma_walking_aid_used", "mean180_walking_aid_used"),
        lambda v: "utilise une aide à la marche",
        modifiable=False,
    ),
    Group("parkinson", _ref("parkinson"), lambda v: "maladie de Parkinson", modifiable=False),
    Group("antiepileptics", _ref("antiepileptics"), lambda v: "traitement antiépileptique",
          modifiable=True),
    Group("vertigo", _ref("vertigo"), lambda v: "vertiges", modifiable=True),
    Group("psychotropics", _ref("n_psychotropics"),
          lambda v: _plural(v["n_psychotropics"], "psychotrope", "psychotropes"), modifiable=True),
    Group("polypharmacy", {"n_medicines": 4.0, "polypharmacy": 0.0},
          lambda v: f"{round(v['n_medicines'])} médicaments", modifiable=True),
    Group("cognitive_impairment", _ref("cognitive_impairment"),
          lambda v: "troubles cognitifs", modifiable=False),
    Group("incontinence", _ref("incontinence"), lambda v: "incontinence", modifiable=False),
    Group("living_alone", _ref("living_alone"), lambda v: "vit seul(e)", modifiable=False),
)


def group_effects(
    estimator: LandmarkClassifier, x: FloatArray, features: Sequence[str]
) -> FloatArray:
    """Return, per row and group, the log-odds removed by setting the group to its reference.

    Returns
    -------
    float array, shape (n_rows, len(GROUPS))
    """
    col = {f: j for j, f in enumerate(features)}
    base = estimator.decision_function(x)
    out = np.zeros((x.shape[0], len(GROUPS)))
    for k, group in enumerate(GROUPS):
        x_ref = x.copy()
        for name, value in group.reference.items():
            x_ref[:, col[name]] = value
        out[:, k] = base - estimator.decision_function(x_ref)
    return out


def reasons_for(
    effects: FloatArray, x: FloatArray, features: Sequence[str], n_reasons: int
) -> list[tuple[Reason, ...]]:
    """Turn group effects into the top French reasons of each row."""
    result: list[tuple[Reason, ...]] = []
    for i in range(x.shape[0]):
        values = dict(zip(features, (float(v) for v in x[i]), strict=True))
        order = np.argsort(-effects[i])[:n_reasons]
        row = tuple(
            Reason(GROUPS[k].code, GROUPS[k].text(values), float(effects[i, k]),
                   GROUPS[k].modifiable)
            for k in order
            if effects[i, k] >= MIN_EFFECT
        )
        result.append(row)
    return result


def score_persons(
    model: RiskModel,
    persons: Sequence[Person],
    observations: Sequence[Observation],
    at: datetime,
    *,
    n_reasons: int = 3,
) -> list[Score]:
    """Score ``persons`` at ``at`` with reasons (see :meth:`risk.models.RiskModel.score`)."""
    if not persons:
        return []
    ids = [p.person_id for p in persons]
    table = ObservationTable.from_records(observations, ids)
    person = np.arange(len(persons), dtype=np.int64)
    when = np.full(len(persons), to_seconds(at), dtype=np.int64)
    return score_table(model, persons, table, person, when, n_reasons=n_reasons)


def score_table(
    model: RiskModel,
    persons: Sequence[Person],
    table: ObservationTable,
    person: IntArray,
    at: IntArray,
    *,
    n_reasons: int = 3,
) -> list[Score]:
    """Score landmarks ``(person, at)`` of a table, with reasons."""
    p_fall, p_dec, x = model.predict_table(persons, table, person, at)
    fall_r = reasons_for(group_effects(model.fall, x, model.features), x, model.features,
                         n_reasons)
    dec_r = reasons_for(group_effects(model.decline, x, model.features), x, model.features,
                        n_reasons)
    return [
        Score(
            table.person_ids[int(person[i])],
            from_seconds(int(at[i])),
            float(p_fall[i]),
            float(p_dec[i]),
            fall_r[i],
            dec_r[i],
        )
        for i in range(person.shape[0])
    ]


#: Profile factors whose effect ordering is compared with the generator's true log odds ratios,
#: with the feature values that switch each one off and on.
FACTOR_SWITCHES: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "parkinson": ({"parkinson": 0.0}, {"parkinson": 1.0}),
    # Having a walking aid comes with carers reporting its use (about 9 visits in 10).
    "walking_aid": (
        {"walking_aid": 0.0, "ewma_walking_aid_used": 0.0, "mean180_walking_aid_used": 0.0},
        {"walking_aid": 1.0, "ewma_walking_aid_used": 0.9, "mean180_walking_aid_used": 0.9},
    ),
    "antiepileptics": ({"antiepileptics": 0.0}, {"antiepileptics": 1.0}),
    "vertigo": ({"vertigo": 0.0}, {"vertigo": 1.0}),
    "incontinence": ({"incontinence": 0.0}, {"incontinence": 1.0}),
    "psychotropic": ({"n_psychotropics": 0.0}, {"n_psychotropics": 1.0}),
    "cognitive_impairment": ({"cognitive_impairment": 0.0}, {"cognitive_impairment": 1.0}),
    "polypharmacy": ({"n_medicines": 5.0, "polypharmacy": 0.0},
                     {"n_medicines": 9.0, "polypharmacy": 1.0}),
    "living_alone": ({"living_alone": 0.0}, {"living_alone": 1.0}),
    "female": ({"female": 0.0}, {"female": 1.0}),
}


def factor_effects(
    estimator: LandmarkClassifier, x: FloatArray, features: Sequence[str]
) -> dict[str, float]:
    """Return each profile factor's mean log-odds effect (on minus off) over the rows of ``x``."""
    col = {f: j for j, f in enumerate(features)}
    out: dict[str, float] = {}
    for name, (off, on) in FACTOR_SWITCHES.items():
        x_off = x.copy()
        x_on = x.copy()
        for f, v in off.items():
            x_off[:, col[f]] = v
        for f, v in on.items():
            x_on[:, col[f]] = v
        diff = estimator.decision_function(x_on) - estimator.decision_function(x_off)
        out[name] = float(np.mean(diff))
    return out
