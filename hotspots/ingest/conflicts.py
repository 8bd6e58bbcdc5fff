"""Rows re-sent under a stored (source, source_id) with different content: a conflict, not a silent no-op.

Imports are idempotent on (source, source_id), so re-sending a batch adds nothing. Before this check a
row re-sent with a *changed* time, category, place or weight was also skipped without a word, and the
store kept the old version while the sender believed it had corrected it. Now such a row rejects the
batch (nothing written) with its row number and the fields that differ; the sender deletes the stored
report first if the correction is meant (``DELETE /reports/{id}``, audited). Identical re-sends stay
silent no-ops. The check reads only when some rows were already present, so a fresh import costs nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotspots.errors import RowError

#: What makes two versions of a report different (notes and free text are the sender's, not compared).
COMPARED = ("occurred_at", "category", "cell", "weight")
_SQLITE_TABLE = "conflicts_incoming"


def _sqlite_incoming(conn: Connection, rows: pd.DataFrame) -> None:
    """The batch's keys and compared columns in a temporary table, encoded as the store encodes them
    (PostgreSQL has them already: the COPY into ``reports_incoming`` in the same transaction)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_SQLITE_TABLE} "
        "(source TEXT, source_id TEXT, occurred_at INTEGER, category TEXT, cell INTEGER, weight REAL)"
    )
    cursor.execute(f"DELETE FROM {_SQLITE_TABLE}")
    occurred = pd.to_datetime(rows["occurred_at"], utc=True).dt.tz_convert(None)
    columns = (
        rows["source"].tolist(),
        rows["source_id"].tolist(),
        occurred.to_numpy(dtype="datetime64[us]").view(np.int64).tolist(),
        rows["category"].tolist(),
        np.asarray(rows["cell"]).astype(np.uint64).view(np.int64).tolist(),
        np.asarray(rows["weight"], dtype=np.float64).tolist(),
    )
    cursor.executemany(f"INSERT INTO {_SQLITE_TABLE} VALUES (?, ?, ?, ?, ?, ?)", zip(*columns, strict=True))
    cursor.close()


def changed_rows(
    conn: Connection, rows: pd.DataFrame, import_id: int, row_numbers: np.ndarray
) -> list[RowError]:
    """One error per row of ``rows`` (just inserted as ``import_id``, where already-stored keys were
    skipped) whose stored report under the same key differs in a compared field: one join in the store
    on its unique key, so a re-import of a million rows costs one indexed pass, not a query per row."""
    if conn.dialect.name == "sqlite":
        _sqlite_incoming(conn, rows)
        incoming = _SQLITE_TABLE
    else:
        incoming = "reports_incoming"
    differs = [f"i.{c} <> r.{c}" for c in COMPARED]
    found = conn.execute(
        sa.text(
            f"SELECT i.source, i.source_id, {', '.join(differs)} FROM {incoming} i "
            "JOIN reports r ON r.source = i.source AND r.source_id = i.source_id "
            f"WHERE (r.import_id IS NULL OR r.import_id <> :import_id) AND ({' OR '.join(differs)})"
        ),
        {"import_id": import_id},
    ).all()
    if not found:
        return []
    position = {key: i for i, key in enumerate(zip(rows["source"], rows["source_id"], strict=True))}
    errors = []
    for source, source_id, *flags in found:
        fields = ", ".join(c for c, flag in zip(COMPARED, flags, strict=True) if flag)
        errors.append(
            RowError(
                int(row_numbers[position[(source, source_id)]]),
                "source_id",
                str(source_id),
                f"already stored with a different {fields}: delete the stored report to replace it",
            )
        )
    return sorted(errors)
