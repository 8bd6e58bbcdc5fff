"""Emerging hot spot analysis: which places are new, intensifying, persistent … hot spots, week by week.

Follows ESRI's "How Emerging Hot Spot Analysis works" (ArcGIS Pro, Space Time Pattern Mining toolbox,
https://pro.arcgis.com/en/pro-app/latest/tool-reference/space-time-pattern-mining/learnmoreemerging.htm ;
the Spanish/Japanese/Russian editions of that page were the ones at hand and agree). Three stages:

1. **Space-time Gi\\*** per bin (cell × ISO week). A bin's neighbourhood is its spatial neighbours (weights
   ``w``, self included) in this week and the previous ``time_window - 1`` weeks ("Neighborhood Time
   Step"); weeks before the cube start simply do not exist, so early bins have smaller neighbourhoods. The
   mean and variance come from the **entire cube** (ArcGIS's default global window "Entire cube"), so the
   z-score is exactly ``esda.G_Local(star=True, transform="B")`` on the stacked (cell, week) vector with
   space-time block weights. ArcGIS applies an FDR correction to the bin p-values; we do too by default
   (Benjamini-Hochberg over all bins of the cube), with bins significant at 90 % (``alpha=0.10``, the
   weakest level of ArcGIS's Gi_Bin, which is what its patterns count as "statistically significant").
2. **Mann-Kendall** on each location's series of bin z-scores (ArcGIS evaluates the hot/cold spot trends,
   i.e. the Gi\\* z-scores, not the raw counts), see :mod:`hotspots.stats.trend`.
3. **Patterns.** Our reading of ESRI's definitions ("hot" = statistically significant hot spot bin;
   "90 %" = at least 90 percent of the time steps, integer arithmetic; "final" = the last week):

   ============== ==========================================================================================
   new            hot in the final step and never hot before.
   consecutive    a single uninterrupted run of >= 2 hot steps ending at the final step, never hot before the
                  run, and less than 90 % of all steps hot.
   intensifying   hot in >= 90 % of the steps including the final one; significant upward trend in z.
   persistent     hot in >= 90 % of the steps (final included, see below); no significant trend.
   diminishing    hot in >= 90 % of the steps including the final one; significant downward trend in z.
   sporadic       hot in the final step, on-and-off before, < 90 % of steps hot, never a cold spot.
   oscillating    hot in the final step, a cold spot in some earlier step, < 90 % of steps hot.
   historical     not hot in the final step, but hot in >= 90 % of the steps.
   ============== ==========================================================================================

   Cold spots mirror this (for cold spots "intensifying" means the z trend goes *down*). ESRI's definitions
   overlap in a few corners (a first-ever hot week after an earlier cold spot is both "new" and
   "oscillating"); we resolve every overlap by taking the first matching definition in ESRI's table order
   (new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating, historical; hot before
   cold). Persistent requires the final step hot so that it does not overlap "historical". A location with
   no data (all counts zero) is ``no_pattern``, as ArcGIS only analyses locations with data.

>>> import numpy as np, scipy.sparse as sp
>>> counts = np.zeros((40, 10)); counts[:2, 7:] = 4; counts[20, :] = 1
>>> w = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(40, 40), format="csr")
>>> ehs = EmergingHotspots(counts, w)
>>> ehs.category[:2].tolist(), ehs.hot_weeks[:2].tolist(), ehs.labels("sv")[:1].tolist()
(['consecutive_hot', 'consecutive_hot'], [3, 3], ['på varandra följande hotspot'])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy import special

from hotspots.errors import EmptyData, StatisticsError
from hotspots.stats.gistar import gi_star_z_from_lag
from hotspots.stats.inference import CONFIDENCE_LEVELS, benjamini_hochberg_adjust, confidence_bins
from hotspots.stats.trend import MannKendall
from hotspots.stats.weights import FloatArray, as_weights
from hotspots.words import CATEGORY_LABELS, Language

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TIME_WINDOW = 2
"""Weeks in a bin's neighbourhood: this week and the previous one."""

ALPHA = 0.10
"""Bin and trend significance level: 90 % confidence, ArcGIS's threshold for a significant hot spot bin."""

MOSTLY_PERCENT = 90
"""ESRI's "90 percent of the time-step intervals" rule that separates persistent-type from sporadic-type."""

