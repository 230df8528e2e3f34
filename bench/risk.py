"""Benchmark the risk library on the synthetic cohort: ``python -m bench.risk``.

Every figure printed here is SYNTHETIC: it measures the library against its own generator
(``risk.cohort``), not against real people. The last line is the machine-readable summary.

Protocol (issue 5, "Must show"):

1. train on 5,000 persons over 18 months from generator seed 101 (timed: features, model
   choice on validation persons, calibration, refit);
2. test on 2,000 other persons from seed 202 at landmarks in months 13–18 (split by person, by
   seed and by time); AUROC, AUPRC, Brier, calibration slope/intercept with bootstrap intervals
   over persons; the oracle is the generator's true risk; baselines are fitted on the training
   rows;
3. factor ranking: Spearman correlation between the fall model's mean effect of each profile
   factor and the generator's true log odds ratios;
4. change detection on 300 persons from seed 303: delay (in visits) from each injected shock to
   the first alert, and alert episodes not explained by a real worsening, per person per six
   months;
5. scoring 1,000 persons at one date (features, both models and French reasons), timed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from risk.change import (
    ChangeDetector,
    PopulationBaseline,
    detect_changes_table,
    group_alert_days,
)
from risk.cohort import FALL_LOG_OR, PREVALENCE, Cohort, generate_cohort
from risk.evaluate import (
    Baselines,
    bootstrap_ci,
    metrics,
    standard_subgroups,
    subgroup_calibration,
)
from risk.explain import factor_effects, score_table
from risk.features import landmark_features, landmark_labels, training_landmarks
from risk.models import RiskModel, model_matrix, train_risk_model
from risk.schema import DAY_S, EPOCH

#: An alert is "explained" when a shock or a hospitalisation/ADL step happened in the 60 days
#: before it, or when the person's latent state in some domain had risen by at least this much
#: (in SD of baseline frailty) over its level 14–60 days earlier: a real worsening.
REAL_RISE = 0.8
WARMUP_DAYS = 120


def _day0(cohort: Cohort) -> int:
    return (cohort.start - EPOCH.date()).days


def held_out_rows(
    cohort: Cohort, *, from_day: int = 365
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return test landmarks of a cohort from ``from_day`` on, with labels and true risks."""
    person, at = training_landmarks(cohort.observations)
    day = at // DAY_S - _day0(cohort)
    keep = day >= from_day
    person, at, day = person[keep], at[keep], day[keep]
    full = landmark_features(cohort.persons, cohort.observations, person, at)
    y_fall, y_dec = landmark_labels(cohort.outcomes, cohort.observations.person_ids, person, at)
    true_fall, true_dec = cohort.true_risk(person, day)
    return full, y_fall, y_dec, person, true_fall, true_dec


def _fmt(m: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.3f}" for k, v in m.items())


def evaluate_outcome(
    name: str,
    model_p: np.ndarray,
    y: np.ndarray,
    person: np.ndarray,
    oracle: np.ndarray,
    baselines: dict[str, np.ndarray],
    n_boot: int,
) -> dict[str, dict[str, float]]:
    """Print and return the metrics of the model, the oracle and the baselines."""
    out: dict[str, dict[str, float]] = {}
    print(f"\n[{name}] n={y.size} landmarks, {np.unique(person).size} persons, "
          f"prevalence={y.mean():.3f} (synthetic)")
    for label, p in {"model": model_p, "oracle": oracle, **baselines}.items():
        m = metrics(y, p).as_dict()
        out[label] = m
        print(f"  {label:<10} {_fmt(m)}")
    for stat_name, stat in {
        "auroc": lambda yy, pp: metrics(yy, pp).auroc,
        "brier": lambda yy, pp: metrics(yy, pp).brier,
        "cal_slope": lambda yy, pp: metrics(yy, pp).cal_slope,
    }.items():
        lo, hi = bootstrap_ci(y, model_p, person, stat, n_boot=n_boot)
        print(f"  model {stat_name} 95% CI over persons [{lo:.3f}, {hi:.3f}]")
    # Paired over the same resampled persons: how sure the margin over STEADI is.
    both = np.column_stack([model_p, baselines["steadi"]])
    lo, hi = bootstrap_ci(y, both, person,
                          lambda yy, pp: metrics(yy, pp[:, 0]).auroc - metrics(yy, pp[:, 1]).auroc,
                          n_boot=n_boot)
    print(f"  model - steadi auroc 95% CI over persons [{lo:.3f}, {hi:.3f}]")
    return out


