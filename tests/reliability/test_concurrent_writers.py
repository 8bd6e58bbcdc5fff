"""Several processes importing into one SQLite store at the same moment: nothing lost, nobody locked out.

SQLite allows one writer at a time. The store's ``BEGIN IMMEDIATE`` and busy timeout make writers queue for
the lock instead of failing with "database is locked" half-way through a batch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotspots.config import Settings
from hotspots.store.backup import fingerprint
from hotspots.store.engine import open_store
from tests.reliability.conftest import start_import, write_reports_csv

WRITERS = 3
BATCHES_PER_WRITER = 3
BATCH_ROWS = 3_000


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_concurrent_writer_processes_lose_nothing(store_url: str, tmp_path: Path) -> None:
    engine = open_store(Settings(database_url=store_url))
    go = tmp_path / "go"
    children = []
    for w in range(WRITERS):
        files = [
            write_reports_csv(tmp_path / f"w{w}b{b}.csv", BATCH_ROWS, prefix=f"w{w}b{b}", seed=w * 10 + b)
            for b in range(BATCHES_PER_WRITER)
        ]
        children.append(start_import(files, store_url, tmp_path / f"w{w}.log", go_file=go))
    go.touch()  # every child has started and opened the store; now they all write at once
    outputs = [child.communicate(timeout=120)[0] for child in children]

    logs = [(tmp_path / f"w{w}.log").read_text() for w in range(WRITERS)]
    assert not any("locked" in log for log in logs), "\n".join(logs)
    assert [child.returncode for child in children] == [0] * WRITERS, "\n".join(logs)
    assert all(out.count(f"added {BATCH_ROWS}") == BATCHES_PER_WRITER for out in outputs)

    stored = fingerprint(engine)
    assert stored.counts["reports"] == WRITERS * BATCHES_PER_WRITER * BATCH_ROWS
    assert stored.counts["imports"] == WRITERS * BATCHES_PER_WRITER
    assert stored.dataset_version == WRITERS * BATCHES_PER_WRITER  # one version bump per committed batch
