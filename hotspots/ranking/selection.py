"""Choosing a ranking by evidence: rolling-origin evaluation, and a nested choice that never peeks.

Every candidate ranks the cells at every origin; each ranking is scored on its own step at 1, 5 and 10 %
of the cells (ties at the cut count pro rata). The choice for origin t is the candidate with the best
mean PEI at 1 % and 5 % (pooled over the ``lookback`` origins before t: hits / most reports any selection
of that size could have caught), so the figures of the selected ranking are as out of sample as the
candidates' own. Ties go to the candidate listed first (the simpler one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hotspots.ranking.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, StepCounts

COVERAGES = (0.01, 0.05, 0.10)
#: Coverages the choice is made on (the ones a field team can patrol).
SELECT_ON = (0.01, 0.05)


@dataclass(frozen=True)
class Captured:
    """Per origin and coverage: reports caught (``hits``), caught by the best possible pick, and all."""

    hits: FloatArray  # (origins, coverages)
    best: FloatArray  # (origins, coverages)
    reports: FloatArray  # (origins,)
    selected: IntArray  # (coverages,) cells in each selection


def captured(scores: FloatArray, outcome: FloatArray, coverages: Sequence[float] = COVERAGES) -> Captured:
    """Score a (cells × origins) ranking against the (cells × origins) outcome at each coverage."""
    n = scores.shape[0]
    k_all = np.array([min(n, max(1, round(c * n))) for c in coverages])
    # rows are origins, so partitions run on contiguous memory; a score a method could not give ranks last
    by_origin = np.nan_to_num(np.ascontiguousarray(scores.T), nan=-np.inf)
    happened = np.ascontiguousarray(outcome.T)
    ordered = np.partition(by_origin, n - k_all, axis=1)  # ordered[:, n - k]: the k-th largest
    busiest = np.sort(np.partition(happened, n - k_all.max(), axis=1)[:, n - k_all.max() :], axis=1)
    top_cum = np.cumsum(busiest[:, ::-1], axis=1)
    hits = np.empty((scores.shape[1], k_all.size))
    best = np.empty_like(hits)
    for j, k in enumerate(k_all.tolist()):
        threshold = ordered[:, n - k : n - k + 1]
        above = by_origin > threshold
        tied = by_origin == threshold
        slots = k - above.sum(axis=1)
        caught_above = np.where(above, happened, 0.0).sum(axis=1)
        caught_tied = np.where(tied, happened, 0.0).sum(axis=1)
        hits[:, j] = caught_above + slots / tied.sum(axis=1) * caught_tied
        best[:, j] = top_cum[:, k - 1]
    return Captured(hits, best, happened.sum(axis=1), k_all)


@dataclass(frozen=True)
class Evaluation:
    """Every candidate scored at every origin: ``hits[c]`` is candidate c's (origins, coverages) catch."""

    names: list[str]
    hits: FloatArray  # (candidates, origins, coverages)
    best: FloatArray  # (origins, coverages)
    reports: FloatArray  # (origins,)
    selected: IntArray
    cells: int

    def merit(self, first: int, stop: int) -> FloatArray:
        """Per candidate: mean pooled PEI at :data:`SELECT_ON` over origins ``[first, stop)``."""
        columns = [COVERAGES.index(c) for c in SELECT_ON]
        hits = self.hits[:, first:stop, :][:, :, columns].sum(axis=1)
        best = self.best[first:stop, columns].sum(axis=0)
        return np.asarray((hits / np.maximum(best, 1e-12)).mean(axis=1))

    def choose(self, stop: int, lookback: int) -> int:
        """The candidate in force at origin ``stop``: the best on the ``lookback`` origins before it."""
        return int(np.argmax(self.merit(max(0, stop - lookback), stop)))

    def nested(self, first_test: int, lookback: int) -> IntArray:
        """Candidate chosen for each origin from ``first_test`` on, each only on earlier origins."""
        return np.array([self.choose(t, lookback) for t in range(first_test, self.hits.shape[1])])


def evaluate(data: StepCounts, candidates: Sequence[Candidate], origins: IntArray) -> Evaluation:
    """Rank with every candidate at every origin and score each ranking on its step."""
    outcome = data.outcome(origins)
    parts = [captured(candidate.rank(data, origins), outcome) for candidate in candidates]
    return Evaluation(
        names=[c.name for c in candidates],
        hits=np.stack([p.hits for p in parts]),
        best=parts[0].best,
        reports=parts[0].reports,
        selected=parts[0].selected,
        cells=data.cells,
    )
