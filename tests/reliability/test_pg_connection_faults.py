"""PostgreSQL connections terminated under traffic (``pg_terminate_backend``): failures are clean, nothing
acknowledged is lost, and the same engine carries on without a restart.

A loop of small write transactions and reads runs through one engine (the service's pool, pre-pinged)
while another connection terminates its server processes. Every write either committed whole or left
nothing; every write that returned is in the store; afterwards the engine works as before.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.config import Settings
from hotspots.store.engine import insert_reports, open_store, transaction
from hotspots.store.schema import reports
from tests.reliability.conftest import store_rows, terminate_backends

APP_NAME = "hotspots-terminate-test"
BATCH_ROWS = 25
TRAFFIC_SECONDS = 3.0


def _stored_per_batch(engine: Engine) -> pd.Series:
    with engine.connect() as conn:
        ids = conn.execute(sa.select(reports.c.source_id)).scalars().all()
    return pd.Series(ids, dtype=object).str.split("-").str[0].value_counts()


@pytest.mark.postgres
def test_terminated_connections_fail_cleanly_and_the_engine_recovers(pg_database: str) -> None:
    url = sa.engine.make_url(pg_database)
    engine = open_store(
        Settings(database_url=url.update_query_dict({"application_name": APP_NAME}).render_as_string(False))
    )
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.delete(reports))

    stop = threading.Event()
    terminated: list[int] = []

    def killer() -> None:
        while not stop.wait(0.05):
            terminated.append(terminate_backends(admin, APP_NAME))

    acknowledged: set[str] = set()
    failed: dict[str, Exception] = {}
    reads_ok = reads_failed = 0
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    deadline = time.monotonic() + TRAFFIC_SECONDS
    i = 0
    try:
        while time.monotonic() < deadline:
            i += 1
            try:
                with transaction(engine) as conn:
                    insert_reports(conn, store_rows(BATCH_ROWS, prefix=f"t{i}"))
                acknowledged.add(f"t{i}")
            except Exception as exc:
                failed[f"t{i}"] = exc
            try:
                with engine.connect() as conn:
                    conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one()
                reads_ok += 1
            except Exception:
                reads_failed += 1
    finally:
        stop.set()
        thread.join()

    # Failures are the driver's disconnect errors, wrapped by SQLAlchemy: clear, typed, catchable.
    assert sum(terminated) > 0 and failed, "the terminations never hit a request in flight"
    for error in failed.values():
        assert isinstance(error, sa.exc.OperationalError), repr(error)
        assert "terminat" in str(error) or "connection" in str(error), repr(error)
    assert reads_ok > 0

    # Reconcile by count: every acknowledged batch whole; every failed one whole or absent; nothing else.
    stored = _stored_per_batch(engine)
    assert set(stored.index) <= acknowledged | set(failed)
    assert (stored == BATCH_ROWS).all(), "a batch was partly written"
    assert acknowledged <= set(stored.index), "an acknowledged write was lost"

    # Recovery without a restart: kill every pooled connection once more; the same engine, the same pool
    # (pre-ping replaces dead connections on checkout) serves the next write and read at the first try.
    pool = engine.pool
    terminate_backends(admin, APP_NAME)
    with transaction(engine) as conn:
        insert_reports(conn, store_rows(BATCH_ROWS, prefix="t0"))
    assert engine.pool is pool
    assert _stored_per_batch(engine).sum() == BATCH_ROWS * (len(stored) + 1)
    admin.dispose()
    engine.dispose()
