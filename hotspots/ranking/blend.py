"""The ranking in force is a blend of the best candidates on the evidence, not the single best.

When candidates are close, which one leads over a half-year of sparse steps is largely noise, and a single
pick follows that noise (on the sparse demo the best at 5 % is ~2 % behind the best at 1 %). Averaging the
two best forecasts keeps what they agree on and damps what only one of them sees, the usual reason a
forecast combination generalises better than the choice between its members. Each member's scores are
put on one scale first: divided by the mean of its top ``SCALE_SHARE`` of cells (the size of a patrol
list), so cells with no risk stay at 0 and a place's blended score is still a sum over its cells.

A blend is named by its members joined with ``+`` (``naive_52+kde_150m_52``); a single name is a blend of
one, so choices stored before blending still rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotspots.ranking.steps import FloatArray, IntArray

#: Candidates blended into the ranking in force (the best ones by the selection's merit).
SIZE = 2
#: Share of cells whose mean score sets each member's scale.
SCALE_SHARE = 0.05
SEPARATOR = "+"


def leaders(merit: FloatArray) -> IntArray:
    """Indices of the ``SIZE`` best by ``merit`` (ties to the earlier, simpler candidate), in the
    candidates' order, so a blend has one name whichever of its members leads."""
    return np.sort(np.argsort(-merit, kind="stable")[:SIZE]).astype(np.int64)


def name(members: Sequence[str]) -> str:
    """The blend's name: its members joined with ``+``."""
    return SEPARATOR.join(members)


def members(blend_name: str) -> list[str]:
    """The candidates a stored name blends (one for a plain candidate)."""
    return blend_name.split(SEPARATOR)


def scaled(scores: FloatArray) -> FloatArray:
    """(cells × origins) scores divided, per origin, by the mean of the top ``SCALE_SHARE`` of cells."""
    n = scores.shape[0]
    top = max(1, round(SCALE_SHARE * n))
    scale = np.partition(scores, n - top, axis=0)[n - top :].mean(axis=0)
    return np.divide(scores, scale, out=np.zeros_like(scores), where=scale > 0)


def blend(parts: Sequence[FloatArray]) -> FloatArray:
    """The mean of the members' scaled (cells × origins) scores."""
    return np.asarray(sum(scaled(p) for p in parts) / len(parts))
