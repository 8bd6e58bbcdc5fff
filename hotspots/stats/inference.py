"""Inference shared by the local statistics: conditional randomisation, Benjamini-Hochberg, confidence bins.

Conditional randomisation (Anselin 1995) holds cell i's value fixed and redistributes the other n - 1
values over its neighbours. Gi* and Local Moran are both monotone in the neighbour sum
``sum_{j != i} w_ij y_j`` once y_i is fixed, so the engine here randomises that sum only and reports how
many reference sums lie at or above / at or below the observed one (:class:`Tails`).

Speed. When every row's off-diagonal weights are equal (binary contiguity, or binary row-standardised) the
neighbour sum is c_i times the sum of k_i values drawn without replacement from the other cells. For each
cardinality k one shared set of ``permutations`` draws of k + 1 distinct cells S_p is made; for cell i the
draw is "the first k of S_p", or "S_p without i" when i is in S_p. Both are uniform k-subsets of the
cells other than i, so every cell gets an exact conditional-randomisation reference distribution, yet the
draws are shared: a cell is compared with one sorted array of sums, and only the ~(k + 1) * permutations / n
draws that contain it are corrected. This needs neither per-cell draws nor few distinct values (it is exact
for continuous intensities too); like esda, which also reuses one set of random neighbour ids for all
cells, the reference distributions of different cells share their draws. Unequal weights (e.g. distance
decay) use the same shared draws, with each cell's weighted sums computed as one matrix product.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from hotspots.stats.weights import FloatArray

IntArray = npt.NDArray[np.int64]

PERMUTATIONS = 999
"""Default number of conditional randomisations (esda and ArcGIS use 999: smallest pseudo p 0.001)."""

CONFIDENCE_LEVELS: tuple[tuple[int, float], ...] = ((3, 0.01), (2, 0.05), (1, 0.10))
"""(bin, significance level) as in ArcGIS's Gi_Bin: ±3 at 99 %, ±2 at 95 %, ±1 at 90 % confidence."""

DISPERSION_QUANTILE = 0.99
"""The count model's dispersion is estimated on the cells up to this quantile of the counts."""

SPARSE_EXPECTED = 5.0
"""Expected reports per neighbourhood below which counts are "sparse" (the usual rule for when a Poisson
count is far from normal)."""

_CHUNK_ELEMENTS = 1 << 22
"""Reference sums or random keys held in memory at once (~32 MB of float64)."""


class Tails(NamedTuple):
    """How many of ``permutations`` reference statistics lie at or above / at or below each observed one."""

    at_least: IntArray
    at_most: IntArray
    permutations: int

    def two_sided(self) -> FloatArray:
        """Two-sided pseudo p: ``min(1, 2 (min(at_least, at_most) + 1) / (permutations + 1))``.

        Ties count in both tails, so discrete (count) data is not called significant because many
        reference sums equal the observed one. Without ties this is exactly twice esda's ``p_sim``.
        """
        extreme = np.minimum(self.at_least, self.at_most)
        return np.minimum(1.0, 2.0 * (extreme + 1.0) / (self.permutations + 1.0))

    def folded(self) -> FloatArray:
        """esda's (directed) ``p_sim``: ``(min(at_least, permutations - at_least) + 1) / (permutations + 1)``.

        One-sided in whichever direction the observation leans; ties count only for the upper tail, which
        makes an all-zero neighbourhood in sparse count data look like a significant cold spot.
        """
        extreme = np.minimum(self.at_least, self.permutations - self.at_least)
        return (extreme + 1.0) / (self.permutations + 1.0)

    def oriented(self, sign: npt.NDArray[np.float64]) -> Tails:
        """Tails of ``sign * neighbour_sum`` (Local Moran flips with the sign of z_i; sign 0 ties every draw)."""
        at_least = np.where(sign > 0, self.at_least, np.where(sign < 0, self.at_most, self.permutations))
        at_most = np.where(sign > 0, self.at_most, np.where(sign < 0, self.at_least, self.permutations))
        return Tails(at_least, at_most, self.permutations)