def target_lines(label: str, res: dict[str, dict[str, float]]) -> list[str]:
    """Return one line per point-1 target of an outcome, with its margin and whether it holds."""
    model = res["model"]
    baselines = {k: v for k, v in res.items() if k not in ("model", "oracle")}
    checks = [
        (f"auroc {model['auroc']:.4f} >= oracle - 0.03 = {res['oracle']['auroc'] - 0.03:.4f}",
         model["auroc"] - (res["oracle"]["auroc"] - 0.03)),
        (f"auroc {model['auroc']:.4f} >= steadi + 0.05 = {res['steadi']['auroc'] + 0.05:.4f}",
         model["auroc"] - (res["steadi"]["auroc"] + 0.05)),
        (f"cal slope {model['cal_slope']:.3f} within 0.85-1.15",
         min(model["cal_slope"] - 0.85, 1.15 - model["cal_slope"])),
        (f"brier {model['brier']:.4f} < best baseline "
         f"{min(v['brier'] for v in baselines.values()):.4f}",
         min(v["brier"] for v in baselines.values()) - model["brier"]),
    ]
    return [f"{label:<8} {text}: margin {margin:+.4f} {'met' if margin >= 0 else 'NOT MET'}"
            for text, margin in checks]


@dataclass(frozen=True)
class ChangeFigures:
    """What the change benchmark measures on one cohort."""

    median_delay: float  # visits from the shock to the first alert; a miss counts as infinite
    within_three: float  # share of shocks alerted on within three visits
    detected: float  # share of shocks alerted on within 45 days
    false_latent: float  # unexplained alert episodes per person per six months
    false_strict: float  # the same when only shocks and steps explain an alert


def change_benchmark(
    n_persons: int, seed: int, detector: ChangeDetector | None = None
) -> ChangeFigures:
    """Measure the change detector on a cohort generated from ``seed``."""
    return change_metrics(generate_cohort(n_persons, seed=seed), detector)


