"""Retention: delete reports and field visits older than the configured period, in one audited transaction.

Report-level data may be kept only as long as it is needed (DESIGN "Access and privacy"). A purge deletes
every report that occurred before the cutoff, bumps the dataset version (so cached statistics are
recomputed without the purged reports) and writes one audit row with the count and the cutoff, never
report contents.

>>> RetentionPeriod.parse("36m")
RetentionPeriod(amount=36, unit='m')
>>> str(RetentionPeriod.parse("365d").cutoff(datetime(2026, 11, 22, tzinfo=UTC)).date())
'2025-11-22'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.access import audit
from hotspots.errors import HotspotsError
from hotspots.field import visits
from hotspots.store.engine import REPORTS_REMOVED, bump_version, dataset_version, transaction
from hotspots.store.schema import reports

PERIOD_PATTERN = re.compile(r"^\s*(\d{1,4})\s*([md])\s*$", re.IGNORECASE)
PURGE_ACTION = "reports.purge"


class RetentionPeriod(NamedTuple):
    """How long reports are kept: ``amount`` months (``unit='m'``) or days (``unit='d'``)."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> RetentionPeriod:
        """'36m' (months) or '365d' (days); anything else is a clear error, never a guess."""
        match = PERIOD_PATTERN.match(text)
        if not match or int(match.group(1)) < 1:
            raise HotspotsError(f"period must look like '36m' (months) or '365d' (days), got {text!r}")
        return cls(int(match.group(1)), match.group(2).lower())

    @classmethod
    def months(cls, amount: int) -> RetentionPeriod:
        return cls(amount, "m")

    def cutoff(self, now: datetime) -> datetime:
        """The instant before which reports are purged (calendar months: 31 May - 3m = 28/29 Feb)."""
        offset = pd.DateOffset(months=self.amount) if self.unit == "m" else pd.DateOffset(days=self.amount)
        return (pd.Timestamp(now).tz_convert(UTC) - offset).to_pydatetime()

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


class PurgeResult(NamedTuple):
    """What a purge did: the cutoff used, how many reports it deleted, the dataset version afterwards."""

    cutoff: datetime
    deleted: int
    dataset_version: int


def count_older(engine: Engine, cutoff: datetime) -> int:
    """How many reports a purge at ``cutoff`` would delete (what ``--dry-run`` and the prompt show)."""
    stmt = sa.select(sa.func.count()).select_from(reports).where(reports.c.occurred_at < cutoff)
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def purge(
    engine: Engine, *, older_than: RetentionPeriod | str, actor: str, now: datetime | None = None
) -> PurgeResult:
    """Delete reports that occurred before ``now - older_than``; delete, version bump and audit row commit
    together or not at all. A purge that finds nothing is audited too (someone ran it)."""
    period = RetentionPeriod.parse(older_than) if isinstance(older_than, str) else older_than
    cutoff = period.cutoff(now or datetime.now(UTC))
    with transaction(engine) as conn:
        deleted = max(conn.execute(sa.delete(reports).where(reports.c.occurred_at < cutoff)).rowcount, 0)
        version = bump_version(conn) if deleted else dataset_version(conn)
        if deleted:
            bump_version(conn, REPORTS_REMOVED)
        visits_deleted = visits.purge_before(conn, cutoff)
        audit.record(
            conn,
            actor=actor,
            action=PURGE_ACTION,
            resource="reports",
            detail={"older_than": str(period), "cutoff": cutoff.isoformat(), "visits": visits_deleted},
            rows=deleted,
        )
    return PurgeResult(cutoff=cutoff, deleted=deleted, dataset_version=version)
