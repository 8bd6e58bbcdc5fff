"""The report store: engine set-up, migrations, change counters, batch writes in one transaction, and the
read path of the statistics.

SQLite (WAL) is the embedded default; PostgreSQL is the shared multi-user store. The same SQLAlchemy Core
code serves both; only the bulk-insert path differs (:mod:`hotspots.store.bulk_insert`: executemany on SQLite,
COPY on PostgreSQL), because that is where a million rows spend their time. Report-level queries for
people (list, read, delete) live in :mod:`hotspots.store.reports`.

>>> from hotspots.config import Settings
>>> engine = open_store(Settings(database_url="sqlite://"))
>>> dataset_version(engine)
0
"""

from __future__ import annotations

import os
import secrets
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from filelock import FileLock
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from hotspots.config import Settings, get_settings
from hotspots.store import bulk_insert
from hotspots.store.bulk_insert import ProgressFn
from hotspots.store.schema import TIME_COLUMNS, imports, reports, store_meta

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_store_engine(settings: Settings | None = None) -> Engine:
    """An engine for the configured URL: WAL + busy timeout on SQLite, a pre-pinged pool on PostgreSQL."""
    settings = settings or get_settings()
    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            _create_private(Path(url.database))
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MB: index inserts of large batches stay in memory
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _create_private(path: Path) -> None:
    """Create a new SQLite file owner-only (0600) before SQLite does (0644 under the usual umask): it
    holds report-level data, and SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent; safe on every start). A migration
    that changed anything starts a new store epoch (:func:`new_epoch`)."""
    from alembic.runtime.migration import MigrationContext

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        if before is not None and MigrationContext.configure(conn).get_current_revision() != before:
            new_epoch(conn)


def open_store(settings: Settings | None = None) -> Engine:
    """Engine with the schema migrated: what every command and the API start from."""
    engine = create_store_engine(settings)
    migrate(engine)
    return engine


