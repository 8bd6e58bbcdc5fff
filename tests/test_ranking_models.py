"""The model-based candidates recover what they model: the self-exciting process's EM finds the branching
ratio and decay it was simulated with; the Poisson regression matches a direct likelihood maximisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import optimize

from hotspots.ranking import blend
from hotspots.ranking.candidates import decayed, glm, sepp
from hotspots.ranking.steps import StepCounts


def _lattice(side: int, spacing: float) -> np.ndarray:
    x, y = np.meshgrid(np.arange(side) * spacing, np.arange(side) * spacing)
    return np.column_stack([x.ravel(), y.ravel()])


def test_sepp_em_recovers_the_simulated_branching_ratio_and_decay() -> None:
    """lambda_i(t) = mu + theta * sum_l (1 - q) q^(l-1) * (H x)_i(t - l), simulated step by step."""
    rng = np.random.default_rng(4)
    xy = _lattice(20, 100.0)
    n, steps, theta, q, mu = xy.shape[0], 130, 0.5, 0.6, 0.03
    empty = StepCounts(sp.csr_matrix((n, 1)), pd.period_range("2024-01-01", periods=1, freq="W-SUN"),
                       "week", xy, sp.csr_matrix((n, n)), sp.csr_matrix((n, 1)))  # fmt: skip
    spread = empty.kernel("gaussian", 100.0).toarray()
    counts = np.zeros((n, steps))
    lags = np.arange(1, sepp.MAX_LAG["week"] + 1)
    g = (1 - q) * q ** (lags - 1)
    for t in range(steps):
        past = [spread @ counts[:, t - lag] for lag in lags if t - lag >= 0]
        rate = mu + theta * sum(w * p for w, p in zip(g, past, strict=False))
        counts[:, t] = rng.poisson(rate)
    data = StepCounts(sp.csr_matrix(counts), pd.period_range("2024-01-01", periods=steps, freq="W-SUN"),
                      "week", xy, sp.csr_matrix((n, n)), sp.csr_matrix(counts))  # fmt: skip
    fitted = sepp.fit(data, steps, 100.0)
    assert fitted.theta == pytest.approx(theta, abs=0.1)
    assert fitted.q == pytest.approx(q, abs=0.15)
    assert fitted.mu.mean() == pytest.approx(mu, rel=0.3)


def test_poisson_irls_matches_direct_maximum_likelihood() -> None:
    rng = np.random.default_rng(2)
    design = np.column_stack([np.ones(3000), rng.normal(size=(3000, 2))])
    outcome = rng.poisson(np.exp(design @ np.array([-1.0, 0.7, -0.4]))).astype(float)
    weight = rng.choice([1.0, 5.0], size=3000)
    ours = glm.poisson_irls(design, outcome * weight, weight, None, 50)

    def negative_loglik(beta: np.ndarray) -> float:
        eta = design @ beta
        penalty = 0.5 * glm.RIDGE * float(beta[1:] @ beta[1:])
        return float(-(outcome * weight) @ eta + weight @ np.exp(eta) + penalty)

    reference = optimize.minimize(negative_loglik, np.zeros(3), method="BFGS", options={"gtol": 1e-8}).x
    assert ours == pytest.approx(reference, abs=1e-4)


def test_blend_puts_members_on_one_scale_and_keeps_empty_cells_at_zero() -> None:
    # 40 cells: top 5 % = 2 cells. a's top two average 10, b's average 1 (a hundredth of the scale is noise)
    a = np.zeros((40, 1))
    a[:3, 0] = [12.0, 8.0, 4.0]
    b = np.zeros((40, 1))
    b[[2, 5], 0] = [1.5, 0.5]
    mixed = blend.blend([a, b])[:, 0]
    expected = np.zeros(40)
    expected[:3] += np.array([12.0, 8.0, 4.0]) / 10.0 / 2
    expected[[2, 5]] += np.array([1.5, 0.5]) / 1.0 / 2
    assert mixed == pytest.approx(expected)
    assert np.argmax(mixed) == 2  # the cell both members rank high leads
    assert (mixed[6:] == 0).all()
    assert blend.tiers(blend.name([["naive_52", "sepp"], ["kde_150m_52"]])) == [
        ["naive_52", "sepp"],
        ["kde_150m_52"],
    ]
    assert blend.tiers("naive_52") == [["naive_52"]]  # a choice stored before blends
    assert blend.blend([np.zeros((40, 1))])[:, 0].tolist() == [0.0] * 40  # nothing to scale: no risk


def test_decayed_counts_weigh_each_report_by_its_age_at_the_middle_of_its_month() -> None:
    """Monthly steps: a report 1 and one 13 months before the origin, half-life 26 weeks; nothing from
    the origin's own month or more than three years back counts."""
    counts = np.zeros((2, 45))
    counts[0, [40 - 1, 40 - 13, 40, 40 - 37]] = [2.0, 1.0, 5.0, 7.0]  # origin 40: its own month, 3 y + 1
    counts[1, 40 - 2] = 1.0
    data = StepCounts(sp.csr_matrix(counts), pd.period_range("2022-01", periods=45, freq="M"), "month",
                      _lattice(1, 1.0).repeat(2, axis=0), sp.csr_matrix((2, 2)), sp.csr_matrix(counts))  # fmt: skip
    weeks_per_month = 365.25 / 12 / 7
    age = lambda lag: (lag + 0.5) * weeks_per_month  # noqa: E731 - months before the origin's start
    expected = [2 * 0.5 ** (age(0) / 26) + 0.5 ** (age(12) / 26), 0.5 ** (age(1) / 26)]
    scores = decayed.decayed(26.0).rank(data, np.array([40]))[:, 0]
    assert scores == pytest.approx(expected)


def test_tiers_put_the_head_blends_top_cells_first_in_its_own_order() -> None:
    """Head tier: its top 2 cells with any risk, in its order; then every other cell in the body's order."""
    head = np.array([[0.0], [5.0], [3.0], [0.0], [1.0], [0.0]])
    body = np.array([[9.0], [1.0], [0.0], [4.0], [2.0], [3.0]])
    order = np.argsort(-blend.tiered([head, body], [2])[:, 0], kind="stable").tolist()
    assert order == [1, 2, 0, 3, 5, 4]
    sparse_head = np.array([[0.0], [2.0], [0.0], [0.0], [0.0], [0.0]])  # one cell with risk: no zeros in
    order = np.argsort(-blend.tiered([sparse_head, body], [2])[:, 0], kind="stable").tolist()
    assert order == [1, 0, 3, 5, 4, 2]