PATTERNS: tuple[str, ...] = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
                             "oscillating", "historical")  # fmt: skip
"""Pattern names in ESRI's table order, which is also the precedence when definitions overlap."""

CATEGORIES: tuple[str, ...] = (
    *(f"{pattern}_hot" for pattern in PATTERNS),
    *(f"{pattern}_cold" for pattern in PATTERNS),
    "no_pattern",
)
"""The 17 stable category codes (API, exports, cache keys)."""


def iso_week_steps(
    occurred_at: pd.DatetimeIndex | pd.Series,
    *,
    tz: str,
    first: pd.Period | str | None = None,
    last: pd.Period | str | None = None,
) -> tuple[IntArray, pd.PeriodIndex]:
    """Time step (ISO week in time zone ``tz``) of each tz-aware timestamp, and the weeks of the cube.

    Weeks run Monday-Sunday in local time: a report at 00:30 on a Monday in Örebro belongs to the new
    week although it is still Sunday in UTC. ``first``/``last`` (a ``pd.Period`` or a date inside the week)
    fix the cube's span, e.g. to include a final week without reports; by default it spans the data.
    Timestamps outside the span get step -1.

    >>> stamps = pd.to_datetime(["2024-01-07T23:30Z", "2024-01-08T06:00Z"])  # Monday 00:30 and 07:00 local
    >>> steps, weeks = iso_week_steps(stamps, tz="Europe/Stockholm")
    >>> steps.tolist(), [week.start_time.isocalendar()[:2] for week in weeks]
    ([0, 0], [(2024, 2)])
    """
    stamps = pd.DatetimeIndex(occurred_at)
    if stamps.tz is None:
        raise StatisticsError("timestamps must be time-zone aware to be put into local ISO weeks")
    periods = stamps.tz_convert(tz).tz_localize(None).to_period("W-SUN")
    if first is None or last is None:
        if periods.empty:
            raise EmptyData("no timestamps and no explicit week span: the cube would have no weeks")
        first = periods.min() if first is None else first
        last = periods.max() if last is None else last
    weeks = pd.period_range(pd.Period(first, "W-SUN"), pd.Period(last, "W-SUN"), freq="W-SUN")
    steps = periods.asi8 - weeks[0].ordinal
    return np.where((steps >= 0) & (steps < len(weeks)), steps, -1).astype(np.int64), weeks


def weekly_cube(
    cell_index: npt.ArrayLike,
    step: npt.ArrayLike,
    n_cells: int,
    n_steps: int,
    weight: npt.ArrayLike | None = None,
) -> FloatArray:
    """Count (or sum ``weight``) reports per (cell, step); rows with a negative cell or step are left out."""
    cells = np.asarray(cell_index, dtype=np.int64)
    steps = np.asarray(step, dtype=np.int64)
    inside = (cells >= 0) & (steps >= 0) & (cells < n_cells) & (steps < n_steps)
    weights = None if weight is None else np.asarray(weight, dtype=np.float64)[inside]
    flat = np.bincount(cells[inside] * n_steps + steps[inside], weights=weights, minlength=n_cells * n_steps)
    return flat.astype(np.float64).reshape(n_cells, n_steps)


def space_time_gi_star(
    counts: npt.ArrayLike, w: sp.spmatrix | sp.sparray, time_window: int = TIME_WINDOW
) -> FloatArray:
    """Gi* z per bin (n_cells, T) with space-time neighbourhoods and whole-cube moments (module docstring).

    One sparse product gives every week's spatial lag; the time window adds ``time_window - 1`` shifted
    copies. A bin's weight sums are its cell's spatial ones times the number of weeks in its window, which
    takes only ``time_window`` distinct values, so the z-scores are computed per block of weeks that share
    it (per-cell weight sums broadcast over the block instead of filling another (n_cells, T) array).
    """
    cube = _as_cube(counts)
    if time_window < 1:
        raise StatisticsError(f"time_window must be at least 1 week, got {time_window}")
    weights = as_weights(w, cube.shape[0], star=True)
    spatial_lag = np.asarray(weights @ cube)
    window_lag = spatial_lag.copy()
    for back in range(1, min(time_window, cube.shape[1])):
        window_lag[:, back:] += spatial_lag[:, :-back]
    weight_sum = np.asarray(weights.sum(axis=1))
    weight_square_sum = np.asarray(weights.multiply(weights).sum(axis=1))
    mean, std = cube.mean(), cube.std()
    z = np.empty_like(cube)
    for weeks_in_window in range(1, min(time_window, cube.shape[1]) + 1):
        # weeks 0 .. time_window-2 have a truncated window; all later weeks have the full one
        block = slice(weeks_in_window - 1, None if weeks_in_window == time_window else weeks_in_window)
        z[:, block] = gi_star_z_from_lag(
            window_lag[:, block],
            weight_sum * weeks_in_window,
            weight_square_sum * weeks_in_window,
            cube.size,
            mean,
            std,
        )
    return z


