"""Choosing a ranking by evidence: rolling-origin evaluation, and a nested choice that never peeks.

Every candidate ranks the cells at every origin; each ranking is scored on its own step at 1, 5 and 10 %
of the cells (ties at the cut count pro rata). The choice for origin t is, for each coverage of
:data:`SELECT_ON`, the blend (:mod:`hotspots.ranking.blend`) of the ``blend.SIZE`` candidates with the
best PEI at that coverage (pooled over the ``lookback`` origins before t: hits / most reports any
selection of that size could have caught), so the figures of the selected ranking are as out of sample as
the candidates' own. Ties go to the candidate listed first (the simpler one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hotspots.ranking import blend
from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, StepCounts

COVERAGES = (0.01, 0.05, 0.10)
#: Coverages the choice is made on (the ones a field team can patrol).
SELECT_ON = (0.01, 0.05)
SELECTED = [COVERAGES.index(c) for c in SELECT_ON]


@dataclass(frozen=True)
class Captured:
    """Per origin and coverage: reports caught (``hits``), caught by the best possible pick, and all."""

    hits: FloatArray  # (origins, coverages)
    best: FloatArray  # (origins, coverages)
    reports: FloatArray  # (origins,)
    selected: IntArray  # (coverages,) cells in each selection


def selected_cells(n: int, coverages: Sequence[float] = COVERAGES) -> IntArray:
    """Cells in a selection of each coverage of an n-cell lattice (at least one)."""
    return np.array([min(n, max(1, round(c * n))) for c in coverages], dtype=np.int64)


def best_possible(outcome: FloatArray, selected: IntArray) -> FloatArray:
    """(origins, coverages): reports in each step's ``selected[j]`` busiest cells (PEI's denominator)."""
    n = outcome.shape[0]
    top = int(selected.max())
    happened = np.ascontiguousarray(outcome.T)
    busiest = np.sort(np.partition(happened, n - top, axis=1)[:, n - top :], axis=1)[:, ::-1]
    return np.cumsum(busiest, axis=1)[:, selected - 1]


def captured(
    scores: FloatArray,
    outcome: FloatArray,
    coverages: Sequence[float] = COVERAGES,
    best: FloatArray | None = None,
) -> Captured:
    """Score a (cells × origins) ranking against the (cells × origins) outcome at each coverage.

    Only the thresholds need the whole score matrix; the catch is read at the few cells with reports
    (outcomes are sparse), which keeps this cheap enough to score dozens of candidates per step."""
    n = scores.shape[0]
    k_all = selected_cells(n, coverages)
    by_origin = np.ascontiguousarray(scores.T)  # rows are origins: partitions run on contiguous memory
    thresholds = np.partition(by_origin, n - k_all, axis=1)[
        :, n - k_all
    ]  # (origins, coverages): k-th largest
    cell, origin = np.nonzero(outcome)
    reports = outcome[cell, origin]
    at_reports = scores[cell, origin]
    hits = np.empty((scores.shape[1], k_all.size))
    for j, k in enumerate(k_all.tolist()):
        threshold = thresholds[:, j]
        above = (by_origin > threshold[:, None]).sum(axis=1)
        tied = (by_origin == threshold[:, None]).sum(axis=1)
        level = threshold[origin]
        caught_above = np.bincount(origin, weights=reports * (at_reports > level), minlength=hits.shape[0])
        caught_tied = np.bincount(origin, weights=reports * (at_reports == level), minlength=hits.shape[0])
        hits[:, j] = caught_above + (k - above) / tied * caught_tied
    if best is None:
        best = best_possible(outcome, k_all)
    return Captured(hits, best, outcome.sum(axis=0), k_all)


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
        """(candidates, :data:`SELECT_ON`): pooled PEI at each coverage over origins ``[first, stop)``."""
        return pooled_pei(self.hits[:, first:stop, :][:, :, SELECTED], self.best[first:stop, SELECTED])

    def choose(self, stop: int, lookback: int) -> IntArray:
        """(tiers, members): the blends in force at origin ``stop``, chosen on the ``lookback`` origins
        before it."""
        return choose_tiers(self.merit(max(0, stop - lookback), stop))

    def nested(self, first_test: int, lookback: int) -> IntArray:
        """(origins, tiers, members): the blends chosen for each origin from ``first_test`` on, each only
        on earlier origins."""
        return np.array([self.choose(t, lookback) for t in range(first_test, self.hits.shape[1])])

    def blend_name(self, chosen: IntArray) -> str:
        return blend.name([[self.names[c] for c in tier] for tier in chosen.tolist()])


def pooled_pei(hits: FloatArray, best: FloatArray) -> FloatArray:
    """(candidates, coverages) PEI from (candidates, origins, coverages) hits and (origins, coverages)
    best possible catches, pooled over the origins."""
    return np.asarray(hits.sum(axis=1) / np.maximum(best.sum(axis=0), 1e-12))


def choose_tiers(merit: FloatArray) -> IntArray:
    """(tiers, members): each :data:`SELECT_ON` coverage's leaders by their (candidates, coverages) merit."""
    return np.stack([blend.leaders(merit[:, j]) for j in range(merit.shape[1])])


def evaluate(data: StepCounts, candidates: Sequence[Candidate], origins: IntArray) -> Evaluation:
    """Rank with every candidate at every origin and score each ranking on its step."""
    outcome = data.outcome(origins)
    best = best_possible(outcome, selected_cells(data.cells))
    parts = [captured(candidate.rank(data, origins), outcome, best=best) for candidate in candidates]
    return Evaluation(
        names=[c.name for c in candidates],
        hits=np.stack([p.hits for p in parts]),
        best=parts[0].best,
        reports=parts[0].reports,
        selected=parts[0].selected,
        cells=data.cells,
    )


def blended(
    data: StepCounts, candidates: Sequence[Candidate], origins: IntArray, chosen: IntArray
) -> Captured:
    """Score, at each origin j, the tiered blend ``chosen[j]`` ((tiers, members) indices into
    ``candidates``).

    The members are ranked again at the origins they are blended at only (a candidate's forecast for a
    step depends on that step alone), so no score matrix of every candidate is kept."""
    tiers = np.zeros((chosen.shape[1], data.cells, origins.size))
    for c in np.unique(chosen).tolist():
        used = np.flatnonzero((chosen == c).any(axis=(1, 2)))
        part = blend.scaled(candidates[c].rank(data, origins[used]))
        for tier in range(chosen.shape[1]):
            where = (chosen[used, tier] == c).any(axis=1)
            tiers[tier][:, used[where]] += part[:, where]
    ranking = blend.tiered(list(tiers / chosen.shape[2]), selected_cells(data.cells, SELECT_ON).tolist())
    return captured(ranking, data.outcome(origins))
