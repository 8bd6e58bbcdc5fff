"""A stale or corrupted statistics cache is recomputed, never served.

Stale: another engine (another API worker, the CLI) writes to the store; the dataset version moves, so
the next request recomputes. Corrupted: a cached entry changed in place (an array, its recorded version)
fails its checksum on the next hit and is recomputed from the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from hotspots.analysis import compute as analysis
from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.compute import Analysis, analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store
from tests.reliability.conftest import write_reports_csv

PARAMS = AnalysisParams(window="28d", permutations=0)


@pytest.fixture
def small_store(tmp_path: Path, areas: Areas) -> Iterator[tuple[Settings, Engine]]:
    """A SQLite store with 800 reports of the last 20 days."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}", permutations=0)
    engine = open_store(settings)
    csv = write_reports_csv(tmp_path / "first.csv", 800, prefix="first", days=20)
    ingest.import_file(engine, csv, settings=settings, areas=areas)
    yield settings, engine
    engine.dispose()


@pytest.fixture
def cache() -> AnalysisCache:
    """An empty analysis cache, as an app or a command creates one."""
    return AnalysisCache()


def test_a_write_through_another_engine_makes_the_cache_stale(
    small_store: tuple[Settings, Engine], tmp_path: Path, areas: Areas, cache: AnalysisCache
) -> None:
    settings, engine = small_store
    first = analyse(engine, settings, areas, PARAMS, cache=cache)
    assert analyse(engine, settings, areas, PARAMS, cache=cache) is first

    other_worker = open_store(settings)  # another engine on the store, as another API worker or the CLI
    more = write_reports_csv(tmp_path / "more.csv", 300, prefix="more", seed=1, days=20)
    assert ingest.import_file(other_worker, more, settings=settings, areas=areas).rows_added == 300
    other_worker.dispose()

    second = analyse(engine, settings, areas, PARAMS, cache=cache)
    assert second is not first
    assert second.dataset_version == first.dataset_version + 1
    assert second.reports_in_window == first.reports_in_window + 300
    assert second.etag != first.etag


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: r.count.__setitem__(np.argmax(r.count), 0.0), id="count-array"),
        pytest.param(lambda r: r.gi.z.__imul__(-1.0), id="gi-z-array"),
        pytest.param(lambda r: setattr(r, "dataset_version", r.dataset_version + 7), id="recorded-version"),
    ],
)
def test_a_cached_entry_changed_in_place_is_recomputed(
    small_store: tuple[Settings, Engine],
    areas: Areas,
    tamper: Callable[[Analysis], object],
    caplog: pytest.LogCaptureFixture,
    cache: AnalysisCache,
) -> None:
    settings, engine = small_store
    cached = analyse(engine, settings, areas, PARAMS, cache=cache)
    truth = (cached.count.copy(), cached.gi.z.copy(), cached.dataset_version)
    tamper(cached)

    with caplog.at_level(logging.WARNING, logger="hotspots.analysis.cache"):
        served = analyse(engine, settings, areas, PARAMS, cache=cache)
    assert served is not cached
    assert "checksum" in caplog.text
    np.testing.assert_array_equal(served.count, truth[0])
    np.testing.assert_allclose(served.gi.z, truth[1])
    assert served.dataset_version == truth[2]
    assert analyse(engine, settings, areas, PARAMS, cache=cache) is served  # the fresh entry is cached


def test_a_stream_of_writes_computes_one_version_at_a_time_and_waiters_get_the_newest(
    small_store: tuple[Settings, Engine],
    tmp_path: Path,
    areas: Areas,
    monkeypatch: pytest.MonkeyPatch,
    cache: AnalysisCache,
) -> None:
    """After each write every reader of a worker misses at once. They must wait for one computation, not
    start one per version beside the unfinished ones (the soak's recompute storm), and whoever waited
    gets the newest version. Events order the threads: the first computation is held until every reader
    has read its dataset version and so missed the (still empty) cache."""
    settings, engine = small_store
    real_compute = analysis.compute
    running, peak, computed = [0], [0], []
    started, release = threading.Event(), threading.Event()
    guard = threading.Lock()

    def slow_compute(*args: object, **kwargs: object) -> Analysis:
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        started.set()
        release.wait(30)  # the first computation lasts until every write below has landed
        try:
            result = real_compute(*args, **kwargs)  # type: ignore[arg-type]
            computed.append(result.dataset_version)
            return result
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(analysis, "compute", slow_compute)
    results: list[Analysis] = []
    real_version = analysis.dataset_version
    versions_read = threading.Semaphore(0)

    def counted_version(engine: Engine) -> int:
        version = real_version(engine)
        versions_read.release()
        return version

    def read() -> None:
        results.append(analyse(engine, settings, areas, PARAMS, cache=cache))

    first = threading.Thread(target=read)
    first.start()
    assert started.wait(10)
    monkeypatch.setattr(analysis, "dataset_version", counted_version)  # counts the readers' lookups only
    readers = []
    for i in range(3):  # three writes while the first computation runs, each followed by two readers
        csv = write_reports_csv(tmp_path / f"w{i}.csv", 5, prefix=f"w{i}", seed=10 + i, days=20)
        ingest.import_file(engine, csv, settings=settings, areas=areas)
        readers += [threading.Thread(target=read) for _ in range(2)]
        for thread in readers[-2:]:
            thread.start()
    for _ in readers:  # every reader has looked its version up, missed, and heads for the slot's lock
        assert versions_read.acquire(timeout=30)
    release.set()
    for thread in [first, *readers]:
        thread.join(timeout=60)

    newest = results[0].dataset_version + 3
    assert peak[0] == 1  # never two computations of one analysis at once
    assert computed == [newest - 3, newest]  # the versions in between were never computed
    assert sorted(r.dataset_version for r in results[1:]) == [newest] * 6
