"""Per-person change detection against the person's own usual state.

For each item, the usual state is a robust baseline over the person's past visits (median and
MAD for graded items, rate for yes/no items) in a window that ends a little before the current
visit, shrunk toward the population when the person has few visits (new clients). Graded items
(meals, mobility, confusion, help, drinks) are followed with an EWMA whose weight adapts to the
time between visits (lambda = 1 - exp(-dt / tau)); yes/no items with a Bernoulli CUSUM
(Page 1954) tuned to detect an odds ratio ``cusum_odds_ratio``. A composite statistic, the
mean of the few largest standardised EWMAs of all items, catches a shift spread over several
items before any single item is conclusive, and a domain CUSUM pools each visit's residuals of
the items of one clinical domain (:data:`DOMAINS`) against the person's own mean and SD, so
that a worsening seen a little on several items of a domain is found within a few visits. Only
worsening is reported. After an alert the item's (or domain's) statistic restarts and stays
quiet for ``refractory_days``. The defaults were tuned on tuning seeds of the synthetic cohort
and measured on another one (``bench.risk``, ``docs/risk.md``).
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

#: Clinical domains pooled by the domain CUSUM: a worsening usually shows on several items of
#: one domain at once (gait and help; intake and CHESS-like signs; cognition, mood and
#: behaviour), each too weak alone at first.
DOMAINS: dict[str, tuple[str, ...]] = {
    "mobility": ("mobility", "help", "near_fall", "fall"),
    "nutrition": ("meal_deficit", "drinks", "breathlessness", "swelling", "pain",
                  "skin_redness", "continence_change"),
    "cognition": ("confusion", "mood_changed", "poor_sleep", "no_social_contact",
                  "medication_missed"),
}
_DOMAIN_MASKS = np.array([[k in items for k in ITEMS] for items in DOMAINS.values()])


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
    domain_k : float
        Reference value (allowance) of the domain CUSUM, in standardised units per visit.
    domain_threshold : float
        Alert when a domain CUSUM exceeds this; ``inf`` turns the domain CUSUM off.
    domain_clip : float
        Bound of one visit's standardised residual per item (robustness to odd answers).
    residual_days : int
        Start of the window of the domain CUSUM's baseline (it ends ``near`` days before).
    """

    tau_days: float = 4.0
    ewma_threshold: float = 4.5
    cusum_odds_ratio: float = 5.0
    cusum_threshold: float = 12.0
    baseline_days: tuple[int, int] = (90, 14)
    prior_visits: float = 10.0
    sd_floor: float = 0.75
    refractory_days: float = 45.0
    composite_threshold: float = 1.8
    composite_items: int = 5
    composite_item_min: float = 2.0
    domain_k: float = 1.0
    domain_threshold: float = 4.0
    domain_clip: float = 4.0
    residual_days: int = 90


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
            ``method`` is ``"ewma"`` (graded item), ``"cusum"`` (yes/no item),
            ``"composite"`` or ``"domain"`` (domain CUSUM naming its most changed item).
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
        n, loc, spread, _, _ = _window_baseline(values, lo, hi)
        w = self.prior_visits
        mu_rows = (n * loc + w * pop_mean) / (n + w)
        sd_rows = np.sqrt((n * spread**2 + w * pop_sd**2) / (n + w))
        sd_rows = np.maximum(sd_rows, self.sd_floor * pop_sd)
        # Residuals of the domain CUSUM use the shrunk mean and SD over a longer window (every
        # answer counts, which suits discrete answers better than a median that rarely moves;
        # the long window lets a person's own usual state outweigh the population's).
        lo_long = np.searchsorted(key, base + time - self.residual_days * DAY_S, side="left")
        n_win, _, _, mean, msd = _window_baseline(values, lo_long, hi)
        # The population's weight fades with the person's whole history (new clients only),
        # not with the window's length.
        first_row = np.searchsorted(key, base, side="left")
        answered_before = np.vstack([np.zeros((1, k)), np.cumsum(~np.isnan(values), axis=0)])
        n = np.where(n_win > 0, answered_before[hi] - answered_before[first_row], 0.0)
        res_mu = (n * mean + w * pop_mean) / (n + w)
        res_sd = np.sqrt((n * msd**2 + w * pop_sd**2) / (n + w))
        res_sd = np.maximum(res_sd, self.sd_floor * pop_sd)
        resid = np.clip((values - res_mu) / res_sd, -self.domain_clip, self.domain_clip)
        answered = ~np.isnan(values)
        masks = _DOMAIN_MASKS.T.astype(np.float64)
        n_dom = answered.astype(np.float64) @ masks
        dom_z_rows = np.where(
            n_dom > 0, (np.where(answered, resid, 0.0) @ masks) / np.sqrt(np.maximum(n_dom, 1)),
            0.0,
        )

        def grid(rows: FloatArray, fill: float) -> FloatArray:
            out = np.full((n_p, n_v, *rows.shape[1:]), fill)
            out[owner, pos] = rows
            return out

        t_grid = grid(time.astype(np.float64), np.nan)
        x_grid = grid(values, np.nan)
        mu_grid = grid(mu_rows, 0.0)
        sd_grid = grid(sd_rows, 1.0)
        dz_grid = grid(dom_z_rows, 0.0)
        n_dom_kinds = _DOMAIN_MASKS.shape[0]
        everyone = np.arange(n_p)
        ewma = np.full((n_p, k), np.nan)
        var = np.zeros((n_p, k))
        cusum = np.zeros((n_p, k))
        last_t = np.full((n_p, k), np.nan)
        quiet_until = np.full((n_p, k), -np.inf)
        dom_cusum = np.zeros((n_p, n_dom_kinds))
        dom_quiet = np.full((n_p, n_dom_kinds), -np.inf)
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
            last_t = np.where(seen, tc, last_t)
            stat = np.where(_LEVEL, z, cusum)
            limit = np.where(_LEVEL, self.ewma_threshold, self.cusum_threshold)
            awake = tc >= quiet_until
            fire = seen & (stat > limit) & awake
            method = np.where(fire, np.where(_LEVEL, "ewma", "cusum"), "")
            # Composite: the mean of the largest item z-scores catches a shift spread over
            # several items before any single item is conclusive. Only items that deviate
            # themselves are named, and at least two must do so.
            awake_z = awake & np.isfinite(z) & here[:, None]
            top = np.sort(np.where(awake_z, z, -np.inf), axis=1)
            top_mean = top[:, -self.composite_items :].mean(axis=1)
            named = awake_z & (z >= self.composite_item_min)
            hit = (top_mean > self.composite_threshold) & (named.sum(axis=1) >= 2)
            add = named & hit[:, None] & ~fire
            method = np.where(add, "composite", method)
            fire |= add
            # Domain CUSUM on the pooled residuals of the visit's answered items.
            dom_cusum = np.where(
                here[:, None], np.maximum(0.0, dom_cusum + dz_grid[:, v] - self.domain_k),
                dom_cusum,
            )
            # A quiet domain does not pile up evidence to fire the day its quiet period ends.
            dom_cusum = np.where(tc < dom_quiet, 0.0, dom_cusum)
            trig = dom_cusum > self.domain_threshold
            for d in range(n_dom_kinds):
                if not trig[:, d].any():
                    continue
                # Name the domain's item that moved most from its usual level.
                cand = _DOMAIN_MASKS[d] & np.isfinite(z)
                j = np.argmax(np.where(cand, z, -np.inf), axis=1)
                add = trig[:, d] & cand.any(axis=1) & ~fire[everyone, j]
                rows = everyone[add]
                fire[rows, j[add]] = True
                stat[rows, j[add]] = dom_cusum[rows, d]
                method[rows, j[add]] = "domain"
            dom_cusum = np.where(trig, 0.0, dom_cusum)
            dom_quiet = np.where(trig, tc + refractory, dom_quiet)
            if fire.any():
                for p_i, j_i in zip(*np.nonzero(fire), strict=True):
                    found.append((int(p_i), v, int(j_i), float(stat[p_i, j_i]),
                                  str(method[p_i, j_i])))
                quiet_until = np.where(fire, tc + refractory, quiet_until)
                cusum = np.where(fire, 0.0, cusum)
                ewma = np.where(fire, np.nan, ewma)
                dom_cusum = np.where(fire.astype(np.float64) @ masks > 0, 0.0, dom_cusum)
        found.sort(key=lambda a: (a[0], a[1], a[2]))
        return found


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
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return count, location, spread, mean and SD of each item over rows ``[lo_i, hi_i)``.

    Graded items use the median and 1.4826 x MAD (robust); yes/no items use the rate and its
    binomial standard deviation. Answers are discrete, so both come from prefix sums of level
    counts, which keeps the whole computation vectorised over visits.
    """
    m, k = values.shape
    n_out = np.zeros((m, k))
    loc = np.zeros((m, k))
    spread = np.zeros((m, k))
    mean = np.zeros((m, k))
    msd = np.zeros((m, k))
    for j, item in enumerate(ITEMS):
        levels = np.array(_LEVELS.get(item, (0.0, 1.0)))
        x = values[:, j]
        onehot = (np.abs(x[:, None] - levels[None, :]) < 1e-9).astype(np.float64)
        pref = np.vstack([np.zeros((1, levels.size)), np.cumsum(onehot, axis=0)])
        counts = pref[hi] - pref[lo]
        n = counts.sum(axis=1)
        n_out[:, j] = n
        half = n / 2.0
        safe_n = np.maximum(n, 1.0)
        mean[:, j] = counts @ levels / safe_n
        msd[:, j] = np.sqrt(np.maximum(counts @ levels**2 / safe_n - mean[:, j] ** 2, 0.0))
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
    return n_out, loc, spread, mean, msd


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
