"""Per-person change detection against the person's own usual state.

For each item, the usual state is a robust baseline over the person's past visits (median and
MAD for graded items, rate for yes/no items) in a window that ends a little before the current
visit, shrunk toward the population when the person has few visits (new clients). Graded items
(meals, mobility, confusion, help, drinks) are followed with an EWMA whose weight adapts to the
time between visits (lambda = 1 - exp(-dt / tau)); yes/no items with a Bernoulli CUSUM
(Page 1954) tuned to detect an odds ratio ``cusum_odds_ratio``. A composite statistic, the
mean of the few largest standardised EWMAs of all items, catches a shift spread over several
items (a "domain" such as nutrition) before any single item is conclusive. Only worsening is
reported. After an alert the item's statistic restarts and stays quiet for
``refractory_days``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def change_values(table: ObservationTable) -> FloatArray:
    """Return the followed items as columns (higher is worse, NaN is unanswered)."""
    values = item_values(table)
    fall = table.items["fall"]
    values["fall"] = np.where(np.isnan(fall), np.nan, (np.nan_to_num(fall) >= 1).astype(float))
    return np.column_stack([values[k] for k in ITEMS]) if len(table) else np.zeros((0, len(ITEMS)))


@dataclass(frozen=True, slots=True)
class PopulationBaseline:
    """Population mean and spread of each followed item (the prior for new clients)."""

    mean: Mapping[str, float]
    sd: Mapping[str, float]

    @classmethod
    def from_table(cls, table: ObservationTable) -> PopulationBaseline:
        """Estimate the population baseline from many persons' observations."""
        v = change_values(table)
        mean = {k: float(np.nanmean(v[:, j])) if np.isfinite(v[:, j]).any() else 0.0
                for j, k in enumerate(ITEMS)}
        sd = {k: float(np.nanstd(v[:, j])) if np.isfinite(v[:, j]).any() else 1.0
              for j, k in enumerate(ITEMS)}
        return cls(mean, sd)

    def to_dict(self) -> dict[str, dict[str, float]]:
        """Return a JSON-ready dict."""
        return {"mean": dict(self.mean), "sd": dict(self.sd)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, float]]) -> PopulationBaseline:
        """Rebuild from :meth:`to_dict` output."""
        return cls(dict(data["mean"]), dict(data["sd"]))


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
        Alert when the standardised EWMA exceeds this.
    cusum_odds_ratio : float
        Shift in odds the CUSUM is tuned for.
    cusum_threshold : float
        Alert when the CUSUM exceeds this (log-likelihood ratio units).
    baseline_days : tuple of int
        Baseline window, from ``far`` to ``near`` days before the visit.
    prior_visits : float
        Weight of the population prior, in visits (shrinkage for new clients).
    sd_floor : float
        Lower bound of a graded item's spread, as a fraction of the population spread.
    refractory_days : float
        Quiet period of an item after its alert.
    composite_threshold : float
        Alert on the items behind it when the mean of the ``composite_items`` largest
        standardised EWMAs exceeds this (a shift spread over several items).
    composite_items : int
    composite_item_min : float
        Items named by a composite alert must have at least this standardised EWMA; two are
        needed.
    """

    tau_days: float = 4.0
    ewma_threshold: float = 4.5
    cusum_odds_ratio: float = 5.0
    cusum_threshold: float = 6.0
    baseline_days: tuple[int, int] = (90, 14)
    prior_visits: float = 10.0
    sd_floor: float = 0.5
    refractory_days: float = 30.0
    composite_threshold: float = 2.75
    composite_items: int = 3
    composite_item_min: float = 1.5

    def run(
        self, time: IntArray, values: FloatArray, population: PopulationBaseline
    ) -> list[tuple[int, int, float]]:
        """Run the detectors over one person's visits, in time order.

        Parameters
        ----------
        time : int array, seconds, sorted
        values : float array, shape (n_visits, len(ITEMS))
        population : PopulationBaseline

        Returns
        -------
        list of (visit index, item index, statistic)
        """
        k = len(ITEMS)
        pop_mean = np.array([population.mean[i] for i in ITEMS])
        pop_sd = np.maximum(np.array([population.sd[i] for i in ITEMS]), 1e-3)
        far, near = self.baseline_days
        lo = np.searchsorted(time, time - far * DAY_S, side="left")
        hi = np.searchsorted(time, time - near * DAY_S, side="left")
        n, loc, spread = _window_baseline(values, lo, hi)
        w = self.prior_visits
        mu_all = (n * loc + w * pop_mean) / (n + w)
        sd_all = np.sqrt((n * spread**2 + w * pop_sd**2) / (n + w))
        sd_all = np.maximum(sd_all, self.sd_floor * pop_sd)
        ewma = np.full(k, np.nan)
        var = np.zeros(k)
        cusum = np.zeros(k)
        last_t = np.full(k, np.nan)
        quiet_until = np.full(k, -np.inf)
        alerts: list[tuple[int, int, float]] = []
        for i in range(time.shape[0]):
            t = float(time[i])
            mu = mu_all[i]
            sd = sd_all[i]
            x = values[i]
            seen = ~np.isnan(x)
            dt = np.where(np.isnan(last_t), 3.0 * DAY_S, t - last_t) / DAY_S
            lam = 1.0 - np.exp(-np.maximum(dt, 0.25) / self.tau_days)
            start = np.isnan(ewma)
            ewma = np.where(start, mu, ewma)
            # Stationary EWMA variance as the starting point avoids alerts on a single visit.
            var = np.where(start, lam / (2.0 - lam), var)
            # Every item has an EWMA; graded items alert on it, yes/no items feed it only to
            # the composite (their own alert is the CUSUM).
            ewma = np.where(seen, (1 - lam) * ewma + lam * np.nan_to_num(x), ewma)
            var = np.where(seen, (1 - lam) ** 2 * var + lam**2, var)
            z = (ewma - mu) / (sd * np.sqrt(np.maximum(var, 1e-9)))
            p0 = np.clip(mu, 0.01, 0.6)
            r = self.cusum_odds_ratio
            p1 = r * p0 / (1.0 - p0 + r * p0)
            llr = np.where(np.nan_to_num(x) > 0, np.log(p1 / p0), np.log((1 - p1) / (1 - p0)))
            cusum = np.where(seen & ~_LEVEL, np.maximum(0.0, cusum + llr), cusum)
            last_t = np.where(seen, t, last_t)
            stat = np.where(_LEVEL, z, cusum)
            limit = np.where(_LEVEL, self.ewma_threshold, self.cusum_threshold)
            fire = seen & (stat > limit) & (t >= quiet_until)
            # Composite: the mean of the largest item z-scores catches a shift spread over
            # several items of one domain before any single item is conclusive.
            # Only items that deviate themselves are named, and at least two must do so.
            awake = (t >= quiet_until) & np.isfinite(z)
            top = np.sort(np.where(awake, z, -np.inf))[-self.composite_items :]
            named = awake & (z >= self.composite_item_min)
            if np.mean(top) > self.composite_threshold and named.sum() >= 2:
                fire |= named
            for j in np.flatnonzero(fire):
                alerts.append((i, int(j), float(stat[j])))
                quiet_until[j] = t + self.refractory_days * DAY_S
                cusum[j] = 0.0
                ewma[j] = np.nan
        return alerts


#: Answer levels of each followed item (every item is discrete).
_LEVELS: dict[str, tuple[float, ...]] = {
    "meal_deficit": (0.0, 0.25, 0.5, 0.75, 1.0),
    "mobility": (0.0, 1.0, 2.0, 3.0),
    "confusion": (0.0, 1.0, 2.0),
    "help": (0.0, 1.0, 2.0, 3.0, 4.0),
    "drinks": (0.0, 1.0, 2.0),
}


def _window_baseline(
    values: FloatArray, lo: IntArray, hi: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return count, location and spread of each item over rows ``[lo_i, hi_i)``.

    Graded items use the median and 1.4826 x MAD (robust); yes/no items use the rate and its
    binomial standard deviation. Answers are discrete, so both come from prefix sums of level
    counts, which keeps the whole computation vectorised over visits.
    """
    m, k = values.shape
    n_out = np.zeros((m, k))
    loc = np.zeros((m, k))
    spread = np.zeros((m, k))
    for j, item in enumerate(ITEMS):
        levels = np.array(_LEVELS.get(item, (0.0, 1.0)))
        x = values[:, j]
        onehot = (np.abs(x[:, None] - levels[None, :]) < 1e-9).astype(np.float64)
        pref = np.vstack([np.zeros((1, levels.size)), np.cumsum(onehot, axis=0)])
        counts = pref[hi] - pref[lo]
        n = counts.sum(axis=1)
        n_out[:, j] = n
        half = n / 2.0
        if item in _LEVELS:
            cum = np.cumsum(counts, axis=1)
            med = levels[np.argmax(cum >= half[:, None] - 1e-9, axis=1)]
            dev = np.abs(levels[None, :] - med[:, None])
            order = np.argsort(dev, axis=1)
            dev_sorted = np.take_along_axis(dev, order, axis=1)
            cum_dev = np.cumsum(np.take_along_axis(counts, order, axis=1), axis=1)
            mad = dev_sorted[np.arange(m), np.argmax(cum_dev >= half[:, None] - 1e-9, axis=1)]
            loc[:, j] = med
            spread[:, j] = 1.4826 * mad
        else:
            rate = np.where(n > 0, counts[:, 1] / np.maximum(n, 1.0), 0.0)
            loc[:, j] = rate
            spread[:, j] = np.sqrt(rate * (1.0 - rate))
    return n_out, loc, spread


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
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(table)]])
    for s, e in zip(starts, ends, strict=True):
        pid = table.person_ids[int(table.person[s])]
        for i, j, stat in det.run(table.time[s:e], values[s:e], population):
            item = ITEMS[j]
            kind = "ewma" if CHANGE_ITEMS[item][0] == "level" else "cusum"
            out.append(
                ChangeAlert(pid, from_seconds(int(table.time[s + i])), item,
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
