"""Vectorised Mann-Kendall against pymannkendall.original_test, series by series."""

import numpy as np
import pymannkendall
import pytest

from hotspots.errors import StatisticsError
from hotspots.stats import trend
from hotspots.stats.trend import MannKendall


def _series(seed: int, n_steps: int) -> np.ndarray:
    """Continuous rows, heavily tied integer rows, a constant row and a planted upward trend."""
    rng = np.random.default_rng(seed)
    continuous = rng.normal(size=(20, n_steps))
    tied = rng.integers(0, 3, size=(20, n_steps)).astype(float)
    constant = np.full((1, n_steps), 4.0)
    rising = (np.arange(n_steps) + rng.normal(scale=0.5, size=n_steps))[None, :]
    return np.vstack([continuous, tied, constant, rising])


@pytest.mark.parametrize("n_steps", [2, 3, 10, 52])
def test_equals_pymannkendall(n_steps: int) -> None:
    x = _series(n_steps, n_steps)
    mk = MannKendall(x, alpha=0.05)
    reference = [pymannkendall.original_test(row, alpha=0.05) for row in x]
    np.testing.assert_array_equal(mk.s, [r.s for r in reference])
    np.testing.assert_allclose(mk.var_s, [r.var_s for r in reference], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mk.z, [r.z for r in reference], rtol=0, atol=1e-9)
    np.testing.assert_allclose(mk.p, [r.p for r in reference], rtol=0, atol=1e-9)
    np.testing.assert_allclose(mk.tau, [r.Tau for r in reference], rtol=0, atol=1e-12)
    expected_trend = [{"increasing": 1, "decreasing": -1, "no trend": 0}[r.trend] for r in reference]
    np.testing.assert_array_equal(mk.trend, expected_trend)


def test_constant_series_has_no_trend() -> None:
    mk = MannKendall(np.zeros((3, 12)))
    np.testing.assert_array_equal(mk.s, 0)
    np.testing.assert_array_equal(mk.var_s, 0)
    np.testing.assert_array_equal(mk.z, 0)
    np.testing.assert_array_equal(mk.p, 1)
    np.testing.assert_array_equal(mk.trend, 0)


def test_planted_trends_are_found() -> None:
    steps = np.arange(20.0)
    mk = MannKendall(np.vstack([steps, -steps, np.sin(steps)]))
    np.testing.assert_array_equal(mk.trend, [1, -1, 0])


def test_row_chunks_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _series(7, 15)
    whole = MannKendall(x)
    monkeypatch.setattr(trend, "ROW_CHUNK", 4)
    chunked = MannKendall(x)
    np.testing.assert_array_equal(chunked.s, whole.s)
    np.testing.assert_array_equal(chunked.var_s, whole.var_s)


@pytest.mark.parametrize("bad", [np.array([[1.0, np.nan, 2.0]]), np.ones((2, 1)), np.ones(5)])
def test_rejects_unusable_input(bad: np.ndarray) -> None:
    with pytest.raises(StatisticsError):
        MannKendall(bad)
