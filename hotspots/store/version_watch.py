"""Dataset versions pushed to a worker as they change, instead of discovered by its next request.

A worker serving an analysis superseded for at most ``max_staleness_s`` must know *when* it was
superseded: the time of the write, not of the first request after a quiet hour; and with the version
pushed, a read under bounded staleness needs no query of its own to learn it. A :class:`VersionWatcher`
thread, owned by the app (started and stopped in its lifespan), reports the dataset version to a
callback within a fraction of a second of every change, and at least every ``fallback_s`` otherwise:

- PostgreSQL: ``LISTEN`` on :data:`hotspots.store.engine.VERSIONS_CHANNEL`; :func:`hotspots.store.engine.bump_version`
  sends ``pg_notify`` inside the writing transaction, so every host hears of a write when it commits. The
  version is read again after each notification (and every ``fallback_s`` in case one was missed);
- SQLite: ``PRAGMA data_version`` on a connection of its own, polled every ``poll_s``; it changes when
  another connection commits, and only then is the version read.

>>> # watcher = VersionWatcher(engine, cache.versions.watched); watcher.start(); …; watcher.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sqlalchemy.engine import Engine

from hotspots.store.engine import DATASET_VERSION, VERSIONS_CHANNEL, shared_store

logger = logging.getLogger(__name__)

_READ = f"SELECT value FROM store_meta WHERE key = '{DATASET_VERSION}'"
#: A version the watcher reported this recently is taken as current: it reports at least every
#: ``fallback_s`` (1 s), so a longer silence means it lost its connection and reads query for themselves.
CONFIRMED_WITHIN_S = 2.0


class VersionWatcher:
    """Calls ``on_version(dataset version)`` from a daemon thread whenever the version may have changed."""

    def __init__(
        self,
        engine: Engine,
        on_version: Callable[[int], None],
        *,
        poll_s: float = 0.05,
        fallback_s: float = 1.0,
    ) -> None:
        self.engine = engine
        self.on_version = on_version
        self.poll_s = poll_s
        self.fallback_s = fallback_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None

    def start(self) -> None:
        """Start watching (not for an in-memory SQLite store: no other process can write to it)."""
        if self._thread is None and shared_store(self.engine):
            self._thread = threading.Thread(target=self._run, name="version-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._conn = self._connect()
                if self.engine.dialect.name == "postgresql":
                    self._listen()
                else:
                    self._poll()
            except Exception:  # a dropped connection: reconnect after a pause, requests still read versions
                logger.warning("version watcher lost its connection; reconnecting", exc_info=True)
                self._stop.wait(self.fallback_s)
            finally:
                with suppress(Exception):
                    self._conn.close()

    def _connect(self) -> Any:
        pooled = self.engine.raw_connection()
        pooled.detach()  # ours: a LISTEN must stay on one session
        return pooled.dbapi_connection

    def _read(self) -> int:
        cursor = self._conn.cursor()
        cursor.execute(_READ)
        row = cursor.fetchone()
        cursor.close()
        if self.engine.dialect.name != "postgresql":
            self._conn.rollback()
        return int(row[0]) if row else 0

    def _listen(self) -> None:
        self._conn.autocommit = True
        self._conn.execute(f"LISTEN {VERSIONS_CHANNEL}")
        self.on_version(self._read())
        while not self._stop.is_set():
            for _ in self._conn.notifies(timeout=self.fallback_s, stop_after=1):
                pass
            self.on_version(self._read())

    def _poll(self) -> None:
        last, version = None, 0
        while not self._stop.wait(self.poll_s):
            cursor = self._conn.cursor()
            cursor.execute("PRAGMA data_version")
            (changed,) = cursor.fetchone()
            cursor.close()
            if changed != last:
                last, version = changed, self._read()
            self.on_version(version)  # unchanged is news too: the version is confirmed current
