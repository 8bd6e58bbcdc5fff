"""Backtest of the ranking candidates, and the nested selection the priority list's ranking comes from.

For each of the last ``periods`` steps (ISO weeks or calendar months, local time), every candidate of
:mod:`hotspots.ranking` ranks the study area's cells using only reports from before the step, and the
step's reports score the ranking at 1 %, 5 % and 10 % of the study area (cells are equal-area H3
hexagons, so area share = cell share):

* **hit rate** n / N: share of the step's N reports that fall in the selected cells (n);
* **PAI**, Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008): hit rate / area share;
* **PEI**, Prediction Efficiency Index (Hunt 2016): n / n*, with n* the most reports any selection of the
  same number of cells could have caught (the step's busiest cells): 1 is a perfect forecast.

Cells that tie at the cut-off count with their expected share (random tie-breaking). Figures are pooled
over the steps (sums of n, N and n* before dividing).

``score`` is the *selected* ranking, the one the priority list uses: for each tested step, its top 1 % of
cells from the blend of the three candidates with the best PEI at 1 % over the ``lookback`` steps before
it, the rest from the three best at 5 % (nested rolling origin, so ``score``'s figures are out of sample
like every other row; see :mod:`hotspots.ranking.blend`). The blend in force after the last step is
reported as ``in_force``; :mod:`hotspots.ranking.choice` stores it.

The study area is the configured areas' lattice (as in the analysis) or, for data from elsewhere, the
data's own extent: every cell within ``study_extent_m`` of a reported cell.

Usage (needs a store, so not a doctest)::

    result = run_backtest(engine, settings, areas=None, step="week", periods=26)
    print(result.to_dict()["methods"]["score"]["0.05"]["pai"])
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.engine import Engine

from hotspots.analysis.lattice import Lattice, build_lattice
from hotspots.config import Settings
from hotspots.errors import EmptyData
from hotspots.geo import h3grid
from hotspots.geo.areas import Areas
from hotspots.geo.projection import crs_for, to_metric
from hotspots.ranking import candidates
from hotspots.ranking.selection import COVERAGES, Evaluation, blended, evaluate
from hotspots.ranking.steps import FREQ, Step, StepCounts, step_counts
from hotspots.stats.weights import h3_weights
from hotspots.store.engine import read_reports

FloatArray = npt.NDArray[np.float64]

#: Steps of evidence behind each choice, by default (half a year of weeks, a year of months).
LOOKBACK: dict[str, int] = {"week": 26, "month": 12}
REPORT_COLUMNS = ("occurred_at", "category", "lat", "lon", "weight")


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
    from hotspots.ranking.selection import captured

    scores = np.asarray(score, dtype=np.float64)[:, None]
    result = captured(scores, np.asarray(outcome, dtype=np.float64)[:, None], (coverage,))
    return Hits(
        float(result.hits[0, 0]), float(result.reports[0]), float(result.best[0, 0]),
        int(result.selected[0]), scores.shape[0],
    )  # fmt: skip


@dataclass
class BacktestResult:
    """Pooled figures per candidate and coverage (``score`` = the selected ranking), and the choices."""

    step: str
    periods: list[str]
    cells: int
    study_area: str
    reports: int
    methods: dict[str, dict[float, Hits]]
    selected: list[str]  # blend used for each tested period (``a+b``)
    in_force: str  # blend chosen on the last ``lookback`` periods, for the next one
    lookback: int
    seconds: float
    candidates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "periods": self.periods,
            "cells": self.cells,
            "study_area": self.study_area,
            "reports": self.reports,
            "methods": {m: {str(c): h.to_dict() for c, h in by.items()} for m, by in self.methods.items()},
            "selected": self.selected,
            "in_force": self.in_force,
            "lookback": self.lookback,
            "candidates": self.candidates,
            "seconds": round(self.seconds, 2),
        }


def extent_lattice(cells: h3grid.CellArray, resolution: int, k: int, extent_m: float) -> Lattice:
    """The data's own study area: cells within ``extent_m`` of a reported cell, plus a ring of ``k``."""
    spacing = h3.average_hexagon_edge_length(resolution, unit="m") * np.sqrt(3.0)
    lattice = h3grid.grid_disk(np.unique(cells), int(np.ceil(extent_m / spacing)) + k)
    return Lattice(lattice, np.full(lattice.size, None, dtype=object), h3_weights(lattice, k, star=True))


def study_lattice(reports: pd.DataFrame, settings: Settings, areas: Areas | None) -> Lattice:
    """The lattice the backtest ranks: the areas' (as the analysis) or, with ``areas`` None, the data's extent."""
    resolution, k = settings.analysis_resolution, settings.neighbourhood_k
    cells = h3grid.latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), resolution)
    if areas is None:
        return extent_lattice(cells, resolution, k, settings.study_extent_m)
    return build_lattice(areas, resolution, k, cells, settings.study_extent_m)


