"""What a ranking candidate is: a name, a family, the settings it was built with, and a vectorised ranker.

A ranker maps the history and an array of origins to a (cells × origins) score matrix, using for origin
t nothing from step t or later (candidates that fit parameters fit them on earlier steps only), so every
score it returns is a forecast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotspots.ranking.steps import FloatArray, IntArray, StepCounts

Ranker = Callable[[StepCounts, IntArray], FloatArray]


@dataclass(frozen=True)
class Candidate:
    """One configuration of one ranking method (``naive_4``, ``kde_250m_13``, ``sepp`` …)."""

    name: str
    family: str
    rank: Ranker = field(repr=False, compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)
