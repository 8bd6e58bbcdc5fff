"""Spatial kernels between lattice cell centres, as sparse (cells × cells) matrices in a metric projection.

Applying one to a (cells × origins) count matrix smooths every origin at once. Counts sit at cell centres
(a res-10 cell is ~65 m across), so a kernel narrower than about two cell spacings is close to the counts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.spatial import cKDTree

from hotspots.stats.kde import SQUARE_METRES_PER_KM2, quartic_kernel

FloatArray = npt.NDArray[np.float64]

#: Gaussian kernels are cut at this many standard deviations.
GAUSS_CUTOFF = 2.5


def _pairs(xy: FloatArray, radius: float) -> sp.coo_matrix:
    tree = cKDTree(xy)
    return tree.sparse_distance_matrix(tree, radius, output_type="coo_matrix")


def quartic(xy: FloatArray, bandwidth_m: float) -> sp.csr_matrix:
    """Quartic (biweight) density per km² at each centre of one report at each centre (the map's kernel)."""
    pairs = _pairs(xy, bandwidth_m)
    matrix = sp.csr_matrix(
        (quartic_kernel(pairs.data, bandwidth_m) * SQUARE_METRES_PER_KM2, (pairs.row, pairs.col)),
        shape=pairs.shape,
    )
    # sparse_distance_matrix does not store zero distances: add each cell's own (peak) weight.
    peak = float(quartic_kernel(np.zeros(1), bandwidth_m)[0]) * SQUARE_METRES_PER_KM2
    return sp.csr_matrix(matrix + peak * sp.identity(xy.shape[0], format="csr"))


def gaussian(xy: FloatArray, sigma_m: float) -> sp.csr_matrix:
    """Gaussian weights, each column summing to 1: column j spreads one event at j over the cells."""
    pairs = _pairs(xy, GAUSS_CUTOFF * sigma_m)
    values = np.exp(-0.5 * np.square(pairs.data / sigma_m))
    matrix = sp.csr_matrix((values, (pairs.row, pairs.col)), shape=pairs.shape)
    matrix = sp.csr_matrix(matrix + sp.identity(xy.shape[0], format="csr"))
    total = np.asarray(matrix.sum(axis=0)).ravel()
    return sp.csr_matrix(matrix @ sp.diags(1.0 / total))


def inverse_steps(xy: FloatArray, bandwidth_m: float) -> sp.csr_matrix:
    """Bowers et al.'s distance weight 1 / (1 + cells away) within ``bandwidth_m``, self included."""
    pairs = _pairs(xy, bandwidth_m)
    spacing = _spacing(xy)
    matrix = sp.csr_matrix(
        (1.0 / (1.0 + np.round(pairs.data / spacing)), (pairs.row, pairs.col)), shape=pairs.shape
    )
    return sp.csr_matrix(matrix + sp.identity(xy.shape[0], format="csr"))


def _spacing(xy: FloatArray) -> float:
    """Distance between neighbouring cell centres (the median nearest-neighbour distance)."""
    distance, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(distance[:, 1]))


KERNELS: dict[str, Callable[[FloatArray, float], sp.csr_matrix]] = {
    "quartic": quartic,
    "gaussian": gaussian,
    "inverse_steps": inverse_steps,
}
