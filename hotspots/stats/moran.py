"""Moran's I: Local Moran (LISA) with HH/LH/LL/HL quadrants, a fast global Moran, and the choice of k.

Both use row-standardised weights without self-weight, as ``esda.Moran_Local(y, w, transformation="r")``
and ``esda.Moran(y, w, transformation="r")`` do with contiguity weights; a diagonal in ``w`` is removed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from hotspots.errors import StatisticsError
from hotspots.geo import h3grid
from hotspots.stats.inference import PERMUTATIONS, Tails, benjamini_hochberg_adjust, conditional_randomisation
from hotspots.stats.weights import FloatArray, as_values, as_weights, h3_weights, row_standardised

QUADRANT_LABELS: dict[int, str] = {0: "", 1: "HH", 2: "LH", 3: "LL", 4: "HL"}
"""esda's quadrant codes: 1 high value among high neighbours … 4 high among low; 0 only for constant y."""

DEFAULT_K_MAX = 5
"""Rings tried by :func:`choose_k`: at H3 res 10 (centre spacing ~130 m) k = 5 reaches ~650 m, past the
scale of a street-corner drug market; farther neighbourhoods would blur separate places into one."""

SIGNIFICANT_Z = 1.96
"""A peak in :func:`choose_k` must be significant clustering at 95 % (one z per k, as ArcGIS reports)."""


class LocalMoran:
    """Local Moran's I (Anselin 1995) with quadrants and permutation inference.

    Parameters
    ----------
    y : array
        One value per lattice cell.
    w : scipy.sparse matrix
        n×n weights; the diagonal is dropped and rows are standardised.
    permutations : int
        Conditional randomisations for ``p_sim`` (0 skips them). The smallest two-sided pseudo p is
        2 / (permutations + 1), and Benjamini-Hochberg over m cells needs p <= alpha * rank / m, so with
        ``fdr`` on a municipality-sized lattice (~1.4e5 cells) use ~99,999: nothing can be significant
        with 999. That costs well under a second here (the draws are shared, see
        :mod:`hotspots.stats.inference`).
    seed : int or None
        Seed of this computation's own random generator.
    fdr : bool
        Judge ``significant`` on Benjamini-Hochberg adjusted p-values.
    alpha : float
        Level for ``significant``.

    Attributes
    ----------
    y : array
        The values, as floats.
    w : scipy.sparse.csr_matrix
        Row-standardised weights without self-weight.
    constant : bool
        True when y is constant: then ``Is`` is 0, ``q`` is 0 and every p is 1.
    z : array
        Standardised values (y - mean) / std, as esda's ``z``.
    lag : array
        Spatial lag of ``z`` (mean of the neighbours' z).
    Is : array
        Local Moran's I, ``(n - 1) z_i lag_i / sum(z^2)``, equal to esda's ``Is``.
    q : array of int
        Quadrant as esda: 1 HH, 2 LH, 3 LL, 4 HL (a zero z or lag counts as low).
    labels : array of str
        ``q`` as "HH", "LH", "LL", "HL".
    tails : Tails or None
        Permutation counts of ``Is``; ``tails.folded()`` is esda's ``p_sim`` definition.
    p_sim : array or None
        Two-sided pseudo p-values (see :meth:`Tails.two_sided`).
    p_fdr : array or None
        Benjamini-Hochberg adjusted ``p_sim``.
    significant : array of bool
        ``p_fdr <= alpha`` (or ``p_sim <= alpha`` without ``fdr``); all False without permutations.
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
    ) -> None:
        self.y = as_values(y)
        n = self.y.size
        self.w = row_standardised(as_weights(w, n, star=False))
        self.permutations = permutations
        self.constant = bool(self.y.min() == self.y.max())
        std = self.y.std()
        self.z = (self.y - self.y.mean()) / std if not self.constant else np.zeros(n)
        self.lag = self.w @ self.z
        self.Is = (n - 1) * self.z * self.lag / n  # sum(z^2) = n for standardised z
        self.q = np.where(self.z > 0, np.where(self.lag > 0, 1, 4), np.where(self.lag > 0, 2, 3))
        if self.constant:
            self.q[:] = 0
        self.labels = np.array([QUADRANT_LABELS[code] for code in range(5)])[self.q]
        self.tails: Tails | None = None
        self.p_sim: FloatArray | None = None
        self.p_fdr: FloatArray | None = None
        self.significant = np.zeros(n, dtype=bool)
        if permutations:
            lag_tails = conditional_randomisation(self.y, self.w, permutations, np.random.default_rng(seed))
            self.tails = lag_tails.oriented(np.sign(self.z))
            self.p_sim = self.tails.two_sided()
            self.p_fdr = benjamini_hochberg_adjust(self.p_sim)
            self.significant = (self.p_fdr if fdr else self.p_sim) <= alpha


class GlobalMoran(NamedTuple):
    """Global Moran's I with its expectation and variance under the normality assumption."""

    i: float
    expected: float
    variance: float
    z: float


