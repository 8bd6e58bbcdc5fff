"""Getis-Ord Gi* hot-spot statistic on a lattice: analytic z-scores and permutation inference.

The z-score is Getis & Ord's Gi* in the form ArcGIS documents,

    z_i = (sum_j w_ij y_j - ybar W_i) / (S sqrt((n S1_i - W_i^2) / (n - 1))),

with W_i = sum_j w_ij, S1_i = sum_j w_ij^2 and S the population standard deviation of y. For binary
weights (S1_i = W_i) this is algebraically the z that ``esda.G_Local(y, w, star=True, transform="B")``
computes; for non-binary weights it keeps the weights (esda's "B" transform would binarise them).

A constant y (every cell the same value, e.g. an all-zero week) has no spatial pattern to find: the
numerator is exactly zero and S is zero. Rather than 0/0 we return z = 0 ("no hotspot") for every cell;
:class:`GiStar` additionally flags it with ``constant=True``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from hotspots.stats.inference import (
    PERMUTATIONS,
    Tails,
    benjamini_hochberg_adjust,
    conditional_randomisation,
    confidence_bins,
    count_tail_two_sided,
    is_sparse_counts,
)
from hotspots.stats.weights import FloatArray, as_values, as_weights, is_binary


class GiStar:
    """Getis-Ord Gi* with analytic and permutation inference, FDR control and ArcGIS confidence bins.

    Parameters
    ----------
    y : array
        One non-negative value per lattice cell (counts or intensities).
    w : scipy.sparse matrix
        n×n weights; a missing self-weight is added (see :func:`hotspots.stats.weights.as_weights`).
    permutations : int
        Conditional randomisations for ``p_sim`` (0 skips them).
    seed : int or None
        Seed of this computation's own random generator (the global numpy state is never touched), so
        a report can be reproduced.
    fdr : bool
        Judge significance on Benjamini-Hochberg adjusted p-values (default: a map of ~10^5 cells tested
        at once would otherwise show thousands of chance "hotspots").
    alpha : float
        Level for ``significant``.
    p_value : {"norm", "sim", "count", "auto"}
        Which p-values ``significant`` and ``gi_bin`` are judged on. "norm" (analytic, as ArcGIS's
        Gi_Bin): with 999 permutations no pseudo p is below 0.002, and Benjamini-Hochberg over m cells
        needs p <= alpha * rank / m, which a cluster of a few cells on a 10^5-cell lattice can then never
        reach. "sim" suits small lattices or ``fdr=False``. "count": the exact two-sided tail of the
        neighbourhood sum under a count model with the lattice's mean and variance (Poisson, or negative
        binomial when overdispersed; binary weights, whole counts), the honest choice when counts are
        sparse. "auto": "count" for sparse whole counts on binary weights
        (:func:`hotspots.stats.inference.is_sparse_counts`), else "norm".

    Attributes
    ----------
    y : array
        The values, as floats.
    w : scipy.sparse.csr_matrix
        The weights used, self-weight included.
    n_neighbours : array
        Cells in each neighbourhood, self included (ArcGIS NNeighbors).
    constant : bool
        True when y is constant (e.g. an all-zero window): then z = 0 and every p is 1 ("no hotspot").
    z : array
        Gi* z-scores, equal to esda's ``G_Local(star=True, transform="B").Zs`` for binary weights (GiZScore).
    p_norm : array
        Two-sided p-values under normality, ``2 * sf(|z|)`` (GiPValue; esda's ``p_norm`` is one-sided).
    tails : Tails or None
        Permutation counts behind ``p_sim``; ``tails.folded()`` is esda's ``p_sim`` definition.
    p_sim : array or None
        Two-sided pseudo p-values from conditional randomisation (see :meth:`Tails.two_sided`).
    p : array
        The p-values significance is judged on (``p_norm``, ``p_sim`` or ``p_count``, see ``p_value``).
    inference : str
        Which: "norm", "sim", "poisson" or "negbin" (what every output that shows a bin says it used).
    p_count : array or None
        Exact two-sided count-model p of each neighbourhood sum (with ``p_value`` "count").
    p_fdr : array
        Benjamini-Hochberg adjusted ``p``.
    significant : array of bool
        ``p_fdr <= alpha`` when ``fdr`` else ``p <= alpha``.
    gi_bin : array of int8
        -3..3: sign of z times 3/2/1 at 99/95/90 % confidence, FDR-corrected when ``fdr`` (Gi_Bin).

    Examples
    --------
    >>> import libpysal
    >>> w = libpysal.weights.DistanceBand([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], 15)
    >>> gi = GiStar(np.array([2, 3, 3.2, 5, 8, 7]), w.sparse, permutations=0, fdr=False)
    >>> print(gi.z.round(4))
    [-1.3973 -0.2892  0.6506 -0.2892  1.2345  2.0242]
    >>> gi.gi_bin
    array([0, 0, 0, 0, 0, 2], dtype=int8)
    """

    def __init__(
        self,
        y: npt.ArrayLike,
        w: sp.spmatrix | sp.sparray,
        *,
        permutations: int = PERMUTATIONS,
        seed: int | None = None,
        fdr: bool = True,
        alpha: float = 0.05,
        p_value: Literal["norm", "sim", "count", "auto"] = "norm",
    ) -> None:
        if p_value == "sim" and not permutations:
            raise ValueError('p_value="sim" needs permutations > 0')
        if p_value not in ("norm", "sim", "count", "auto"):
            raise ValueError(f"p_value must be norm, sim, count or auto, got {p_value!r}")
        self.y = as_values(y)
        self.w = as_weights(w, self.y.size, star=True)
        self.permutations = permutations
        self.fdr = fdr
        self.alpha = alpha
        self.n_neighbours = np.diff(self.w.indptr)
        self.constant = bool(self.y.min() == self.y.max())
        self.z = _gi_star_z(self.y, self.w)
        self.p_norm = 2.0 * stats.norm.sf(np.abs(self.z))
        self.tails: Tails | None = None
        self.p_sim: FloatArray | None = None
        if permutations:
            self.tails = conditional_randomisation(self.y, self.w, permutations, np.random.default_rng(seed))
            self.p_sim = self.tails.two_sided()
        binary = is_binary(self.w)
        if p_value == "auto":
            p_value = "count" if binary and is_sparse_counts(self.y, self.n_neighbours) else "norm"
        self.p_count: FloatArray | None = None
        self.inference: str = p_value
        if p_value == "count":
            if not binary:
                raise ValueError('p_value="count" needs binary weights (a count neighbourhood)')
            self.p_count, self.inference = (
                (np.ones(self.y.size), "poisson")
                if self.constant
                else count_tail_two_sided(self.w @ self.y, self.n_neighbours, self.y)
            )
        chosen = {"sim": self.p_sim, "count": self.p_count}.get(p_value)
        self.p = self.p_norm if chosen is None else chosen
        self.p_fdr = benjamini_hochberg_adjust(self.p)
        judged = self.p_fdr if fdr else self.p
        self.significant = judged <= alpha
        self.gi_bin = confidence_bins(self.z, judged)

    def to_frame(self, index: npt.ArrayLike | None = None) -> pd.DataFrame:
        """Per-cell results under the field names ArcGIS users know (GiZScore, GiPValue, NNeighbors, Gi_Bin).

        ``GiPseudoP`` (two-sided pseudo p) and ``GiFDRP`` (BH-adjusted p) are added beside them.
        """
        columns: dict[str, npt.ArrayLike] = {
            "GiZScore": self.z,
            "GiPValue": self.p_norm,
            "NNeighbors": self.n_neighbours,
            "Gi_Bin": self.gi_bin,
            "GiFDRP": self.p_fdr,
        }
        if self.p_sim is not None:
            columns["GiPseudoP"] = self.p_sim
        return pd.DataFrame(columns, index=None if index is None else pd.Index(np.asarray(index)))


def gi_star_z(y: npt.ArrayLike, w: sp.spmatrix | sp.sparray) -> FloatArray:
    """Analytic Gi* z-score per cell (see the module docstring for the formula and the constant-y rule).

    ``w`` may lack the self-weight; binary weights then get 1 on the diagonal, as in esda.
    """
    values = as_values(y)
    weights = as_weights(w, values.size, star=True)
    return _gi_star_z(values, weights)


def gi_star_z_from_lag(
    lag: npt.ArrayLike,
    weight_sum: npt.ArrayLike,
    weight_square_sum: npt.ArrayLike,
    n: int,
    mean: float,
    std: float,
) -> FloatArray:
    """Gi* z from its parts, for neighbourhoods that are not one row of one matrix (space-time windows).

    ``lag`` = sum_j w_ij y_j, ``weight_sum`` = W_i, ``weight_square_sum`` = S1_i; ``n``, ``mean`` and ``std``
    (population) describe all values the neighbourhoods are drawn from. Arrays broadcast. Constant values
    (``std == 0``) and neighbourhoods covering everything give z = 0, as :func:`gi_star_z`.
    """
    lag, weight_sum, weight_square_sum = (
        np.asarray(a, dtype=np.float64) for a in (lag, weight_sum, weight_square_sum)
    )
    shape = np.broadcast_shapes(lag.shape, weight_sum.shape, weight_square_sum.shape)
    if std == 0:
        return np.zeros(shape)
    numerator = lag - mean * weight_sum
    spread = np.maximum(n * weight_square_sum - weight_sum * weight_sum, 0.0) / (n - 1)
    denominator = std * np.sqrt(spread)
    return np.divide(numerator, denominator, out=np.zeros(shape), where=denominator > 0)


def _gi_star_z(y: FloatArray, w: sp.csr_matrix) -> FloatArray:
    if is_binary(w):  # k-ring contiguity: W_i = S1_i = number of cells in the neighbourhood
        weight_sum = weight_square_sum = np.diff(w.indptr).astype(np.float64)
    else:
        weight_sum, weight_square_sum = _row_sums(w, w.data), _row_sums(w, w.data * w.data)
    return gi_star_z_from_lag(w @ y, weight_sum, weight_square_sum, y.size, y.mean(), y.std())


def _row_sums(w: sp.csr_matrix, data: FloatArray) -> FloatArray:
    """Row sums of a Gi* weights matrix with ``data`` in place of its values (no new matrix is built).

    Every row holds its self-weight, so no row is empty and ``reduceat`` needs no special case.
    """
    return np.add.reduceat(data, w.indptr[:-1])
