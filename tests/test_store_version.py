"""The dataset version: every write bumps it exactly once, also when the first writers race on a new store."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from hotspots.config import Settings
from hotspots.store.engine import (
    ACCOUNTS_VERSION,
    VersionReader,
    Versions,
    bump_version,
    dataset_version,
    open_store,
    transaction,
)


def test_concurrent_first_writes_on_a_new_store_each_bump_the_version_once(settings: Settings) -> None:
    engine = open_store(settings)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            barrier.wait()
            with transaction(engine) as conn:
                bump_version(conn)
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert dataset_version(engine) == 4
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM store_meta WHERE key = 'dataset_version'")).scalar()
    assert rows == 1


def test_versions_are_read_together_and_a_driver_error_surfaces_as_sqlalchemys(settings: Settings) -> None:
    """The server's reader bypasses the pool and Core for speed; its errors must still be SQLAlchemy's,
    which the API maps to 503 (a raw sqlite3/psycopg error would be a 500)."""
    engine = open_store(settings)
    reader = VersionReader(engine)
    with transaction(engine) as conn:
        bump_version(conn)
        bump_version(conn, ACCOUNTS_VERSION)
        bump_version(conn, ACCOUNTS_VERSION)
    expected = Versions(dataset=dataset_version(engine), accounts=2)
    assert reader.read() == expected
    with transaction(engine) as conn:
        conn.execute(sa.text("ALTER TABLE store_meta RENAME TO store_meta_gone"))
    with pytest.raises(sa.exc.DBAPIError) as raised:
        reader.read()
    assert not isinstance(raised.value.orig, sa.exc.SQLAlchemyError)  # the driver's error, wrapped
    with transaction(engine) as conn:
        conn.execute(sa.text("ALTER TABLE store_meta_gone RENAME TO store_meta"))
        bump_version(conn)
    assert reader.read() == Versions(expected.dataset + 1, 2)  # a write by anyone is seen at once
    engine.dispose()


@pytest.mark.postgres
def test_the_reader_reconnects_once_when_the_server_drops_its_connection(pg_database: str) -> None:
    engine = open_store(Settings(database_url=pg_database))
    reader = VersionReader(engine)
    reader.read()
    with engine.connect() as conn:
        pid = (
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle'"
                )
            )
            .scalars()
            .all()
        )
        conn.execute(
            sa.text("SELECT pg_terminate_backend(p) FROM unnest(CAST(:pids AS int[])) AS p"), {"pids": pid}
        )
    assert reader.read().dataset == dataset_version(engine)
    engine.dispose()


@pytest.mark.postgres
def test_a_write_inside_a_threads_own_write_does_not_wait_for_its_turn_again(pg_database: str) -> None:
    """Writers queue in the process before they take a connection; a thread that writes through a second
    transaction inside its first (an audit entry on its own connection) already has its turn."""
    engine = open_store(Settings(database_url=pg_database))
    before, done = dataset_version(engine), threading.Event()

    def nested() -> None:
        with transaction(engine) as outer:
            bump_version(outer)
            with transaction(engine) as inner:
                bump_version(inner, ACCOUNTS_VERSION)
        done.set()

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    assert done.wait(30), "the nested write waited for the turn its own thread holds"
    with transaction(engine) as conn:  # and the turn was given back
        bump_version(conn)
    assert dataset_version(engine) == before + 2
    engine.dispose()