class LazyStore:
    """A server's store engine: the one it was given, else opened and migrated on first use, once.

    Owned by whoever composes the server (``api.main.create_app``), so two apps never share a pool by
    accident; ``hotspots serve`` migrates before its workers start, so they only open."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._lock = threading.Lock()

    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = open_store(self.settings)
        return self._engine


DATASET_VERSION = "dataset_version"
#: The PostgreSQL NOTIFY channel a version bump is announced on (:mod:`hotspots.store.version_watch` listens).
VERSIONS_CHANNEL = "hotspots_versions"
ACCOUNTS_VERSION = "accounts_version"
#: Bumped by every deletion of reports (and jumped by a restore): kept report windows are read afresh.
REPORTS_REMOVED = "reports_removed"
VISITS_VERSION = "visits_version"


class Versions(NamedTuple):
    """The store's change counters, read together in one query: what a request's caches are keyed by."""

    dataset: int  # reports, imports, measures: derived results (statistics, lists, tiles)
    accounts: int  # users and keys: cached credentials
    visits: int = 0  # field visits: the dose on priority lists (a visit must not recompute the analysis)


#: Literal keys, no parameters: the same text runs on sqlite3 and psycopg, which spell placeholders apart.
_READ_VERSIONS = (
    "SELECT key, value FROM store_meta "
    f"WHERE key IN ('{DATASET_VERSION}', '{ACCOUNTS_VERSION}', '{VISITS_VERSION}')"
)


class VersionReader:
    """The versions read on a DB-API connection of its own, for one thread (a server's event loop).

    Every API request reads the versions; through the pool that costs a checkout, a pre-ping round trip
    on PostgreSQL and, when long requests hold every pooled connection, a wait. This connection is taken
    out of the pool once; a read that fails because the server dropped it reconnects and tries once more,
    which is what the pre-ping would have done."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Any = None
        sa.event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def read(self) -> Versions:
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        for attempt in (1, 2):
            conn = self._connection()
            try:
                cursor = conn.cursor()
                cursor.execute(_READ_VERSIONS)
                rows = cursor.fetchall()
                cursor.close()
                if self.engine.dialect.name == "sqlite":
                    conn.rollback()  # end the read's transaction
            except dbapi_error as exc:
                disconnected = self.engine.dialect.is_disconnect(exc, conn, None)
                self.close()
                if attempt == 2 or not disconnected:
                    raise sa.exc.DBAPIError.instance(_READ_VERSIONS, None, exc, dbapi_error) from exc
                continue
            values = {str(key): int(value) for key, value in rows}
            return Versions(
                values.get(DATASET_VERSION, 0), values.get(ACCOUNTS_VERSION, 0), values.get(VISITS_VERSION, 0)
            )
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _connection(self) -> Any:
        if self._conn is None:
            pooled = self.engine.raw_connection()
            pooled.detach()  # ours from now on: the pool neither counts nor recycles it
            self._conn = pooled.dbapi_connection
            if self.engine.dialect.name == "postgresql":
                # no transaction to open and end: one round trip per read, not two (a ROLLBACK each)
                self._conn.autocommit = True
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()
            self._conn = None


STORE_EPOCH = "store_epoch"


def new_epoch(conn: Connection) -> int:
    """Start a new store epoch: after a restore (or a migration) the counters no longer continue the
    sequence a running server saw. Without it, writes after restoring an older backup bring the dataset
    and accounts versions back to numbers a server has cached under, and it serves the pre-restore
    statistics, ETags and credentials (a key absent from the restored store was accepted again).

    The epoch is a random number, and the counters jump forward by an independent random amount in
    [2^20, 2^40): every cache key and ETag of the service already names a counter, so each one changes
    with the epoch without knowing about it, in every process, and a number a server saw before comes
    back only with probability ~(versions seen) / 2^40. Returns the epoch."""
    epoch = secrets.randbits(62)
    for key in (DATASET_VERSION, ACCOUNTS_VERSION, REPORTS_REMOVED):
        bump_version(conn, key)  # creates the row if missing
        jump = (1 << 20) + secrets.randbelow(1 << 40)
        conn.execute(
            sa.update(store_meta).where(store_meta.c.key == key).values(value=store_meta.c.value + jump)
        )
    if not conn.execute(
        sa.update(store_meta).where(store_meta.c.key == STORE_EPOCH).values(value=epoch)
    ).rowcount:
        conn.execute(sa.insert(store_meta).values(key=STORE_EPOCH, value=epoch))
    return epoch


def shared_store(engine: Engine) -> bool:
    """Whether other processes can open this store (an in-memory SQLite database is one process's own)."""
    url = engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def dataset_version(conn_or_engine: Engine | Connection) -> int:
    """A number that changes with every write; derived results (statistics, tiles) are cached by it."""
    stmt = sa.select(store_meta.c.value).where(store_meta.c.key == DATASET_VERSION)
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            value = conn.execute(stmt).scalar()
    else:
        value = conn_or_engine.execute(stmt).scalar()
    return int(value or 0)


def bump_version(conn: Connection, key: str = DATASET_VERSION) -> int:
    """Increment a change counter inside the caller's transaction (so it commits or rolls back with it);
    returns its new value.

    The row is created on first use with INSERT … ON CONFLICT DO NOTHING, then incremented: two first
    writers racing on a new store must not both insert it (one would fail with a unique violation).
    """
    increment = sa.update(store_meta).where(store_meta.c.key == key).values(value=store_meta.c.value + 1)
    if not conn.execute(increment).rowcount:
        insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
        conn.execute(insert(store_meta).values(key=key, value=0).on_conflict_do_nothing())
        conn.execute(increment)
    if conn.dialect.name == "postgresql":  # delivered at commit, to every VersionWatcher's LISTEN
        conn.execute(sa.select(sa.func.pg_notify(VERSIONS_CHANNEL, key)))
    return int(conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == key)).scalar_one())


