"""How current the store is: the meeting must know whether last night's import made it in.

One read of the store, shared by the weekly report and anything else that shows a "data as of" line.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.store.engine import dataset_version
from hotspots.store.schema import imports, reports


class Freshness(NamedTuple):
    """Latest report (time of event), latest import, dataset version and the number of stored reports."""

    last_report: datetime | None
    last_import: datetime | None
    dataset_version: int
    reports: int


def freshness(engine: Engine) -> Freshness:
    """Latest report time, latest import time, dataset version and total reports, in one connection."""
    with engine.connect() as conn:
        last_report, total = conn.execute(
            sa.select(sa.func.max(reports.c.occurred_at), sa.func.count())
        ).one()
        last_import = conn.execute(sa.select(sa.func.max(imports.c.created_at))).scalar()
        version = dataset_version(conn)
    return Freshness(last_report, last_import, version, int(total))
