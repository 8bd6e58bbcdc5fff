"""Computations off the serving worker: the reports kept between computations are exactly what a full read
returns (after inserts, deletions and out-of-order ids), an analysis computed in the child process is the
one computed in the worker, its errors reach the caller, and a child that dies is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.analysis import codec as analysis_codec
from hotspots.analysis import compute as analysis
from hotspots.analysis.cache import digest
from hotspots.analysis.params import AnalysisParams
from hotspots.analysis.process import AnalysisProcess
from hotspots.analysis.windows import ReportWindows, read_window
from hotspots.config import Settings
from hotspots.errors import EmptyData
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import transaction
from hotspots.store.reports import delete_report
from hotspots.store.schema import reports
from tests.reliability.conftest import seeded_store, write_reports_csv

COLUMNS = ("occurred_at", "category", "cell", "lat", "lon", "weight")


@pytest.fixture
def store(tmp_path: Path, areas: Areas) -> Iterator[tuple[Settings, Engine]]:
    settings, engine = seeded_store(tmp_path, areas, 300, permutations=0)
    yield settings, engine
    engine.dispose()


def _window(settings: Settings) -> dict[str, object]:
    params = AnalysisParams(window="28d", permutations=0).resolved(settings)
    start, end = analysis.window_bounds(params, settings.timezone)
    return {"start": start, "end": end, "columns": COLUMNS}


def _add(engine: Engine, settings: Settings, areas: Areas, path: Path, name: str, n: int = 7) -> None:
    csv = write_reports_csv(path / f"{name}.csv", n, prefix=name, seed=len(name), days=20)
    assert ingest.import_file(engine, csv, settings=settings, areas=areas).rows_added == n


def test_kept_windows_are_topped_up_and_equal_a_full_read(
    store: tuple[Settings, Engine], tmp_path: Path, areas: Areas
) -> None:
    settings, engine = store
    windows, window = ReportWindows(), _window(settings)
    first = windows.read(engine, **window)  # type: ignore[arg-type]
    assert windows.full_reads == 1
    pd.testing.assert_frame_equal(first, read_window(engine, **window))  # type: ignore[arg-type]

    _add(engine, settings, areas, tmp_path, "more")
    topped = windows.read(engine, **window)  # type: ignore[arg-type]
    assert windows.full_reads == 1  # only the new rows were read
    assert len(topped) == len(first) + 7
    pd.testing.assert_frame_equal(topped, read_window(engine, **window))  # type: ignore[arg-type]

    delete_report(engine, int(topped["id"].iloc[3]))
    after_delete = windows.read(engine, **window)  # type: ignore[arg-type]
    assert windows.full_reads == 2  # a deletion is never patched over
    pd.testing.assert_frame_equal(after_delete, read_window(engine, **window))  # type: ignore[arg-type]


def test_a_report_committed_below_the_newest_kept_id_is_not_missed(
    store: tuple[Settings, Engine], areas: Areas
) -> None:
    """PostgreSQL can commit a smaller id after a larger one: the count check catches what a top-up by id
    alone would miss for ever."""
    settings, engine = store
    windows, window = ReportWindows(), _window(settings)
    whole = read_window(engine, **window)  # type: ignore[arg-type]
    late = whole.iloc[-2]  # its id is taken but not yet committed when the window is read
    delete_report(engine, int(late["id"]))
    kept = windows.read(engine, **window)  # type: ignore[arg-type]
    assert int(late["id"]) < int(kept["id"].max())
    with transaction(engine) as conn:  # ... and commits now
        conn.execute(
            sa.insert(reports).values(
                id=int(late["id"]), source="police", source_id="late", occurred_at=late["occurred_at"],
                category=late["category"], lat=late["lat"], lon=late["lon"], cell=int(late["cell"]),
                weight=late["weight"], created_by="test", created_at=late["occurred_at"],
            )
        )  # fmt: skip
    again = windows.read(engine, **window)  # type: ignore[arg-type]
    assert len(again) == len(kept) + 1
    pd.testing.assert_frame_equal(again, read_window(engine, **window))  # type: ignore[arg-type]


def test_the_child_computes_the_analysis_the_worker_would(
    store: tuple[Settings, Engine], tmp_path: Path, areas: Areas
) -> None:
    settings, engine = store
    params = AnalysisParams(window="28d", permutations=0).resolved(settings)
    process = AnalysisProcess(settings)
    try:
        for round_ in range(2):  # the second computation tops up the child's kept reports
            in_child = analysis_codec.decode(process.compute(engine, areas, params), areas)
            here = analysis.compute(engine, settings, areas, params)
            assert digest(in_child) == digest(here)
            assert in_child.reports_in_window == here.reports_in_window
            pd.testing.assert_frame_equal(in_child.frame(), here.frame())
            _add(engine, settings, areas, tmp_path, f"r{round_}")
    finally:
        process.close()


def test_the_childs_errors_reach_the_caller_and_a_dead_child_is_replaced(
    store: tuple[Settings, Engine], areas: Areas
) -> None:
    settings, engine = store
    process = AnalysisProcess(settings)
    try:
        regsos = Areas(areas.frame[areas.frame["kind"] != "partnership"].reset_index(drop=True))
        long_ago = AnalysisParams(window="28d", end=pd.Timestamp("2001-01-07").date(), permutations=0)
        with pytest.raises(EmptyData, match="no reports in the window ending 2001-01-07"):
            process.compute(engine, regsos, long_ago.resolved(settings))

        process.start()
        assert process._child is not None
        child, _ = process._child
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(5)
        params = AnalysisParams(window="28d", permutations=0).resolved(settings)
        result = analysis_codec.decode(process.compute(engine, areas, params), areas)  # a new child
        assert result.reports_in_window > 0
    finally:
        process.close()
    assert process._child is None


def test_the_child_leaves_when_its_worker_is_killed(store: tuple[Settings, Engine]) -> None:
    """A worker killed outright (OOM, SIGKILL) never shuts its child down: the child must notice."""
    settings, _ = store
    script = (
        "import os, signal, sys\n"
        "from hotspots.analysis.process import AnalysisProcess\n"
        "from hotspots.config import Settings\n"
        "process = AnalysisProcess(Settings(database_url=sys.argv[1]))\n"
        "process.start()\n"
        "print(process._child[0].pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    worker = subprocess.run(
        [sys.executable, "-c", script, settings.database_url], capture_output=True, text=True, timeout=120
    )
    assert worker.returncode == -signal.SIGKILL
    child = int(worker.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, "the analysis process outlived its worker"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(")")[-1].split()[0] == "Z")  # a zombie is gone
