"""Naive forecasts: a cell's reports over the last k steps (k = 1 is "same as last week").

The strongest simple baseline on real crime data is rarely the last step alone: counts over a quarter or
a year average out the noise of sparse cells (Toronto weekly: 4 weeks beat 1 week by a third in PAI at 1 %).
"""

from __future__ import annotations

from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, Step, StepCounts

HORIZONS: dict[str, tuple[int, ...]] = {"week": (1, 4, 13, 26, 52), "month": (1, 3, 6, 12, 24)}


def naive(horizon: int) -> Candidate:
    def rank(data: StepCounts, origins: IntArray) -> FloatArray:
        return data.window(origins, horizon)

    return Candidate(f"naive_{horizon}", "naive", rank, {"horizon": horizon})


def candidates(step: Step) -> list[Candidate]:
    return [naive(k) for k in HORIZONS[step]]
