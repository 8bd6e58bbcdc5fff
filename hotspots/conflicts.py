"""Rows re-sent under a stored (source, source_id) with different content: a conflict, not a silent no-op.

Imports are idempotent on (source, source_id), so re-sending a batch adds nothing. Before this check a
row re-sent with a *changed* time, category, place or weight was also skipped without a word, and the
store kept the old version while the sender believed it had corrected it. Now such a row rejects the
batch (nothing written) with its row number and the fields that differ; the sender deletes the stored
report first if the correction is meant (``DELETE /reports/{id}``, audited). Identical re-sends stay
silent no-ops. The check reads only when some rows were already present, so a fresh import costs nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotspots.errors import RowError
from hotspots.schema import reports

#: What makes two versions of a report different (notes and free text are the sender's, not compared).
COMPARED = ("occurred_at", "category", "cell", "weight")
_CHUNK = 500


def changed_rows(
    conn: Connection, rows: pd.DataFrame, import_id: int, row_numbers: np.ndarray
) -> list[RowError]:
    """One error per row of ``rows`` (just inserted as ``import_id``, where already-stored keys were
    skipped) whose stored report under the same key differs in a compared field."""
    keys = list(zip(rows["source"], rows["source_id"], strict=True))
    columns = [reports.c[name] for name in ("source", "source_id", *COMPARED)]
    found: list[Any] = []
    for start in range(0, len(keys), _CHUNK):
        found += conn.execute(
            sa.select(*columns).where(
                sa.tuple_(reports.c.source, reports.c.source_id).in_(keys[start : start + _CHUNK]),
                sa.or_(reports.c.import_id.is_(None), reports.c.import_id != import_id),
            )
        ).all()
    if not found:
        return []
    old = pd.DataFrame([tuple(r) for r in found], columns=["source", "source_id", *COMPARED])
    old["occurred_at"] = pd.to_datetime(old["occurred_at"], utc=True).dt.as_unit("us")
    old["cell"] = old["cell"].to_numpy(dtype=np.int64).view(np.uint64)
    old["weight"] = old["weight"].astype(np.float64)
    new = rows.assign(
        _row=row_numbers,
        cell=np.asarray(rows["cell"]).astype(np.uint64),
        occurred_at=pd.to_datetime(rows["occurred_at"], utc=True).dt.as_unit("us"),
    )
    both = new.merge(old, on=["source", "source_id"], suffixes=("", "_stored"))
    differs = {f: (both[f] != both[f"{f}_stored"]).to_numpy() for f in COMPARED}
    row_numbers, source_ids = both["_row"].to_numpy(), both["source_id"].to_numpy()
    return [
        RowError(
            int(row_numbers[i]),
            "source_id",
            str(source_ids[i]),
            f"already stored with a different {', '.join(f for f in COMPARED if differs[f][i])}: "
            "delete the stored report to replace it",
        )
        for i in np.flatnonzero(np.logical_or.reduce(list(differs.values())))
    ]
