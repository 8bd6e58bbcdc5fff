"""Prospective hotspotting (Bowers, Johnson & Pease 2004) at several decay settings.

Each past report adds ``1 / (1 + cells away) × 1 / (1 + weeks ago / tau)`` to the cells within the
bandwidth: risk spreads to near places and fades with time. Bowers et al. used tau = 1 week over two
months; slower decays (tau of a month or a quarter, a year of history) suit sparser data.
"""

from __future__ import annotations

from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, Step, StepCounts

BANDWIDTHS_M = (250.0, 400.0)
DECAY_WEEKS = (1.0, 4.0, 13.0)
HISTORY_WEEKS = 52.0


def prospective(bandwidth_m: float, tau_weeks: float) -> Candidate:
    def rank(data: StepCounts, origins: IntArray) -> FloatArray:
        per_step = data.weeks_per_step
        lags = max(1, round(HISTORY_WEEKS / per_step))
        # a report in the step just before the origin is on average half a step old
        recent = data.filtered(
            data.counts, origins, lambda lag: 1.0 / (1.0 + (lag + 0.5) * per_step / tau_weeks), lags
        )
        return data.kernel("inverse_steps", bandwidth_m) @ recent

    name = f"prospective_{bandwidth_m:.0f}m_{tau_weeks:.0f}w"
    return Candidate(name, "prospective", rank, {"bandwidth_m": bandwidth_m, "tau_weeks": tau_weeks})


def candidates(step: Step) -> list[Candidate]:
    del step  # decays are in weeks whatever the step
    return [prospective(b, t) for t in DECAY_WEEKS for b in BANDWIDTHS_M]
