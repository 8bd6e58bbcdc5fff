"""Report-level queries for the people allowed to see reports (the API's ``/reports``): a filtered page,
one report, deleting one. Area limits are applied here, in the query, so a user limited to some areas
never receives another area's row.

Usage (needs a store, so not a doctest)::

    page = list_reports(engine, ReportFilter(categories=("seizure",), areas=("vivalla",)), limit=50)
    page.total, page.frame["source_id"].tolist()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotspots.errors import NotFound
from hotspots.store.engine import REPORTS_REMOVED, bump_version, transaction
from hotspots.store.schema import REPORT_COLUMNS, reports

#: What a report-level read returns: the stored row with its id (notes included: readers are analysts).
COLUMNS = ("id", *REPORT_COLUMNS)


@dataclass(frozen=True)
class ReportFilter:
    """Which reports: ``since`` inclusive, ``until`` exclusive (naive times are UTC), categories, sources
    and areas (empty: any)."""

    since: datetime | None = None
    until: datetime | None = None
    categories: Sequence[str] = ()
    sources: Sequence[str] = ()
    areas: Sequence[str] = ()

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.since is not None:
            clauses.append(reports.c.occurred_at >= _aware(self.since))
        if self.until is not None:
            clauses.append(reports.c.occurred_at < _aware(self.until))
        for column, values in (
            (reports.c.category, self.categories),
            (reports.c.source, self.sources),
            (reports.c.area_id, self.areas),
        ):
            if values:
                clauses.append(column.in_(list(values)))
        return clauses


class ReportPage(NamedTuple):
    """One page of reports (newest first) and how many match in all."""

    frame: pd.DataFrame
    total: int


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _read(engine: Engine, stmt: sa.Select[Any]) -> pd.DataFrame:
    """Rows as a frame; times arrive tz-aware (the schema's type converts them), cells as uint64."""
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["cell"] = frame["cell"].to_numpy(dtype=np.int64).view(np.uint64) if len(frame) else frame["cell"]
    return frame


def _select(where: list[Any]) -> sa.Select[Any]:
    return sa.select(*(reports.c[name] for name in COLUMNS)).where(*where)


def list_reports(engine: Engine, which: ReportFilter, *, limit: int, offset: int = 0) -> ReportPage:
    """Newest first (by occurrence, then id), ``limit`` rows from ``offset``, and the total matching."""
    where = which.where()
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(reports).where(*where)).scalar_one()
    stmt = _select(where).order_by(reports.c.occurred_at.desc(), reports.c.id.desc())
    return ReportPage(_read(engine, stmt.limit(limit).offset(offset)), int(total))


def get_report(engine: Engine, report_id: int, *, areas: Sequence[str] = ()) -> pd.DataFrame:
    """The one-row frame of report ``report_id``, if it lies in ``areas`` (empty: any area)."""
    frame = _read(engine, _select([*ReportFilter(areas=areas).where(), reports.c.id == report_id]))
    if frame.empty:
        raise NotFound(f"Rapport {report_id} finns inte / report not found")
    return frame


def delete_report(
    engine: Engine,
    report_id: int,
    *,
    areas: Sequence[str] = (),
    on_delete: Callable[[Connection], object] | None = None,
) -> None:
    """Delete report ``report_id`` (if in ``areas``; else :class:`NotFound`, nothing written) and bump the
    dataset version in one transaction, so every derived result is recomputed; ``on_delete(conn)`` runs
    inside it (the audit record)."""
    where = [*ReportFilter(areas=areas).where(), reports.c.id == report_id]
    with transaction(engine) as conn:
        if not conn.execute(sa.delete(reports).where(*where)).rowcount:
            raise NotFound(f"Rapport {report_id} finns inte / report not found")
        bump_version(conn)
        bump_version(conn, REPORTS_REMOVED)
        if on_delete is not None:
            on_delete(conn)
