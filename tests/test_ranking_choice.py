"""The ranking in force: chosen by evidence, stored with it, re-chosen cheaply after an import (same result
as choosing from scratch), shown by status and used by the priority list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.ranking import blend, candidates, choice
from hotspots.ranking.backtest import study_lattice
from hotspots.store import summary
from hotspots.store.engine import open_store
from tests.towns import square_town


def _weeks(
    first: str, last: str, to_wgs84: Transformer, centre: tuple[float, float], seed: int
) -> pd.DataFrame:
    """A steady hot spot (a few reports a week) plus sparse background, one row per report."""
    rng = np.random.default_rng(seed)
    rows = []
    for week in pd.period_range(first, last, freq="W-SUN"):
        hot = rng.normal(0, 50, (rng.poisson(4), 2)) + np.array(centre) + 300
        background = rng.uniform(-1400, 1400, (rng.poisson(6), 2)) + np.array(centre)
        for k, (x, y) in enumerate(np.vstack([hot, background])):
            lon, lat = to_wgs84.transform(x, y)
            hours = 156 if k == 0 else int(rng.integers(0, 167))  # one on Sunday: every week is complete
            when = week.start_time + pd.Timedelta(hours=hours)
            rows.append({"source": "police", "source_id": f"{week}-{k}", "occurred_at": when.isoformat(),
                         "category": "observed_dealing", "lat": lat, "lon": lon})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture()
def town(tmp_path: Path) -> tuple[Settings, Areas, Transformer, tuple[float, float]]:
    settings, areas, to_wgs84, centre = square_town(tmp_path, "Centrum", 1500)
    frame = _weeks("2024-06-03", "2025-11-30", to_wgs84, centre, seed=2)
    ingest.import_frame(open_store(settings), frame, settings=settings, areas=areas)
    return settings, areas, to_wgs84, centre


def test_choice_is_the_best_on_its_evidence_and_is_stored(town: tuple) -> None:
    settings, areas, _, _ = town
    engine = open_store(settings)
    assert choice.in_force(engine) is None
    assert summary.status(engine, areas)["ranking"] is None
    chosen = choice.select(engine, settings, lambda r: study_lattice(r, settings, areas))
    merit = chosen.evidence["merit"]  # PEI per coverage and candidate
    tiers = blend.tiers(chosen.method)  # the blends of the best three at 1 %, then at 5 %
    for coverage, members in zip(("0.01", "0.05"), tiers, strict=True):
        assert set(merit[coverage]) == {c.name for c in candidates.for_step("week")}
        assert sorted(merit[coverage][m] for m in members) == sorted(merit[coverage].values())[-3:]
    assert chosen.step == "week" and chosen.evidence["lookback"] == 26
    stored = choice.in_force(engine)
    assert stored is not None and stored.method == chosen.method and stored.evidence == chosen.evidence
    status = summary.status(engine, areas)["ranking"]
    assert status["method"] == chosen.method and "per_step" not in status["evidence"]


def test_reselection_after_an_import_equals_a_fresh_choice(town: tuple) -> None:
    settings, areas, to_wgs84, centre = town
    engine = open_store(settings)
    lattice_for = lambda r: study_lattice(r, settings, areas)  # noqa: E731
    before = choice.select(engine, settings, lattice_for)
    new_week = _weeks("2025-12-01", "2025-12-07", to_wgs84, centre, seed=9)
    ingest.import_frame(engine, new_week, settings=settings, areas=areas)
    again = choice.reselect_after_import(engine, settings, areas)
    fresh = choice.select(engine, settings, lattice_for)
    assert again is not None
    assert again.evidence["last"] == fresh.evidence["last"] != before.evidence["last"]
    for coverage, merit in fresh.evidence["merit"].items():
        assert again.evidence["merit"][coverage] == pytest.approx(merit, abs=2e-4)
    assert again.method == fresh.method


def test_priority_list_ranks_by_the_choice_and_says_so(town: tuple) -> None:
    from hotspots.analysis.params import AnalysisParams
    from hotspots.ranking.priorities import build_priorities

    settings, areas, _, _ = town
    engine = open_store(settings)
    params = AnalysisParams(window="28d", end=datetime(2025, 11, 30, tzinfo=UTC).date())
    default = build_priorities(engine, settings, areas, params, top=5).to_dict()
    assert default["ranking"]["method"] == "weighted_score"
    chosen = choice.select(engine, settings, lambda r: study_lattice(r, settings, areas))
    plist = build_priorities(engine, settings, areas, params, top=5).to_dict()
    assert plist["ranking"]["method"] == chosen.method and chosen.method in plist["ranking"]["why"]
    assert plist["entries"], "the hot spot is listed"
