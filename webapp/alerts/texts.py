"""Alert and reason texts in the viewer's language.

The risk library writes its reasons in French and also returns them as message parts (a key of
``risk.explain.REASON_TEXTS`` and whole-number figures); scores store both. Here each key has
its French message marked for translation, so a page renders a reason with gettext in the
viewer's language. Rows stored before the parts existed (or with a key unknown to this
version) show the French text they were stored with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import format_decimal, gettext

from risk.models import CANDIDATES
from webapp.i18n import N_

#: French messages of ``risk.explain.REASON_TEXTS`` (``{n}`` becomes ``%(n)s``); a test checks
#: that both say the same thing in French.
REASON_MESSAGES: dict[str, str] = {
    "falls_30d.one": N_("%(n)s chute en 30 jours"),
    "falls_30d.other": N_("%(n)s chutes en 30 jours"),
    "falls_90d.one": N_("%(n)s chute en 90 jours"),
    "falls_90d.other": N_("%(n)s chutes en 90 jours"),
    "falls_365d.one": N_("%(n)s chute dans l'année"),
    "falls_365d.other": N_("%(n)s chutes dans l'année"),
    "falls_injured": N_(", dont %(n)s avec blessure ou au sol"),
    "falls_none": N_("pas de chute signalée récemment"),
    "near_falls_90d.one": N_("%(n)s quasi-chute en 90 jours"),
    "near_falls_90d.other": N_("%(n)s quasi-chutes en 90 jours"),
    "meals_low": N_("repas à moitié ou moins %(n)s fois sur les %(total)s dernières visites"),
    "meals_change": N_("appétit en baisse par rapport à d'habitude"),
    "meals_less": N_("mange souvent moins que le repas servi"),
    "drinks_low": N_("boit peu"),
    "drinks_change": N_("boit moins que d'habitude"),
    "weight_1m": N_("perte de poids de %(pct)s %% en un mois"),
    "weight_6m": N_("perte de poids de %(pct)s %% en six mois"),
    "mobility_usual": N_("marche souvent instable ou avec plus d'aide"),
    "mobility_change": N_("marche moins assurée que d'habitude"),
    "help_usual": N_("a besoin de plus d'aide (toilette, habillage, transferts ou repas)"),
    "help_change": N_("plus d'aide nécessaire que d'habitude pour les gestes du quotidien"),
    "confusion_usual": N_("confusion fréquente"),
    "confusion_change": N_("plus confus(e) que d'habitude"),
    "mood_share": N_("humeur inhabituelle (triste, anxieux·se ou agité·e) à %(pct)s %% des "
                     "visites récentes"),
    "sleep_share": N_("sommeil perturbé à %(pct)s %% des visites récentes"),
    "continence_share": N_("changement de continence à %(pct)s %% des visites récentes"),
    "pain_share": N_("douleurs à %(pct)s %% des visites récentes"),
    "skin_share": N_("rougeurs aux points d'appui à %(pct)s %% des visites récentes"),
    "breathlessness_share": N_("essoufflement à %(pct)s %% des visites récentes"),
    "swelling_share": N_("jambes gonflées (œdèmes) à %(pct)s %% des visites récentes"),
    "social_share": N_("sans contact social à %(pct)s %% des visites récentes"),
    "medication_share": N_("traitement pas pris comme prévu à %(pct)s %% des visites récentes"),
    "walking_aid": N_("utilise une aide à la marche"),
    "parkinson": N_("maladie de Parkinson"),
    "antiepileptics": N_("traitement antiépileptique"),
    "vertigo": N_("vertiges"),
    "psychotropics.one": N_("%(n)s psychotrope"),
    "psychotropics.other": N_("%(n)s psychotropes"),
    "polypharmacy": N_("%(n)s médicaments"),
    "cognitive_impairment": N_("troubles cognitifs"),
    "incontinence": N_("incontinence"),
    "living_alone": N_("vit seul(e)"),
}

#: French text of each change alert, by followed item (``risk.change.CHANGE_ITEMS``).
CHANGE_MESSAGES: dict[str, str] = {
    "meal_deficit": N_("appétit en baisse par rapport à d'habitude"),
    "mobility": N_("marche moins assurée que d'habitude"),
    "confusion": N_("plus confus(e) que d'habitude"),
    "help": N_("a besoin de plus d'aide que d'habitude"),
    "drinks": N_("boit moins que d'habitude"),
    "fall": N_("chutes plus fréquentes que d'habitude"),
    "near_fall": N_("quasi-chutes plus fréquentes que d'habitude"),
    "mood_changed": N_("humeur inhabituelle plus souvent que d'habitude"),
    "poor_sleep": N_("dort moins bien que d'habitude"),
    "continence_change": N_("changements de continence plus fréquents"),
    "pain": N_("douleurs plus fréquentes que d'habitude"),
    "skin_redness": N_("rougeurs aux points d'appui plus fréquentes"),
    "breathlessness": N_("essoufflement plus fréquent que d'habitude"),
    "swelling": N_("gonflements plus fréquents que d'habitude"),
    "no_social_contact": N_("moins de contacts sociaux que d'habitude"),
    "medication_missed": N_("traitement moins bien pris que d'habitude"),
}

#: A score alert: the risk that crossed its threshold, then its reasons in brackets.
SCORE_MESSAGES: dict[str, str] = {
    "fall": N_("Risque de chute élevé : %(risk)s à 90 jours"),
    "decline": N_("Risque de perte d'autonomie élevé : %(risk)s à 90 jours"),
}


def _parts_text(parts: Any) -> str | None:
    """Return message parts in the viewer's language, or None if one cannot be rendered."""
    if not isinstance(parts, list) or not parts:
        return None
    out = []
    for part in parts:
        if not isinstance(part, list | tuple) or len(part) != 2:
            return None
        key, params = part
        if key not in REASON_MESSAGES or not isinstance(params, Mapping):
            return None
        try:
            out.append(gettext(REASON_MESSAGES[key], **params))
        except (KeyError, TypeError, ValueError):
            return None
    return "".join(out)


