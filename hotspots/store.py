"""The report store: engine set-up, migrations, batch writes in one transaction, and the read path.

SQLite (WAL) is the embedded default; PostgreSQL is the shared multi-user store. The same SQLAlchemy Core
code serves both; only the bulk-insert path differs (executemany on SQLite, COPY on PostgreSQL), because
that is where a million rows spend their time.

>>> from hotspots.config import Settings
>>> engine = open_store(Settings(database_url="sqlite://"))
>>> dataset_version(engine)
0
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from hotspots.config import Settings, get_settings
from hotspots.schema import imports, reports, store_meta

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Columns a batch carries into the report table, in insert order.
REPORT_COLUMNS = (
    "source",
    "source_id",
    "occurred_at",
    "reported_at",
    "category",
    "lat",
    "lon",
    "cell",
    "area_id",
    "weight",
    "note",
    "import_id",
    "created_by",
    "created_at",
)
_TIME_COLUMNS = ("occurred_at", "reported_at", "created_at")
#: Batches this large (and at least as large as the table) rebuild the plain indexes after loading (SQLite).
BULK_LOAD_ROWS = 100_000
ProgressFn = Callable[[int, int], None]


def create_store_engine(settings: Settings | None = None) -> Engine:
    """An engine for the configured URL: WAL + busy timeout on SQLite, a pre-pinged pool on PostgreSQL."""
    settings = settings or get_settings()
    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
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


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent; safe on every start)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_store(settings: Settings | None = None) -> Engine:
    """Engine with the schema migrated: what every command and the API start from."""
    engine = create_store_engine(settings)
    migrate(engine)
    return engine


DATASET_VERSION = "dataset_version"
ACCOUNTS_VERSION = "accounts_version"


class Versions(NamedTuple):
    """The store's change counters, read together in one query: what a request's caches are keyed by."""

    dataset: int  # reports, imports, measures: derived results (statistics, lists, tiles)
    accounts: int  # users and keys: cached credentials


#: Literal keys, no parameters: the same text runs on sqlite3 and psycopg, which spell placeholders apart.
_READ_VERSIONS = f"SELECT key, value FROM store_meta WHERE key IN ('{DATASET_VERSION}', '{ACCOUNTS_VERSION}')"


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
                conn.rollback()  # end the read's transaction (psycopg opens one)
            except dbapi_error as exc:
                disconnected = self.engine.dialect.is_disconnect(exc, conn, None)
                self.close()
                if attempt == 2 or not disconnected:
                    raise sa.exc.DBAPIError.instance(_READ_VERSIONS, None, exc, dbapi_error) from exc
                continue
            values = {str(key): int(value) for key, value in rows}
            return Versions(values.get(DATASET_VERSION, 0), values.get(ACCOUNTS_VERSION, 0))
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _connection(self) -> Any:
        if self._conn is None:
            pooled = self.engine.raw_connection()
            pooled.detach()  # ours from now on: the pool neither counts nor recycles it
            self._conn = pooled.dbapi_connection
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()
            self._conn = None


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
    return int(conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == key)).scalar_one())


def _to_epoch_us(values: pd.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """tz-aware timestamps -> int64 microseconds since the epoch, and the mask of missing ones (NaT)."""
    ts = pd.to_datetime(values, utc=True).dt.tz_convert(None)
    return ts.to_numpy(dtype="datetime64[us]").view(np.int64), ts.isna().to_numpy()


def _column_values(series: pd.Series) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """A column as numpy values a driver binds (Python objects only for text), and the mask of missing ones."""
    values = series.to_numpy()
    if values.dtype.kind in "iub":
        return values, np.zeros(values.size, dtype=bool)
    if values.dtype.kind == "f":
        return values, np.isnan(values)
    values = series.to_numpy(dtype=object)  # categoricals share their few string objects
    return values, pd.isna(values)


def _nulls_as_none(values: npt.NDArray[Any], missing: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
    out = values.astype(object)
    out[missing] = None
    return out


def _sqlite_column(series: pd.Series, is_time: bool) -> tuple[npt.NDArray[Any], str | None]:
    """Bindable values of one column, or the SQL literal that stands for all of them.

    A column that is all NULL or holds one number throughout the chunk (import id and created_at always;
    weight, reported_at and note often) goes into the statement once instead of being bound on every row:
    binding is a good part of the per-row cost. (Text is always bound: no quoting in SQL text.)
    """
    values, missing = _to_epoch_us(series) if is_time else _column_values(series)
    if missing.all():
        return values, "NULL"
    if missing.any():
        return _nulls_as_none(values, missing), None
    first = values[0]
    if values.dtype.kind in "if" and np.isfinite(first) and (values == first).all():
        return values, repr(first.item())
    return values, None


def _sqlite_statement(chunk: pd.DataFrame) -> tuple[str, Iterator[tuple[Any, ...]]]:
    """The INSERT for one chunk and its parameter rows (built from whole columns, one tuple per row)."""
    placeholders, bound = [], []
    for name in REPORT_COLUMNS:
        values, literal = _sqlite_column(chunk[name], name in _TIME_COLUMNS)
        if literal is None or name == "source_id":  # always bound, so every row gets its tuple
            placeholders.append("?")
            bound.append(values.tolist())
        else:
            placeholders.append(literal)
    sql = (
        f"INSERT INTO reports ({', '.join(REPORT_COLUMNS)}) VALUES ({', '.join(placeholders)}) "
        "ON CONFLICT (source, source_id) DO NOTHING"
    )
    return sql, zip(*bound, strict=True)


def _drop_secondary_indexes(cursor: sqlite3.Cursor, rows: int) -> list[str]:
    """For a bulk load, drop the report table's plain indexes; returns the statements that rebuild them.

    A batch of at least BULK_LOAD_ROWS rows and at least as many rows as the table holds is loaded faster
    without them: one sort per index afterwards beats a random B-tree insert per row and index (1M rows
    into an empty store: ~1.6x less CPU). The unique key stays (it decides what is new). All of it happens
    inside the import's transaction, so a failed import leaves the indexes as they were.
    """
    if rows < BULK_LOAD_ROWS:
        return []
    stored = cursor.execute("SELECT max(id) FROM reports").fetchone()[0] or 0
    if rows < stored:
        return []
    plain = [
        name
        for _, name, unique, origin, _ in cursor.execute("PRAGMA index_list(reports)")
        if not unique and origin == "c"
    ]
    rebuild = []
    for name in plain:
        rebuild.append(
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
            ).fetchone()[0]
        )
        cursor.execute(f'DROP INDEX "{name}"')
    return rebuild


def _insert_sqlite(conn: Connection, batch: pd.DataFrame, progress: ProgressFn | None, chunk: int) -> int:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    rebuild = _drop_secondary_indexes(cursor, len(batch))
    added = 0
    n = len(batch)
    for start in range(0, n, chunk):
        sql, rows = _sqlite_statement(batch.iloc[start : start + chunk])
        cursor.executemany(sql, rows)
        added += max(cursor.rowcount, 0)
        if progress:
            progress(min(start + chunk, n), n)
    for statement in rebuild:
        cursor.execute(statement)
    cursor.close()
    return added


def _insert_postgres(conn: Connection, batch: pd.DataFrame, progress: ProgressFn | None, chunk: int) -> int:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS reports_incoming "
        "(LIKE reports INCLUDING DEFAULTS EXCLUDING CONSTRAINTS) ON COMMIT DELETE ROWS"
    )
    cursor.execute("TRUNCATE reports_incoming")
    columns = ", ".join(REPORT_COLUMNS)
    n = len(batch)
    with cursor.copy(f"COPY reports_incoming ({columns}) FROM STDIN") as copy:
        for start in range(0, n, chunk):
            part = batch.iloc[start : start + chunk]
            cols = []
            for name in REPORT_COLUMNS:
                if name in _TIME_COLUMNS:
                    stamps = pd.to_datetime(part[name], utc=True)
                    values, missing = stamps.to_numpy(dtype=object), stamps.isna().to_numpy()
                else:
                    values, missing = _column_values(part[name])
                cols.append((_nulls_as_none(values, missing) if missing.any() else values).tolist())
            for row in zip(*cols, strict=True):
                copy.write_row(row)
            if progress:
                progress(min(start + chunk, n), n)
    cursor.execute(
        f"INSERT INTO reports ({columns}) SELECT {columns} FROM reports_incoming "
        "ON CONFLICT (source, source_id) DO NOTHING"
    )
    added = cursor.rowcount
    cursor.close()
    return max(added, 0)


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
    insert = _insert_sqlite if conn.dialect.name == "sqlite" else _insert_postgres
    added = insert(conn, batch, progress, chunk)
    if added:
        bump_version(conn)
    return added


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite so concurrent writers queue instead of failing)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        else:
            with conn.begin():
                yield conn


def read_reports(
    engine: Engine | Connection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    areas: Sequence[str] | None = None,
    columns: Sequence[str] = ("id", "occurred_at", "category", "source", "cell", "area_id", "weight"),
) -> pd.DataFrame:
    """Reports as a DataFrame for the statistics (no notes unless asked for): one SELECT, vectorised decode.

    ``start`` is inclusive, ``end`` exclusive. ``occurred_at`` comes back as ``datetime64[us, UTC]`` and
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
    for name in frame.columns.intersection(list(_TIME_COLUMNS)):
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