def history(
    reports: pd.DataFrame, lattice: Lattice, settings: Settings, step: Step, until: pd.Period | None = None
) -> StepCounts:
    """The reports as (cells × steps) counts on the lattice; each report in the cell containing its point."""
    lat, lon = reports["lat"].to_numpy(), reports["lon"].to_numpy()
    position = lattice.index_of(
        h3grid.latlng_to_cells(lat, lon, int(h3grid.cells_resolution(lattice.cells[:1])[0]))
    )
    inside = position >= 0
    severity = {t.id: t.severity for t in settings.taxonomy.categories}
    severity_of = reports["category"].map(severity).fillna(1.0).to_numpy(dtype=np.float64)
    weight: FloatArray = reports["weight"].to_numpy(dtype=np.float64) * severity_of
    local = reports["occurred_at"][inside].dt.tz_convert(settings.timezone).dt.tz_localize(None)
    centre_lat, centre_lon = h3grid.cells_to_latlng(lattice.cells)
    xy = to_metric(centre_lat, centre_lon, settings.metric_crs or crs_for(centre_lat, centre_lon))
    ring = lattice.weights.copy()
    ring.setdiag(0)
    ring.eliminate_zeros()
    ring.data[:] = 1.0
    return step_counts(position[inside], local, weight[inside], lattice.cells.size, step, xy, ring, until)


def last_complete_step(reports: pd.DataFrame, settings: Settings, data: StepCounts) -> int:
    """Index of the last step the data cover to its end: a step cut short by the export is not scored
    (one whose only date is its first instant is complete: month-only dates are written as the 1st)."""
    end = reports["occurred_at"].max().tz_convert(settings.timezone).tz_localize(None)
    last = data.steps - 1
    period = data.periods[last]
    if period.start_time < end < period.end_time.normalize():  # the export stops within the step
        last -= 1
    return last


def evaluate_origins(data: StepCounts, first: int, last: int) -> tuple[Evaluation, np.ndarray]:
    """Evaluate every candidate at origins ``first..last`` (inclusive)."""
    origins = np.arange(max(1, first), last + 1, dtype=np.int64)
    return evaluate(data, candidates.for_step(data.step), origins), origins


def backtest_reports(
    reports: pd.DataFrame,
    lattice: Lattice,
    settings: Settings,
    *,
    step: Step = "week",
    periods: int = 26,
    lookback: int | None = None,
    study_area: str = "extent",
) -> BacktestResult:
    """Backtest every candidate and the nested selection on a reports frame (see the module docstring)."""
    if step not in FREQ:
        raise ValueError(f"step must be 'week' or 'month', got {step!r}")
    began = time.perf_counter()
    lookback = lookback or LOOKBACK[step]
    data = history(reports, lattice, settings, step)
    last = last_complete_step(reports, settings, data)
    if last - periods < 1:
        raise EmptyData(
            f"the data span {data.steps} {step}s: too few to test {periods} with history before each"
        )
    evaluation, origins = evaluate_origins(data, last - periods - lookback + 1, last)
    first_test = origins.size - periods
    chosen = evaluation.nested(first_test, lookback)
    tested = slice(first_test, None)
    methods = {name: _pooled(evaluation, i, tested) for i, name in enumerate(evaluation.names)}
    picked = blended(data, candidates.for_step(step), origins[tested], chosen)
    methods["score"] = _hits(picked.hits, evaluation, tested)
    return BacktestResult(
        step=step,
        periods=[str(data.periods[t]) for t in origins[tested]],
        cells=lattice.cells.size,
        study_area=study_area,
        reports=int(evaluation.reports[tested].sum()),
        methods=methods,
        selected=[evaluation.blend_name(c) for c in chosen],
        in_force=evaluation.blend_name(evaluation.choose(origins.size, lookback)),
        lookback=lookback,
        seconds=time.perf_counter() - began,
        candidates={c.name: {"family": c.family, **c.params} for c in candidates.for_step(step)},
    )


def _pooled(evaluation: Evaluation, candidate: int, tested: slice) -> dict[float, Hits]:
    return _hits(evaluation.hits[candidate, tested, :], evaluation, tested)


def _hits(hits: FloatArray, evaluation: Evaluation, tested: slice) -> dict[float, Hits]:
    steps = hits.shape[0]
    return {
        coverage: Hits(
            float(hits[:, j].sum()),
            float(evaluation.reports[tested].sum()),
            float(evaluation.best[tested, j].sum()),
            int(evaluation.selected[j]) * steps,
            evaluation.cells * steps,
        )
        for j, coverage in enumerate(COVERAGES)
    }


def run_backtest(
    engine: Engine,
    settings: Settings,
    *,
    areas: Areas | None = None,
    step: Step = "week",
    periods: int = 26,
    lookback: int | None = None,
) -> BacktestResult:
    """Backtest the stored reports. ``areas`` None: the study area is the data's own extent."""
    reports = read_reports(engine, columns=REPORT_COLUMNS)
    if reports.empty:
        raise EmptyData("no reports stored: nothing to backtest")
    lattice = study_lattice(reports, settings, areas)
    return backtest_reports(
        reports, lattice, settings, step=step, periods=periods, lookback=lookback,
        study_area="areas" if areas is not None else "extent",
    )  # fmt: skip
