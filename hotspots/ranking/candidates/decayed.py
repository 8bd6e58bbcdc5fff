"""Exponentially decayed counts: every report of the last three years counts, the recent ones more.

On real data the long-run concentration of crime at places outweighs a week's noise (Toronto: counts over
52 weeks beat counts over 4 by a quarter in PAI at 1 %), but a hard window counts a report of 51 weeks ago
as much as last week's and drops it a week later. A half-life of a quarter, half a year or a year weighs
both ends smoothly; the year's, smoothed by a 150 m quartic kernel, suits reports that scatter around a
place rather than repeat in one cell.
"""

from __future__ import annotations

from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, Step, StepCounts

HALF_LIVES_WEEKS = (13.0, 26.0, 52.0)
HISTORY_WEEKS = 156.0
#: (bandwidth in metres, half-life in weeks) of the smoothed variant.
SMOOTHED = (150.0, 52.0)


def decayed(half_life_weeks: float, bandwidth_m: float | None = None) -> Candidate:
    def rank(data: StepCounts, origins: IntArray) -> FloatArray:
        per_step = data.weeks_per_step
        # a report in the step just before the origin is on average half a step old
        counts = data.filtered(
            data.counts,
            origins,
            lambda lag: 0.5 ** ((lag + 0.5) * per_step / half_life_weeks),
            max(1, round(HISTORY_WEEKS / per_step)),
        )
        return counts if bandwidth_m is None else data.kernel("quartic", bandwidth_m) @ counts

    name = f"decayed_{half_life_weeks:.0f}w"
    params: dict[str, float] = {"half_life_weeks": half_life_weeks}
    if bandwidth_m is not None:
        name, params = f"kde_{bandwidth_m:.0f}m_{name}", params | {"bandwidth_m": bandwidth_m}
    return Candidate(name, "decayed", rank, params)


def candidates(step: Step) -> list[Candidate]:
    del step  # half-lives are in weeks whatever the step
    return [decayed(h) for h in HALF_LIVES_WEEKS] + [decayed(SMOOTHED[1], SMOOTHED[0])]
