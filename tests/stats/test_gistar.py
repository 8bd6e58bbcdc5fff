"""Gi*: z-scores against esda and its published fixture, permutation p against esda, planted hotspots,
Benjamini-Hochberg and the ArcGIS confidence bins."""

from __future__ import annotations

import itertools
import warnings

import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from esda.getisord import G_Local
from scipy import stats

from hotspots.errors import EmptyData, StatisticsError
from hotspots.geo import h3grid
from hotspots.stats import inference
from hotspots.stats.gistar import GiStar, gi_star_z
from hotspots.stats.inference import Tails, benjamini_hochberg, benjamini_hochberg_adjust, confidence_bins
from hotspots.stats.weights import as_weights, h3_weights

ESDA_POINTS = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
ESDA_Y = np.array([2, 3, 3.2, 5, 8, 7])
ESDA_STAR_ZS = np.array([-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331])
"""Published in esda's G_Local docstring (binary weights, star=True)."""


@pytest.fixture(scope="module")
def cells() -> h3grid.CellArray:
    """About 700 res-10 cells around central Örebro."""
    return h3grid.polyfill([shapely.Point(15.2, 59.27).buffer(0.02)], 10)


def esda_g_star(y: np.ndarray, w: sp.csr_matrix, permutations: int = 0, seed: int = 1) -> G_Local:
    with warnings.catch_warnings():  # esda's own deprecation chatter
        warnings.simplefilter("ignore")
        return G_Local(
            y,
            libpysal.weights.WSP(sp.csr_matrix(w)).to_W(silence_warnings=True),
            transform="B",
            star=True,
            permutations=permutations,
            n_jobs=1,
            seed=seed,
        )


def test_z_matches_esda_published_fixture() -> None:
    w = libpysal.weights.DistanceBand(ESDA_POINTS, threshold=15).sparse
    np.testing.assert_allclose(gi_star_z(ESDA_Y, w), ESDA_STAR_ZS, atol=1e-8)
    np.testing.assert_allclose(gi_star_z(ESDA_Y, w), esda_g_star(ESDA_Y, w).Zs, atol=1e-9, rtol=0)


def test_z_for_general_weights_is_exact_randomisation_z() -> None:
    """Gi*'s moments are those of sum_j w_ij y_j over all n! orderings of y: enumerate them for 6 points."""
    distance = np.hypot(*(np.array(ESDA_POINTS)[:, None, :] - np.array(ESDA_POINTS)[None, :, :]).T)
    w = np.where(distance <= 15, 1.0 / np.maximum(distance, 5.0), 0.0)  # inverse distance, self-weight 0.2
    orderings = ESDA_Y[np.array(list(itertools.permutations(range(6))))]  # (720, 6)
    lag = orderings @ w.T  # every ordering's neighbour sum for every cell
    expected = (w @ ESDA_Y - lag.mean(axis=0)) / lag.std(axis=0)
    np.testing.assert_allclose(gi_star_z(ESDA_Y, sp.csr_matrix(w)), expected, rtol=1e-10)


def test_z_does_not_depend_on_weight_scale() -> None:
    w = libpysal.weights.DistanceBand(ESDA_POINTS, threshold=15).sparse + sp.identity(6)
    np.testing.assert_allclose(gi_star_z(ESDA_Y, 2.5 * w), ESDA_STAR_ZS, atol=1e-8)


@pytest.mark.parametrize(
    ("mean", "k", "self_weight"),
    [(0.3, 1, True), (3.0, 1, True), (3.0, 1, False), (1.0, 2, True)],
    ids=["sparse-counts", "counts", "no-diagonal-given", "k2"],
)
def test_z_matches_esda_on_h3_lattice(
    cells: h3grid.CellArray, mean: float, k: int, self_weight: bool
) -> None:
    y = np.random.default_rng(7).poisson(mean, cells.size).astype(float)
    w = h3grid.kring_weights(cells, k, self_weight=self_weight)
    np.testing.assert_allclose(gi_star_z(y, w), esda_g_star(y, w).Zs, atol=1e-9, rtol=0)


def assert_consistent(ours: np.ndarray, esda_p: np.ndarray) -> None:
    """Same p definition (esda's folded p_sim), different random draws: agree statistically, not exactly."""
    assert np.corrcoef(ours, esda_p)[0, 1] > 0.95
    assert np.abs(ours - esda_p).mean() < 0.02


