"""Local and global Moran's I against esda, and the choice of k on lattices with clusters of known size."""

from __future__ import annotations

import warnings

import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from esda.moran import Moran, Moran_Local

from hotspots.errors import StatisticsError
from hotspots.geo import h3grid
from hotspots.stats.moran import LocalMoran, choose_k, global_moran


@pytest.fixture(scope="module")
def cells() -> h3grid.CellArray:
    """About 700 res-10 cells around central Örebro."""
    return h3grid.polyfill([shapely.Point(15.2, 59.27).buffer(0.02)], 10)


def esda_w(w: sp.csr_matrix) -> libpysal.weights.W:
    return libpysal.weights.WSP(w).to_W(silence_warnings=True)


def values(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(4)
    if kind == "continuous":
        return rng.gamma(2.0, 1.0, n)
    return rng.poisson(1.5 if kind == "counts" else 20.0, n).astype(float)


@pytest.mark.parametrize("kind", ["counts", "continuous"])
def test_local_is_and_quadrants_match_esda(cells: h3grid.CellArray, kind: str) -> None:
    y = values(kind, cells.size)
    w = h3grid.kring_weights(cells, 1, self_weight=False)
    ours = LocalMoran(y, w, permutations=0)
    theirs = Moran_Local(y, esda_w(w), transformation="r", permutations=0)
    np.testing.assert_allclose(ours.Is, theirs.Is, atol=1e-12)
    np.testing.assert_array_equal(ours.q, theirs.q)
    np.testing.assert_array_equal(ours.labels, np.array(["", "HH", "LH", "LL", "HL"])[theirs.q])


# Small counts are left out on purpose: most reference sums then tie with the observed one, and esda breaks
# those ties by floating-point noise (its Is and ours differ in the last bit), not by a rule to compare with.
@pytest.mark.parametrize("kind", ["large-counts", "continuous"])
def test_local_pseudo_p_consistent_with_esda(cells: h3grid.CellArray, kind: str) -> None:
    y = values(kind, cells.size)
    w = h3grid.kring_weights(cells, 1, self_weight=False)
    ours = LocalMoran(y, w, seed=3).tails
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = Moran_Local(y, esda_w(w), transformation="r", permutations=999, n_jobs=1, seed=8).p_sim
    assert ours is not None
    assert np.corrcoef(ours.folded(), theirs)[0, 1] > 0.95
    assert np.abs(ours.folded() - theirs).mean() < 0.03


def test_planted_high_high_cluster_is_significant(cells: h3grid.CellArray) -> None:
    centre = cells[cells.size // 2]
    hot = np.isin(cells, h3grid.grid_disk(np.array([centre]), 1))
    y = np.random.default_rng(1).poisson(np.where(hot, 8.0, 0.5))
    lm = LocalMoran(y, h3grid.kring_weights(cells, 1, self_weight=False), seed=0, fdr=False)
    index = np.searchsorted(cells, centre)
    assert lm.labels[index] == "HH" and lm.significant[index]


def test_constant_values_have_no_quadrant(cells: h3grid.CellArray) -> None:
    lm = LocalMoran(np.zeros(cells.size), h3grid.kring_weights(cells, 1), seed=0)
    assert lm.constant and (lm.q == 0).all() and (lm.Is == 0).all()
    np.testing.assert_array_equal(lm.p_sim, 1.0)


def test_global_moran_matches_esda(cells: h3grid.CellArray) -> None:
    y = values("counts", cells.size) + np.isin(cells, h3grid.grid_disk(cells[:5], 3)) * 3
    w = h3grid.kring_weights(cells, 2, self_weight=False)
    ours, theirs = global_moran(y, w), Moran(y, esda_w(w), transformation="r", permutations=0)
    np.testing.assert_allclose(
        [ours.i, ours.expected, ours.variance, ours.z],
        [theirs.I, theirs.EI, theirs.VI_norm, theirs.z_norm],
        rtol=1e-10,
    )


def test_global_moran_needs_variation(cells: h3grid.CellArray) -> None:
    with pytest.raises(StatisticsError, match="not all equal"):
        global_moran(np.ones(cells.size), h3grid.kring_weights(cells, 1))


def clustered(cells: h3grid.CellArray, radius: int) -> np.ndarray:
    """Poisson counts with 25 hot disks of ``radius`` rings in a quiet background."""
    rng = np.random.default_rng(0)
    hot = h3grid.grid_disk(rng.choice(cells, 25, replace=False), radius)
    return rng.poisson(np.where(np.isin(cells, hot), 4.0, 0.3)).astype(float)


def test_choose_k_peaks_near_cluster_size() -> None:
    cells = h3grid.polyfill([shapely.Point(15.2, 59.27).buffer(0.03)], 10)
    chosen = choose_k(clustered(cells, 2), cells, k_max=6)
    assert chosen.k in (2, 3, 4) and "peak" in chosen.reason
    assert len(chosen.z_scores) == 6 and chosen.z_scores[chosen.k - 1] == max(chosen.z_scores)


def test_choose_k_without_peak_falls_back_to_largest_z(cells: h3grid.CellArray) -> None:
    chosen = choose_k(clustered(cells, 1), cells, k_max=4)  # z falls from k=1 on
    assert chosen.k == 1 and "largest z" in chosen.reason
    assert list(chosen.z_scores) == sorted(chosen.z_scores, reverse=True)


def test_choose_k_on_constant_values_is_one(cells: h3grid.CellArray) -> None:
    chosen = choose_k(np.zeros(cells.size), cells)
    assert chosen.k == 1 and chosen.z_scores == () and "same value" in chosen.reason


def test_choose_k_stops_where_rings_exceed_the_lattice() -> None:
    cells = h3grid.grid_disk(h3grid.latlng_to_cells(np.array([59.27]), np.array([15.2]), 10), 3)  # 37 cells
    y = np.random.default_rng(2).poisson(2.0, cells.size)
    chosen = choose_k(y, cells, k_max=5)
    assert len(chosen.z_scores) == 1 and chosen.k == 1
