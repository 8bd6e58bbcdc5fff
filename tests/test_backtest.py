"""Backtest: hit rate, PAI and PEI against hand-computed values, any data (month-only dates, another town),
and the demo run: every method beats chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots.config import Settings
from hotspots.ingest import pipeline as ingest
from hotspots.ranking import blend, candidates
from hotspots.ranking.backtest import history, run_backtest, score_ranking, study_lattice
from hotspots.ranking.selection import Evaluation
from hotspots.store.engine import open_store, read_reports
from tests.conftest import DemoStore
from tests.towns import square_town


def test_hit_rate_pai_pei_by_hand() -> None:
    score = [5, 4, 3, 2, 1, 0, 0, 0, 0, 0]
    outcome = [3, 0, 1, 0, 0, 4, 0, 0, 2, 0]  # N = 10 reports
    hits = score_ranking(score, outcome, 0.2)  # top 2 of 10 cells: cells 0 and 1 -> 3 reports
    assert (hits.hits, hits.reports, hits.selected) == (3, 10, 2)
    assert hits.hit_rate == pytest.approx(0.3)
    assert hits.pai == pytest.approx(0.3 / 0.2)  # 1.5
    assert hits.pei == pytest.approx(3 / 7)  # best two cells hold 4 + 3
    pooled = hits + score_ranking([0, 1, 0, 0, 0, 0, 0, 0, 0, 0], outcome, 0.1)  # picks cell 1: 0 of 10
    assert pooled.hit_rate == pytest.approx(3 / 20)
    assert pooled.pai == pytest.approx((3 / 20) / (3 / 20))
    assert pooled.pei == pytest.approx(3 / 11)


def test_ties_at_the_cut_count_pro_rata() -> None:
    # 4 cells tie for the 2 slots: expected hits = 2/4 of the 8 reports they hold
    hits = score_ranking([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [4, 0, 2, 2, 1, 0, 0, 0, 0, 1], 0.2)
    assert hits.hits == pytest.approx(4.0)
    assert hits.pei == pytest.approx(4 / 6)


@pytest.fixture(scope="module")
def other_town(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Month-only reports in Umeå: a steady hotspot on a square plus uniform background, 14 months."""
    town = square_town(tmp_path_factory.mktemp("umea"), "Umeå centrum", 2000)
    settings, to_wgs84, (cx, cy) = town.settings, town.to_wgs84, town.centre
    rng = np.random.default_rng(7)
    rows = []
    for month in pd.period_range("2025-01", "2026-02", freq="M"):
        hot = rng.normal(0, 40, (30, 2)) + np.array([cx, cy])
        background = rng.uniform(-1800, 1800, (30, 2)) + np.array([cx, cy])
        for k, (x, y) in enumerate(np.vstack([hot, background])):
            lon, lat = to_wgs84.transform(x, y)
            rows.append({"source": "police", "source_id": f"{month}-{k}", "occurred_at": str(month),
                         "category": "observed_dealing", "lat": lat, "lon": lon})  # fmt: skip
    engine = open_store(settings)
    ingest.import_frame(engine, pd.DataFrame(rows), settings=settings, areas=town.areas)
    return settings


def test_month_only_data_outside_orebro_on_its_own_extent(other_town: Settings) -> None:
    result = run_backtest(open_store(other_town), other_town, areas=None, step="month", periods=6)
    assert result.study_area == "extent"
    assert result.periods == [str(p) for p in pd.period_range("2025-09", "2026-02", freq="M")]
    assert result.reports == 6 * 60
    names = {c.name for c in candidates.for_step("month")}
    assert set(result.methods) == names | {"score"}
    assert {f"naive_{k}" for k in (1, 3, 6, 12, 24)} <= names
    for method, by_coverage in result.methods.items():
        assert by_coverage[0.05].pai > 5, method  # the hotspot's ~30 reports a month sit in a few cells
    assert len(result.selected) == 6
    for name in result.selected:  # the 1 % tier's blend, then the 5 % tier's
        assert [len(t) for t in blend.tiers(name)] == [blend.SIZE, blend.SIZE]
        assert {m for t in blend.tiers(name) for m in t} <= names


