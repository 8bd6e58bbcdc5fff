"""The dataset version: every write bumps it exactly once, also when the first writers race on a new store."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from hotspots.config import Settings
from hotspots.store import bump_version, dataset_version, open_store, transaction


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
