"""Change detection against the person's own usual state."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from risk.change import ChangeDetector, PopulationBaseline, detect_changes, group_alert_days
from risk.cohort import Cohort
from risk.schema import Confusion, Drinks, Mobility, Observation

T0 = datetime(2025, 1, 1, 10)


def _population(cohort: Cohort) -> PopulationBaseline:
    return PopulationBaseline.from_table(cohort.observations)


def _visits(n: int, meal: list[float], **items: object) -> list[Observation]:
    return [
        Observation("A", T0 + timedelta(days=3 * i), meal_share=meal[i],
                    mobility=Mobility.USUAL, confusion=Confusion.NONE, **items)  # type: ignore[arg-type]
        for i in range(n)
    ]


def test_appetite_drop_is_detected_within_three_visits(small_cohort: Cohort) -> None:
    meals = [1.0] * 40 + [0.25] * 10
    alerts = detect_changes(_visits(50, meals), _population(small_cohort))
    meal_alerts = [a for a in alerts if a.item == "meal_deficit"]
    assert meal_alerts, alerts
    first = meal_alerts[0]
    assert first.text == "appétit en baisse par rapport à d'habitude"
    delay = (first.at - (T0 + timedelta(days=3 * 40))).days // 3 + 1
    assert 1 <= delay <= 3
    # The nutrition domain's CUSUM sees it first and names the item that moved most.
    assert first.method == "domain"


def test_stable_person_raises_no_alert(small_cohort: Cohort) -> None:
    meals = [1.0, 0.75] * 40
    assert detect_changes(_visits(80, meals), _population(small_cohort)) == []


def test_baseline_moves_from_population_to_own_history(small_cohort: Cohort) -> None:
    # Someone who always needs more help for everything: far from the population, but that is
    # their usual, so alerts stop once their own history outweighs the population prior.
    obs = [
        Observation("A", T0 + timedelta(days=3 * i), help_toilet=True, help_dressing=True,
                    help_transfers=True, help_eating=True)
        for i in range(60)
    ]
    pop = _population(small_cohort)
    late = T0 + timedelta(days=90)
    own = [a for a in detect_changes(obs, pop) if a.item == "help"]
    assert not [a for a in own if a.at > late]
    population_only = ChangeDetector(prior_visits=1e6)
    stuck = [a for a in detect_changes(obs, pop, population_only) if a.item == "help"]
    assert [a for a in stuck if a.at > late]
    assert stuck[0].text == "a besoin de plus d'aide que d'habitude"


def test_cusum_flags_repeated_yes_answers(small_cohort: Cohort) -> None:
    obs = [
        Observation("A", T0 + timedelta(days=3 * i), pain=i >= 30) for i in range(40)
    ]
    pop = _population(small_cohort)
    pain = [a for a in detect_changes(obs, pop) if a.item == "pain"]
    assert pain
    assert pain[0].at >= T0 + timedelta(days=90)
    # The item's own Bernoulli CUSUM (pattern CUSUMs off, ten "yes" enough for its threshold).
    alone = ChangeDetector(pattern_threshold=math.inf, cusum_threshold=6.0)
    item_only = [a for a in detect_changes(obs, pop, alone) if a.item == "pain"]
    assert item_only
    assert item_only[0].method == "cusum"
    assert item_only[0].at >= T0 + timedelta(days=90)


def test_alerts_are_grouped_into_episodes() -> None:
    assert group_alert_days([1.0, 3.0, 9.5, 30.0, 31.0]) == [1.0, 30.0]


def test_population_baseline_round_trips(small_cohort: Cohort) -> None:
    pop = _population(small_cohort)
    assert PopulationBaseline.from_dict(pop.to_dict()) == pop
    assert 0.0 < pop.mean["meal_deficit"] < 0.6


def test_domain_pattern_finds_a_worsening_no_single_item_shows(small_cohort: Cohort) -> None:
    # From day 60 on: drinks a little less, breathless and swollen about every other visit, a
    # bit more of the meal left. Each item alone stays within what a person's answers vary by.
    obs = [
        Observation("A", T0 + timedelta(days=3 * i), meal_share=0.75 if i >= 20 else 1.0,
                    drinks=Drinks.LESS if i >= 20 and i % 2 else Drinks.USUAL,
                    breathlessness=i >= 20 and i % 2 == 0, swelling=i >= 20 and i % 3 == 0,
                    mobility=Mobility.USUAL, confusion=Confusion.NONE)
        for i in range(30)
    ]
    pop = _population(small_cohort)
    start = T0 + timedelta(days=60)
    found = [a for a in detect_changes(obs, pop) if a.at >= start]
    assert found
    first = found[0]
    assert first.method == "domain"
    assert first.item in ("meal_deficit", "drinks", "breathlessness", "swelling")
    assert (first.at - start).days // 3 + 1 <= 3
    # The items' own detectors see nothing for that long.
    items_only = ChangeDetector(pattern_threshold=math.inf)
    assert not [a for a in detect_changes(obs, pop, items_only)
                if start <= a.at <= first.at]


def test_artefacts_without_answer_shares_still_detect(small_cohort: Cohort) -> None:
    # Artefacts written before the shares were stored hold only means and spreads.
    pop = _population(small_cohort)
    old = PopulationBaseline.from_dict({"mean": dict(pop.mean), "sd": dict(pop.sd)})
    assert old.levels == {}
    for item in ("meal_deficit", "pain"):
        shares = old.level_shares(item)
        assert shares.sum() == pytest.approx(1.0)
        assert (shares > 0).all()
    meals = [1.0] * 40 + [0.25] * 10
    assert [a for a in detect_changes(_visits(50, meals), old) if a.item == "meal_deficit"]
