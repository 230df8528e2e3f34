"""Per-person change detection against the person's own usual state.

For each item, the usual state is the distribution of the person's answers over the visits in a
window that ends a little before the current visit, shrunk toward the population's when the
person has few visits (new clients). Three kinds of detector run on it; only worsening is
reported:

* graded items (meals, mobility, confusion, help, drinks): an EWMA whose weight adapts to the
  time between visits (lambda = 1 - exp(-dt / tau)), standardised by the person's robust spread
  (median and MAD), for a strong change of one item alone;
* yes/no items: a Bernoulli CUSUM (Page 1954) tuned to detect an odds ratio
  ``cusum_odds_ratio``;
* worsening patterns: a likelihood-ratio CUSUM per clinical domain (:data:`DOMAINS`) and one for
  a general worsening. At each visit it adds the log-likelihood ratio of the visit's answers
  under "every item of the domain worsened by ``domain_log_odds`` on the cumulative-logit scale,
  the other items by ``domain_spill`` of that" against the person's usual answer distribution.
  Answers are discrete, so the exact likelihood of each answer replaces standardised residuals:
  a rare "yes" weighs what it should, and an item that is always "as usual" carries little.
  It names the pattern's item that moved most.

After an alert, the item (or pattern) restarts and stays quiet for ``refractory_days``. The
defaults were tuned on tuning seeds of the synthetic cohort and measured on another one
(``bench.risk``, ``docs/risk.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from risk.features import item_values
from risk.schema import DAY_S, FloatArray, IntArray, Observation, ObservationTable, from_seconds

#: Items followed, with their kind and the French alert text.
CHANGE_ITEMS: dict[str, tuple[str, str]] = {
    "meal_deficit": ("level", "appétit en baisse par rapport à d'habitude"),
    "mobility": ("level", "marche moins assurée que d'habitude"),
    "confusion": ("level", "plus confus(e) que d'habitude"),
    "help": ("level", "a besoin de plus d'aide que d'habitude"),
    "drinks": ("level", "boit moins que d'habitude"),
    "fall": ("binary", "chutes plus fréquentes que d'habitude"),
    "near_fall": ("binary", "quasi-chutes plus fréquentes que d'habitude"),
    "mood_changed": ("binary", "humeur inhabituelle plus souvent que d'habitude"),
    "poor_sleep": ("binary", "dort moins bien que d'habitude"),
    "continence_change": ("binary", "changements de continence plus fréquents"),
    "pain": ("binary", "douleurs plus fréquentes que d'habitude"),
    "skin_redness": ("binary", "rougeurs aux points d'appui plus fréquentes"),
    "breathlessness": ("binary", "essoufflement plus fréquent que d'habitude"),
    "swelling": ("binary", "gonflements plus fréquents que d'habitude"),
    "no_social_contact": ("binary", "moins de contacts sociaux que d'habitude"),
    "medication_missed": ("binary", "traitement moins bien pris que d'habitude"),
}
ITEMS: tuple[str, ...] = tuple(CHANGE_ITEMS)
_LEVEL = np.array([CHANGE_ITEMS[k][0] == "level" for k in ITEMS])

#: Answer levels of each followed item, lowest (usual) first; every item is discrete.
LEVELS: dict[str, tuple[float, ...]] = {
    item: {
        "meal_deficit": (0.0, 0.25, 0.5, 0.75, 1.0),
        "mobility": (0.0, 1.0, 2.0, 3.0),
        "confusion": (0.0, 1.0, 2.0),
        "help": (0.0, 1.0, 2.0, 3.0, 4.0),
        "drinks": (0.0, 1.0, 2.0),
    }.get(item, (0.0, 1.0))
    for item in ITEMS
}

#: Clinical domains of the pattern CUSUMs: a worsening usually shows on several items of one
#: domain at once (gait and help; intake and CHESS-like signs; cognition, mood and behaviour),
#: each too weak alone at first.
DOMAINS: dict[str, tuple[str, ...]] = {
    "mobility": ("mobility", "help", "near_fall", "fall"),
    "nutrition": ("meal_deficit", "drinks", "breathlessness", "swelling", "pain",
                  "skin_redness", "continence_change"),
    "cognition": ("confusion", "mood_changed", "poor_sleep", "no_social_contact",
                  "medication_missed"),
}
#: One row per pattern: the three domains, then the general worsening (every item).
_PATTERN_MASKS = np.vstack([
    np.array([[k in items for k in ITEMS] for items in DOMAINS.values()]),
    np.ones((1, len(ITEMS)), dtype=bool),
])
_GENERAL = len(DOMAINS)


def change_values(table: ObservationTable) -> FloatArray:
    """Return the followed items as columns (higher is worse, NaN is unanswered)."""
    values = item_values(table)
    fall = table.items["fall"]
    values["fall"] = np.where(np.isnan(fall), np.nan, (np.nan_to_num(fall) >= 1).astype(float))
    return np.column_stack([values[k] for k in ITEMS]) if len(table) else np.zeros((0, len(ITEMS)))


@dataclass(frozen=True, slots=True)
class PopulationBaseline:
    """Population mean, spread and answer distribution of each followed item.

    It is the prior of every person's usual state: new clients start from it.
    """

    mean: Mapping[str, float]
    sd: Mapping[str, float]
    #: Share of each answer level (:data:`LEVELS`) per item.
    levels: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: ObservationTable) -> PopulationBaseline:
        """Estimate the population baseline from many persons' observations."""
        v = change_values(table)
        mean = {k: float(np.nanmean(v[:, j])) if np.isfinite(v[:, j]).any() else 0.0
                for j, k in enumerate(ITEMS)}
        sd = {k: float(np.nanstd(v[:, j])) if np.isfinite(v[:, j]).any() else 1.0
              for j, k in enumerate(ITEMS)}
        levels = {}
        for j, k in enumerate(ITEMS):
            # Half an answer per level keeps every level possible.
            counts = _onehot(v[:, j], k).sum(axis=0) + 0.5
            levels[k] = tuple(float(c) for c in counts / counts.sum())
        return cls(mean, sd, levels)

    def level_shares(self, item: str) -> FloatArray:
        """Return the population share of each answer level of ``item``.

        Artefacts written before the shares were stored only hold the mean and spread; the
        shares are then a discretised normal law with those moments.
        """
        if item in self.levels:
            return np.asarray(self.levels[item], dtype=np.float64)
        lv = np.asarray(LEVELS[item])
        if lv.size == 2:
            m = min(max(self.mean[item], 0.01), 0.99)
            return np.array([1.0 - m, m])
        dens = np.exp(-0.5 * ((lv - self.mean[item]) / max(self.sd[item], 0.1)) ** 2)
        return np.asarray(dens / dens.sum(), dtype=np.float64)

    def to_dict(self) -> dict[str, dict[str, object]]:
        """Return a JSON-ready dict."""
        return {"mean": dict(self.mean), "sd": dict(self.sd),
                "levels": {k: list(v) for k, v in self.levels.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, object]]) -> PopulationBaseline:
        """Rebuild from :meth:`to_dict` output."""
        levels = {k: tuple(float(x) for x in v)  # type: ignore[attr-defined]
                  for k, v in data.get("levels", {}).items()}
        return cls(
            {k: float(v) for k, v in data["mean"].items()},  # type: ignore[arg-type]
            {k: float(v) for k, v in data["sd"].items()},  # type: ignore[arg-type]
            levels,
        )


