"""Inputs of the lattice statistics: one place that validates values and weights and sets the Gi* self-weight.

Every statistic accepts any ``scipy.sparse`` n×n matrix. :func:`as_weights` turns it into the one form the
kernels rely on (CSR, float64, canonical, finite, non-negative) and, like esda's star handling, says so
with a :class:`WeightsAssumption` warning whenever it has to guess a value rather than just check one.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from hotspots.errors import EmptyData, StatisticsError
from hotspots.geo import h3grid

FloatArray = npt.NDArray[np.float64]

MAX_NEIGHBOURHOOD_SHARE = 0.5
"""A neighbourhood (self included) may cover at most this share of the lattice.

Gi* and Local Moran contrast a neighbourhood with the rest of the lattice; once one neighbourhood is most of
the lattice there is no "rest" left to contrast with (at 100 % the Gi* variance is exactly zero), so a k that
large is refused instead of returning numbers that look like results.
"""


class WeightsAssumption(UserWarning):
    """Weights had to be completed with an assumed value (e.g. a missing Gi* self-weight)."""


def as_values(y: npt.ArrayLike) -> FloatArray:
    """One finite float per lattice cell; an empty lattice is :class:`EmptyData`, NaN a :class:`StatisticsError`."""
    values = np.asarray(y, dtype=np.float64)
    if values.ndim != 1:
        raise StatisticsError(f"values must be 1-D (one per cell), got shape {values.shape}")
    if values.size == 0:
        raise EmptyData("no cells: the lattice is empty")
    if not np.isfinite(values).all():
        raise StatisticsError("values contain NaN or infinite entries")
    return values


def as_weights(w: sp.spmatrix | sp.sparray, n: int, *, star: bool | None = None) -> sp.csr_matrix:
    """Validate ``w`` for a lattice of ``n`` cells and return a canonical float64 CSR copy.

    ``star=True`` makes sure every cell carries a self-weight (Gi*): a missing diagonal entry is set to 1
    for binary weights and to the row's largest weight otherwise, the latter with a warning because it is
    an assumption (esda does the same for row-standardised input). ``star=False`` removes the diagonal
    (Gi, Local Moran); ``None`` leaves it as given.
    """
    if not sp.issparse(w):
        raise StatisticsError(f"weights must be a scipy.sparse matrix, got {type(w).__name__}")
    if w.shape != (n, n):
        raise StatisticsError(f"weights have shape {w.shape}, expected ({n}, {n}) for {n} values")
    csr = sp.csr_matrix(w, dtype=np.float64, copy=True)
    if not csr.has_canonical_format:
        csr.sum_duplicates()  # also sorts the indices
    if not np.isfinite(csr.data).all():
        raise StatisticsError("weights contain NaN or infinite values")
    if (csr.data <= 0).any():
        if (csr.data < 0).any():
            raise StatisticsError("weights must be non-negative")
        csr.eliminate_zeros()
    if star is True:
        csr = _with_self_weight(csr)
    elif star is False:
        csr.setdiag(0)
        csr.eliminate_zeros()
    if not csr.has_sorted_indices:
        csr.sort_indices()
    return csr


def is_binary(w: sp.csr_matrix) -> bool:
    """True when every stored weight is 1 (contiguity weights; then W_i = S1_i in the Gi* moments)."""
    return bool((w.data == 1.0).all())


def _with_self_weight(w: sp.csr_matrix) -> sp.csr_matrix:
    diagonal = w.diagonal()
    missing = diagonal == 0
    if not missing.any():
        return w
    if is_binary(w):
        fill = np.ones(w.shape[0])
        if not missing.all():
            warnings.warn(
                f"Gi* self-weight missing for {int(missing.sum())} of {missing.size} cells; assuming 1 "
                "(binary weights)",
                WeightsAssumption,
                stacklevel=3,
            )
    else:
        fill = w.max(axis=1).toarray().ravel()
        fill[fill == 0] = 1.0
        warnings.warn(
            "Gi* requested but the weights are not binary and lack a self-weight; assuming each cell's "
            "self-weight equals the largest weight in its row. Set the diagonal yourself to choose another.",
            WeightsAssumption,
            stacklevel=3,
        )
    return sp.csr_matrix(w + sp.diags(np.where(missing, fill, 0.0)))


def h3_weights(cells: h3grid.CellArray, k: int = 1, *, star: bool = True) -> sp.csr_matrix:
    """Binary k-ring weights over a sorted, unique H3 lattice; ``star`` keeps the self-weight (Gi*).

    Raises :class:`StatisticsError` when ``k < 1`` or when some cell's k-ring covers more than
    :data:`MAX_NEIGHBOURHOOD_SHARE` of the lattice.
    """
    cells = h3grid.as_cells(cells)
    n = cells.size
    if k < 1:
        raise StatisticsError(f"k must be at least 1 ring, got {k}")
    if n < 2:
        raise StatisticsError(f"a lattice of {n} cells has no neighbours to compare with")
    w = h3grid.kring_weights(cells, k, self_weight=True)
    largest = int(np.diff(w.indptr).max())  # cells in the biggest neighbourhood, self included
    if largest > MAX_NEIGHBOURHOOD_SHARE * n:
        raise StatisticsError(
            f"k={k} is too large for this lattice: a neighbourhood holds {largest} of {n} cells "
            f"(at most {MAX_NEIGHBOURHOOD_SHARE:.0%} allowed); use a smaller k or a larger area"
        )
    if not star:
        w.setdiag(0)
        w.eliminate_zeros()
    return w


def row_standardised(w: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its sum (esda's "r" transform); rows without neighbours stay zero."""
    sums = np.asarray(w.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_matrix(sp.diags(scale) @ w)