def reason_text(reason: Mapping[str, Any]) -> str:
    """Return a stored reason (``RiskScore.reasons`` entry) in the viewer's language."""
    rendered = _parts_text(reason.get("parts"))
    return rendered if rendered is not None else str(reason.get("text", ""))


def percent(value: float) -> str:
    """Return a risk as a whole percentage ("42 %")."""
    return f"{round(value * 100)} %"


def capitalised(text: str) -> str:
    """Return ``text`` with its first letter in capitals."""
    return text[:1].upper() + text[1:]


def alert_text(alert: Any) -> str:
    """Return an alert's message in the viewer's language (the stored French one otherwise)."""
    if alert.kind == "change" and alert.item in CHANGE_MESSAGES:
        return capitalised(gettext(CHANGE_MESSAGES[alert.item]))
    score = getattr(alert, "score", None)
    if alert.kind == "score" and alert.item in SCORE_MESSAGES and score is not None:
        value = getattr(score, f"{alert.item}_risk_90d")
        text = gettext(SCORE_MESSAGES[alert.item], risk=percent(value))
        reasons = "; ".join(reason_text(r) for r in (score.reasons or {}).get(alert.item, []))
        return text + (f" ({reasons})" if reasons else "")
    return str(alert.message)


def candidate_label(name: str) -> str:
    """Return a model candidate of the artefact's selection ("lasso_0.01"...) in plain words."""
    params = CANDIDATES.get(name)
    if params is None:  # written by another version of the library
        return name
    if params["kind"] == "gbm":
        return gettext("Gradient boosting (arbres de décision)")
    if params.get("l1_ratio"):
        return gettext("Régression logistique lasso (C = %(c)s)",
                       c=format_decimal(params["C"], format="0.###"))
    return gettext("Régression logistique (pénalité L2)")
