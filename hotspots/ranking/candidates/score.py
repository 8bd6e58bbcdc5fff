"""The priority score as it was before selection: 14-day half-life intensity plus neighbours × 4.

``s_i`` = sum of report weight × category severity × 0.5 ** (age / 14 days) over the last 28 days (91 for
monthly steps), and the score is ``s_i + 4 × mean of s_j over the k-ring``. Ages are taken at the middle of
their step. The significance, emerging and recency bonuses are 0 by default and are not part of this
candidate (a partnership that raises them sees their effect in ``hotspots backtest --tune``).
"""

from __future__ import annotations

import numpy as np

from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, Step, StepCounts

HALF_LIFE_DAYS = 14.0
NEIGHBOURS_WEIGHT = 4.0
WINDOW_DAYS: dict[str, float] = {"week": 28.0, "month": 91.0}


def weighted_score(
    half_life_days: float = HALF_LIFE_DAYS, neighbours: float = NEIGHBOURS_WEIGHT
) -> Candidate:
    def rank(data: StepCounts, origins: IntArray) -> FloatArray:
        step_days = 7.0 * data.weeks_per_step
        lags = max(1, round(WINDOW_DAYS[data.step] / step_days))
        own = data.filtered(
            data.weighted, origins, lambda lag: 0.5 ** ((lag + 0.5) * step_days / half_life_days), lags
        )
        ring_size = np.asarray(data.ring.sum(axis=1)).ravel()
        mean = np.divide(
            data.ring @ own, ring_size[:, None], out=np.zeros_like(own), where=ring_size[:, None] > 0
        )
        return own + neighbours * mean

    params = {"half_life_days": half_life_days, "neighbours": neighbours}
    return Candidate("weighted_score", "score", rank, params)


def candidates(step: Step) -> list[Candidate]:
    del step
    return [weighted_score()]
