"""The priority score: how much a lattice cell calls for action, as weight-free terms and their weights.

Score (per cell, then summed over a place's cells)::

    s_i     = I_i * sev_i                                   severity-weighted recent intensity
    base_i  = s_i + w_n * mean_{j in N(i), j != i} s_j     plus the k-ring neighbours' mean
    score_i = base_i * (1 + w_g * max(Gi_Bin_i, 0) / 3     significant hot spot (99 % -> full bonus)
                          + w_e * E_i                       emerging: 1 new/consecutive/intensifying hot,
                                                            0.5 persistent/sporadic/oscillating hot, else 0
                          + w_r * 0.5 ** weeks_i)           recency: weeks since the cell's last report

``I_i`` is the time-decayed intensity of the window (each report's weight halves every 14 days),
``sev_i`` the mean category severity (data/taxonomy.toml) of the cell's reports in the window, ``N(i)`` the
Gi* neighbourhood (k-ring). The score is in "recent observed-dealing report equivalents": a place with
score 10 has about as much recent weighted activity as ten fresh observed-dealing reports, with bonuses.
The weights ``w_n, w_g, w_e, w_r`` are settings (``HOTSPOTS_SCORE_WEIGHT_*``); their defaults were
tuned on the demo data: w_n = 4 and w_g = w_e = w_r = 0 (the bonuses changed the mean PEI there by less
than 0.001). This score ranks the list until a ranking is chosen by evidence on the deployment's own data
(``hotspots backtest --select``, :mod:`hotspots.ranking`); it is the candidate ``weighted_score`` there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from hotspots.analysis.compute import Analysis
from hotspots.config import Settings, Taxonomy
from hotspots.stats.emerging import trailing_run

FloatArray = npt.NDArray[np.float64]

#: Emerging-hotspot categories that raise a place's priority, and by how much (E_i in the score).
EMERGING_BONUS: dict[str, float] = {
    "new_hot": 1.0,
    "consecutive_hot": 1.0,
    "intensifying_hot": 1.0,
    "persistent_hot": 0.5,
    "sporadic_hot": 0.5,
    "oscillating_hot": 0.5,
}


@dataclass(frozen=True)
class ScoreWeights:
    """The weights of the priority score (module docstring); the defaults live in the settings."""

    neighbours: float
    significance: float
    emerging: float
    recency: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoreWeights:
        return cls(
            neighbours=settings.score_weight_neighbours,
            significance=settings.score_weight_significance,
            emerging=settings.score_weight_emerging,
            recency=settings.score_weight_recency,
        )


def mean_severity(by_category: pd.DataFrame, n_cells: int, taxonomy: Taxonomy) -> FloatArray:
    """Mean category severity of each cell's reports (rows = lattice positions); 0 where there are none."""
    severity = {t.id: t.severity for t in taxonomy.categories}
    counts = by_category.reindex(index=range(n_cells), fill_value=0)
    weights = np.array([severity.get(str(c), 1.0) for c in counts.columns], dtype=np.float64)
    matrix = counts.to_numpy(dtype=np.float64)
    total = matrix.sum(axis=1)
    return np.divide(matrix @ weights, total, out=np.zeros(n_cells), where=total > 0)


class ScoreTerms(NamedTuple):
    """The weight-free terms of the score per cell, so many weightings can be tried cheaply (backtest)."""

    own: FloatArray  # s_i
    neighbours: FloatArray  # mean of s_j over the k-ring without i
    significance: FloatArray  # max(Gi_Bin, 0) / 3
    emerging: FloatArray  # E_i
    recency: FloatArray  # 0.5 ** weeks since the last report

    def combine(self, weights: ScoreWeights) -> FloatArray:
        """The score for one set of weights (module docstring)."""
        factor = (
            1.0
            + weights.significance * self.significance
            + weights.emerging * self.emerging
            + weights.recency * self.recency
        )
        return (self.own + weights.neighbours * self.neighbours) * factor


def score_terms(
    intensity: npt.ArrayLike,
    severity: FloatArray,
    weights: sp.csr_matrix,
    gi_bin: npt.NDArray[np.integer],
    emerging: npt.ArrayLike,
    weeks_since_report: npt.NDArray[np.floating],
) -> ScoreTerms:
    """The score's terms for every lattice cell, vectorised.

    ``weights`` is the k-ring matrix with self-weights (``Lattice.weights``); ``weeks_since_report`` is
    0 for a report in the current week and ``inf`` for a cell without reports.
    """
    own = np.asarray(intensity, dtype=np.float64) * severity
    neighbours = np.asarray(weights.sum(axis=1)).ravel() - 1.0
    lag = np.asarray(weights @ own).ravel() - own
    codes, inverse = np.unique(np.asarray(emerging, dtype=str), return_inverse=True)
    bonus = np.array([EMERGING_BONUS.get(str(code), 0.0) for code in codes])[inverse]
    return ScoreTerms(
        own=own,
        neighbours=np.divide(lag, neighbours, out=np.zeros_like(own), where=neighbours > 0),
        significance=np.clip(gi_bin, 0, 3).astype(np.float64) / 3.0,
        emerging=bonus.astype(np.float64),
        recency=np.exp2(-np.asarray(weeks_since_report, dtype=np.float64)),
    )


def weeks_since_report(cube: FloatArray) -> FloatArray:
    """Per cell: whole weeks since the last week with a report in a weekly cube (inf for none)."""
    quiet = trailing_run(cube == 0).astype(np.float64)
    return np.where(quiet >= cube.shape[1], np.inf, quiet)


def analysis_scores(analysis: Analysis, taxonomy: Taxonomy, score_weights: ScoreWeights) -> FloatArray:
    """The priority score of every lattice cell of an analysis."""
    n = analysis.lattice.cells.size
    return score_terms(
        analysis.intensity,
        mean_severity(analysis.by_category, n, taxonomy),
        analysis.lattice.weights,
        analysis.gi.gi_bin,
        analysis.emerging.category,
        weeks_since_report(analysis.cube),
    ).combine(score_weights)