@dataclass(frozen=True, slots=True)
class ChangeAlert:
    """A detected worsening of one item for one person."""

    person_id: str
    at: datetime
    item: str
    text: str
    method: str
    statistic: float


@dataclass(slots=True)
class ChangeDetector:
    """Settings of the detectors; defaults were tuned on the synthetic cohort (``bench.risk``).

    Parameters
    ----------
    tau_days : float
        EWMA time constant.
    ewma_threshold : float
        Alert when a graded item's standardised EWMA exceeds this.
    cusum_odds_ratio : float
        Shift in odds the yes/no items' CUSUM is tuned for.
    cusum_threshold : float
        Alert when a yes/no item's CUSUM exceeds this (log-likelihood ratio units).
    baseline_days : tuple of int
        Window of the usual state, from ``far`` to ``near`` days before the visit.
    prior_visits : float
        Weight of the population prior, in visits (shrinkage for new clients).
    sd_floor : float
        Lower bound of a graded item's spread, as a fraction of the population spread.
    refractory_days : float
        Quiet period of an item (or pattern) after its alert.
    domain_log_odds : float
        Worsening the pattern CUSUMs look for: shift of the cumulative log-odds of every answer
        of the domain's items.
    domain_spill : float
        Share of that shift expected on the other items (an illness is rarely confined to one
        domain).
    general_log_odds : float
        Shift of every item for the general-worsening CUSUM.
    pattern_allowance : float
        Taken off each visit's log-likelihood ratio (Page's reference value): answers stuck at
        the worst level still look a little "worse" under the shifted law, and this keeps them
        from adding up to an alert.
    pattern_threshold : float
        Alert when a pattern CUSUM exceeds this (log-likelihood ratio units); ``inf`` turns the
        pattern CUSUMs off.
    """

    tau_days: float = 4.0
    ewma_threshold: float = 5.5
    cusum_odds_ratio: float = 5.0
    cusum_threshold: float = 12.0
    baseline_days: tuple[int, int] = (90, 14)
    prior_visits: float = 5.0
    sd_floor: float = 0.75
    refractory_days: float = 10.0
    domain_log_odds: float = 2.0
    domain_spill: float = 0.3
    general_log_odds: float = 1.0
    pattern_allowance: float = 0.15
    pattern_threshold: float = 3.5

    def run(
        self, time: IntArray, values: FloatArray, population: PopulationBaseline
    ) -> list[tuple[int, int, float, str]]:
        """Run the detectors over one person's visits, in time order.

        Parameters
        ----------
        time : int array, seconds, sorted
        values : float array, shape (n_visits, len(ITEMS))
        population : PopulationBaseline

        Returns
        -------
        list of (visit index, item index, statistic, method)
            ``method`` is ``"ewma"`` (graded item), ``"cusum"`` (yes/no item), ``"domain"``
            (a domain's pattern CUSUM) or ``"general"`` (the general one), the last two naming
            the pattern's item that moved most.
        """
        starts = np.zeros(1, dtype=np.int64)
        return [(i, j, st, m) for _, i, j, st, m in
                self.run_many(time, values, starts, population)]

    def run_many(
        self,
        time: IntArray,
        values: FloatArray,
        starts: IntArray,
        population: PopulationBaseline,
    ) -> list[tuple[int, int, int, float, str]]:
        """Run the detectors over several persons at once (vectorised across persons).

        Parameters
        ----------
        time : int array, seconds, sorted within each person
        values : float array, shape (n_rows, len(ITEMS))
        starts : int array
            First row of each person (rows of a person are contiguous), increasing.
        population : PopulationBaseline

        Returns
        -------
        list of (person number, visit index within the person, item index, statistic, method)
            In order of person, then visit.
        """
        k = len(ITEMS)
        m_rows = time.shape[0]
        if m_rows == 0:
            return []
        pop_mean = np.array([population.mean[i] for i in ITEMS])
        pop_sd = np.maximum(np.array([population.sd[i] for i in ITEMS]), 1e-3)
        ends = np.append(starts[1:], m_rows)
        counts = ends - starts
        n_p, n_v = counts.shape[0], int(counts.max())
        owner = np.repeat(np.arange(n_p), counts)
        pos = np.arange(m_rows) - starts[owner]
        # Baseline windows within each person, from one sorted key per (person, time).
        key = owner.astype(np.int64) * (np.int64(1) << np.int64(40)) + time.astype(np.int64)
        far, near = self.baseline_days
        base = owner.astype(np.int64) * (np.int64(1) << np.int64(40))
        lo = np.searchsorted(key, base + time - far * DAY_S, side="left")
        hi = np.searchsorted(key, base + time - near * DAY_S, side="left")
        answers = [_onehot(values[:, j], item) for j, item in enumerate(ITEMS)]
        window = [_window_counts(a, lo, hi) for a in answers]
        n, loc, spread = _robust_baseline(window)
        w = self.prior_visits
        mu_rows = (n * loc + w * pop_mean) / (n + w)
        sd_rows = np.sqrt((n * spread**2 + w * pop_sd**2) / (n + w))
        sd_rows = np.maximum(sd_rows, self.sd_floor * pop_sd)
        # The population's weight in the usual answer distribution fades with the person's
        # whole history, not with the window's length: someone long stable at the worst answer
        # then has it as their usual, instead of drifting toward an alert.
        first_row = np.searchsorted(key, base, side="left")
        answered_before = np.vstack([np.zeros((1, k)), np.cumsum(~np.isnan(values), axis=0)])
        history = answered_before[hi] - answered_before[first_row]
        llr_rows = self._pattern_llr(answers, window, history, population)

        def grid(rows: FloatArray, fill: float) -> FloatArray:
            out = np.full((n_p, n_v, *rows.shape[1:]), fill)
            out[owner, pos] = rows
            return out

        t_grid = grid(time.astype(np.float64), np.nan)
        x_grid = grid(values, np.nan)
        mu_grid = grid(mu_rows, 0.0)
        sd_grid = grid(sd_rows, 1.0)
        llr_grid = grid(llr_rows, 0.0)
        n_patterns = _PATTERN_MASKS.shape[0]
        masks = _PATTERN_MASKS.T.astype(np.float64)
        everyone = np.arange(n_p)
        ewma = np.full((n_p, k), np.nan)
        var = np.zeros((n_p, k))
        cusum = np.zeros((n_p, k))
        last_t = np.full((n_p, k), np.nan)
        quiet_until = np.full((n_p, k), -np.inf)
        pattern = np.zeros((n_p, n_patterns))
        pattern_quiet = np.full((n_p, n_patterns), -np.inf)
        refractory = self.refractory_days * DAY_S
        found: list[tuple[int, int, int, float, str]] = []
        for v in range(n_v):
            t = t_grid[:, v]
            here = ~np.isnan(t)
            tc = np.where(here, t, -np.inf)[:, None]
            mu, sd, x = mu_grid[:, v], sd_grid[:, v], x_grid[:, v]
            seen = ~np.isnan(x)
            dt = np.where(np.isnan(last_t), 3.0 * DAY_S, tc - last_t) / DAY_S
            lam = 1.0 - np.exp(-np.maximum(dt, 0.25) / self.tau_days)
            start = np.isnan(ewma) & here[:, None]
            ewma = np.where(start, mu, ewma)
            # Stationary EWMA variance as the starting point avoids alerts on a single visit.
            var = np.where(start, lam / (2.0 - lam), var)
            # Every item has an EWMA: graded items alert on it, and it names the item behind a
            # pattern alert.
            ewma = np.where(seen, (1 - lam) * ewma + lam * np.nan_to_num(x), ewma)
            var = np.where(seen, (1 - lam) ** 2 * var + lam**2, var)
            z = (ewma - mu) / (sd * np.sqrt(np.maximum(var, 1e-9)))
            p0 = np.clip(mu, 0.01, 0.6)
            r = self.cusum_odds_ratio
            p1 = r * p0 / (1.0 - p0 + r * p0)
            llr = np.where(np.nan_to_num(x) > 0, np.log(p1 / p0), np.log((1 - p1) / (1 - p0)))
            cusum = np.where(seen & ~_LEVEL, np.maximum(0.0, cusum + llr), cusum)
            last_t = np.where(seen, tc, last_t)
            stat = np.where(_LEVEL, z, cusum)
            limit = np.where(_LEVEL, self.ewma_threshold, self.cusum_threshold)
            fire = seen & (stat > limit) & (tc >= quiet_until)
            # Wide enough for every method name (numpy would cut "domain" to the width of "cusum").
            method = np.where(fire, np.where(_LEVEL, "ewma", "cusum"), "").astype("<U8")
            # Pattern CUSUMs on the visit's log-likelihood ratios.
            pattern = np.where(
                here[:, None],
                np.maximum(0.0, pattern + llr_grid[:, v] - self.pattern_allowance),
                pattern,
            )
            # A quiet pattern does not pile up evidence to fire the day its quiet period ends.
            pattern = np.where(tc < pattern_quiet, 0.0, pattern)
            trig = pattern > self.pattern_threshold
            for d in range(n_patterns):
                if not trig[:, d].any():
                    continue
                # Name the pattern's item that moved most from its usual level.
                cand = _PATTERN_MASKS[d] & np.isfinite(z)
                j = np.argmax(np.where(cand, z, -np.inf), axis=1)
                add = trig[:, d] & cand.any(axis=1) & ~fire[everyone, j]
                rows = everyone[add]
                fire[rows, j[add]] = True
                stat[rows, j[add]] = pattern[rows, d]
                method[rows, j[add]] = "general" if d == _GENERAL else "domain"
            pattern = np.where(trig, 0.0, pattern)
            pattern_quiet = np.where(trig, tc + refractory, pattern_quiet)
            if fire.any():
                for p_i, j_i in zip(*np.nonzero(fire), strict=True):
                    found.append((int(p_i), v, int(j_i), float(stat[p_i, j_i]),
                                  str(method[p_i, j_i])))
                quiet_until = np.where(fire, tc + refractory, quiet_until)
                cusum = np.where(fire, 0.0, cusum)
                ewma = np.where(fire, np.nan, ewma)
                pattern = np.where(fire.astype(np.float64) @ masks > 0, 0.0, pattern)
        found.sort(key=lambda a: (a[0], a[1], a[2]))
        return found

    def _pattern_llr(
        self,
        answers: list[FloatArray],
        window: list[FloatArray],
        history: FloatArray,
        population: PopulationBaseline,
    ) -> FloatArray:
        """Return each visit's log-likelihood ratio under each worsening pattern.

        The person's usual answer distribution is the window's answers plus ``prior_visits``
        answers drawn from the population. Worsening shifts every cumulative logit
        ``log P(Y >= level) / P(Y < level)`` by the pattern's shift for that item.
        """
        w = self.prior_visits
        shifts = (self.domain_log_odds, self.domain_log_odds * self.domain_spill,
                  self.general_log_odds)
        per_item = np.zeros((len(shifts), history.shape[0], len(ITEMS)))
        for j, item in enumerate(ITEMS):
            counts = window[j]
            in_window = counts.sum(axis=1, keepdims=True)
            shares = counts / np.maximum(in_window, 1.0)
            n = np.where(in_window > 0, history[:, j : j + 1], 0.0)
            usual = (n * shares + w * population.level_shares(item)[None, :]) / (n + w)
            answered = answers[j].any(axis=1)
            llr = _answer_llr(usual, np.argmax(answers[j], axis=1), shifts)
            per_item[:, :, j] = np.where(answered, llr, 0.0)
        domains = _PATTERN_MASKS[:_GENERAL].T.astype(np.float64)
        return np.column_stack([
            per_item[0] @ domains + per_item[1] @ (1.0 - domains),
            per_item[2].sum(axis=1),
        ])


