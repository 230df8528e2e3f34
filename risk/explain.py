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

from risk.features import refresh_interactions
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


#: French template of each message part, filled with :meth:`str.format`. A reason's text is the
#: concatenation of its parts; ``Reason.parts`` keeps the keys and figures so that an
#: application can render the same reason in another language. Keys are a public contract:
#: add new ones, never change the meaning of one.
REASON_TEXTS: dict[str, str] = {
    "falls_30d.one": "{n} chute en 30 jours",
    "falls_30d.other": "{n} chutes en 30 jours",
    "falls_90d.one": "{n} chute en 90 jours",
    "falls_90d.other": "{n} chutes en 90 jours",
    "falls_365d.one": "{n} chute dans l'année",
    "falls_365d.other": "{n} chutes dans l'année",
    "falls_injured": ", dont {n} avec blessure ou au sol",
    "falls_none": "pas de chute signalée récemment",
    "near_falls_90d.one": "{n} quasi-chute en 90 jours",
    "near_falls_90d.other": "{n} quasi-chutes en 90 jours",
    "meals_low": "repas à moitié ou moins {n} fois sur les {total} dernières visites",
    "meals_change": "appétit en baisse par rapport à d'habitude",
    "meals_less": "mange souvent moins que le repas servi",
    "drinks_low": "boit peu",
    "drinks_change": "boit moins que d'habitude",
    "weight_1m": "perte de poids de {pct} % en un mois",
    "weight_6m": "perte de poids de {pct} % en six mois",
    "mobility_usual": "marche souvent instable ou avec plus d'aide",
    "mobility_change": "marche moins assurée que d'habitude",
    "help_usual": "a besoin de plus d'aide (toilette, habillage, transferts ou repas)",
    "help_change": "plus d'aide nécessaire que d'habitude pour les gestes du quotidien",
    "confusion_usual": "confusion fréquente",
    "confusion_change": "plus confus(e) que d'habitude",
    "mood_share": "humeur inhabituelle (triste, anxieux·se ou agité·e) à {pct} % des visites "
                  "récentes",
    "sleep_share": "sommeil perturbé à {pct} % des visites récentes",
    "continence_share": "changement de continence à {pct} % des visites récentes",
    "pain_share": "douleurs à {pct} % des visites récentes",
    "skin_share": "rougeurs aux points d'appui à {pct} % des visites récentes",
    "breathlessness_share": "essoufflement à {pct} % des visites récentes",
    "swelling_share": "jambes gonflées (œdèmes) à {pct} % des visites récentes",
    "social_share": "sans contact social à {pct} % des visites récentes",
    "medication_share": "traitement pas pris comme prévu à {pct} % des visites récentes",
    "walking_aid": "utilise une aide à la marche",
    "parkinson": "maladie de Parkinson",
    "antiepileptics": "traitement antiépileptique",
    "vertigo": "vertiges",
    "psychotropics.one": "{n} psychotrope",
    "psychotropics.other": "{n} psychotropes",
    "polypharmacy": "{n} médicaments",
    "cognitive_impairment": "troubles cognitifs",
    "incontinence": "incontinence",
    "living_alone": "vit seul(e)",
}

#: One part of a reason's text: a key of :data:`REASON_TEXTS` and its whole-number figures.
Part = tuple[str, dict[str, int]]


def render_parts(parts: Sequence[Part]) -> str:
    """Return the French text of message parts."""
    return "".join(REASON_TEXTS[key].format(**params) for key, params in parts)


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
    parts : tuple of (key, figures)
        The text as keys of :data:`REASON_TEXTS` with their figures, for translation.
    """

    code: str
    text: str
    effect: float
    modifiable: bool
    parts: tuple[Part, ...] = ()


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
Text = Callable[[Values], list[Part]]


def _counted(key: str, n: float, **more: int) -> Part:
    k = round(n)
    return (f"{key}.{'one' if k <= 1 else 'other'}", {"n": k, **more})


def _falls(v: Values) -> list[Part]:
    inj = v["injurious_falls_90d"]
    suffix: list[Part] = [("falls_injured", {"n": round(inj)})] if inj >= 1 else []
    if v["falls_30d"] >= 1:
        return [_counted("falls_30d", v["falls_30d"]), *suffix]
    if v["falls_90d"] >= 1:
        return [_counted("falls_90d", v["falls_90d"]), *suffix]
    if v["falls_365d"] >= 1:
        return [_counted("falls_365d", v["falls_365d"])]
    return [("falls_none", {})]


def _meals(v: Values) -> list[Part]:
    if v["low_meal_last7"] >= 1:
        return [("meals_low", {"n": round(v["low_meal_last7"]),
                               "total": round(v["answered_meal_last7"])})]
    if v["change_meal_deficit"] > 0.05:
        return [("meals_change", {})]
    return [("meals_less", {})]


def _pct(x: float) -> int:
    # The same rounding as the French text always had ("{:.0f}").
    return int(f"{x:.0f}")


def _weight(v: Values) -> list[Part]:
    if v["weight_loss_1m_pct"] >= 1:
        return [("weight_1m", {"pct": _pct(v["weight_loss_1m_pct"])})]
    return [("weight_6m", {"pct": _pct(v["weight_loss_6m_pct"])})]


def _trend(usual: str, changed: str, change_key: str | None = None) -> Text:
    def text(v: Values) -> list[Part]:
        if change_key is not None and v[change_key] > 0.1:
            return [(changed, {})]
        return [(usual, {})]

    return text


def _share(key: str, feature: str) -> Text:
    def text(v: Values) -> list[Part]:
        return [(key, {"pct": _pct(100 * v[feature])})]

    return text


def _fixed(key: str) -> Text:
    def text(v: Values) -> list[Part]:
        return [(key, {})]

    return text


@dataclass(frozen=True, slots=True)
class Group:
    """Features of one reason, their "nothing to report" values and the text's parts."""

    code: str
    reference: dict[str, float]
    text: Text
    modifiable: bool = True


