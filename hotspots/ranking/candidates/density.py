"""Kernel density of the recent reports (the map's heat layer) at several bandwidths and windows.

Quartic kernel on the reports' cell centres; a wider kernel trades sharpness for stability, which pays on
sparse data where the next report rarely falls in the very cell of the last one.
"""

from __future__ import annotations

from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, Step, StepCounts

BANDWIDTHS_M = (150.0, 250.0, 400.0, 600.0)
#: History windows in steps: about a month, a quarter and a year.
WINDOWS: dict[str, tuple[int, ...]] = {"week": (4, 13, 52), "month": (1, 3, 12)}


def density(bandwidth_m: float, window: int) -> Candidate:
    def rank(data: StepCounts, origins: IntArray) -> FloatArray:
        return data.kernel("quartic", bandwidth_m) @ data.window(origins, window)

    name = f"kde_{bandwidth_m:.0f}m_{window}"
    return Candidate(name, "kde", rank, {"bandwidth_m": bandwidth_m, "window": window})


def candidates(step: Step) -> list[Candidate]:
    return [density(b, w) for w in WINDOWS[step] for b in BANDWIDTHS_M]
