"""Backtest of the ranking methods: does a method's ranking of cells today predict next week's reports?

For each of the last ``periods`` steps (ISO weeks or calendar months, local time), every method ranks the
study area's cells using only reports from before the step, and the step's reports score the ranking at
1 %, 5 % and 10 % of the study area (cells are equal-area H3 hexagons, so area share = cell share):

* **hit rate** n / N: share of the step's N reports that fall in the selected cells (n);
* **PAI**, Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008): hit rate / area share;
* **PEI**, Prediction Efficiency Index (Hunt 2016): n / n*, with n* the most reports any selection of the
  same number of cells could have caught (the step's busiest cells): 1 is a perfect forecast.

Cells that tie at the cut-off count with their expected share (random tie-breaking), so a method that
scores many cells 0 is neither rewarded nor punished by the order of the lattice. Figures are pooled over
the steps (sums of n, N and n* before dividing).

Methods (all on the same lattice and the same history window: 28 days for weekly steps, 91 for monthly):

=============  ==========================================================================================
naive          reports per cell in the previous step.
kde            quartic kernel density of the window's reports (250 m), as the map's heat layer.
gistar         Gi* z-score of the window's counts (k-ring neighbourhood).
prospective    prospective hotspotting (Bowers, Johnson & Pease 2004): each report adds
               1 / (1 + cells away) × 1 / (1 + weeks ago) to the cells within 400 m.
score          the project's priority score (:mod:`hotspots.priorities.scoring`) with the given weights.
=============  ==========================================================================================

The study area is the configured areas' lattice (as in the analysis) or, for data from elsewhere, the
data's own extent: every cell within ``study_extent_m`` of a reported cell (all reports, so the lattice is
the same for every step and method). ``tune`` evaluates the score on a grid of weights and returns them
best first (by the mean PEI over the three coverages; within 0.001 of each other, the weighting with the
smaller bonuses first, since a term that does not measurably help should not steer the list): that is how
the settings' defaults were chosen.

Usage (needs a store, so not a doctest)::

    result = run_backtest(engine, settings, areas=None, step="week", periods=26)
    print(result.to_dict()["methods"]["score"]["0.05"]["pai"])
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Literal

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree
from sqlalchemy.engine import Engine

from hotspots import h3grid
from hotspots.analysis import CUBE_WEEKS, INTENSITY_HALF_LIFE_DAYS, Lattice, build_lattice
from hotspots.areas import Areas
from hotspots.config import Settings
from hotspots.errors import EmptyData
from hotspots.priorities.scoring import (
    ScoreTerms,
    ScoreWeights,
    mean_severity,
    score_terms,
    weeks_since_report,
)
from hotspots.stats.emerging import EmergingHotspots, iso_week_steps, weekly_cube
from hotspots.stats.gistar import GiStar
from hotspots.stats.kde import DEFAULT_BANDWIDTH_M, kernel_density, to_sweref
from hotspots.stats.weights import h3_weights
from hotspots.store import read_reports

FloatArray = npt.NDArray[np.float64]
Step = Literal["week", "month"]

COVERAGES = (0.01, 0.05, 0.10)
METHODS = ("naive", "kde", "gistar", "prospective", "score")
HISTORY_DAYS = {"week": 28, "month": 91}
_FREQ = {"week": "W-SUN", "month": "M"}
PROSPECTIVE_BANDWIDTH_M = 400.0
#: The grid ``tune`` searches (neighbours, significance, emerging, recency).
TUNING_GRID = {
    "neighbours": (0.0, 1.0, 2.0, 4.0, 8.0),
    "significance": (0.0, 0.5, 1.0),
    "emerging": (0.0, 0.5, 1.0),
    "recency": (0.0, 0.5, 1.0),
}


@dataclass(frozen=True)
class Hits:
    """One ranking scored against one outcome at one coverage (sums, so they pool over periods)."""

    hits: float
    reports: float
    best: float
    selected: int
    cells: int

    def __add__(self, other: Hits) -> Hits:
        return Hits(
            self.hits + other.hits,
            self.reports + other.reports,
            self.best + other.best,
            self.selected + other.selected,
            self.cells + other.cells,
        )

    @property
    def hit_rate(self) -> float:
        return self.hits / self.reports if self.reports else float("nan")

    @property
    def area_share(self) -> float:
        return self.selected / self.cells if self.cells else float("nan")

    @property
    def pai(self) -> float:
        return self.hit_rate / self.area_share if self.selected else float("nan")

    @property
    def pei(self) -> float:
        return self.hits / self.best if self.best else float("nan")

    def to_dict(self) -> dict[str, float]:
        return {
            "hit_rate": round(self.hit_rate, 4),
            "pai": round(self.pai, 3),
            "pei": round(self.pei, 4),
            "hits": round(self.hits, 2),
            "reports": self.reports,
            "area_share": round(self.area_share, 4),
        }


def score_ranking(score: npt.ArrayLike, outcome: npt.ArrayLike, coverage: float) -> Hits:
    """Hits of the top ``coverage`` share of cells by ``score`` (ties at the cut count pro rata)."""
    score = np.asarray(score, dtype=np.float64)
    outcome = np.asarray(outcome, dtype=np.float64)
    n = score.size
    k = min(n, max(1, round(coverage * n)))
    threshold = -np.partition(-score, k - 1)[k - 1]
    above = score > threshold
    tied = score == threshold
    slots = k - int(above.sum())
    hits = outcome[above].sum() + slots / int(tied.sum()) * outcome[tied].sum()
    best = -np.partition(-outcome, k - 1)[:k].sum()
    return Hits(float(hits), float(outcome.sum()), float(best), k, n)


@dataclass
class PeriodFeatures:
    """What the methods know at one cut (history only) and what happened in the step after it."""

    label: str
    rankings: dict[str, FloatArray]
    terms: ScoreTerms
    outcome: FloatArray


@dataclass
class BacktestResult:
    """Pooled figures per method and coverage, the steps used, and (if tuned) the weights tried."""

    step: str
    periods: list[str]
    cells: int
    study_area: str
    reports: int
    weights: ScoreWeights
    methods: dict[str, dict[float, Hits]]
    seconds: float
    tuning: list[tuple[ScoreWeights, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "periods": self.periods,
            "cells": self.cells,
            "study_area": self.study_area,
            "reports": self.reports,
            "score_weights": vars(self.weights),
            "methods": {m: {str(c): h.to_dict() for c, h in by.items()} for m, by in self.methods.items()},
            "tuning": [{"weights": vars(w), "mean_pei": round(v, 4)} for w, v in self.tuning[:10]],
            "seconds": round(self.seconds, 2),
        }


def extent_lattice(cells: h3grid.CellArray, resolution: int, k: int, extent_m: float) -> Lattice:
    """The data's own study area: cells within ``extent_m`` of a reported cell, plus a ring of ``k``."""
    spacing = h3.average_hexagon_edge_length(resolution, unit="m") * np.sqrt(3.0)
    lattice = h3grid.grid_disk(np.unique(cells), int(np.ceil(extent_m / spacing)) + k)
    return Lattice(lattice, np.full(lattice.size, None, dtype=object), h3_weights(lattice, k, star=True))


