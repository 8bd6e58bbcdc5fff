"""Analysis snapshots: a stored analysis serves exactly what the computed one does, each (slot, version) is
computed once for every worker on the store, and a damaged snapshot is recomputed, never served."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.analysis import codec as analysis_codec
from hotspots.analysis import compute as analysis
from hotspots.analysis.cache import AnalysisCache, digest
from hotspots.analysis.compute import Analysis, analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.analysis.snapshots import KEEP_PER_SLOT, SnapshotSlot, computations
from hotspots.config import Settings
from hotspots.geo.areas import Areas, load_areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store
from hotspots.store.schema import analysis_snapshots
from tests.conftest import DemoStore
from tests.reliability.conftest import seeded_store, write_reports_csv

PARAMS = AnalysisParams(window="28d", permutations=99)


def test_a_decoded_analysis_serves_exactly_what_was_computed(demo_store: DemoStore) -> None:
    params = AnalysisParams(end=demo_store.end, permutations=99).resolved(demo_store.settings)
    computed = analysis.compute(demo_store.engine, demo_store.settings, demo_store.areas, params)
    data = analysis_codec.encode(computed)
    decoded = analysis_codec.decode(data, demo_store.areas)

    assert digest(decoded) == digest(computed)
    pd.testing.assert_frame_equal(decoded.frame(), computed.frame())
    assert decoded.summary() == computed.summary()
    assert decoded.etag == computed.etag
    np.testing.assert_array_equal(decoded.cube, computed.cube)
    assert (decoded.lattice.weights != computed.lattice.weights).nnz == 0
    pd.testing.assert_frame_equal(decoded.by_category, computed.by_category)
    pd.testing.assert_frame_equal(decoded.change.by_area, computed.change.by_area)
    assert decoded.weeks.equals(computed.weeks)
    np.testing.assert_array_equal(decoded.gi.p_sim, computed.gi.p_sim)
    np.testing.assert_array_equal(decoded.moran.tails.at_least, computed.moran.tails.at_least)
    assert (decoded.start, decoded.end, decoded.params) == (computed.start, computed.end, computed.params)


def test_a_snapshot_holds_no_pickle() -> None:
    """Only the analysis's own types are written: anything else fails when writing, not when reading."""
    encoder = analysis_codec._Encoder()
    with pytest.raises(TypeError, match="cannot hold a set"):
        encoder.node({1, 2})


@pytest.fixture
def small_store(tmp_path: Path, areas: Areas) -> Iterator[tuple[Settings, Engine]]:
    settings, engine = seeded_store(tmp_path, areas, 600, permutations=99)
    yield settings, engine
    engine.dispose()


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Versions computed in this process (the real computation, counted)."""
    real, computed = analysis.compute, []

    def counted(*args: object, **kwargs: object) -> Analysis:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        computed.append(result.dataset_version)
        return result

    monkeypatch.setattr(analysis, "compute", counted)
    return computed


def test_workers_on_one_store_compute_each_version_once(
    small_store: tuple[Settings, Engine], tmp_path: Path, areas: Areas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers (each its own engine and cache, as separate processes have) read at once: one
    computes, the others load its snapshot; after a write, again one computation for all four."""
    settings, engine = small_store
    computed = _counting(monkeypatch)
    workers = [(open_store(settings), AnalysisCache()) for _ in range(4)]
    results: list[Analysis] = []

    def read(worker: tuple[Engine, AnalysisCache]) -> None:
        results.append(analyse(worker[0], settings, areas, PARAMS, cache=worker[1]))

    for round_ in range(2):
        threads = [threading.Thread(target=read, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(computed) == round_ + 1
        assert computations(engine) == round_ + 1
        assert len({r.dataset_version for r in results}) == 1
        assert len({digest(r) for r in results}) == 1
        results.clear()
        more = write_reports_csv(tmp_path / f"w{round_}.csv", 40, prefix=f"w{round_}", seed=round_, days=20)
        ingest.import_file(engine, more, settings=settings, areas=areas)
    for worker_engine, _ in workers:
        worker_engine.dispose()


def test_a_damaged_snapshot_is_recomputed_and_old_versions_are_dropped(
    small_store: tuple[Settings, Engine], tmp_path: Path, areas: Areas, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, engine = small_store
    computed = _counting(monkeypatch)
    first = analyse(engine, settings, areas, PARAMS, cache=AnalysisCache())
    with engine.begin() as conn:
        conn.execute(sa.update(analysis_snapshots).values(sha256="0" * 64))
    again = analyse(engine, settings, areas, PARAMS, cache=AnalysisCache())  # another worker
    assert computed == [first.dataset_version, first.dataset_version]
    assert digest(again) == digest(first)

    for i in range(KEEP_PER_SLOT + 1):
        more = write_reports_csv(tmp_path / f"k{i}.csv", 5, prefix=f"k{i}", seed=20 + i, days=20)
        ingest.import_file(engine, more, settings=settings, areas=areas)
        analyse(engine, settings, areas, PARAMS, cache=AnalysisCache())
    with engine.connect() as conn:
        kept = conn.execute(sa.select(analysis_snapshots.c.dataset_version)).scalars().all()
    assert sorted(kept) == [first.dataset_version + KEEP_PER_SLOT, first.dataset_version + KEEP_PER_SLOT + 1]


def test_an_in_memory_store_keeps_no_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url="sqlite://", permutations=0)
    engine = open_store(settings)
    monkeypatch.setattr(
        SnapshotSlot, "obtain", lambda *_a, **_k: pytest.fail("no snapshot of a private store")
    )
    result = analyse(engine, settings, load_areas(settings), PARAMS, cache=AnalysisCache())
    assert result.dataset_version == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(analysis_snapshots)).scalar() == 0