def _ref(*names: str, value: float = 0.0) -> dict[str, float]:
    return dict.fromkeys(names, value)


def _item(*items: str) -> dict[str, float]:
    """Return the "as usual" reference of every level feature of the trend items."""
    return _ref(*(f"{kind}_{item}" for item in items for kind in ("ewma", "mean180")))


GROUPS: tuple[Group, ...] = (
    Group(
        "falls",
        {**_ref("falls_30d", "falls_90d", "falls_365d", "injurious_falls_90d"),
         "days_since_fall": 365.0},
        _falls,
    ),
    Group(
        "near_falls",
        {**_ref("near_falls_30d", "near_falls_90d"), **_item("near_fall")},
        lambda v: [_counted("near_falls_90d", v["near_falls_90d"])],
    ),
    Group(
        "meals",
        {**_item("meal_deficit"), **_ref("change_meal_deficit", "low_meal_last7")},
        _meals,
    ),
    Group("drinks", _item("drinks"), _trend("drinks_low", "drinks_change")),
    Group("weight", _ref("weight_loss_1m_pct", "weight_loss_6m_pct"), _weight),
    Group(
        "mobility",
        {**_item("mobility"), **_ref("change_mobility")},
        _trend("mobility_usual", "mobility_change", "change_mobility"),
    ),
    Group(
        "help",
        {**_item("help"), **_ref("change_help")},
        _trend("help_usual", "help_change", "change_help"),
    ),
    Group(
        "confusion",
        {**_item("confusion"), **_ref("change_confusion")},
        _trend("confusion_usual", "confusion_change", "change_confusion"),
    ),
    Group("mood", _item("mood_changed"), _share("mood_share", "ewma_mood_changed")),
    Group("sleep", _item("poor_sleep"), _share("sleep_share", "ewma_poor_sleep")),
    Group("continence", _item("continence_change"),
          _share("continence_share", "ewma_continence_change")),
    Group("pain", _item("pain"), _share("pain_share", "ewma_pain")),
    Group("skin", _item("skin_redness"), _share("skin_share", "ewma_skin_redness")),
    Group("breathlessness", _item("breathlessness"),
          _share("breathlessness_share", "ewma_breathlessness")),
    Group("swelling", _item("swelling"), _share("swelling_share", "ewma_swelling")),
    Group("social", _item("no_social_contact"), _share("social_share", "ewma_no_social_contact")),
    Group("medication", _item("medication_missed"),
          _share("medication_share", "ewma_medication_missed")),
    Group(
        "walking_aid",
        {**_ref("walking_aid"), **_item("walking_aid_used")},
        _fixed("walking_aid"),
        modifiable=False,
    ),
    Group("parkinson", _ref("parkinson"), _fixed("parkinson"), modifiable=False),
    Group("antiepileptics", _ref("antiepileptics"), _fixed("antiepileptics"), modifiable=True),
    Group("vertigo", _ref("vertigo"), _fixed("vertigo"), modifiable=True),
    Group("psychotropics", _ref("n_psychotropics"),
          lambda v: [_counted("psychotropics", v["n_psychotropics"])], modifiable=True),
    Group("polypharmacy", {"n_medicines": 4.0, "polypharmacy": 0.0},
          lambda v: [("polypharmacy", {"n": round(v["n_medicines"])})], modifiable=True),
    Group("cognitive_impairment", _ref("cognitive_impairment"),
          _fixed("cognitive_impairment"), modifiable=False),
    Group("incontinence", _ref("incontinence"), _fixed("incontinence"), modifiable=False),
    Group("living_alone", _ref("living_alone"), _fixed("living_alone"), modifiable=False),
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
        refresh_interactions(x_ref, features)
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
            Reason(GROUPS[k].code, render_parts(parts), float(effects[i, k]),
                   GROUPS[k].modifiable, tuple(parts))
            for k in order
            if effects[i, k] >= MIN_EFFECT
            for parts in (GROUPS[k].text(values),)
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
        refresh_interactions(x_off, features)
        refresh_interactions(x_on, features)
        diff = estimator.decision_function(x_on) - estimator.decision_function(x_off)
        out[name] = float(np.mean(diff))
    return out
