"""Explanations: faithful to the model and quoting the person's figures in French."""

from __future__ import annotations

import numpy as np

from risk.cohort import Cohort
from risk.explain import (
    GROUPS,
    MIN_EFFECT,
    REASON_TEXTS,
    factor_effects,
    group_effects,
    reasons_for,
    render_parts,
)
from risk.features import INTERACTIONS, refresh_interactions
from risk.models import MODEL_FEATURES, RiskModel, model_matrix, training_set


def _values(**overrides: float) -> dict[str, float]:
    values = dict.fromkeys(MODEL_FEATURES, 0.0)
    values.update(overrides)
    return values


def _text(code: str, **values: float) -> str:
    group = next(g for g in GROUPS if g.code == code)
    return render_parts(group.text(_values(**values)))


def test_texts_quote_the_persons_figures() -> None:
    assert _text("falls", falls_30d=2, falls_90d=2, falls_365d=3) == "2 chutes en 30 jours"
    assert _text("falls", falls_90d=1, falls_365d=1, injurious_falls_90d=1) == (
        "1 chute en 90 jours, dont 1 avec blessure ou au sol"
    )
    assert _text("meals", low_meal_last7=5, answered_meal_last7=7) == (
        "repas à moitié ou moins 5 fois sur les 7 dernières visites"
    )
    assert _text("weight", weight_loss_1m_pct=6.2) == "perte de poids de 6 % en un mois"
    assert _text("meals", change_meal_deficit=0.2) == "appétit en baisse par rapport à d'habitude"


def test_reasons_carry_their_message_parts_for_translation(
    small_model: RiskModel, small_cohort: Cohort
) -> None:
    group = next(g for g in GROUPS if g.code == "falls")
    assert group.text(_values(falls_30d=1, injurious_falls_90d=1)) == [
        ("falls_30d.one", {"n": 1}), ("falls_injured", {"n": 1})]
    full, *_ = training_set(small_cohort.persons, small_cohort.observations,
                            small_cohort.outcomes)
    x = model_matrix(full[:300])
    eff = group_effects(small_model.decline, x, small_model.features)
    reasons = [r for rs in reasons_for(eff, x, small_model.features, 3) for r in rs]
    assert reasons
    for reason in reasons:
        assert reason.parts
        assert all(key in REASON_TEXTS for key, _ in reason.parts)
        assert render_parts(reason.parts) == reason.text


def test_interactions_follow_their_factors_when_one_is_switched_off(
    small_model: RiskModel, small_cohort: Cohort
) -> None:
    full, *_ = training_set(small_cohort.persons, small_cohort.observations,
                            small_cohort.outcomes)
    x = model_matrix(full[:300])
    col = {f: j for j, f in enumerate(small_model.features)}
    for name, (a, b) in INTERACTIONS.items():
        assert np.allclose(x[:, col[name]], x[:, col[a]] * x[:, col[b]])
    x[:, col["cognitive_impairment"]] = 0.0
    refresh_interactions(x, small_model.features)
    assert not x[:, col["cognitive_impairment_x_ewma_confusion"]].any()
    assert not x[:, col["cognitive_impairment_x_mean180_medication_missed"]].any()


def test_every_group_references_model_features() -> None:
    for group in GROUPS:
        assert set(group.reference) <= set(MODEL_FEATURES), group.code


def test_effects_are_exact_counterfactuals(small_model: RiskModel, small_cohort: Cohort) -> None:
    full, *_ = training_set(small_cohort.persons, small_cohort.observations,
                            small_cohort.outcomes)
    x = model_matrix(full[:200])
    eff = group_effects(small_model.fall, x, small_model.features)
    k = next(i for i, g in enumerate(GROUPS) if g.code == "meals")
    x_ref = x.copy()
    for name, value in GROUPS[k].reference.items():
        x_ref[:, small_model.features.index(name)] = value
    expected = small_model.fall.decision_function(x) - small_model.fall.decision_function(x_ref)
    assert np.allclose(eff[:, k], expected)
    reasons = reasons_for(eff, x, small_model.features, n_reasons=3)
    for row, rs in zip(eff, reasons, strict=True):
        assert len(rs) <= 3
        assert all(r.effect >= MIN_EFFECT for r in rs)
        assert [r.effect for r in rs] == sorted(row[row >= MIN_EFFECT], reverse=True)[: len(rs)]


def test_factor_effects_cover_profile_factors(small_model: RiskModel,
                                              small_cohort: Cohort) -> None:
    full, *_ = training_set(small_cohort.persons, small_cohort.observations,
                            small_cohort.outcomes)
    effects = factor_effects(small_model.fall, model_matrix(full[:300]), small_model.features)
    assert set(effects) >= {"parkinson", "walking_aid", "antiepileptics", "vertigo"}
    assert all(np.isfinite(v) for v in effects.values())
