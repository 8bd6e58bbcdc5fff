"""Reports as a sparse (cells × steps) count matrix: the one input every ranking candidate reads.

A *step* is an ISO week (Monday–Sunday) or a calendar month in the deployment's local time. An *origin* t
is a forecast made at the start of step t: it may use steps ``< t`` only, and is scored on step t. Every
candidate turns the history into scores as ``counts @ filter`` (a steps × origins matrix that weights
past steps per origin), optionally followed by a sparse spatial kernel, so all origins are ranked at
once without a loop over cells or reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Step = Literal["week", "month"]
LagWeights = Callable[[IntArray], npt.NDArray[np.floating[Any]]]

FREQ: dict[str, str] = {"week": "W-SUN", "month": "M"}
#: Weeks per step, for decays stated in weeks (a month is 365.25 / 12 / 7 weeks).
WEEKS_PER_STEP: dict[str, float] = {"week": 1.0, "month": 365.25 / 12 / 7}


@dataclass(frozen=True)
class StepCounts:
    """Reports per lattice cell and step, the steps' periods, and the lattice's positions in metres."""

    counts: sp.csr_matrix  # (cells, steps), reports per cell and step
    periods: pd.PeriodIndex  # one per column, consecutive
    step: Step
    xy: FloatArray  # (cells, 2) cell centres in a metric projection (for spatial kernels)
    ring: sp.csr_matrix  # k-ring neighbours without self (binary), for ring features
    weighted: sp.csr_matrix  # (cells, steps), sum of report weight × category severity (the score's input)
    kernels: dict[tuple[str, float], sp.csr_matrix] = field(default_factory=dict, compare=False, repr=False)

    @property
    def cells(self) -> int:
        return int(self.counts.shape[0])

    @property
    def steps(self) -> int:
        return int(self.counts.shape[1])

    @property
    def weeks_per_step(self) -> float:
        return WEEKS_PER_STEP[self.step]

    def kernel(self, kind: str, scale_m: float) -> sp.csr_matrix:
        """A spatial kernel between cell centres (:mod:`hotspots.ranking.candidates.spatial`), built once per run."""
        from hotspots.ranking.candidates.spatial import KERNELS

        key = (kind, scale_m)
        if key not in self.kernels:
            self.kernels[key] = KERNELS[kind](self.xy, scale_m)
        return self.kernels[key]

    def window(self, origins: IntArray, horizon: int) -> FloatArray:
        """Reports per cell over the ``horizon`` steps before each origin, (cells, origins)."""
        return self.filtered(self.counts, origins, lambda lag: np.ones(lag.size), horizon)

    def filtered(
        self, counts: sp.csr_matrix, origins: IntArray, weight_of_lag: LagWeights, max_lag: int
    ) -> FloatArray:
        """``sum_{lag < max_lag} weight(lag) * counts[:, t - 1 - lag]`` per origin t, as (cells, origins).

        ``weight_of_lag`` maps an integer lag array (0 = the step just before the origin) to weights.
        """
        lags = np.arange(max_lag)
        weights = np.asarray(weight_of_lag(lags), dtype=np.float64)
        rows = origins[None, :] - 1 - lags[:, None]  # (lags, origins) source step per lag
        cols = np.broadcast_to(np.arange(origins.size), rows.shape)
        keep = (rows >= 0) & (rows < self.steps)
        values = np.broadcast_to(weights[:, None], rows.shape)[keep]
        matrix = sp.csc_matrix((values, (rows[keep], cols[keep])), shape=(self.steps, origins.size))
        return np.asarray((counts @ matrix).todense())

    def outcome(self, origins: IntArray) -> FloatArray:
        """Reports per cell in each origin's own step, (cells, origins): what a ranking is scored on."""
        return np.asarray(self.counts[:, origins].todense())


def step_index(
    local: pd.Series, step: Step, until: pd.Period | None = None
) -> tuple[IntArray, pd.PeriodIndex]:
    """Step number of each local (naive) timestamp, counted from the first step, and the steps' periods
    (through ``until`` when given: a forecast for a step after the data sees the quiet steps as zeros)."""
    ordinals = local.dt.to_period(FREQ[step]).array.asi8.astype(np.int64)
    first, last = int(ordinals.min()), int(ordinals.max())
    if until is not None:
        last = max(last, until.ordinal)
    periods = pd.period_range(pd.Period(ordinal=first, freq=FREQ[step]), periods=last - first + 1)
    return ordinals - first, periods


def step_counts(
    position: IntArray,
    local: pd.Series,
    weight: FloatArray,
    n_cells: int,
    step: Step,
    xy: FloatArray,
    ring: sp.csr_matrix,
    until: pd.Period | None = None,
) -> StepCounts:
    """Count reports (lattice position, local time, weight × severity) into a :class:`StepCounts`."""
    steps, periods = step_index(local, step, until)
    shape = (n_cells, periods.size)
    counts = sp.csr_matrix((np.ones(position.size), (position, steps)), shape=shape, dtype=np.float64)
    weighted = sp.csr_matrix((weight, (position, steps)), shape=shape, dtype=np.float64)
    counts.sum_duplicates()
    weighted.sum_duplicates()
    return StepCounts(counts, periods, step, xy, ring, weighted)