@pytest.mark.parametrize("data", ["counts", "continuous"])
def test_pseudo_p_consistent_with_esda(cells: h3grid.CellArray, data: str) -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(3, cells.size) if data == "counts" else rng.gamma(2.0, 1.5, cells.size)
    w = h3_weights(cells, 1)
    ours = GiStar(y, w, seed=11).tails
    assert ours is not None
    assert_consistent(ours.folded(), esda_g_star(y.astype(float), w, permutations=999).p_sim)


def test_pseudo_p_with_distance_decay_weights_consistent_with_esda(cells: h3grid.CellArray) -> None:
    """Unequal weights within a row take the per-cell randomisation; esda's row-standardised Gi is its peer."""
    ring1 = h3grid.kring_weights(cells, 1, self_weight=False)
    decay = ring1 + 0.5 * (h3grid.kring_weights(cells, 2, self_weight=False) - ring1)
    y = np.random.default_rng(6).gamma(2.0, 1.5, cells.size)
    ours = inference.conditional_randomisation(
        y, as_weights(decay, cells.size), 999, np.random.default_rng(0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w_esda = libpysal.weights.WSP(decay).to_W(silence_warnings=True)
        theirs = G_Local(y, w_esda, transform="R", star=False, permutations=999, n_jobs=1, seed=2).p_sim
    assert_consistent(ours.folded(), theirs)


@pytest.mark.parametrize("weighting", ["binary", "unequal"])
def test_permutation_tails_match_exact_enumeration(weighting: str) -> None:
    """On 9 cells every assignment of other values to a cell's neighbours can be listed: the pseudo tails
    (shared draws for equal weights, per-cell draws otherwise) must match the exact tail probabilities."""
    rng = np.random.default_rng(12)
    n, permutations = 9, 20_000
    y = rng.poisson(2.0, n).astype(float)
    adjacency = np.triu(rng.random((n, n)) < 0.4, 1)
    w = (adjacency | adjacency.T) * (1.0 if weighting == "binary" else rng.uniform(0.5, 2.0, (n, n)))
    tails = inference.conditional_randomisation(y, as_weights(sp.csr_matrix(w), n), permutations, rng)
    for i in range(n):
        neighbours = np.flatnonzero(w[i])
        observed = w[i, neighbours] @ y[neighbours]
        others = [j for j in range(n) if j != i]
        sums = np.array(
            [w[i, neighbours] @ y[list(draw)] for draw in itertools.permutations(others, neighbours.size)]
        )
        for count, exact in [
            (tails.at_least[i], (sums >= observed - 1e-9).mean()),
            (tails.at_most[i], (sums <= observed + 1e-9).mean()),
        ]:
            assert abs(count / permutations - exact) <= 4 * np.sqrt(exact * (1 - exact) / permutations) + 1e-9


def test_planted_hotspot_is_found_and_background_is_quiet(cells: h3grid.CellArray) -> None:
    rng = np.random.default_rng(5)
    centre = cells[cells.size // 2]
    hot = np.isin(cells, h3grid.grid_disk(np.array([centre]), 1))
    y = rng.poisson(np.where(hot, 8.0, 0.5))
    w = h3_weights(cells, 1)
    gi = GiStar(y, w, seed=2)
    centre_index = np.searchsorted(cells, centre)
    assert gi.gi_bin[centre_index] == 3 and gi.significant[centre_index]
    far = ~np.isin(cells, h3grid.grid_disk(np.array([centre]), 3))
    assert gi.significant[far].mean() < 0.01  # FDR keeps chance hotspots rare
    by_permutation = GiStar(y, w, seed=2, p_value="sim", fdr=False)
    assert by_permutation.p[centre_index] <= 0.002 and by_permutation.gi_bin[centre_index] == 3


def test_seed_repeats_results_without_touching_global_random_state(cells: h3grid.CellArray) -> None:
    y = np.random.default_rng(1).poisson(2, cells.size)
    w = h3_weights(cells, 1)
    state = np.random.get_state()[1].copy()
    first, second = GiStar(y, w, seed=4), GiStar(y, w, seed=4)
    np.testing.assert_array_equal(first.p_sim, second.p_sim)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_lone_report_is_not_a_permutation_hotspot(cells: h3grid.CellArray) -> None:
    """One report among zeros: analytic z is extreme, but its neighbourhood is empty, so no cluster."""
    y = np.zeros(cells.size)
    y[100] = 1.0
    gi = GiStar(y, h3_weights(cells, 1), seed=0, p_value="sim")
    assert gi.z[100] == gi.z.max() > 5
    assert gi.p[100] == 1.0 and gi.gi_bin[100] == 0


@pytest.mark.parametrize("value", [0.0, 5.0], ids=["all-zero", "constant"])
def test_constant_window_means_no_hotspot(cells: h3grid.CellArray, value: float) -> None:
    gi = GiStar(np.full(cells.size, value), h3_weights(cells, 1), seed=0)
    assert gi.constant
    np.testing.assert_array_equal(gi.z, 0.0)
    np.testing.assert_array_equal(gi.p_norm, 1.0)
    np.testing.assert_array_equal(gi.p_sim, 1.0)
    np.testing.assert_array_equal(gi.gi_bin, 0)


def test_empty_and_invalid_inputs_raise() -> None:
    with pytest.raises(EmptyData):
        gi_star_z(np.array([]), sp.csr_matrix((0, 0)))
    with pytest.raises(StatisticsError, match="shape"):
        gi_star_z(np.ones(3), sp.identity(4, format="csr"))
    with pytest.raises(StatisticsError, match="NaN"):
        gi_star_z(np.array([1.0, np.nan]), sp.identity(2, format="csr"))


def test_ties_do_not_make_count_data_significant() -> None:
    """All reference sums equal the observed one: esda's folded p says 0.001, the two-sided p says 1."""
    tails = Tails(np.array([999, 0, 10]), np.array([999, 999, 989]), 999)
    np.testing.assert_allclose(tails.folded(), [0.001, 0.001, 0.011])
    np.testing.assert_allclose(tails.two_sided(), [1.0, 0.002, 0.022])


def test_benjamini_hochberg_hand_example() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2])
    # sorted 0.005 0.01 0.03 0.04 0.2 -> p*m/rank 0.025 0.025 0.05 0.05 0.2 (already monotone)
    np.testing.assert_allclose(benjamini_hochberg_adjust(p), [0.025, 0.05, 0.05, 0.025, 0.2])
    np.testing.assert_array_equal(benjamini_hochberg(p, 0.05), [True, True, True, True, False])
    np.testing.assert_array_equal(benjamini_hochberg(p, 0.04), [True, False, False, True, False])


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.random.default_rng(0).beta(0.3, 2.0, 500)
    np.testing.assert_allclose(benjamini_hochberg_adjust(p), stats.false_discovery_control(p), rtol=1e-12)


def test_confidence_bins_follow_arcgis_levels() -> None:
    z = np.array([3.0, -3.0, 2.0, -2.0, 1.7, 0.5, 2.6, 0.0])
    p = np.array([0.009, 0.01, 0.0101, 0.05, 0.1, 0.5, 0.2, 0.001])
    np.testing.assert_array_equal(confidence_bins(z, p), [3, -3, 2, -2, 1, 0, 0, 0])


def test_fdr_option_controls_bins(cells: h3grid.CellArray) -> None:
    y = np.random.default_rng(9).poisson(2, cells.size)
    w = h3_weights(cells, 1)
    raw, corrected = GiStar(y, w, permutations=0, fdr=False), GiStar(y, w, permutations=0, fdr=True)
    np.testing.assert_array_equal(raw.gi_bin, confidence_bins(raw.z, raw.p_norm))
    np.testing.assert_array_equal(
        corrected.gi_bin, confidence_bins(raw.z, benjamini_hochberg_adjust(raw.p_norm))
    )
    assert np.abs(corrected.gi_bin).sum() < np.abs(raw.gi_bin).sum()


def test_export_uses_arcgis_field_names(cells: h3grid.CellArray) -> None:
    y = np.random.default_rng(2).poisson(2, cells.size)
    frame = GiStar(y, h3_weights(cells, 1), seed=0).to_frame(index=cells)
    assert {"GiZScore", "GiPValue", "NNeighbors", "Gi_Bin", "GiPseudoP"} <= set(frame.columns)
    assert frame.index.size == cells.size and frame["NNeighbors"].max() == 7