def _onehot(x: FloatArray, item: str) -> FloatArray:
    """Return the answers of one item as one column per level (all zero when unanswered)."""
    levels = np.asarray(LEVELS[item])
    return np.asarray(np.abs(x[:, None] - levels[None, :]) < 1e-9, dtype=np.float64)


def _window_counts(answers: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    """Return how often each level of one item (:func:`_onehot`) was answered over rows
    ``[lo_i, hi_i)``."""
    pref = np.vstack([np.zeros((1, answers.shape[1])), np.cumsum(answers, axis=0)])
    return np.asarray(pref[hi] - pref[lo], dtype=np.float64)


def _robust_baseline(window: list[FloatArray]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return count, location and spread of each item from its window level counts.

    Graded items use the median and 1.4826 x MAD (robust); yes/no items use the rate and its
    binomial standard deviation. Answers are discrete, so both come from the level counts,
    which keeps the whole computation vectorised over visits.
    """
    m, k = window[0].shape[0], len(ITEMS)
    n_out = np.zeros((m, k))
    loc = np.zeros((m, k))
    spread = np.zeros((m, k))
    rows = np.arange(m)
    for j, item in enumerate(ITEMS):
        counts = window[j]
        levels = np.asarray(LEVELS[item])
        n = counts.sum(axis=1)
        n_out[:, j] = n
        half = n / 2.0
        if CHANGE_ITEMS[item][0] == "level":
            cum = np.cumsum(counts, axis=1)
            med = levels[np.argmax(cum >= half[:, None] - 1e-9, axis=1)]
            dev = np.abs(levels[None, :] - med[:, None])
            order = np.argsort(dev, axis=1)
            dev_sorted = np.take_along_axis(dev, order, axis=1)
            cum_dev = np.cumsum(np.take_along_axis(counts, order, axis=1), axis=1)
            mad = dev_sorted[rows, np.argmax(cum_dev >= half[:, None] - 1e-9, axis=1)]
            loc[:, j] = med
            spread[:, j] = 1.4826 * mad
        else:
            rate = np.where(n > 0, counts[:, 1] / np.maximum(n, 1.0), 0.0)
            loc[:, j] = rate
            spread[:, j] = np.sqrt(rate * (1.0 - rate))
    return n_out, loc, spread


def _answer_llr(usual: FloatArray, level: IntArray, shifts: Sequence[float]) -> FloatArray:
    """Return log P(answer | worsened) / P(answer | usual) for one item, per shift and row.

    ``usual`` holds each row's probability of every level; worsening adds the shift to every
    cumulative logit (a proportional-odds shift).
    """
    m = usual.shape[0]
    rows = np.arange(m)
    ones, zeros = np.ones((m, 1)), np.zeros((m, 1))

    def p_answer(above: FloatArray) -> FloatArray:
        cumulative = np.hstack([ones, above, zeros])
        return np.asarray(cumulative[rows, level] - cumulative[rows, level + 1])

    # P(Y >= level) for levels 1..L-1, kept off 0 and 1 so that the logit stays finite.
    above = np.clip(np.cumsum(usual[:, ::-1], axis=1)[:, ::-1][:, 1:], 1e-3, 1.0 - 1e-3)
    p0 = np.maximum(p_answer(above), 1e-6)
    odds_against = (1.0 - above) / above
    return np.stack([
        np.log(np.maximum(p_answer(1.0 / (1.0 + odds_against * math.exp(-s))), 1e-6) / p0)
        for s in shifts
    ])


def detect_changes_table(
    table: ObservationTable,
    population: PopulationBaseline,
    detector: ChangeDetector | None = None,
) -> list[ChangeAlert]:
    """Detect changes for every person of a table."""
    det = detector or ChangeDetector()
    values = change_values(table)
    out: list[ChangeAlert] = []
    if not len(table):
        return out
    bounds = np.flatnonzero(np.diff(table.person)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    for p, i, j, stat, kind in det.run_many(table.time, values, starts, population):
        row = int(starts[p]) + i
        pid = table.person_ids[int(table.person[row])]
        item = ITEMS[j]
        out.append(
            ChangeAlert(pid, from_seconds(int(table.time[row])), item,
                        CHANGE_ITEMS[item][1], kind, stat)
        )
    return out


def detect_changes(
    observations: Sequence[Observation],
    population: PopulationBaseline,
    detector: ChangeDetector | None = None,
) -> list[ChangeAlert]:
    """Detect worsening from one person's usual state.

    Parameters
    ----------
    observations : sequence of Observation
        One person's observations, in any order.
    population : PopulationBaseline
        Prior for new clients, e.g. ``RiskModel.population``.
    detector : ChangeDetector, optional

    Returns
    -------
    list of ChangeAlert, in time order
    """
    ids = sorted({o.person_id for o in observations})
    if len(ids) > 1:
        raise ValueError("detect_changes expects the observations of one person")
    table = ObservationTable.from_records(observations, ids)
    return detect_changes_table(table, population, detector)


def group_alert_days(days: Sequence[float], gap_days: float = 7.0) -> list[float]:
    """Merge alerts closer than ``gap_days`` into episodes; return each episode's first day."""
    episodes: list[float] = []
    previous = -math.inf
    for d in sorted(days):
        if d - previous > gap_days:
            episodes.append(d)
        previous = d
    return episodes
