"""Weights validation: the Gi* self-weight, the warnings when it is assumed, and k too large for the lattice."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import shapely

from hotspots.errors import StatisticsError
from hotspots.geo import h3grid
from hotspots.stats.weights import WeightsAssumption, as_weights, h3_weights, row_standardised

RING = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float))


def test_binary_weights_get_unit_self_weight_silently() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = as_weights(RING, 3, star=True)
    np.testing.assert_array_equal(w.toarray(), np.ones((3, 3)))


def test_partial_diagonal_is_completed_with_a_warning() -> None:
    partial = RING + sp.diags([1.0, 0.0, 0.0])
    with pytest.warns(WeightsAssumption, match="2 of 3"):
        w = as_weights(partial, 3, star=True)
    np.testing.assert_array_equal(w.diagonal(), [1.0, 1.0, 1.0])


def test_non_binary_self_weight_is_assumed_to_be_row_max_with_a_warning() -> None:
    distance_decay = sp.csr_matrix(np.array([[0, 0.5, 0.25], [0.5, 0, 1.0], [0.25, 1.0, 0]]))
    with pytest.warns(WeightsAssumption, match="largest weight"):
        w = as_weights(distance_decay, 3, star=True)
    np.testing.assert_array_equal(w.diagonal(), [0.5, 1.0, 1.0])


def test_star_false_removes_diagonal_and_none_keeps_it() -> None:
    with_self = RING + sp.identity(3)
    assert as_weights(with_self, 3, star=False).diagonal().sum() == 0
    assert as_weights(with_self, 3).diagonal().sum() == 3


@pytest.mark.parametrize(
    ("w", "message"),
    [
        (np.ones((3, 3)), "scipy.sparse"),
        (sp.csr_matrix((3, 4)), "shape"),
        (sp.csr_matrix(np.array([[0, -1.0, 0], [1, 0, 0], [0, 0, 0]])), "non-negative"),
        (sp.csr_matrix(np.array([[0, np.inf, 0], [1, 0, 0], [0, 0, 0]])), "NaN or infinite"),
    ],
    ids=["dense", "not-square", "negative", "infinite"],
)
def test_unusable_weights_raise(w: object, message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        as_weights(w, 3)  # type: ignore[arg-type]


def test_row_standardised_rows_sum_to_one_and_islands_stay_zero() -> None:
    w = row_standardised(sp.csr_matrix(np.array([[0, 1, 3], [1, 0, 0], [0, 0, 0]], dtype=float)))
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), [1, 1, 0])


def test_h3_weights_are_kring_contiguity() -> None:
    cells = h3grid.polyfill([shapely.Point(15.2, 59.27).buffer(0.01)], 10)
    w = h3_weights(cells, 1)
    assert (w != h3grid.kring_weights(cells, 1, self_weight=True)).nnz == 0
    assert h3_weights(cells, 1, star=False).diagonal().sum() == 0
    assert np.diff(w.indptr).max() == 7


def test_k_too_large_for_lattice_is_refused() -> None:
    centre = h3grid.latlng_to_cells(np.array([59.27]), np.array([15.2]), 10)
    cells = h3grid.grid_disk(centre, 2)  # 19 cells
    assert h3_weights(cells, 1).shape == (19, 19)
    with pytest.raises(StatisticsError, match="too large"):
        h3_weights(cells, 2)  # the centre's 2-ring is the whole lattice
    with pytest.raises(StatisticsError, match="at least 1"):
        h3_weights(cells, 0)
    with pytest.raises(StatisticsError, match="no neighbours"):
        h3_weights(centre, 1)
