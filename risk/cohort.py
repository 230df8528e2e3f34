"""Synthetic home-care cohort grounded in published effect sizes.

Every figure obtained on this cohort is **synthetic**. The generator exists because no open
longitudinal data set of carer observations exists (see ``docs/risk.md``, "Data").

Model, per person ``p`` and day ``t``:

* latent frailty in three domains ``d`` (mobility, nutrition, cognition/mood):
  ``z_d(t) = load * u + v_d + slope * t / 365 + ou_d(t) + shock_d(t) + steps(t)`` where ``u`` is
  the shared baseline frailty, ``v_d`` a personal domain effect, ``ou_d`` an Ornstein–Uhlenbeck
  process, ``shock_d`` the sum of decaying acute shocks (about two a year, each mainly in one
  domain) and ``steps`` permanent increments after each hospitalisation or loss of an activity of
  daily living;
* daily fall hazard
  ``log h = alpha + sum_k beta_k x_k + sum_d gamma_d z_d(t) + beta_recent 1[fall < 90 d]``
  with profile factors ``x_k`` and log odds ratios ``beta_k`` from the literature;
* daily decline hazards (hospitalisation, lasting ADL loss or GIR worsening) driven by ``z_d``;
* carer observations at irregular visits: each item is emitted through IRT-style thresholds on
  its domain's ``z_d`` plus a random bias per carer and a stable personal offset per item,
  8–40 % missing answers, more often missing when the person is frailer (missing not at random).

Each parameter below names its source; "assumption" marks a value chosen to be plausible where no
source gives one. :data:`PARAMETERS` repeats them for the documentation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from risk.schema import (
    DAY_S,
    EPOCH,
    ITEM_COLUMNS,
    FloatArray,
    IntArray,
    ObservationTable,
    Outcome,
    OutcomeEvent,
    Person,
    Sex,
)

#: Conditional log odds ratios of profile factors on the daily fall hazard (the "true effects").
#: Deandrea 2010 (Epidemiology 21:658, abstract values for all fallers): Parkinson 2.7,
#: walking aid 2.2, antiepileptics 1.9, vertigo 1.8. Moon 2021: incontinence 1.62.
#: Woolcott 2009: benzodiazepines 1.57 (used for any psychotropic), sedatives 1.47.
#: Cognitive impairment 1.4, polypharmacy (>= 8 medicines) 1.3, living alone 1.15, female 1.1:
#: assumptions within the "about 1.3–1.8 for other factors" range of the research note.
FALL_LOG_OR: dict[str, float] = {
    "parkinson": math.log(2.7),
    "walking_aid": math.log(2.2),
    "antiepileptics": math.log(1.9),
    "vertigo": math.log(1.8),
    "incontinence": math.log(1.62),
    "psychotropic": math.log(1.57),
    "cognitive_impairment": math.log(1.4),
    "polypharmacy": math.log(1.3),
    "living_alone": math.log(1.15),
    "female": math.log(1.1),
}

#: Prevalence of each profile factor; research note table (assumed, "to be tuned") except
#: vertigo, psychotropics and living alone (assumptions; about half of French APA recipients at
#: home live alone, DREES).
PREVALENCE: dict[str, float] = {
    "walking_aid": 0.45,
    "polypharmacy": 0.60,
    "cognitive_impairment": 0.35,
    "incontinence": 0.40,
    "parkinson": 0.04,
    "antiepileptics": 0.06,
    "vertigo": 0.20,
    "psychotropic": 0.40,
    "living_alone": 0.50,
}

#: Loading of each factor on baseline frailty ``u`` (logit scale; assumption): frailer people
#: use walking aids more and live alone less.
FRAILTY_LOADING: dict[str, float] = {
    "walking_aid": 0.9,
    "polypharmacy": 0.3,
    "cognitive_impairment": 0.5,
    "incontinence": 0.6,
    "parkinson": 0.3,
    "antiepileptics": 0.0,
    "vertigo": 0.2,
    "psychotropic": 0.3,
    "living_alone": -0.3,
}

#: GIR mix of home-care clients, most to least dependent. GIR 1–4 follow the APA-at-home split
#: 2/18/22/58 % (DREES 2023) scaled to 80 %; GIR 5–6 (20 %, non-APA clients) is an assumption.
GIR_MIX: tuple[float, ...] = (0.016, 0.144, 0.176, 0.464, 0.12, 0.08)

PARAMETERS: dict[str, tuple[float, str]] = {
    "female_share": (0.75, "research note: cohort 75 % women"),
    "age_mean": (85.0, "assumption: APA recipients at home, median age about 85 (DREES)"),
    "age_sd": (6.0, "assumption"),
    "slope_mean_per_year": (0.25, "assumption: frailty worsens slowly on average"),
    "slope_sd_per_year": (0.35, "assumption"),
    "ou_sd": (0.8, "assumption: slow fluctuation of frailty (what recent items add)"),
    "ou_days": (60.0, "assumption: mean reversion time of fluctuations"),
    "shocks_per_year": (2.0, "research note: acute shocks about 2 a year"),
    "shock_mean": (1.3, "assumption: shock size in SD of baseline frailty"),
    "shock_days": (60.0, "assumption: decay time of an acute episode"),
    "step_after_event": (0.2, "research note: a step after each hospitalisation"),
    "domain_load": (0.3, "assumption: share of the shared frailty in each domain"),
    "domain_sd": (0.45, "assumption: personal domain effect"),
    "shock_spill": (0.3, "assumption: share of a shock felt in the two other domains"),
    "fall_gamma_mobility": (0.1, "assumption: gait (Deandrea OR 2.1) also acts via walking aid"),
    "fall_gamma_nutrition": (0.4, "assumption: undernutrition and acute illness"),
    "fall_gamma_cognition": (0.35, "assumption: confusion, delirium, low mood"),
    "fall_recent_log_or": (0.1, "assumption: post-fall syndrome, fall in the last 90 days"),
    "fall_or_shrink": (
        0.35,
        "tuned: conditional log-ORs are 0.35 x the published (marginal) ones so that, with the"
        " factors' correlation with frailty, the oracle AUROC stays realistic (about 0.73);"
        " bench.risk prints the generated univariate ORs (close for common factors, lower for"
        " Parkinson, antiepileptics and vertigo)",
    ),
    "fall_alpha": (-6.9, "tuned so about 30 % fall within 90 days (HQO 31.4 %; Manis 2020 48 %)"),
    "hosp_alpha": (-8.0, "tuned so about 20 % have a decline event within 90 days (assumption)"),
    "hosp_gamma_mobility": (0.1, "assumption"),
    "hosp_gamma_nutrition": (0.55, "assumption: CHESS-like items (intake, oedema, dyspnoea)"),
    "hosp_gamma_cognition": (0.25, "assumption"),
    "adl_alpha": (-7.6, "tuned with hosp_alpha: about 20 % decline within 90 days (assumption)"),
    "adl_gamma_mobility": (0.2, "assumption"),
    "adl_gamma_nutrition": (0.25, "assumption"),
    "adl_gamma_cognition": (0.5, "assumption"),
    "visits_per_week_min": (1.5, "assumption: 1.5-3.5 forms a week (Veyron 2019: about 1 a week)"),
    "visits_per_week_span": (2.0, "assumption: more dependent people are seen more often"),
    "item_discrimination": (1.5, "assumption: multiplier of every item's discrimination"),
    "carer_bias_sd": (0.3, "assumption: carer-specific reporting bias (latent scale)"),
    "item_offset_sd": (0.3, "assumption: stable personal offset per item (own baseline)"),
    "weight_loss_per_z": (0.05, "assumption: +1 SD frailty is 5 % weight loss (HAS 2021 scale)"),
    "scale_share": (0.5, "assumption: share of homes with a scale, weighed monthly"),
    "fall_injury_share": (0.25, "assumption: about a quarter of falls injure"),
    "fall_floor_share": (0.10, "assumption: found on the floor (long lie)"),
    "fall_hosp_share": (0.20, "assumption: injurious falls that lead to hospital"),
}


def _p(name: str) -> float:
    return PARAMETERS[name][0]


DOMAINS: tuple[str, ...] = ("mobility", "nutrition", "cognition")

#: Domain of each generated item (index into :data:`DOMAINS`).
ITEM_DOMAIN: dict[str, int] = {
    "mobility": 0, "walking_aid_used": 0, "near_fall": 0, "help_toilet": 0, "help_dressing": 0,
    "help_transfers": 0,
    "meal_deficit": 1, "drinks": 1, "breathlessness": 1, "swelling": 1, "pain": 1,
    "skin_redness": 1, "help_eating": 1, "continence_change": 1,
    "confusion": 2, "mood_changed": 2, "poor_sleep": 2, "no_social_contact": 2,
    "medication_missed": 2,
}


def _gammas(prefix: str) -> FloatArray:
    return np.array([_p(f"{prefix}_gamma_{d}") for d in DOMAINS])


#: Ordinal items: (discrimination a, thresholds tau_k); P(Y >= k) = sigmoid(a * eta - tau_k).
#: Assumption, chosen so that "usual" is the most frequent answer for a typical person.
ORDINAL_ITEMS: dict[str, tuple[float, tuple[float, ...]]] = {
    "mobility": (1.5, (1.5, 3.0, 4.4)),
    "meal_deficit": (1.3, (0.8, 2.0, 3.2, 4.4)),
    "drinks": (1.0, (1.8, 3.4)),
    "confusion": (1.3, (2.2, 3.8)),
}

#: Binary items: (discrimination a, threshold tau); "yes" means a problem except for
#: social_contact and medication_as_planned, which are inverted after drawing. Assumption.
BINARY_ITEMS: dict[str, tuple[float, float]] = {
    "near_fall": (0.9, 2.6),
    "mood_changed": (0.9, 1.7),
    "poor_sleep": (0.6, 1.6),
    "continence_change": (0.8, 2.6),
    "pain": (0.7, 1.4),
    "skin_redness": (1.0, 3.2),
    "breathlessness": (0.9, 2.8),
    "swelling": (0.6, 2.2),
    "no_social_contact": (0.5, 1.4),
    "help_toilet": (1.3, 2.6),
    "help_dressing": (1.3, 2.4),
    "help_transfers": (1.4, 2.8),
    "help_eating": (1.2, 3.8),
    "medication_missed": (0.7, 2.8),
}

#: Base probability that an item is left unanswered (assumption; research note: 20–40 %).
MISSING_BASE: dict[str, float] = {"fall": 0.08, "meal_share": 0.2}
MISSING_DEFAULT = 0.3


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@dataclass(slots=True)
class Shock:
    """An acute shock injected into one person's frailty (ground truth for change detection)."""

    person: int
    day: int
    size: float
    domain: int