def record_import(
    conn: Connection,
    *,
    filename: str,
    sha256: str,
    created_by: str,
    rows_read: int,
    rows_rejected: int,
) -> int:
    """Create the row that names a batch; its id is stamped on every report of the batch."""
    result = conn.execute(
        sa.insert(imports).values(
            filename=filename,
            sha256=sha256,
            rows_read=rows_read,
            rows_added=0,
            rows_present=0,
            rows_rejected=rows_rejected,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def insert_reports(
    conn: Connection,
    batch: pd.DataFrame,
    *,
    progress: ProgressFn | None = None,
    chunk: int = 50_000,
) -> int:
    """Insert validated reports inside the caller's transaction; rows already stored are skipped.

    Idempotent on ``(source, source_id)``. Returns how many rows were new. ``batch`` has every column of
    ``REPORT_COLUMNS`` (tz-aware timestamps, uint64 or int64 cells).
    """
    if batch.empty:
        return 0
    batch = batch.assign(cell=np.asarray(batch["cell"]).astype(np.uint64).view(np.int64))
    insert = bulk_insert.insert_sqlite if conn.dialect.name == "sqlite" else bulk_insert.insert_postgres
    added = insert(conn, batch, progress, chunk)
    if added:
        bump_version(conn)
    return added


class _Writers:
    """The queue an engine's writers wait in before they take a connection: a lock for this process's
    threads, and on a SQLite file a lock file beside it for the processes (``filelock``: released by the
    operating system if a holder dies, on Windows as on Linux)."""

    def __init__(self, engine: Engine) -> None:
        self.threads = threading.Lock()
        self._holder = threading.local()  # whether this thread has its turn (a nested write keeps it)
        database = engine.url.database
        on_file = engine.dialect.name == "sqlite" and database and database != ":memory:"
        self.path = lock_folder(Path(str(database))) / "writes" if on_file else None

    @contextmanager
    def turn(self) -> Iterator[None]:
        if getattr(self._holder, "turn", False):  # a write inside this thread's own: its turn already
            yield
            return
        with self.threads:
            self._holder.turn = True
            try:
                if self.path is None:
                    yield
                    return
                with FileLock(self.path):
                    yield
            finally:
                self._holder.turn = False


_WRITERS: weakref.WeakKeyDictionary[Engine, _Writers] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def lock_folder(database: Path) -> Path:
    """The folder beside a SQLite database where the processes on it keep their lock files."""
    folder = database.with_name(database.name + ".locks")
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite so concurrent writers queue instead of failing).

    Writers queue before they take a connection (:class:`_Writers`): every write bumps the one dataset
    version row, so writers go one at a time anyway (SQLite: one writer at all; PostgreSQL: the row lock),
    and waiting inside the database each holds a pooled connection -- on SQLite also sleeping in its busy
    handler, up to 100 ms at a time. Forty field writes a second then left every read of a worker
    waiting for a connection (``bench/soak.py``: write p50 0.5 s, read p99 10 s); in the queue, writers
    hold no connection and each goes in as soon as the one before leaves."""
    with _WRITERS_LOCK:
        writers = _WRITERS.get(engine) or _WRITERS.setdefault(engine, _Writers(engine))
    with writers.turn(), engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def read_reports(
    engine: Engine | Connection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    areas: Sequence[str] | None = None,
    after_id: int | None = None,
    columns: Sequence[str] = ("id", "occurred_at", "category", "source", "cell", "area_id", "weight"),
) -> pd.DataFrame:
    """Reports as a DataFrame for the statistics (no notes unless asked for): one SELECT, vectorised decode.

    ``start`` is inclusive, ``end`` exclusive; ``after_id`` keeps reports with a larger id. ``occurred_at`` comes back as ``datetime64[us, UTC]`` and
    ``cell`` as uint64 at the stored resolution.
    """
    table = reports
    # Raw columns (no per-row type processing): whole columns are decoded with numpy in _decode().
    selected: list[sa.ColumnClause[Any]] = [sa.literal_column(f"reports.{name}") for name in columns]
    stmt = sa.select(*selected).select_from(table)
    if start is not None:
        stmt = stmt.where(table.c.occurred_at >= start)
    if end is not None:
        stmt = stmt.where(table.c.occurred_at < end)
    if categories:
        stmt = stmt.where(table.c.category.in_(list(categories)))
    if sources:
        stmt = stmt.where(table.c.source.in_(list(sources)))
    if areas:
        stmt = stmt.where(table.c.area_id.in_(list(areas)))
    if after_id is not None:
        stmt = stmt.where(table.c.id > after_id)

    def fetch(conn: Connection) -> pd.DataFrame:
        # DBAPI tuples, not SQLAlchemy Row objects: pandas probes every Row (~1.5 s per 100k rows).
        raw = conn.execute(stmt)
        return pd.DataFrame(raw.cursor.fetchall(), columns=list(columns))

    if isinstance(engine, Engine):
        with engine.connect() as conn:
            frame, dialect = fetch(conn), conn.dialect.name
    else:
        frame, dialect = fetch(engine), engine.dialect.name
    return _decode(frame, dialect)


def _decode(frame: pd.DataFrame, dialect: str) -> pd.DataFrame:
    for name in frame.columns.intersection(list(TIME_COLUMNS)):
        if dialect == "sqlite":
            frame[name] = pd.to_datetime(frame[name].astype("Int64"), unit="us", utc=True)
        else:
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.as_unit("us")
    if "cell" in frame:
        frame["cell"] = frame["cell"].to_numpy(dtype=np.int64).view(np.uint64)
    if "weight" in frame:
        frame["weight"] = frame["weight"].astype(np.float64)
    return frame


def finish_import(conn: Connection, import_id: int, *, added: int, present: int) -> None:
    """Record how many of a batch's rows were new and how many were already stored."""
    conn.execute(
        sa.update(imports).where(imports.c.id == import_id).values(rows_added=added, rows_present=present)
    )
