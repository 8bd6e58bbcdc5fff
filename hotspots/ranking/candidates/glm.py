"""A learned combination: Poisson regression of next-step counts on the simple candidates' inputs.

Features per cell and origin (all from steps before the origin): log(1 + reports) over four horizons in
the cell and over two in its k-ring, log(1 + kernel density) and a recency indicator
(``sum over active steps of 2^-lag``). The model for origin t is fitted by IRLS (numpy, small ridge) on
the ``FIT_ORIGINS`` origins before t's block of ``REFIT_EVERY`` steps, each with its own known outcome,
so it is a forecast like the others.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, Step, StepCounts

HORIZONS: dict[str, tuple[int, ...]] = {"week": (1, 4, 13, 52), "month": (1, 3, 12, 24)}
RING_HORIZONS: dict[str, tuple[int, ...]] = {"week": (4, 52), "month": (3, 24)}
DENSITY_BANDWIDTH_M = 400.0
FIT_ORIGINS: dict[str, int] = {"week": 13, "month": 12}
REFIT_EVERY: dict[str, int] = {"week": 13, "month": 3}
#: Share of the rows without an outcome report that the fit samples (seeded, weighted up).
ZERO_SAMPLE = 0.2
RIDGE = 1e-3
ITERATIONS = 25


def features(data: StepCounts, origins: IntArray) -> npt.NDArray[np.float32]:
    """(features, cells, origins) design array, intercept first."""
    step = data.step
    windows = {h: data.window(origins, h) for h in {*HORIZONS[step], *RING_HORIZONS[step]}}
    active = data.counts.copy()
    active.data = np.ones_like(active.data)
    columns = [np.log1p(windows[h]) for h in HORIZONS[step]]
    columns += [np.log1p(data.ring @ windows[h]) for h in RING_HORIZONS[step]]
    short = windows[HORIZONS[step][1]]
    columns.append(np.log1p(data.kernel("quartic", DENSITY_BANDWIDTH_M) @ short))
    columns.append(data.filtered(active, origins, lambda lag: 0.5**lag, max(HORIZONS[step])))
    design = np.ones((len(columns) + 1, data.cells, origins.size), dtype=np.float32)
    for i, column in enumerate(columns, start=1):
        design[i] = column
    return design


def poisson_irls(
    design: FloatArray, outcome: FloatArray, weight: FloatArray, start: FloatArray | None, iterations: int
) -> FloatArray:
    """Ridge-penalised, row-weighted Poisson regression (log link) by Newton-Raphson (= IRLS), with step
    halving so that every step raises the penalised likelihood (plain Newton overshoots from a flat start)."""
    p = design.shape[1]
    beta = np.zeros(p) if start is None else start.copy()
    if start is None:
        beta[0] = np.log(max(float(outcome.sum() / max(weight.sum(), 1e-12)), 1e-9))
    penalty = RIDGE * np.eye(p)
    penalty[0, 0] = 0.0

    def objective(b: FloatArray) -> float:
        eta = np.clip(design @ b, -30.0, 30.0)
        return float(outcome @ eta - weight @ np.exp(eta) - 0.5 * b @ penalty @ b)

    current = objective(beta)
    for _ in range(iterations):
        mean = weight * np.exp(np.clip(design @ beta, -30.0, 30.0))
        gradient = design.T @ (outcome - mean) - penalty @ beta
        hessian = (design * mean[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            trial = objective(beta + step)
            if trial >= current:
                break
            step /= 2.0
        beta, current = beta + step, max(trial, current)
        if np.abs(step).max() < 1e-6:
            break
    return beta


def _compressed(
    design: npt.NDArray[np.float32], outcome: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted rows (cell, origin) to fit on: the many rows with no history at all collapse into one;
    of the rest, every row with reports and a ``ZERO_SAMPLE`` share of those without (weighted up, so the
    likelihood is unbiased)."""
    flat = design.reshape(design.shape[0], -1)
    y = outcome.ravel()
    empty = ~flat[1:].any(axis=0)
    keep = ~empty & ((y > 0) | (rng.random(y.size) < ZERO_SAMPLE))
    weight = np.where(y[keep] > 0, 1.0, 1.0 / ZERO_SAMPLE)
    intercept_only = np.zeros((1, flat.shape[0]))
    intercept_only[0, 0] = 1.0
    return (
        np.vstack([flat[:, keep].T.astype(np.float64), intercept_only]),
        np.append(y[keep], y[empty].sum()),
        np.append(weight, float(empty.sum())),
    )


def glm() -> Candidate:
    def rank(data: StepCounts, origins: IntArray) -> FloatArray:
        back = FIT_ORIGINS[data.step]
        every_k = REFIT_EVERY[data.step]
        first = max(1, int(origins.min()) - int(origins.min()) % every_k - back)
        every = np.arange(first, int(origins.max()) + 1)
        design = features(data, every)  # (p, cells, origins)
        outcome = data.outcome(every)
        scores = np.empty((data.cells, origins.size))
        beta = np.zeros(design.shape[0])
        fitted_at = -1
        for j, t in enumerate(origins.tolist()):
            # refitted every REFIT_EVERY steps on the origins before it (to convergence; the ridge
            # likelihood is strictly concave), so step t's forecast depends on t alone
            block = t - t % every_k
            lo, hi = max(0, block - back - first), block - first
            if hi - lo < 1:  # nothing to learn from yet: rank by the most recent counts
                scores[:, j] = design[1, :, t - first]
                continue
            if block != fitted_at:
                rng = np.random.default_rng(block)
                rows, y, weight = _compressed(design[:, :, lo:hi], outcome[:, lo:hi], rng)
                beta = poisson_irls(rows, y, weight, beta if fitted_at >= 0 else None, ITERATIONS)
                fitted_at = block
            column = design[:, :, t - first].T.astype(np.float64)
            scores[:, j] = np.exp(np.clip(column @ beta, -30.0, 30.0))  # expected reports
        return scores

    return Candidate("glm", "glm", rank, {"fit_origins": FIT_ORIGINS, "refit_every": REFIT_EVERY})


def candidates(step: Step) -> list[Candidate]:
    del step
    return [glm()]
