"""How a validated batch reaches the report table fastest on each back end: executemany with constant
columns folded into the statement on SQLite (and the plain indexes rebuilt after a bulk load), COPY
through a temporary table on PostgreSQL. :func:`hotspots.store.engine.insert_reports` picks one, inside the
caller's transaction; both skip rows already stored (``ON CONFLICT (source, source_id) DO NOTHING``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.engine import Connection

from hotspots.store.schema import REPORT_COLUMNS, TIME_COLUMNS

#: Batches this large (and at least as large as the table) rebuild the plain indexes after loading (SQLite).
BULK_LOAD_ROWS = 100_000
ProgressFn = Callable[[int, int], None]


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
        values, literal = _sqlite_column(chunk[name], name in TIME_COLUMNS)
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


def insert_sqlite(conn: Connection, batch: pd.DataFrame, progress: ProgressFn | None, chunk: int) -> int:
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


def insert_postgres(conn: Connection, batch: pd.DataFrame, progress: ProgressFn | None, chunk: int) -> int:
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
                if name in TIME_COLUMNS:
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
