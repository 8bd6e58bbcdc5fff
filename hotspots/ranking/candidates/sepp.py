"""Self-exciting point process (Mohler, Short, Brantingham, Schoenberg & Tita 2011) on the step lattice.

Expected reports in cell i at step t::

    lambda_i(t) = mu_i + theta * sum_j h(d_ij) * sum_{l >= 1} g(l) * x_j(t - l)

``mu`` is a stationary background (the cell's share of reports not attributed to triggering, smoothed
with a Gaussian of ``BACKGROUND_SIGMA_M``), ``h`` a Gaussian of width sigma spreading each report's
offspring over nearby cells, ``g(l) = (1 - q) q^(l - 1)`` a geometric (discretised exponential) decay
over step lags and ``theta`` the expected offspring per report. The parameters are fitted by EM
(Mohler et al.'s stochastic declustering, on counts) on the ``TRAIN_STEPS`` before each block of
``REFIT_STEPS`` origins, so the forecasts stay out of sample; sigma is chosen on that same training
likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotspots.ranking.candidates.candidate import Candidate
from hotspots.ranking.steps import FloatArray, IntArray, Step, StepCounts

SIGMAS_M = (50.0, 100.0, 200.0)
BACKGROUND_SIGMA_M = 200.0
TRAIN_STEPS: dict[str, int] = {"week": 104, "month": 36}
MAX_LAG: dict[str, int] = {"week": 26, "month": 12}
MIN_TRAIN_STEPS = 3
REFIT_STEPS: dict[str, int] = {"week": 26, "month": 12}
ITERATIONS = 30
TOLERANCE = 1e-4


@dataclass(frozen=True)
class Fit:
    mu: FloatArray
    theta: float
    q: float
    sigma_m: float
    loglik: float


def fit(data: StepCounts, end: int, sigma_m: float) -> Fit:
    """EM on steps ``[end - TRAIN_STEPS, end)`` (parents may come from up to ``MAX_LAG`` steps earlier)."""
    lags = MAX_LAG[data.step]
    start = max(1, end - TRAIN_STEPS[data.step])
    first = max(0, start - lags)
    spread = np.asarray((data.kernel("gaussian", sigma_m) @ data.counts[:, first:end]).todense())
    train = data.counts[:, start:end].tocoo()
    cell, step, x = train.row, train.col + start, train.data
    lag = np.arange(1, lags + 1)
    source = step[:, None] - lag[None, :] - first  # (events, lags) column of the parent step in `spread`
    parents = np.where(source >= 0, spread[cell[:, None], np.maximum(source, 0)], 0.0)
    totals = np.asarray(data.counts[:, first:end].sum(axis=0)).ravel()  # Gaussian columns sum to 1
    t_source = np.arange(start, end)[:, None] - lag[None, :] - first
    parent_totals = np.where(t_source >= 0, totals[np.maximum(t_source, 0)], 0.0)  # (train steps, lags)
    n_steps = end - start
    smooth = data.kernel("gaussian", BACKGROUND_SIGMA_M)
    mu = smooth @ np.asarray(data.counts[:, start:end].sum(axis=1)).ravel() / n_steps * 0.5
    theta, q = 0.5, 0.5
    for _ in range(ITERATIONS):
        before = (theta, q)
        g = (1.0 - q) * q ** (lag - 1.0)
        triggered = theta * parents * g  # (events, lags)
        rate = mu[cell] + triggered.sum(axis=1)
        share = triggered / rate[:, None] * x[:, None]
        offspring = share.sum(axis=0)  # expected triggered reports per lag
        background = x * mu[cell] / rate
        mu = smooth @ np.bincount(cell, weights=background, minlength=data.cells) / n_steps
        theta = float(offspring.sum() / max((parent_totals * g).sum(), 1e-12))
        mean_lag = float((offspring * lag).sum() / max(offspring.sum(), 1e-12))
        q = float(np.clip(1.0 - 1.0 / max(mean_lag, 1.0 + 1e-9), 1e-6, 0.99))
        if abs(theta - before[0]) < TOLERANCE and abs(q - before[1]) < TOLERANCE:
            break
    g = (1.0 - q) * q ** (lag - 1.0)
    rate = mu[cell] + theta * (parents * g).sum(axis=1)
    loglik = float((x * np.log(rate)).sum() - mu.sum() * n_steps - theta * (parent_totals * g).sum())
    return Fit(mu, theta, q, sigma_m, loglik)


def forecast(data: StepCounts, origins: IntArray, model: Fit) -> FloatArray:
    """lambda_i(t) for every cell and origin with the fitted parameters."""
    spread = (data.kernel("gaussian", model.sigma_m) @ data.counts).tocsr()
    lags = MAX_LAG[data.step]
    q = model.q
    recent = data.filtered(spread, origins, lambda lag: (1.0 - q) * q**lag, lags)
    return model.mu[:, None] + model.theta * recent


def sepp() -> Candidate:
    def rank(data: StepCounts, origins: IntArray) -> FloatArray:
        # parameters refitted every REFIT_STEPS steps, on the steps before the block: a forecast for step
        # t depends on t alone, not on which other steps are ranked in the same call
        scores = np.empty((data.cells, origins.size))
        block = origins - origins % REFIT_STEPS[data.step]
        for end in np.unique(block).tolist():
            members = np.flatnonzero(block == end)
            if end < MIN_TRAIN_STEPS + 1:  # too little history to fit: all past counts
                scores[:, members] = data.window(origins[members], data.steps)
                continue
            model = max((fit(data, end, s) for s in SIGMAS_M), key=lambda f: f.loglik)
            scores[:, members] = forecast(data, origins[members], model)
        return scores

    return Candidate("sepp", "sepp", rank, {"sigmas_m": SIGMAS_M, "train_steps": TRAIN_STEPS})


def candidates(step: Step) -> list[Candidate]:
    del step
    return [sepp()]