@dataclass(slots=True)
class Cohort:
    """A generated cohort with its ground truth.

    Attributes
    ----------
    persons : list of Person
    observations : ObservationTable
    outcomes : list of Outcome
    notes : tuple of str
        Free-text note of each observation row (same order as ``observations``).
    start : date
        Day 0 of the simulation.
    n_days : int
    shocks : list of Shock
        Acute shocks; hospitalisation and ADL steps are in ``steps``.
    steps : list of tuple (person, day)
        Days when a permanent step was added to a person's frailty.
    """

    persons: list[Person]
    observations: ObservationTable
    outcomes: list[Outcome]
    notes: tuple[str, ...]
    start: date
    n_days: int
    shocks: list[Shock]
    steps: list[tuple[int, int]]
    # Latent state kept to compute true risks.
    _x_fall: FloatArray
    _u: FloatArray
    _stable: FloatArray
    _slope: FloatArray
    _age_term: FloatArray
    _ou: npt.NDArray[np.float32]
    _shock: npt.NDArray[np.float32]
    _step: npt.NDArray[np.float32]
    _last_fall: npt.NDArray[np.int32]

    def fluctuation(self, person: int) -> FloatArray:
        """Return a person's transient frailty (OU plus shocks) per day and domain.

        Returns
        -------
        float array, shape (n_days, 3)
        """
        return np.asarray(self._ou[person] + self._shock[person], dtype=np.float64)

    def day_index(self, on: date) -> int:
        """Return the simulation day of a calendar date."""
        return (on - self.start).days

    def true_risk(self, person: IntArray, day: IntArray) -> tuple[FloatArray, FloatArray]:
        """Return the generator's true 90-day fall and decline risks at the start of ``day``.

        The risk integrates the hazard along the expected latent path given the state at the
        end of ``day - 1`` (fluctuations and shocks decay, the slope continues); future random
        shocks are unknown at that time, as they would be to any predictor.

        Parameters
        ----------
        person, day : int arrays of equal length

        Returns
        -------
        fall, decline : float arrays
        """
        prev = np.maximum(day - 1, 0)
        slope = self._slope[person]
        ou = self._ou[person, prev].astype(np.float64)
        sh = self._shock[person, prev].astype(np.float64)
        stable = self._stable[person]
        st = self._step[person, prev].astype(np.float64)
        last_fall = self._last_fall[person, prev].astype(np.float64)
        base_fall = _p("fall_alpha") + self._x_fall[person] + self._age_term[person]
        cum_fall = np.zeros(person.shape[0])
        cum_dec = np.zeros(person.shape[0])
        ou_decay = math.exp(-1.0 / _p("ou_days"))
        sh_decay = math.exp(-1.0 / _p("shock_days"))
        for j in range(90):
            t = day + j
            drift = (slope * t / 365.0 + st)[:, None]
            z = stable + drift + ou * ou_decay**j + sh * sh_decay**j
            recent = (t - last_fall) < 90
            cum_fall += np.exp(base_fall + z @ _gammas("fall") + _p("fall_recent_log_or") * recent)
            cum_dec += np.exp(_p("hosp_alpha") + z @ _gammas("hosp") + self._age_term[person])
            cum_dec += np.exp(_p("adl_alpha") + z @ _gammas("adl"))
        return 1.0 - np.exp(-cum_fall), 1.0 - np.exp(-cum_dec)