def test_score_is_the_hand_computed_tiered_blend(other_town: Settings) -> None:
    """``score`` at a step is the tiered blend chosen for it, computed here by hand: in each tier every
    member's scores over the mean of its top 5 % of cells, averaged; the 1 % tier's top 1 % of cells
    first (in its order), then every other cell in the 5 % tier's order; then cut at 1/5/10 %."""
    engine = open_store(other_town)
    result = run_backtest(engine, other_town, areas=None, step="month", periods=4)
    single = run_backtest(engine, other_town, areas=None, step="month", periods=1, lookback=result.lookback)
    # the last step's choice is the same whether 1 or 4 steps are tested (nested: only earlier steps count)
    assert single.selected[-1] == result.selected[-1]
    reports = read_reports(engine, columns=("occurred_at", "category", "lat", "lon", "weight"))
    data = history(reports, study_lattice(reports, other_town, None), other_town, "month")
    origin = np.array([list(map(str, data.periods)).index(single.periods[-1])])
    top = round(0.05 * data.cells)
    head, rest = [
        sum(scores / np.sort(scores)[::-1][:top].mean() / blend.SIZE for scores in
            (candidates.by_name("month", name).rank(data, origin)[:, 0] for name in tier))
        for tier in blend.tiers(single.selected[-1])
    ]  # fmt: skip
    first = (head >= np.sort(head)[::-1][round(0.01 * data.cells) - 1]) & (head > 0)
    by_hand = np.where(first, 10.0 + head, rest)  # any order that puts the head's cells first
    outcome = data.outcome(origin)[:, 0]
    for coverage in (0.01, 0.05, 0.1):
        expected = score_ranking(by_hand, outcome, coverage).hits
        assert single.methods["score"][coverage].hits == pytest.approx(expected), coverage


def _evaluation(hits: np.ndarray, names: list[str]) -> Evaluation:
    steps = hits.shape[1]
    return Evaluation(names, hits, np.full((steps, 3), 10.0), np.full(steps, 50.0), np.array([1, 5, 10]), 100)


def test_nested_choice_never_sees_the_step_it_is_used_for() -> None:
    rng = np.random.default_rng(3)
    names = ["a", "b", "c", "d", "e"]
    hits = rng.uniform(0, 10, (5, 20, 3))
    chosen = _evaluation(hits, names).nested(10, lookback=5)
    for i, t in enumerate(range(10, 20)):
        for tier, coverage in enumerate((0, 1)):  # 1 % and 5 %
            pei = hits[:, t - 5 : t, coverage].sum(axis=1) / 50.0
            assert chosen[i, tier].tolist() == sorted(np.argsort(-pei)[:3].tolist())
        future = hits.copy()
        future[:, t:, :] = rng.uniform(0, 10, future[:, t:, :].shape)  # rewrite step t and after
        assert _evaluation(future, names).choose(t, 5).tolist() == chosen[i].tolist()


def test_selection_picks_the_planted_leaders_and_breaks_ties_toward_the_simpler() -> None:
    """``glm`` led long ago and ``score`` leads in the step itself; over the look-back ``kde``, ``sepp``
    and ``naive`` lead at 1 % (naive tied with score: the simpler, listed first, is taken) and ``glm``,
    ``kde`` and ``sepp`` at 5 %. Each tier is named in the candidates' order, whichever member leads."""
    names = ["naive", "score", "kde", "sepp", "glm"]
    hits = np.zeros((5, 12, 3))
    hits[:, :6] = np.array([2.0, 2.0, 2.0, 2.0, 9.0])[:, None, None]  # outside the look-back
    hits[:, 6:10, 0] = np.array([5.0, 5.0, 7.0, 6.0, 1.0])[:, None]  # the look-back (4 steps) at 1 %
    hits[:, 6:10, 1] = np.array([1.0, 1.0, 8.0, 7.0, 9.0])[:, None]  # … and at 5 %
    hits[:, 10:] = np.array([0.0, 10.0, 0.0, 0.0, 0.0])[:, None, None]  # the step chosen for, and after
    evaluation = _evaluation(hits, names)
    assert evaluation.blend_name(evaluation.choose(10, lookback=4)) == "naive+kde+sepp / kde+sepp+glm"
    assert evaluation.blend_name(evaluation.choose(6, lookback=6)) == "naive+score+glm / naive+score+glm"


def test_demo_backtest_every_candidate_beats_chance_and_selection_keeps_up(demo_store: DemoStore) -> None:
    result = run_backtest(
        demo_store.engine, demo_store.settings, areas=demo_store.areas, step="week", periods=12
    )
    assert len(result.periods) == 12 and result.study_area == "areas"
    for method in result.methods:
        for coverage, hits in result.methods[method].items():
            assert hits.pai > 3, (method, coverage, hits)  # chance is 1
            assert 0 < hits.pei <= 1
    score = result.methods["score"]
    for coverage in (0.01, 0.05):
        best = max(h[coverage].pei for m, h in result.methods.items() if m != "score")
        assert score[coverage].pei >= best - 0.05, coverage
    assert result.methods["score"][0.05].pei >= result.methods["naive_1"][0.05].pei
