"""Reads never wait for a computation in progress, and never serve an analysis superseded for longer than
``max_staleness_s``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from hotspots.analysis import compute as analysis
from hotspots.analysis.cache import HARD_BOUND, AnalysisCache, VersionClock
from hotspots.analysis.compute import Analysis, analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import dataset_version, open_store
from hotspots.store.version_watch import VersionWatcher
from tests.conftest import _reset_postgres
from tests.reliability.conftest import seeded_store, write_reports_csv

PARAMS = AnalysisParams(window="28d", permutations=0)


@pytest.fixture
def store(tmp_path: Path, areas: Areas) -> Iterator[tuple[Settings, Engine]]:
    settings, engine = seeded_store(tmp_path, areas, 400, permutations=0, max_staleness_s=3.0)
    yield settings, engine
    engine.dispose()


def _write(engine: Engine, settings: Settings, areas: Areas, path: Path, name: str) -> None:
    csv = write_reports_csv(path / f"{name}.csv", 30, prefix=name, seed=hash(name) % 1000, days=20)
    assert ingest.import_file(engine, csv, settings=settings, areas=areas).rows_added == 30


def test_a_read_after_a_write_is_answered_at_once_from_the_previous_analysis(
    store: tuple[Settings, Engine], tmp_path: Path, areas: Areas, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, engine = store
    cache = AnalysisCache()
    first = analyse(engine, settings, areas, PARAMS, cache=cache)
    real, release, started = analysis.compute, threading.Event(), threading.Event()

    def held(*args: object, **kwargs: object) -> Analysis:
        started.set()
        assert release.wait(30)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "compute", held)
    _write(engine, settings, areas, tmp_path, "b")

    began = time.monotonic()
    served = analyse(engine, settings, areas, PARAMS, cache=cache)
    assert served is first  # not waiting for the computation the read started in the background
    assert time.monotonic() - began < 1.0
    assert started.wait(10)
    release.set()
    deadline = time.monotonic() + 20
    while (served := analyse(engine, settings, areas, PARAMS, cache=cache)) is first:
        assert time.monotonic() < deadline, "the background refresh never landed"
        time.sleep(0.05)
    assert served.dataset_version == dataset_version(engine)
    assert served.reports_in_window == first.reports_in_window + 30


def test_an_analysis_superseded_longer_than_the_bound_is_not_served(
    store: tuple[Settings, Engine], tmp_path: Path, areas: Areas
) -> None:
    settings, engine = store
    cache = AnalysisCache()
    first = analyse(engine, settings, areas, PARAMS, cache=cache)
    _write(engine, settings, areas, tmp_path, "c")
    # the write was seen (by the version watcher) longer ago than even the hard bound allows
    superseded = time.monotonic() - HARD_BOUND * settings.max_staleness_s - 1
    cache.versions.observe(dataset_version(engine), at=superseded)
    served = analyse(engine, settings, areas, PARAMS, cache=cache)
    assert served is not first
    assert served.dataset_version == dataset_version(engine)


def test_staleness_zero_always_waits(store: tuple[Settings, Engine], tmp_path: Path, areas: Areas) -> None:
    settings, engine = store
    settings = settings.model_copy(update={"max_staleness_s": 0.0})
    cache = AnalysisCache()
    first = analyse(engine, settings, areas, PARAMS, cache=cache)
    _write(engine, settings, areas, tmp_path, "d")
    assert (
        analyse(engine, settings, areas, PARAMS, cache=cache).reports_in_window
        == first.reports_in_window + 30
    )


def test_the_clock_measures_from_the_first_sight_of_a_newer_version() -> None:
    clock = VersionClock(keep=3)
    now = time.monotonic()
    clock.observe(5, at=now - 10)
    clock.observe(6, at=now - 4)
    clock.observe(6, at=now)  # seen again: the first sight counts
    assert clock.age(6) == 0.0
    assert 3.9 < clock.age(5) < 4.5
    assert 9.9 < clock.age(4) < 10.5
    clock.observe(7)
    clock.observe(8)  # 5 is forgotten: how long 4 has been superseded is no longer known
    assert clock.age(4) == float("inf")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_watcher_hears_of_a_write_through_another_engine_at_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, areas: Areas
) -> None:
    """Within a second, without a request: what makes "superseded since" the time of the write."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    if backend == "postgres":
        url = request.getfixturevalue("pg_database")
        _reset_postgres(url)
    settings = Settings(database_url=url)
    engine, other = open_store(settings), open_store(settings)  # the app's, and another process's
    heard: list[tuple[int, float]] = []
    watcher = VersionWatcher(engine, lambda version: heard.append((version, time.monotonic())))
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while not heard:
            assert time.monotonic() < deadline, "the watcher never read the version"
            time.sleep(0.02)
        before = dataset_version(other)
        _write(other, settings, areas, tmp_path, "watched")
        written = time.monotonic()
        while not any(version > before for version, _ in heard):
            assert time.monotonic() - written < 1.0, "the write was not pushed within a second"
            time.sleep(0.01)
    finally:
        watcher.stop()
        engine.dispose()
        other.dispose()