def _draw_profile(
    rng: np.random.Generator, n: int, u: FloatArray
) -> dict[str, npt.NDArray[np.bool_]]:
    return {
        name: rng.random(n) < _sigmoid(_logit(prev) + FRAILTY_LOADING[name] * u)
        for name, prev in PREVALENCE.items()
    }


def _ordinal(rng: np.random.Generator, eta: FloatArray, item: str) -> FloatArray:
    a, taus = ORDINAL_ITEMS[item]
    draw = rng.random(eta.shape[0])
    level = np.zeros(eta.shape[0])
    a = a * _p("item_discrimination")
    for tau in taus:
        level += draw < _sigmoid(a * eta - tau)
    return level


def _binary(rng: np.random.Generator, eta: FloatArray, item: str) -> FloatArray:
    a, tau = BINARY_ITEMS[item]
    a = a * _p("item_discrimination")
    return (rng.random(eta.shape[0]) < _sigmoid(a * eta - tau)).astype(np.float64)


def generate_cohort(
    n_persons: int = 1000,
    *,
    n_days: int = 548,
    seed: int = 0,
    start: date = date(2024, 1, 1),
) -> Cohort:
    """Generate a synthetic home-care cohort.

    Parameters
    ----------
    n_persons : int
    n_days : int
        Follow-up length; 548 days is 18 months.
    seed : int
        Seed of the random generator; two seeds give two independent cohorts.
    start : date
        Calendar date of day 0.

    Returns
    -------
    Cohort
    """
    rng = np.random.default_rng(seed)
    n = n_persons
    pid = tuple(f"S{seed}-{i:05d}" for i in range(n))
    u = rng.standard_normal(n)
    female = rng.random(n) < _p("female_share")
    age0 = np.clip(rng.normal(_p("age_mean"), _p("age_sd"), n) + 1.5 * u, 75.0, 100.0)
    prof = _draw_profile(rng, n, u)
    # Lower GIR = more dependent, so rank by frailty (with noise) and cut by the GIR mix.
    dep = u + rng.normal(0.0, 0.6, n)
    cuts = np.quantile(dep, 1.0 - np.cumsum(GIR_MIX)[:-1])
    gir = 1 + np.searchsorted(-cuts, -dep, side="right")
    n_med = np.where(prof["polypharmacy"], 8 + rng.poisson(2.0, n), rng.integers(1, 8, n))
    n_psy = np.where(prof["psychotropic"], 1 + rng.poisson(0.4, n), 0)
    slope = rng.normal(_p("slope_mean_per_year"), _p("slope_sd_per_year"), n)
    x_fall = female * FALL_LOG_OR["female"] * _p("fall_or_shrink")
    for name in PREVALENCE:
        x_fall = x_fall + prof[name] * FALL_LOG_OR[name] * _p("fall_or_shrink")
    x_fall_arr: FloatArray = np.asarray(x_fall, dtype=np.float64)
    # Age adds to both hazards beyond frailty (assumption: log-OR 0.2 per decade).
    age_term = 0.2 * (age0 - 85.0) / 10.0
    offsets = {
        item: rng.normal(0.0, _p("item_offset_sd"), n)
        for item in (*ORDINAL_ITEMS, *BINARY_ITEMS, "walking_aid_used")
    }
    visits_per_week = _p("visits_per_week_min") + _p("visits_per_week_span") * _sigmoid(1.2 * u)
    has_scale = rng.random(n) < _p("scale_share")
    w0 = np.clip(rng.normal(62.0, 11.0, n), 38.0, 120.0)
    n_carers = max(3, n // 8)
    carer_bias = rng.normal(0.0, _p("carer_bias_sd"), n_carers)
    carer_missing = rng.normal(0.0, 0.5, n_carers)
    my_carers = rng.integers(0, n_carers, (n, 3))

    ou_sd, ou_days = _p("ou_sd"), _p("ou_days")
    ou_a = math.exp(-1.0 / ou_days)
    ou_b = ou_sd * math.sqrt(1.0 - ou_a**2)
    sh_a = math.exp(-1.0 / _p("shock_days"))
    stable = _p("domain_load") * u[:, None] + rng.normal(0.0, _p("domain_sd"), (n, 3))
    ou = rng.normal(0.0, ou_sd, (n, 3))
    shock = np.zeros((n, 3))
    step = np.zeros(n)
    last_fall = np.full(n, -1000, dtype=np.int64)
    # Falls since the previous observation: worst severity (0 = none), reported at the next visit.
    pending_fall = np.zeros(n)
    last_weigh = np.full(n, -1000, dtype=np.int64)
    ou_hist = np.empty((n, n_days, 3), dtype=np.float32)
    sh_hist = np.empty((n, n_days, 3), dtype=np.float32)
    st_hist = np.empty((n, n_days), dtype=np.float32)
    lf_hist = np.empty((n, n_days), dtype=np.int32)

    shocks: list[Shock] = []
    steps: list[tuple[int, int]] = []
    outcomes: list[Outcome] = []
    obs_person: list[IntArray] = []
    obs_time: list[IntArray] = []
    obs_carer: list[IntArray] = []
    obs_items: dict[str, list[FloatArray]] = {k: [] for k in ITEM_COLUMNS}
    start_s = int((start - EPOCH.date()).days) * DAY_S
    everyone = np.arange(n)

    for t in range(n_days):
        ou = ou * ou_a + ou_b * rng.standard_normal((n, 3))
        shock = shock * sh_a
        new = rng.random(n) < _p("shocks_per_year") / 365.0
        if new.any():
            k = int(new.sum())
            size = np.maximum(0.6, rng.normal(_p("shock_mean"), 0.3, k))
            main = rng.integers(0, 3, k)
            hit = np.full((k, 3), _p("shock_spill"))
            hit[np.arange(k), main] = 1.0
            shock[new] += hit * size[:, None]
            shocks.extend(
                Shock(int(i), t, float(s), int(d))
                for i, s, d in zip(everyone[new], size, main, strict=True)
            )
        z = stable + (slope * t / 365.0 + step)[:, None] + ou + shock
        recent = (t - last_fall) < 90
        h_fall = np.exp(
            _p("fall_alpha") + x_fall_arr + age_term + z @ _gammas("fall")
            + _p("fall_recent_log_or") * recent
        )
        h_hosp = np.exp(_p("hosp_alpha") + z @ _gammas("hosp") + age_term)
        h_adl = np.exp(_p("adl_alpha") + z @ _gammas("adl"))
        fell = rng.random(n) < -np.expm1(-h_fall)
        sev_draw = rng.random(n)
        severity = np.where(
            sev_draw < _p("fall_floor_share"),
            3.0,
            np.where(sev_draw < _p("fall_floor_share") + _p("fall_injury_share"), 2.0, 1.0),
        )
        severity = np.where(fell, severity, 0.0)
        pending_fall = np.maximum(pending_fall, severity)
        last_fall = np.where(fell, t, last_fall)
        injured = fell & (severity >= 2)
        hosp = (rng.random(n) < -np.expm1(-h_hosp)) | (
            injured & (rng.random(n) < _p("fall_hosp_share"))
        )
        adl = rng.random(n) < -np.expm1(-h_adl)
        day = start + timedelta(days=t)
        for i in everyone[fell]:
            outcomes.append(Outcome(pid[i], day, OutcomeEvent.FALL))
        for i in everyone[hosp]:
            outcomes.append(Outcome(pid[i], day, OutcomeEvent.HOSPITALISATION))
            steps.append((int(i), t))
        for i in everyone[adl]:
            kind = OutcomeEvent.GIR_WORSENING if rng.random() < 0.5 else OutcomeEvent.ADL_LOSS
            outcomes.append(Outcome(pid[i], day, kind))
            steps.append((int(i), t))
        step = step + _p("step_after_event") * (hosp.astype(np.float64) + adl)
        # Injurious falls also start an acute episode (assumption: half a typical shock).
        shock[:, 0] += 0.5 * injured

        # Observations happen at visits on this day, after the day's events are known only
        # through the form: a fall is reported at the first visit on a later day (see below).
        visit = rng.random(n) < visits_per_week / 7.0
        idx = everyone[visit]
        if idx.size:
            m = idx.size
            carer = my_carers[idx, rng.choice(3, m, p=[0.5, 0.3, 0.2])]
            zi = z[idx]
            bias = carer_bias[carer]
            miss_shift = 0.3 * (zi.mean(axis=1) - 0.5) + carer_missing[carer]
            items: dict[str, FloatArray] = {}
            items["fall"] = pending_fall[idx].copy()
            for item in ORDINAL_ITEMS:
                extra = 1.5 * prof["cognitive_impairment"][idx] if item == "confusion" else 0.0
                eta = zi[:, ITEM_DOMAIN[item]] + bias + offsets[item][idx] + extra
                items[item] = _ordinal(rng, eta, item)
            for item in BINARY_ITEMS:
                extra = np.zeros(m)
                if item == "continence_change":
                    extra = 0.8 * prof["incontinence"][idx]
                elif item == "no_social_contact":
                    extra = 0.8 * prof["living_alone"][idx]
                elif item == "medication_missed":
                    extra = 0.7 * prof["cognitive_impairment"][idx]
                eta = zi[:, ITEM_DOMAIN[item]] + bias + offsets[item][idx] + extra
                items[item] = _binary(rng, eta, item)
            aid = np.where(
                prof["walking_aid"][idx],
                0.92,
                _sigmoid(zi[:, 0] + bias + offsets["walking_aid_used"][idx] - 3.0),
            )
            out: dict[str, FloatArray] = {
                "fall": items["fall"],
                "near_fall": items["near_fall"],
                "mobility": items["mobility"],
                "walking_aid_used": (rng.random(m) < aid).astype(np.float64),
                "meal_share": 1.0 - items["meal_deficit"] / 4.0,
                "drinks": items["drinks"],
                "confusion": items["confusion"],
                "poor_sleep": items["poor_sleep"],
                "continence_change": items["continence_change"],
                "pain": items["pain"],
                "skin_redness": items["skin_redness"],
                "breathlessness": items["breathlessness"],
                "swelling": items["swelling"],
                "social_contact": 1.0 - items["no_social_contact"],
                "help_toilet": items["help_toilet"],
                "help_dressing": items["help_dressing"],
                "help_transfers": items["help_transfers"],
                "help_eating": items["help_eating"],
                "medication_as_planned": 1.0 - items["medication_missed"],
            }
            # Mood type: agitation is more frequent with cognitive impairment (assumption).
            kind_draw = rng.random(m)
            agit = np.where(prof["cognitive_impairment"][idx], 0.4, 0.15)
            mood_kind = np.where(kind_draw < agit, 3.0, np.where(kind_draw < agit + 0.3, 2.0, 1.0))
            out["mood"] = np.where(items["mood_changed"] > 0, mood_kind, 0.0)
            weigh = has_scale[idx] & (t - last_weigh[idx] >= 28)
            weight = w0[idx] * np.exp(-_p("weight_loss_per_z") * (zi[:, 1] - stable[idx, 1]))
            weight = weight * (1.0 + 0.01 * rng.standard_normal(m))
            out["weight_kg"] = np.where(weigh, np.round(weight, 1), np.nan)
            last_weigh[idx[weigh]] = t
            for name in ITEM_COLUMNS:
                if name == "weight_kg":
                    continue
                base = MISSING_BASE.get(name, MISSING_DEFAULT)
                missing = rng.random(m) < _sigmoid(_logit(base) + miss_shift)
                out[name] = np.where(missing, np.nan, out[name])
                obs_items[name].append(out[name])
            obs_items["weight_kg"].append(out["weight_kg"])
            # Only a reported answer clears the pending fall; a missing one keeps it pending.
            reported = ~np.isnan(out["fall"])
            pending_fall[idx[reported]] = 0.0
            hour = rng.integers(8 * 3600, 20 * 3600, m)
            obs_person.append(idx.astype(np.int64))
            obs_time.append(start_s + t * DAY_S + hour)
            obs_carer.append(carer.astype(np.int64))

        ou_hist[:, t] = ou
        sh_hist[:, t] = shock
        st_hist[:, t] = step
        lf_hist[:, t] = last_fall

    persons = [
        Person(
            person_id=pid[i],
            sex=Sex.FEMALE if female[i] else Sex.MALE,
            birth_date=start - timedelta(days=int(age0[i] * 365.25)),
            gir=int(gir[i]),
            walking_aid=bool(prof["walking_aid"][i]),
            n_medicines=int(n_med[i]),
            n_psychotropics=int(n_psy[i]),
            antiepileptics=bool(prof["antiepileptics"][i]),
            cognitive_impairment=bool(prof["cognitive_impairment"][i]),
            parkinson=bool(prof["parkinson"][i]),
            incontinence=bool(prof["incontinence"][i]),
            living_alone=bool(prof["living_alone"][i]),
            vertigo=bool(prof["vertigo"][i]),
        )
        for i in range(n)
    ]
    carer_all = np.concatenate(obs_carer) if obs_carer else np.zeros(0, dtype=np.int64)
    table = ObservationTable(
        person_ids=pid,
        person=np.concatenate(obs_person) if obs_person else np.zeros(0, dtype=np.int64),
        time=np.concatenate(obs_time) if obs_time else np.zeros(0, dtype=np.int64),
        items={k: np.concatenate(v) if v else np.zeros(0) for k, v in obs_items.items()},
        carer=tuple(f"C{seed}-{c:04d}" for c in carer_all),
    ).sorted()
    notes = tuple(_note(table, i) for i in range(len(table)))
    outcomes.sort(key=lambda o: (o.person_id, o.on))
    return Cohort(
        persons=persons,
        observations=table,
        outcomes=outcomes,
        notes=notes,
        start=start,
        n_days=n_days,
        shocks=shocks,
        steps=steps,
        _x_fall=x_fall_arr,
        _u=u,
        _stable=stable,
        _slope=slope,
        _age_term=age_term,
        _ou=ou_hist,
        _shock=sh_hist,
        _step=st_hist,
        _last_fall=lf_hist,
    )


def _note(table: ObservationTable, i: int) -> str:
    """Return a template free-text note consistent with the row's answers."""
    it = table.items
    if it["fall"][i] >= 1:
        return "Chute signalée, famille prévenue."
    if it["meal_share"][i] <= 0.25:
        return "A très peu mangé."
    if it["confusion"][i] >= 2:
        return "Très confuse aujourd'hui."
    if it["mobility"][i] >= 2:
        return "Plus fatiguée, aide pour se lever."
    return ""