def change_metrics(cohort: Cohort, detector: ChangeDetector | None = None) -> ChangeFigures:
    """Measure a change detector on a generated cohort.

    The delay of a shock counts visits from the first visit on or after the shock day (1 when
    that visit raises the alert); a shock without an alert within 45 days counts as infinite.
    An alert episode is explained by a shock or a hospitalisation/ADL step in the 60 days before
    it, or by a rise of the person's latent state of at least :data:`REAL_RISE`.
    """
    n_persons = len(cohort.persons)
    table = cohort.observations
    population = PopulationBaseline.from_table(table)
    alerts = detect_changes_table(table, population, detector)
    day0 = _day0(cohort)
    index = {pid: i for i, pid in enumerate(table.person_ids)}
    alert_days: dict[int, list[float]] = {}
    for a in alerts:
        d = (a.at.date() - cohort.start).days + a.at.hour / 24.0
        alert_days.setdefault(index[a.person_id], []).append(d)
    events: dict[int, list[int]] = {}
    for s in cohort.shocks:
        events.setdefault(s.person, []).append(s.day)
    for p, d in cohort.steps:
        events.setdefault(p, []).append(d)
    visit_days = (table.time // DAY_S - day0).astype(float)
    delays = []
    for s in cohort.shocks:
        if s.day < WARMUP_DAYS or s.day > cohort.n_days - 45:
            continue
        v = np.sort(visit_days[table.person == s.person])
        first = int(np.searchsorted(v, s.day, side="left"))
        hits = [d for d in alert_days.get(s.person, []) if s.day <= d <= s.day + 45]
        if hits:
            k = int(np.searchsorted(v, np.floor(min(hits)), side="left"))
            delays.append(float(k - first + 1))
        else:
            delays.append(float("inf"))
    false_latent = 0
    false_strict = 0
    for p in range(n_persons):
        latent = cohort.fluctuation(p)
        for d in group_alert_days(alert_days.get(p, [])):
            if d < WARMUP_DAYS:
                continue
            if any(e <= d <= e + 60 for e in events.get(p, [])):
                continue
            false_strict += 1
            di = int(d)
            before = latent[max(0, di - 60) : max(1, di - 14)].mean(axis=0)
            if float(np.max(latent[di] - before)) < REAL_RISE:
                false_latent += 1
    half_years = n_persons * (cohort.n_days - WARMUP_DAYS) / 182.6
    arr = np.array(delays)
    return ChangeFigures(
        median_delay=float(np.median(arr)),
        within_three=float((arr <= 3).mean()),
        detected=float(np.isfinite(arr).mean()),
        false_latent=false_latent / half_years,
        false_strict=false_strict / half_years,
    )


def marginal_ors(cohort: Cohort) -> dict[str, float]:
    """Return the generated univariate OR of each profile factor for a fall within 90 days."""
    person, at = training_landmarks(cohort.observations)
    y, _ = landmark_labels(cohort.outcomes, cohort.observations.person_ids, person, at)
    flags = {
        "parkinson": [p.parkinson for p in cohort.persons],
        "walking_aid": [p.walking_aid for p in cohort.persons],
        "antiepileptics": [p.antiepileptics for p in cohort.persons],
        "vertigo": [p.vertigo for p in cohort.persons],
        "incontinence": [p.incontinence for p in cohort.persons],
        "psychotropic": [p.n_psychotropics > 0 for p in cohort.persons],
        "cognitive_impairment": [p.cognitive_impairment for p in cohort.persons],
        "polypharmacy": [p.n_medicines >= 8 for p in cohort.persons],
        "living_alone": [p.living_alone for p in cohort.persons],
    }
    out = {}
    yb = y.astype(bool)
    for name, f in flags.items():
        x = np.array(f)[person]
        a, b = (yb & x).sum(), (~yb & x).sum()
        c, d = (yb & ~x).sum(), (~yb & ~x).sum()
        out[name] = float(a * d / max(b * c, 1))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the SUMMARY line last."""
    parser = argparse.ArgumentParser(prog="python -m bench.risk")
    parser.add_argument("--train-persons", type=int, default=5000)
    parser.add_argument("--test-persons", type=int, default=2000)
    parser.add_argument("--change-persons", type=int, default=300)
    parser.add_argument("--boot", type=int, default=200)
    args = parser.parse_args(argv)

    print("All figures below are SYNTHETIC (generator risk.cohort), not clinical results.")
    train = generate_cohort(args.train_persons, seed=101)
    print(f"train cohort: {len(train.persons)} persons, {len(train.observations)} observations, "
          f"18 months, seed 101")
    start = time.perf_counter()
    model: RiskModel = train_risk_model(
        train.persons, train.observations, train.outcomes, synthetic=True
    )
    train_s = time.perf_counter() - start
    print(f"training: {train_s:.1f} s, {model.metadata['n_landmarks']} landmarks; chosen "
          f"fall={model.metadata['selection']['fall']['chosen']} "
          f"decline={model.metadata['selection']['decline']['chosen']}")
    for outcome in ("fall", "decline"):
        for kind, v in model.metadata["selection"][outcome]["validation"].items():
            print(f"  validation {outcome} {kind}: {_fmt(v)}")

    # Baselines are fitted on the same training rows as the model.
    person_tr, at_tr = training_landmarks(train.observations)
    full_tr = landmark_features(train.persons, train.observations, person_tr, at_tr)
    yf_tr, yd_tr = landmark_labels(train.outcomes, train.observations.person_ids, person_tr, at_tr)
    base_fall = Baselines.fit(full_tr, yf_tr)
    base_dec = Baselines.fit(full_tr, yd_tr)

    test = generate_cohort(args.test_persons, seed=202)
    full, y_fall, y_dec, person, true_fall, true_dec = held_out_rows(test)
    x = model_matrix(full)
    p_fall = model.fall.predict_proba(x)[:, 1]
    p_dec = model.decline.predict_proba(x)[:, 1]
    fall = evaluate_outcome("fall within 90 days", p_fall, y_fall, person, true_fall,
                            base_fall.predict(full), args.boot)
    dec = evaluate_outcome("decline within 90 days", p_dec, y_dec, person, true_dec,
                           base_dec.predict(full), args.boot)

    print("\n[calibration by subgroup, fall] observed / expected (synthetic)")
    for name, r in subgroup_calibration(y_fall, p_fall, standard_subgroups(full)).items():
        print(f"  {name:<20} n={r['n']:.0f} O={r['observed']:.3f} E={r['expected']:.3f} "
              f"O/E={r['o_e']:.2f}")
    print("[calibration by subgroup, decline]")
    for name, r in subgroup_calibration(y_dec, p_dec, standard_subgroups(full)).items():
        print(f"  {name:<20} n={r['n']:.0f} O={r['observed']:.3f} E={r['expected']:.3f} "
              f"O/E={r['o_e']:.2f}")

    print("\n[targets] issue 5, point 1 (4 decimals; synthetic)")
    for label, res in (("fall", fall), ("decline", dec)):
        for line in target_lines(label, res):
            print("  " + line)

    effects = factor_effects(model.fall, x, model.features)
    names = list(FALL_LOG_OR)
    rho = float(spearmanr([effects[n] for n in names], [FALL_LOG_OR[n] for n in names])[0])
    print("\n[factor ranking] model mean effect (log-odds) vs generator true log-OR x shrink")
    for n in sorted(names, key=lambda k: -FALL_LOG_OR[k]):
        print(f"  {n:<22} model={effects[n]:+.3f} true_log_or={FALL_LOG_OR[n]:.3f}")
    print(f"  Spearman = {rho:.3f}")
    print("[generated univariate ORs, fall within 90 days, training cohort] (published)")
    for n, v in marginal_ors(train).items():
        print(f"  {n:<22} generated={v:.2f} published={np.exp(FALL_LOG_OR[n]):.2f} "
              f"prevalence={PREVALENCE[n]:.2f}")

    change = change_benchmark(args.change_persons, 303)
    print(f"\n[change detection] {args.change_persons} persons, seed 303: median delay "
          f"{change.median_delay:.1f} visits; {100 * change.within_three:.0f}% of shocks "
          f"detected within 3 visits, {100 * change.detected:.0f}% within 45 days; "
          f"unexplained alert episodes per person per 6 months: {change.false_latent:.2f} "
          f"(strict, only shocks/steps explain: {change.false_strict:.2f})")

    n_score = min(1000, len(test.persons))
    at = np.full(n_score, (_day0(test) + 400) * DAY_S, dtype=np.int64)
    start = time.perf_counter()
    scores = score_table(model, test.persons[:n_score], test.observations,
                         np.arange(n_score, dtype=np.int64), at)
    score_s = time.perf_counter() - start
    print(f"scoring {len(scores)} persons with reasons: {score_s:.2f} s")
    print(f"  example: {scores[0].fall_risk_90d:.2f} — "
          + " ; ".join(r.text for r in scores[0].fall_reasons))
    print("Timings on a shared 2-core machine are noisy.")
    print(
        "SUMMARY risk "
        f"fall_auroc={fall['model']['auroc']:.3f} fall_oracle={fall['oracle']['auroc']:.3f} "
        f"fall_steadi={fall['steadi']['auroc']:.3f} "
        f"fall_cal_slope={fall['model']['cal_slope']:.2f} "
        f"decline_auroc={dec['model']['auroc']:.3f} decline_oracle={dec['oracle']['auroc']:.3f} "
        f"decline_cal_slope={dec['model']['cal_slope']:.2f} factor_spearman={rho:.2f} "
        f"change_delay_visits={change.median_delay:.1f} "
        f"false_alerts_per_6mo={change.false_latent:.2f} "
        f"train_s={train_s:.1f} score_s={score_s:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
