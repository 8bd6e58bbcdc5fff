"""Where the list stops: where the evidence stops.

A sparse window has thousands of cells with one report; any background cell could have them, so a list
that keeps going after its real places is a tail of chance. A place (k cells, s reports in the window)
is listed when one of its cells is a significant Gi* hot spot, or when fewer than one of the lattice's N
cells would reach its count by chance: P(S_k >= s) < 1/N under the count model of the analysis' own
lattice (Poisson, or negative binomial when the counts are overdispersed:
:func:`hotspots.stats.inference.count_null`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hotspots.stats.inference import count_null


@dataclass(frozen=True)
class EvidenceRule:
    """The rule a list was cut by, for its JSON and its page: what a one-cell place needs."""

    model: str
    lattice_cells: int
    min_reports_one_cell: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": "significant Gi* hot spot, or P(reports >= s | count model of the lattice) < 1/cells",
            "model": self.model,
            "lattice_cells": self.lattice_cells,
            "min_reports_one_cell": self.min_reports_one_cell,
        }


def above_chance(
    reports: npt.NDArray[np.int64],
    n_cells: npt.NDArray[np.int64],
    hot: npt.NDArray[np.bool_],
    lattice_counts: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.bool_], EvidenceRule]:
    """Which places (their ``reports``, ``n_cells`` and whether one cell is ``hot``) are listed, and the
    rule; ``lattice_counts`` are the window's reports in every cell of the analysis' lattice."""
    counts: npt.NDArray[np.float64] = np.round(np.asarray(lattice_counts, dtype=np.float64)).astype(
        np.float64
    )
    level = 1.0 / max(counts.size, 1)
    null, model = count_null(np.asarray(n_cells, dtype=np.float64), counts)
    keep = np.asarray(hot, dtype=bool) | (null.sf(np.asarray(reports, dtype=np.float64) - 1.0) < level)
    one, _ = count_null(np.ones(1), counts)
    below = np.arange(int(one.isf(level)[0]) + 2)
    needed = int(below[np.argmax(one.sf(below) < level)]) + 1  # smallest s with P(S_1 >= s) < level
    return keep, EvidenceRule(model, int(counts.size), needed)
