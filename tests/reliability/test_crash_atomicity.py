"""kill -9 an import while its batch is being written: the store holds all of the batch or none of it.

The import runs the real library path (``ingest.import_file``) in a child process. Once the child reports
rows written (a progress call with more rows to come) and the store shows its write transaction open, it
gets SIGKILL: no handler runs, no rollback is sent. What is left must be exactly the store from before.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.backup import fingerprint
from hotspots.store.engine import open_store
from tests.reliability.conftest import start_import, wait_for_line, write_reports_csv

BIG_BATCH = 120_000  # a few seconds of writing, several progress calls (chunks) inside one transaction
APP_NAME = "hotspots-kill-test"


def _sqlite_write_lock_held(url: sa.engine.URL) -> bool:
    """True when another connection holds SQLite's write lock (a write transaction is open)."""
    probe = sqlite3.connect(str(url.database), timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    else:
        probe.rollback()
        return False
    finally:
        probe.close()


def _pg_open_transactions(engine: sa.engine.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = :app AND xact_start IS NOT NULL"
                ),
                {"app": APP_NAME},
            ).scalar_one()
        )


def test_kill_9_mid_batch_leaves_the_store_as_it_was(store_url: str, tmp_path: Path, areas: Areas) -> None:
    url = sa.engine.make_url(store_url)
    is_sqlite = url.get_backend_name() == "sqlite"
    child_url = (
        store_url
        if is_sqlite
        else url.update_query_dict({"application_name": APP_NAME}).render_as_string(hide_password=False)
    )
    settings = Settings(database_url=store_url)
    engine = open_store(settings)
    seed = write_reports_csv(tmp_path / "seed.csv", 300, prefix="seed")
    ingest.import_file(engine, seed, settings=settings, areas=areas)
    before = fingerprint(engine)

    big = write_reports_csv(tmp_path / "big.csv", BIG_BATCH, prefix="big", seed=1)
    child = start_import([big], child_url, tmp_path / "log")
    try:
        line = wait_for_line(child, "progress", timeout=60)
        done, total = map(int, line.split()[1:])
        assert done < total, "the batch must still be in flight when it is killed"
        in_transaction = _sqlite_write_lock_held(url) if is_sqlite else _pg_open_transactions(engine) == 1
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert in_transaction, "the child's write transaction was not open when it was killed"

    if not is_sqlite:  # the server notices the dead client and rolls its transaction back
        deadline = time.monotonic() + 10
        while _pg_open_transactions(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pg_open_transactions(engine) == 0
    engine.dispose()
    reopened = open_store(settings)
    assert fingerprint(reopened) == before, "a killed import left part of its batch behind"
    if is_sqlite:
        with reopened.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"

    # No stale lock or half-state: the same store takes the next import at once.
    after = ingest.import_file(
        reopened, write_reports_csv(tmp_path / "next.csv", 200, prefix="next"), settings=settings, areas=areas
    )
    assert after.rows_added == 200
    assert fingerprint(reopened).counts["reports"] == before.counts["reports"] + 200
