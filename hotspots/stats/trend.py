"""Mann-Kendall trend test for many series at once.

Emerging hot spot analysis runs one Mann-Kendall test per location on its series of Gi* z-scores; with
~10^5 locations a per-series loop (as in ``pymannkendall.original_test``) is far too slow. Here S is built
lag by lag over all rows (T - 1 vectorised steps), and the tie correction of var(S) comes from run lengths
of the row-sorted values. Results equal ``pymannkendall.original_test`` (S, var_s, z with the +-1
continuity correction, two-sided normal p).

>>> import numpy as np
>>> mk = MannKendall(np.array([[1.0, 2.0, 3.0, 5.0, 4.0, 6.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]]))
>>> mk.s.tolist(), mk.p.round(4).tolist(), mk.trend.tolist()
([13, 0], [0.0242, 1.0], [1, 0])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from hotspots.errors import StatisticsError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ROW_CHUNK = 16_384
"""Rows handled together: keeps the (rows, T) rank block and its lag differences in cache."""


def _dense_ranks(x: FloatArray) -> tuple[npt.NDArray[np.int16], FloatArray]:
    """Per-row dense ranks (ties share a rank) and the per-row tie term sum t(t-1)(2t+5).

    Comparing small integer ranks instead of floats gives the same signs at a fraction of the memory
    traffic; the tie groups fall out of the same sort. The tie term is summed element by element: with
    o = offset of an element inside its run of equal sorted values, sum_{o<t} 6 o (o + 2) = t(t-1)(2t+5).
    """
    n_rows, n_steps = x.shape
    sorted_positions = (np.argsort(x, axis=1) + (np.arange(n_rows) * n_steps)[:, None]).ravel()
    sorted_x = x.ravel()[sorted_positions].reshape(n_rows, n_steps)
    starts_run = np.ones((n_rows, n_steps), dtype=bool)
    starts_run[:, 1:] = sorted_x[:, 1:] != sorted_x[:, :-1]
    ranks = np.empty((n_rows, n_steps), dtype=np.int16)
    ranks.ravel()[sorted_positions] = np.cumsum(starts_run, axis=1, dtype=np.int16).ravel()

    if starts_run.all():
        return ranks, np.zeros(n_rows)
    steps = np.arange(n_steps, dtype=np.int32)
    run_start = np.maximum.accumulate(np.where(starts_run, steps, 0), axis=1)
    offset = steps - run_start
    return ranks, 6.0 * (offset * (offset + 2)).sum(axis=1, dtype=np.int64)


def mann_kendall_s(ranks: npt.NDArray[np.int16]) -> IntArray:
    """S = sum over i<j of sign(x_j - x_i), accumulated one lag at a time over all rows.

    Works on the (T, rows) transpose so every lag compares two contiguous blocks, and adds the signs
    into a small int16 buffer reduced once at the end: about four times faster than row-major per-lag sums.
    """
    by_step = np.ascontiguousarray(ranks.T)
    n_steps = by_step.shape[0]
    signs = np.zeros((n_steps - 1, by_step.shape[1]), dtype=np.int16)
    for lag in range(1, n_steps):
        signs[: n_steps - lag] += np.sign(by_step[lag:] - by_step[:-lag])
    return signs.sum(axis=0, dtype=np.int64)


class MannKendall:
    """Mann-Kendall test of a monotonic trend along axis 1, for every row of ``x``.

    Parameters
    ----------
    x : array (n_series, T)
        Finite values; each row is one series in time order. T must be at least 2 and at most 32767.
    alpha : float
        Two-sided significance level used for ``trend``.

    Attributes
    ----------
    s : array of int (n_series,)
        Mann-Kendall score S.
    var_s : array (n_series,)
        Variance of S under no trend, with the ties correction.
    z : array (n_series,)
        Normal score with continuity correction: (S - 1)/sqrt(var_s) for S > 0, (S + 1)/sqrt(var_s)
        for S < 0, and 0 for S = 0 (so a constant series has z = 0, p = 1).
    p : array (n_series,)
        Two-sided p-value under the normal approximation.
    tau : array (n_series,)
        Kendall's tau, S / (T (T - 1) / 2).
    trend : array of int (n_series,)
        +1 significant increase, -1 significant decrease, 0 no significant trend at ``alpha``.
    """

    def __init__(self, x: npt.ArrayLike, alpha: float = 0.05) -> None:
        values = np.asarray(x, dtype=np.float64)
        if values.ndim != 2 or not 2 <= values.shape[1] <= np.iinfo(np.int16).max:
            raise StatisticsError(
                f"Mann-Kendall needs a (n_series, T) array with 2 <= T <= 32767, got {values.shape}"
            )
        if not np.isfinite(values).all():
            raise StatisticsError("Mann-Kendall input contains NaN or infinite values")
        n_steps = values.shape[1]
        self.alpha = alpha
        self.s = np.empty(values.shape[0], dtype=np.int64)
        tie_sum = np.empty(values.shape[0])
        for start in range(0, values.shape[0], ROW_CHUNK):
            rows = slice(start, start + ROW_CHUNK)
            ranks, tie_sum[rows] = _dense_ranks(values[rows])
            self.s[rows] = mann_kendall_s(ranks)

        self.var_s = (n_steps * (n_steps - 1) * (2 * n_steps + 5) - tie_sum) / 18.0
        correction = np.sign(self.s).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (self.s - correction) / np.sqrt(self.var_s)
        self.z = np.where(self.s == 0, 0.0, z)
        self.p = 2.0 * stats.norm.sf(np.abs(self.z))
        self.tau = self.s / (0.5 * n_steps * (n_steps - 1))
        self.trend = np.where(self.p < alpha, np.sign(self.z), 0.0).astype(np.int64)
