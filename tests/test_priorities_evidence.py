"""The list stops where the evidence stops (issue 13 item 3): no tail of one-report places that any
background cell could match."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from sqlalchemy.engine import Engine

from hotspots.analysis.compute import analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.config import Settings
from hotspots.demo import generate as demo
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.ranking.priorities import build_priorities
from hotspots.ranking.priorities.evidence import above_chance
from hotspots.store.engine import open_store
from maps.priorities import render
from tests.conftest import DEMO_END


def test_rule_against_scipy_poisson() -> None:
    # 10,000 cells, 200 with one report: not overdispersed, so the null is Poisson(k × 0.02).
    counts = np.zeros(10_000)
    counts[:200] = 1.0
    reports = np.array([2, 3, 2, 3, 1])
    cells = np.array([1, 1, 1, 2, 1])
    hot = np.array([False, False, True, False, False])
    keep, rule = above_chance(reports, cells, hot, counts)
    expected = stats.poisson.sf(reports - 1, cells * 0.02) < 1e-4
    assert expected.tolist() == [False, True, False, True, False]  # the reference itself is not trivial
    assert keep.tolist() == (expected | hot).tolist()
    assert rule.model == "poisson" and rule.lattice_cells == 10_000 and rule.min_reports_one_cell == 3


@pytest.fixture(scope="module")
def sparse_store(tmp_path_factory: pytest.TempPathFactory, areas: Areas) -> tuple[Settings, Engine]:
    """The default (sparse) demo, as a deployment starts with it."""
    directory = tmp_path_factory.mktemp("sparse")
    files = demo.write(directory, weeks=104, seed=1, end=DEMO_END)
    settings = Settings(database_url=f"sqlite:///{directory / 'demo.db'}", permutations=0)
    engine = open_store(settings)
    ingest.import_file(engine, files.reports, settings=settings, areas=areas)
    return settings, engine


def test_sparse_demo_list_has_no_tail_of_chance(sparse_store: tuple[Settings, Engine], areas: Areas) -> None:
    settings, engine = sparse_store
    plist = build_priorities(engine, settings, areas, AnalysisParams(end=DEMO_END), top=10_000)
    assert plist.evidence is not None and plist.evidence["min_reports_one_cell"] >= 2
    assert len(plist) >= 3  # the real places are still there
    for entry in plist:
        # No one-report place unless it is a significant hot spot.
        assert entry.reports > 1 or entry.gi_bin > 0, entry
    # Without the cut the window has many one-report places: the rule removed a real tail.
    analysis = analyse(engine, settings, areas, AnalysisParams(end=DEMO_END))
    assert int((analysis.count == 1).sum()) > 3 * len(plist)

    meta = json.loads(render(plist, "json"))
    assert meta["evidence"]["model"] in {"poisson", "negbin"} and "1/cells" in meta["evidence"]["rule"]
    page = render(plist, "html").decode("utf-8")
    assert f"minst {plist.evidence['min_reports_one_cell']} i en cell" in page
