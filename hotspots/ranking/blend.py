"""The ranking in force: blends of the best candidates on the evidence, one per tier of the list.

When candidates are close, which one leads over a half-year of sparse steps is largely noise, and a single
pick follows that noise. Averaging the best few forecasts keeps what they agree on and damps what only one
of them sees, the usual reason a forecast combination generalises better than the choice between its
members. And on sparse data the candidates best at the head of the list (1 % of the cells: a few dozen
places) are not the ones best at 5 % (concentrated counts against smoothed densities), so each tier of
the list comes from its own blend: the top 1 % of cells from the ``SIZE`` candidates that caught most at
1 %, the rest from those that caught most at 5 % (the coverages of
:data:`hotspots.ranking.selection.SELECT_ON`).

Each member's scores are put on one scale first: divided by the mean of its top ``SCALE_SHARE`` of cells
(the size of a patrol list), so cells with no risk stay at 0. A tier's cells score ``2 × level + blend /
max blend`` (the head's level highest), so every head cell ranks above the rest and keeps its own order.

A choice is named by its tiers joined with `` / ``, each tier's members (in the candidates' order) with
``+``: ``naive_52+decayed_52w+kde_150m_52 / decayed_52w+kde_150m_52+kde_250m_52``. A plain candidate's name
is a one-tier blend of one, so choices stored before blending still rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotspots.ranking.steps import FloatArray, IntArray

#: Candidates blended in each tier (the best ones at that tier's coverage).
SIZE = 3
#: Share of cells whose mean score sets each member's scale.
SCALE_SHARE = 0.05
MEMBERS = "+"
TIERS = " / "


def leaders(merit: FloatArray) -> IntArray:
    """Indices of the ``SIZE`` best by ``merit`` (ties to the earlier, simpler candidate), in the
    candidates' order, so a blend has one name whichever of its members leads."""
    return np.sort(np.argsort(-merit, kind="stable")[:SIZE]).astype(np.int64)


def name(tiers: Sequence[Sequence[str]]) -> str:
    """The choice's name from each tier's member names."""
    return TIERS.join(MEMBERS.join(members) for members in tiers)


def tiers(choice_name: str) -> list[list[str]]:
    """Each tier's member names of a stored choice (one tier of one for a plain candidate)."""
    return [tier.split(MEMBERS) for tier in choice_name.split(TIERS)]


def scaled(scores: FloatArray) -> FloatArray:
    """(cells × origins) scores divided, per origin, by the mean of the top ``SCALE_SHARE`` of cells."""
    n = scores.shape[0]
    top = max(1, round(SCALE_SHARE * n))
    scale = np.partition(scores, n - top, axis=0)[n - top :].mean(axis=0)
    return np.divide(scores, scale, out=np.zeros_like(scores), where=scale > 0)


def blend(parts: Sequence[FloatArray]) -> FloatArray:
    """The mean of the members' scaled (cells × origins) scores."""
    return np.asarray(sum(scaled(p) for p in parts) / len(parts))


def tiered(blends: Sequence[FloatArray], sizes: Sequence[int]) -> FloatArray:
    """One (cells × origins) ranking from the tiers' blends, head first: the top ``sizes[j]`` cells of tier
    j's blend not in an earlier tier (ties at the cut all in, cells without risk never), the rest by the
    last tier's blend."""
    levels = len(blends)
    peak = [np.maximum(b.max(axis=0), 1e-300) for b in blends]
    score = blends[-1] / peak[-1]
    placed = np.zeros(blends[-1].shape, dtype=bool)
    for j, (tier, k) in enumerate(zip(blends[:-1], sizes[: levels - 1], strict=True)):
        n = tier.shape[0]
        cut = np.partition(tier, n - k, axis=0)[n - k]
        head = (tier >= cut) & (tier > 0) & ~placed
        score = np.where(head, 2.0 * (levels - 1 - j) + tier / peak[j], score)
        placed |= head
    return np.asarray(score)