def global_moran(y: npt.ArrayLike, w: sp.spmatrix | sp.sparray) -> GlobalMoran:
    """Global Moran's I on row-standardised weights, z under normality (esda ``Moran(...).z_norm``)."""
    values = as_values(y)
    n = values.size
    if n < 3 or values.min() == values.max():
        raise StatisticsError("Moran's I needs at least 3 values that are not all equal")
    weights = row_standardised(as_weights(w, n, star=False))
    deviation = values - values.mean()
    s0 = weights.sum()
    if s0 == 0:
        raise StatisticsError("Moran's I needs weights with at least one neighbour pair")
    symmetric = weights + weights.T
    s1 = 0.5 * symmetric.multiply(symmetric).sum()
    degree = np.asarray(weights.sum(axis=1)).ravel() + np.asarray(weights.sum(axis=0)).ravel()
    s2 = float(degree @ degree)
    i = n / s0 * float(deviation @ (weights @ deviation)) / float(deviation @ deviation)
    expected = -1.0 / (n - 1)
    variance = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n - 1) * (n + 1) * s0 * s0) - expected**2
    return GlobalMoran(float(i), expected, float(variance), float((i - expected) / np.sqrt(variance)))


class ChosenK(NamedTuple):
    """The neighbourhood size picked by :func:`choose_k`, with the evidence to report beside the results."""

    k: int
    z_scores: tuple[float, ...]
    """Global Moran's I z for k = 1, 2, … (index 0 is k = 1)."""
    reason: str


def choose_k(y: npt.ArrayLike, cells: h3grid.CellArray, k_max: int = DEFAULT_K_MAX) -> ChosenK:
    """Pick the k-ring size like ArcGIS's Optimized Hot Spot Analysis (incremental spatial autocorrelation).

    Global Moran's I z is computed for k = 1 … k_max (fewer when larger rings would exceed what the lattice
    allows, see :func:`hotspots.stats.weights.h3_weights`). The first peak (z higher than at k - 1 and not
    lower at k + 1) that is significant (z >= 1.96) is the scale at which clustering is most pronounced.
    Fallbacks, in order: constant y -> k = 1; no k with significant clustering -> k = 1 (the most local
    view); no significant peak -> the k with the largest z.
    """
    values = as_values(y)
    if values.min() == values.max():
        return ChosenK(1, (), "all cells have the same value: no spatial pattern to measure; using k=1")
    z_scores: list[float] = []
    for k in range(1, k_max + 1):
        try:
            weights = h3_weights(cells, k, star=False)
        except StatisticsError:
            if k == 1:
                raise
            break  # larger rings do not fit this lattice
        z_scores.append(global_moran(values, weights).z)
    z = np.array(z_scores)
    tried = f"Moran's I z for k=1..{z.size}"
    for index in range(1, z.size):
        rises = z[index] > z[index - 1]
        falls_after = index + 1 < z.size and z[index + 1] <= z[index]
        if rises and falls_after and z[index] >= SIGNIFICANT_Z:
            return ChosenK(index + 1, tuple(z_scores), f"first significant peak of {tried}")
    if z.max() < SIGNIFICANT_Z:
        return ChosenK(1, tuple(z_scores), f"no significant clustering in {tried}; using k=1")
    best = int(z.argmax())
    return ChosenK(best + 1, tuple(z_scores), f"no significant peak in {tried}; using the largest z")