def conditional_randomisation(
    y: FloatArray, w: sp.csr_matrix, permutations: int, rng: np.random.Generator
) -> Tails:
    """Tails of each cell's neighbour sum ``sum_{j != i} w_ij y_j`` under conditional randomisation.

    ``w`` must be canonical CSR (see :func:`hotspots.stats.weights.as_weights`); its diagonal is ignored.
    """
    if permutations < 1:
        raise ValueError(f"permutations must be positive, got {permutations}")
    others = w.copy()
    others.setdiag(0)
    others.eliminate_zeros()
    cardinality = np.diff(others.indptr)
    equal_in_row = bool((others.data == others.data[np.repeat(others.indptr[:-1], cardinality)]).all())
    # Equal weights within a row only scale the sum: randomise the plain sum, which all cells can share.
    weights = np.ones(others.nnz) if equal_in_row else others.data
    observed = sp.csr_matrix((weights, others.indices, others.indptr), shape=others.shape) @ y
    tolerance = _tie_tolerance(y, weights, int(cardinality.max(initial=0)))
    at_least = np.full(y.size, permutations, dtype=np.int64)  # cells without neighbours: every draw ties
    at_most = np.full(y.size, permutations, dtype=np.int64)
    for k in np.unique(cardinality[cardinality > 0]).tolist():  # a handful of ring sizes, not cells
        members = np.flatnonzero(cardinality == k)
        member_weights = weights[others.indptr[members, None] + np.arange(k)]  # (members, k)
        drawn = _distinct_draws(rng, y.size, permutations, k + 1)  # S_p: (permutations, k + 1) cell ids
        values = y[drawn]
        low, high = observed[members] - tolerance, observed[members] + tolerance
        if equal_in_row:
            ordered = np.sort(values[:, :k].sum(axis=1))
            at_least[members] = permutations - np.searchsorted(ordered, low, side="left")
            at_most[members] = np.searchsorted(ordered, high, side="right")
        else:
            per_chunk = max(1, _CHUNK_ELEMENTS // permutations)
            for start in range(0, members.size, per_chunk):
                part = slice(start, start + per_chunk)
                sums = member_weights[part] @ values[:, :k].T  # (chunk, permutations)
                at_least[members[part]] = (sums >= low[part, None]).sum(axis=1)
                at_most[members[part]] = (sums <= high[part, None]).sum(axis=1)
        _correct_draws_holding_the_cell(drawn, values, members, member_weights, low, high, at_least, at_most)
    return Tails(at_least, at_most, permutations)


def _correct_draws_holding_the_cell(
    drawn: IntArray,
    values: FloatArray,
    members: IntArray,
    member_weights: FloatArray,
    low: FloatArray,
    high: FloatArray,
    at_least: IntArray,
    at_most: IntArray,
) -> None:
    """Where S_p holds member i, i's draw is S_p without i (order kept), not the first k of S_p; fix counts."""
    k = member_weights.shape[1]
    member_index = np.full(at_least.size, -1)
    member_index[members] = np.arange(members.size)
    hit_draw, hit_position = np.nonzero(member_index[drawn] >= 0)
    hit = member_index[drawn[hit_draw, hit_position]]
    columns = np.arange(k) + (np.arange(k) >= hit_position[:, None])  # skip the cell's own position
    own = np.einsum("hk,hk->h", member_weights[hit], values[hit_draw[:, None], columns])
    shared = np.einsum("hk,hk->h", member_weights[hit], values[hit_draw, :k])
    cells = members[hit]
    np.add.at(at_least, cells, (own >= low[hit]).astype(np.int64) - (shared >= low[hit]))
    np.add.at(at_most, cells, (own <= high[hit]).astype(np.int64) - (shared <= high[hit]))


def _tie_tolerance(y: FloatArray, weights: FloatArray, max_card: int) -> float:
    """Sums that differ by less than this are ties (different summation order, not different values)."""
    largest = float(np.abs(y).max(initial=0.0)) * float(weights.max(initial=1.0))
    return 1e-12 * largest * max(max_card, 1)


def _distinct_draws(rng: np.random.Generator, population: int, rows: int, width: int) -> IntArray:
    """``rows`` samples of ``width`` distinct integers from ``range(population)``, as a (rows, width) array."""
    if width > population:
        raise ValueError(f"cannot draw {width} distinct values from {population}")
    if width * width > population:  # duplicates likely: take the ranks of random keys (population is small)
        block = max(1, _CHUNK_ELEMENTS // population)
        parts = []
        for start in range(0, rows, block):
            keys = rng.random((min(block, rows - start), population))
            parts.append(np.argpartition(keys, width - 1, axis=1)[:, :width])
        return np.concatenate(parts).astype(np.int64)
    draws = rng.integers(0, population, size=(rows, width))
    redo = np.arange(rows)
    while redo.size:  # rejection: redraw only the (few) rows that hold a duplicate
        ordered = np.sort(draws[redo], axis=1)
        redo = redo[(ordered[:, 1:] == ordered[:, :-1]).any(axis=1)]
        draws[redo] = rng.integers(0, population, size=(redo.size, width))
    return draws


def poisson_two_sided(observed: npt.ArrayLike, expected: npt.ArrayLike) -> FloatArray:
    """Exact two-sided Poisson p of each observed count: ``min(1, 2 min(P(X >= s), P(X <= s)))``, X ~ Po(mu).

    The reference for sparse counts: a neighbourhood of k cells whose counts are independent Poisson with
    the lattice mean has a Po(k × mean) sum under "no hot spot". Where most cells are zero the normal
    approximation behind z is far too thin-tailed (4 reports in 7 cells at mean 0.055: z = 4.15, p = 3e-5;
    exact one-sided tail 6.6e-4).
    """
    from scipy import stats

    s = np.asarray(observed, dtype=np.float64)
    mu = np.asarray(expected, dtype=np.float64)
    upper = stats.poisson.sf(s - 1.0, mu)
    lower = stats.poisson.cdf(s, mu)
    return np.minimum(1.0, 2.0 * np.minimum(upper, lower))


def count_tail_two_sided(
    observed: npt.ArrayLike, cells: npt.ArrayLike, y: FloatArray
) -> tuple[FloatArray, str]:
    """Exact two-sided p of each neighbourhood sum of ``cells`` whole counts drawn from y's distribution,
    and which count model that was: "poisson", or "negbin" when y is overdispersed (:func:`count_null`)."""
    s = np.asarray(observed, dtype=np.float64)
    null, model = count_null(np.asarray(cells, dtype=np.float64), y)
    upper = null.sf(s - 1.0)
    lower = null.cdf(s)
    return np.minimum(1.0, 2.0 * np.minimum(upper, lower)), model


def count_null(cells: FloatArray, y: FloatArray) -> tuple[Any, str]:
    """The null distribution of a sum of ``cells`` whole counts drawn from y's distribution (a frozen
    scipy distribution, vectorised over ``cells``) and its name: "poisson" or "negbin".

    Crime counts are clustered beyond what one mean explains (variance > mean); a Poisson null then calls
    every busy block a hot spot. The negative binomial (per cell NB(r, p) with y's mean, a sum of k cells
    NB(k r, p)) keeps that spread in the null. Its dispersion r is estimated by moments on the bulk of
    the cells (the busiest ``1 - DISPERSION_QUANTILE`` left out), so a few real hot spots do not widen the
    null enough to hide themselves.
    """
    from scipy import stats

    mean = float(y.mean())
    bulk = y[y <= np.quantile(y, DISPERSION_QUANTILE)] if y.size > 1 else y
    bulk_mean, bulk_variance = float(bulk.mean()), float(bulk.var(ddof=1)) if bulk.size > 1 else 0.0
    if bulk_variance <= bulk_mean * (1.0 + 1e-9):
        return stats.poisson(cells * mean), "poisson"
    r = bulk_mean * bulk_mean / (bulk_variance - bulk_mean)
    return stats.nbinom(cells * r, r / (r + mean)), "negbin"


def is_sparse_counts(y: FloatArray, neighbourhood_size: npt.ArrayLike) -> bool:
    """Whole counts whose typical neighbourhood expects fewer than ``SPARSE_EXPECTED`` reports: then the
    normal approximation of Gi* misjudges the tails and the exact count tail is used instead."""
    if y.size == 0 or (y < 0).any() or not np.array_equal(y, np.round(y)):
        return False
    return (
        float(y.mean()) * float(np.median(np.asarray(neighbourhood_size, dtype=np.float64))) < SPARSE_EXPECTED
    )


def benjamini_hochberg_adjust(p: npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (q-values): reject at level alpha where ``q <= alpha``."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    return result


def benjamini_hochberg(p: npt.ArrayLike, alpha: float = 0.05) -> npt.NDArray[np.bool_]:
    """Which hypotheses the Benjamini-Hochberg step-up procedure rejects at false discovery rate ``alpha``."""
    return benjamini_hochberg_adjust(p) <= alpha


def confidence_bins(z: npt.ArrayLike, p: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """ArcGIS-style Gi_Bin: sign(z) × 3/2/1 where p <= 0.01/0.05/0.10, else 0.

    Pass BH-adjusted p-values to get ArcGIS's FDR-corrected bins (it corrects each level separately,
    which is the same as comparing q-values with each level).
    """
    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    level = np.zeros(p.shape, dtype=np.int8)
    for bin_value, significance in reversed(CONFIDENCE_LEVELS):
        level[p <= significance] = bin_value
    return (np.sign(z).astype(np.int8) * level).astype(np.int8)