def trailing_run(flags: BoolArray) -> IntArray:
    """Length of the run of True that ends at the last column, per row (0 if the last column is False)."""
    flags = np.asarray(flags, dtype=bool)
    backwards = flags[:, ::-1]
    return np.where(backwards.all(axis=1), flags.shape[1], np.argmin(backwards, axis=1)).astype(np.int64)


def classify_patterns(hot: BoolArray, cold: BoolArray, trend: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Category code per location from per-bin hot/cold flags (n, T) and the z trend (+1, -1 or 0 each).

    Pure boolean algebra over whole arrays; the rules and the overlap precedence are in the module docstring.
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    direction = np.asarray(trend)
    if hot.shape != cold.shape or hot.ndim != 2 or direction.shape != hot.shape[:1]:
        raise StatisticsError(f"hot {hot.shape}, cold {cold.shape} and trend {direction.shape} do not match")
    conditions = [
        *_pattern_conditions(hot, cold, intensifying=direction > 0, diminishing=direction < 0),
        *_pattern_conditions(cold, hot, intensifying=direction < 0, diminishing=direction > 0),
    ]
    return np.select(conditions, CATEGORIES[:-1], default="no_pattern")


def _pattern_conditions(
    spot: BoolArray, opposite: BoolArray, *, intensifying: BoolArray, diminishing: BoolArray
) -> list[BoolArray]:
    """The eight pattern tests for one side (hot or cold), in :data:`PATTERNS` order."""
    n_steps = spot.shape[1]
    count = spot.sum(axis=1)
    mostly = 100 * count >= MOSTLY_PERCENT * n_steps
    final = spot[:, -1]
    run = trailing_run(spot)
    ever_opposite = opposite.any(axis=1)
    return [
        final & (count == 1),
        final & (run >= 2) & (run == count) & ~mostly,
        final & mostly & intensifying,
        final & mostly & ~intensifying & ~diminishing,
        final & mostly & diminishing,
        final & ~mostly & ~ever_opposite,
        final & ~mostly & ever_opposite,
        ~final & mostly,
    ]


def _fdr_up_to(p: FloatArray, ceiling: float) -> FloatArray:
    """BH-adjusted p over all entries, exact where <= ``ceiling`` and 1 elsewhere.

    An adjusted value p_(k) m / k <= ceiling needs p_(k) <= ceiling, and the p-values at most ``ceiling``
    are exactly the first ranks, so adjusting that subset with m = all entries gives the same numbers;
    everything above the ceiling stays above it.
    """
    candidates = p <= ceiling
    adjusted = np.ones(p.shape)
    if candidates.any():
        subset = benjamini_hochberg_adjust(p[candidates]) * (p.size / np.count_nonzero(candidates))
        adjusted[candidates] = np.where(subset <= ceiling, subset, 1.0)
    return adjusted


def _as_cube(counts: npt.ArrayLike) -> FloatArray:
    cube = np.asarray(counts, dtype=np.float64)
    if cube.ndim != 2 or cube.size == 0:
        raise EmptyData(f"the space-time cube must be a non-empty (n_cells, T) array, got shape {cube.shape}")
    if not np.isfinite(cube).all():
        raise StatisticsError("the space-time cube contains NaN or infinite values")
    return cube


class EmergingHotspots:
    """Emerging hot spot analysis of a weekly space-time cube (ESRI's 17 categories).

    Parameters
    ----------
    counts : array (n_cells, T)
        Reports (or summed weights) per cell and ISO week, oldest week first; zero cells included.
    w : scipy.sparse (n_cells, n_cells)
        Spatial weights (e.g. H3 k-ring); a missing self-weight is added as for Gi*.
    time_window : int
        Weeks in each bin's neighbourhood (this week and ``time_window - 1`` before it).
    alpha : float
        Significance level for hot/cold bins and for the Mann-Kendall trend (0.10 = 90 %).
    fdr : bool
        Judge bins on Benjamini-Hochberg adjusted p-values over the whole cube (ArcGIS does this).

    Attributes
    ----------
    z : array (n_cells, T)
        Space-time Gi* z-score of each bin.
    p : array (n_cells, T)
        Two-sided normal p-value of each bin.
    p_fdr : array (n_cells, T)
        Benjamini-Hochberg adjusted ``p`` over all bins. Exact wherever it is at most
        ``max(alpha, 0.10)``, the largest level anything is judged at; larger values are reported as 1.
        (Only the smallest p-values can reach those levels, so only they are sorted, not all n_cells × T.)
    bins : array of int8 (n_cells, T)
        ArcGIS-style Gi_Bin -3..3 (99/95/90 % confidence; on ``p_fdr`` when ``fdr``).
    hot, cold : array of bool (n_cells, T)
        Significant hot / cold spot bins at ``alpha``.
    trend_z, trend_p : array (n_cells,)
        Mann-Kendall z and two-sided p of each location's z-score series; for locations without data
        (never classified) the test is skipped and they read 0 and 1.
    trend : array of int (n_cells,)
        +1 / -1 significant up / down trend of the z-scores at ``alpha``, else 0.
    has_data : array of bool (n_cells,)
        Whether the location has any non-zero count; locations without data are ``no_pattern``.
    category : array of str (n_cells,)
        Category code from :data:`CATEGORIES`, e.g. ``"intensifying_hot"`` or ``"no_pattern"``.
    hot_weeks, cold_weeks : array of int (n_cells,)
        Consecutive final weeks the location has been a hot / cold spot (the "4 weeks" of a reason like
        "intensifying hot spot 4 weeks").
    """

    def __init__(
        self,
        counts: npt.ArrayLike,
        w: sp.spmatrix | sp.sparray,
        time_window: int = TIME_WINDOW,
        alpha: float = ALPHA,
        fdr: bool = True,
    ) -> None:
        cube = _as_cube(counts)
        self.time_window = time_window
        self.alpha = alpha
        self.fdr = fdr
        self.z = space_time_gi_star(cube, w, time_window)
        self.p = 2.0 * special.ndtr(-np.abs(self.z))
        self.p_fdr = _fdr_up_to(self.p, max(alpha, *(level for _, level in CONFIDENCE_LEVELS)))
        judged = self.p_fdr if fdr else self.p
        self.bins = confidence_bins(self.z, judged)
        significant = judged <= alpha
        self.hot = significant & (self.z > 0)
        self.cold = significant & (self.z < 0)

        self.has_data = (cube != 0).any(axis=1)
        self.trend_z, self.trend_p = np.zeros(cube.shape[0]), np.ones(cube.shape[0])
        self.trend = np.zeros(cube.shape[0], dtype=np.int64)
        if cube.shape[1] >= 2:  # one week has no trend
            mann_kendall = MannKendall(self.z[self.has_data], alpha=alpha)
            self.trend_z[self.has_data], self.trend_p[self.has_data] = mann_kendall.z, mann_kendall.p
            self.trend[self.has_data] = mann_kendall.trend
        self.category = np.where(
            self.has_data, classify_patterns(self.hot, self.cold, self.trend), "no_pattern"
        )
        self.hot_weeks = trailing_run(self.hot)
        self.cold_weeks = trailing_run(self.cold)

    def labels(self, language: Language = Language.sv) -> npt.NDArray[np.str_]:
        """Category labels in ``language`` ("sv" or "en", words from :mod:`hotspots.words`), one per location."""
        if language not in CATEGORY_LABELS:
            raise KeyError(f"no category labels in {language!r}; available: {sorted(CATEGORY_LABELS)}")
        codes = np.asarray(CATEGORIES)
        order = np.argsort(codes)
        words = np.asarray([CATEGORY_LABELS[language][code] for code in CATEGORIES])
        return words[order[np.searchsorted(codes[order], self.category)]]