def prospective_weights(cells: h3grid.CellArray, bandwidth_m: float) -> sp.csr_matrix:
    """1 / (1 + cells away) between cell centres within ``bandwidth_m`` (Bowers et al. 2004's distance
    weight, with distance in cell spacings rounded), self included."""
    resolution = int(h3grid.cells_resolution(cells[:1])[0])
    spacing = h3.average_hexagon_edge_length(resolution, unit="m") * np.sqrt(3.0)
    tree = cKDTree(np.column_stack(to_sweref(*h3grid.cells_to_latlng(cells))))
    pairs = tree.sparse_distance_matrix(tree, bandwidth_m, output_type="coo_matrix").tocsr()
    pairs.data = 1.0 / (1.0 + np.round(pairs.data / spacing))
    return sp.csr_matrix(pairs + sp.identity(cells.size, format="csr"))  # zero distances are not stored


class _History:
    """Reports sorted by time with their lattice positions, sliced per period without copying the table."""

    def __init__(self, reports: pd.DataFrame, lattice: Lattice, resolution: int) -> None:
        idx = lattice.index_of(h3grid.cell_to_parent(reports["cell"].to_numpy(), resolution))
        keep = idx >= 0
        frame = reports[keep].assign(i=idx[keep]).sort_values("occurred_at", kind="stable")
        self.frame = frame.reset_index(drop=True)
        self.time = frame["occurred_at"].dt.as_unit("us").astype("int64").to_numpy()

    def between(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        lo, hi = np.searchsorted(self.time, [start.value // 1000, end.value // 1000])
        return self.frame.iloc[lo:hi]


def _period_features(
    history: _History,
    lattice: Lattice,
    settings: Settings,
    period: pd.Period,
    step: str,
    proximity: sp.csr_matrix,
) -> PeriodFeatures:
    tz = settings.timezone
    n = lattice.cells.size
    cut = pd.Timestamp(period.start_time).tz_localize(tz).tz_convert(UTC)
    after = pd.Timestamp((period + 1).start_time).tz_localize(tz).tz_convert(UTC)
    previous = pd.Timestamp((period - 1).start_time).tz_localize(tz).tz_convert(UTC)
    window = history.between(cut - pd.Timedelta(days=HISTORY_DAYS[step]), cut)
    idx = window["i"].to_numpy()
    weight = window["weight"].to_numpy()
    age_days = (cut - window["occurred_at"]).dt.total_seconds().to_numpy() / 86_400.0
    counts = np.bincount(idx, minlength=n).astype(np.float64)

    last = history.between(previous, cut)
    year = history.between(cut - pd.Timedelta(weeks=CUBE_WEEKS), cut)
    last_week = pd.Period((cut - pd.Timedelta(microseconds=1)).tz_convert(tz).tz_localize(None), "W-SUN")
    steps, weeks = iso_week_steps(
        year["occurred_at"], tz=tz, first=last_week - (CUBE_WEEKS - 1), last=last_week
    )
    cube = weekly_cube(year["i"].to_numpy(), steps, n, len(weeks))
    by_category = window.groupby(["i", "category"]).size().unstack(fill_value=0)
    gi = GiStar(counts, lattice.weights, permutations=0)
    rankings = {
        "naive": np.bincount(last["i"].to_numpy(), minlength=n).astype(np.float64),
        "kde": kernel_density(
            window["lat"].to_numpy(),
            window["lon"].to_numpy(),
            lattice.cells,
            weights=weight,
            bandwidth_m=DEFAULT_BANDWIDTH_M,
        ),
        "gistar": gi.z,
        "prospective": proximity @ np.bincount(idx, weights=weight / (1.0 + age_days // 7), minlength=n),
    }
    terms = score_terms(
        np.bincount(idx, weights=weight * 0.5 ** (age_days / INTENSITY_HALF_LIFE_DAYS), minlength=n),
        mean_severity(by_category, n, settings.taxonomy),
        lattice.weights,
        gi.gi_bin,
        EmergingHotspots(cube, lattice.weights).category,
        weeks_since_report(cube),
    )
    outcome = np.bincount(history.between(cut, after)["i"].to_numpy(), minlength=n).astype(np.float64)
    return PeriodFeatures(str(period), rankings, terms, outcome)


def _pooled(features: list[PeriodFeatures], ranking: Any) -> dict[float, Hits]:
    """Hits per coverage summed over periods; ``ranking(period) -> scores``."""
    pooled: dict[float, Hits] = {}
    for period in features:
        scores = ranking(period)
        for coverage in COVERAGES:
            hits = score_ranking(scores, period.outcome, coverage)
            pooled[coverage] = pooled[coverage] + hits if coverage in pooled else hits
    return pooled


def _bonus_total(weights: ScoreWeights) -> float:
    return weights.significance + weights.emerging + weights.recency


def _mean_pei(pooled: dict[float, Hits]) -> float:
    return float(np.mean([h.pei for h in pooled.values()]))


def run_backtest(
    engine: Engine,
    settings: Settings,
    *,
    areas: Areas | None = None,
    step: Step = "week",
    periods: int = 26,
    weights: ScoreWeights | None = None,
    tune: bool = False,
) -> BacktestResult:
    """Backtest every method over the last ``periods`` steps of the stored data (see the module docstring).

    ``areas`` None: the study area is the data's own extent (works for data from anywhere).
    """
    if step not in _FREQ:
        raise ValueError(f"step must be 'week' or 'month', got {step!r}")
    began = time.perf_counter()
    weights = weights or ScoreWeights.from_settings(settings)
    reports = read_reports(engine, columns=("occurred_at", "category", "cell", "lat", "lon", "weight"))
    if reports.empty:
        raise EmptyData("no reports stored: nothing to backtest")
    resolution, k = settings.analysis_resolution, settings.neighbourhood_k
    parents = h3grid.cell_to_parent(reports["cell"].to_numpy(), resolution)
    if areas is None:
        lattice = extent_lattice(parents, resolution, k, settings.study_extent_m)
    else:
        lattice = build_lattice(areas, resolution, k, parents, settings.study_extent_m)
    history = _History(reports, lattice, resolution)
    local = history.frame["occurred_at"].dt.tz_convert(settings.timezone).dt.tz_localize(None)
    first, last = local.iloc[[0, -1]].dt.to_period(_FREQ[step])
    earliest_cut = first + 1  # at least one step of history before the first forecast
    tested = [p for p in pd.period_range(last - (periods - 1), last, freq=_FREQ[step]) if p >= earliest_cut]
    if not tested:
        raise EmptyData(f"the data spans too few {step}s to backtest (need history before a test step)")
    proximity = prospective_weights(lattice.cells, PROSPECTIVE_BANDWIDTH_M)
    features = [_period_features(history, lattice, settings, p, step, proximity) for p in tested]

    methods = {name: _pooled(features, lambda f, name=name: f.rankings[name]) for name in METHODS[:-1]}
    methods["score"] = _pooled(features, lambda f: f.terms.combine(weights))
    tuning: list[tuple[ScoreWeights, float]] = []
    if tune:
        for values in itertools.product(*TUNING_GRID.values()):
            candidate = ScoreWeights(**dict(zip(TUNING_GRID, values, strict=True)))
            pooled = _pooled(features, lambda f, c=candidate: f.terms.combine(c))
            tuning.append((candidate, _mean_pei(pooled)))
        # Differences below 0.001 PEI are noise: among those, prefer fewer and smaller bonuses (simplest).
        tuning.sort(key=lambda item: (-round(item[1], 3), _bonus_total(item[0]), item[0].neighbours))
    return BacktestResult(
        step=step,
        periods=[f.label for f in features],
        cells=lattice.cells.size,
        study_area="areas" if areas is not None else "extent",
        reports=int(sum(f.outcome.sum() for f in features)),
        weights=weights,
        methods=methods,
        seconds=time.perf_counter() - began,
        tuning=tuning,
    )
