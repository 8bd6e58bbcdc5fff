"""The reports of an analysis window, kept between computations and topped up with what was added since.

A computation reads every report of its window (the 28 days and the two-year weekly cube): 32,000 rows and
~50 ms on the dense demo, growing with the data. Between two computations a stream of field writes adds a
handful. :class:`ReportWindows` keeps each window's frame with the newest report id it holds, and the next
read asks only for reports with a larger id.

A top-up is trusted only when it is exact. It is checked against the store's count of reports in the
window and its removal counter (:data:`REPORTS_REMOVED`, bumped by every deletion and jumped by a restore):
any difference -- a report committed out of id order on PostgreSQL, a deletion, an id that SQLite reused
-- and the window is read afresh. Frames are in id order either way, so a topped-up frame is the frame a
full read returns, row for row, and the analysis computed from it is the same to the last bit (a test
compares them after inserts and deletions).

>>> windows = ReportWindows()  # frame = windows.read(engine, start=s, end=e, columns=("cell", "weight"))
>>> len(windows)
0
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotspots.store.engine import REPORTS_REMOVED, read_reports
from hotspots.store.reports import ReportFilter
from hotspots.store.schema import reports, store_meta

#: Windows kept: a few filters (categories, sources) of the current end date.
WINDOWS_KEPT = 4


def read_window(
    engine: Engine | Connection,
    *,
    start: datetime,
    end: datetime,
    categories: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    columns: Sequence[str],
    after_id: int | None = None,
) -> pd.DataFrame:
    """Every report of ``[start, end)`` (optionally of some categories or sources; with an id above
    ``after_id``) in id order, with an ``id`` column: what a computation reads when nothing is kept."""
    frame = read_reports(
        engine,
        start=start,
        end=end,
        categories=categories,
        sources=sources,
        after_id=after_id,
        columns=("id", *columns),
    )
    return frame.sort_values("id", kind="stable", ignore_index=True)


@dataclass
class _Kept:
    frame: pd.DataFrame
    removed: int  # the store's removal counter when the frame was read


class ReportWindows:
    """Frames of recent windows, topped up by id; owned by whoever runs the computations (one per
    computing process: :mod:`hotspots.analysis.process`)."""

    def __init__(self, size: int = WINDOWS_KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[object, ...], _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.full_reads = 0  # how often a window was read whole (a test and the bench count them)

    def __len__(self) -> int:
        return len(self._kept)

    def read(
        self,
        engine: Engine,
        *,
        start: datetime,
        end: datetime,
        categories: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        columns: Sequence[str],
    ) -> pd.DataFrame:
        """What :func:`read_window` returns, from the kept frame and the reports added since when that
        is exact, else read whole."""
        key = (str(engine.url), start, end, tuple(categories or ()), tuple(sources or ()), tuple(columns))
        with self._lock:
            kept = self._kept.get(key)
        filters = ReportFilter(start, end, categories or (), sources or ())
        with engine.connect() as conn:
            removed = _removed(conn)
            if kept is not None and kept.removed == removed:
                newest = int(kept.frame["id"].to_numpy()[-1]) if len(kept.frame) else 0
                added = read_window(conn, **_read_args(filters), columns=columns, after_id=newest)
                frame = pd.concat([kept.frame, added], ignore_index=True) if len(added) else kept.frame
                if _count(conn, filters) == len(frame) and _removed(conn) == removed:
                    self._keep(key, _Kept(frame, removed))
                    return frame
            frame = read_window(conn, **_read_args(filters), columns=columns)
        self.full_reads += 1
        self._keep(key, _Kept(frame, removed))
        return frame

    def _keep(self, key: tuple[object, ...], kept: _Kept) -> None:
        with self._lock:
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


def _removed(conn: Connection) -> int:
    value = conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == REPORTS_REMOVED)).scalar()
    return int(value or 0)


def _count(conn: Connection, filters: ReportFilter) -> int:
    stmt = sa.select(sa.func.count()).select_from(reports).where(*filters.where())
    return int(conn.execute(stmt).scalar_one())


def _read_args(filters: ReportFilter) -> dict[str, Any]:
    return {
        "start": filters.since,
        "end": filters.until,
        "categories": filters.categories,
        "sources": filters.sources,
    }
