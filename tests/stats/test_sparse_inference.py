"""Inference on sparse counts: the exact Poisson tail (independent reference: scipy.stats.poisson) decides
the bins, so a few reports in a near-empty lattice are not a 99 % hot spot (issue 13's Toronto numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hotspots.geo import h3grid
from hotspots.stats.gistar import GiStar
from hotspots.stats.inference import poisson_two_sided


@pytest.fixture(scope="module")
def sparse_window() -> tuple[np.ndarray, object, int]:
    """~39k res-10 cells around Toronto, counts Poisson(0.055) (96 % zeros), and one 7-cell neighbourhood
    holding exactly 4 reports."""
    centre = h3grid.latlng_to_cells(np.array([43.7]), np.array([-79.4]), 10)
    cells = h3grid.grid_disk(centre, 114)  # 3·114·115 + 1 = 39,331 cells
    weights = h3grid.kring_weights(cells, 1, self_weight=True)
    counts = np.random.default_rng(5).poisson(0.055, cells.size).astype(np.float64)
    planted = int(np.searchsorted(cells, centre[0]))
    ring = weights[planted].indices
    counts[ring] = 0.0
    counts[ring[:4]] = 1.0  # 4 reports in the 7-cell neighbourhood, the cell itself may hold one
    return counts, weights, planted


def test_planted_neighbourhood_is_not_a_99_percent_hotspot(sparse_window: tuple) -> None:
    counts, weights, planted = sparse_window
    normal = GiStar(counts, weights, permutations=0, p_value="norm")
    exact = GiStar(counts, weights, permutations=0, p_value="auto")
    assert exact.inference in ("poisson", "negbin") and normal.inference == "norm"
    assert normal.z[planted] > 3.5  # the normal approximation calls it extreme
    reference = stats.poisson.sf(3, 7 * counts.mean())  # P(Po(7 x mean) >= 4), one-sided
    assert reference == pytest.approx(6.6e-4, rel=0.15)  # the figure at mean 0.055
    # Poisson draws are not overdispersed beyond chance, so the count model is (nearly) the Poisson tail
    assert exact.p[planted] == pytest.approx(2 * reference, rel=0.1)
    assert exact.gi_bin[planted] < 3
    assert normal.p[planted] < reference / 5  # the normal tail is many times too small


def test_sparse_bins_are_fewer_and_no_empty_cold_spots(sparse_window: tuple) -> None:
    counts, weights, _ = sparse_window
    normal = GiStar(counts, weights, permutations=0, p_value="norm")
    exact = GiStar(counts, weights, permutations=0, p_value="auto")
    assert (exact.gi_bin == 3).sum() < (normal.gi_bin == 3).sum()
    assert (exact.gi_bin < 0).sum() == 0  # an empty neighbourhood is what the mean predicts, not cold


def test_poisson_two_sided_against_scipy() -> None:
    observed = np.array([0, 1, 3, 10])
    expected = np.array([0.5, 2.0, 3.0, 4.0])
    upper = stats.poisson.sf(observed - 1, expected)
    lower = stats.poisson.cdf(observed, expected)
    assert poisson_two_sided(observed, expected) == pytest.approx(np.minimum(1, 2 * np.minimum(upper, lower)))


def test_dense_or_continuous_values_keep_the_normal_approximation() -> None:
    cells = h3grid.grid_disk(h3grid.latlng_to_cells(np.array([59.27]), np.array([15.21]), 10), 20)
    weights = h3grid.kring_weights(cells, 1, self_weight=True)
    dense = np.random.default_rng(1).poisson(3.0, cells.size).astype(np.float64)
    assert GiStar(dense, weights, permutations=0, p_value="auto").inference == "norm"
    assert GiStar(dense + 0.5, weights, permutations=0, p_value="auto").inference == "norm"


def test_overdispersed_counts_use_the_negative_binomial_reference() -> None:
    """Clustered counts (variance 3× the mean): the null keeps that spread, checked against scipy's nbinom
    with the moments' r and p (a sum of 7 cells is NB(7r, p))."""
    rng = np.random.default_rng(8)
    cells = h3grid.grid_disk(h3grid.latlng_to_cells(np.array([59.27]), np.array([15.21]), 10), 60)
    weights = h3grid.kring_weights(cells, 1, self_weight=True)
    counts = rng.negative_binomial(0.05, 0.05 / (0.05 + 0.1), cells.size).astype(np.float64)
    gi = GiStar(counts, weights, permutations=0, p_value="auto")
    assert gi.inference == "negbin"
    bulk = counts[counts <= np.quantile(counts, 0.99)]  # dispersion from the bulk, the top 1 % left out
    r = bulk.mean() ** 2 / (bulk.var(ddof=1) - bulk.mean())
    mean = counts.mean()
    p = r / (r + mean)
    sums = weights @ counts
    k = np.diff(weights.indptr)
    tail = np.minimum(stats.nbinom.sf(sums - 1, k * r, p), stats.nbinom.cdf(sums, k * r, p))
    assert gi.p == pytest.approx(np.minimum(1, 2 * tail))
    poisson = np.minimum(
        1, 2 * np.minimum(stats.poisson.sf(sums - 1, k * mean), stats.poisson.cdf(sums, k * mean))
    )
    extreme = (
        poisson < 0.01
    )  # where a Poisson null would call a hot spot, the clustered null is more cautious
    assert extreme.any() and (gi.p[extreme] > poisson[extreme]).all()
