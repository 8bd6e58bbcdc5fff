"""Observations from the field: a report filed from the phone (category, position, time, optional note).

An observation is a normal report for every statistic, so it goes through the import pipeline
(:func:`hotspots.ingest.pipeline.import_frame`): the same validation, area assignment and binning as any report
write. Its ``source_id`` is the phone's idempotency key, and (source, source_id) is unique in the store, so
a retry of the same submission never makes a second report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.access import audit
from hotspots.access.accounts import Role, User
from hotspots.config import Settings
from hotspots.field.visits import FIELD_SOURCE, VisitError, check_area, check_key
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.schema import reports

#: Prefix of an observation's source_id before the key: never the id of an imported report.
ID_PREFIX = "field:"


@dataclass(frozen=True)
class ObservationIn:
    """An observation from the phone: a report at the phone's position (or a tapped point)."""

    category: str
    lat: float
    lon: float
    occurred_at: datetime
    source: str = FIELD_SOURCE
    note: str | None = None


def record_observation(
    engine: Engine,
    observation: ObservationIn,
    *,
    user: User,
    areas: Areas,
    settings: Settings,
    key: str,
) -> tuple[dict[str, Any], bool]:
    """File an observation as a report through the import pipeline (the same validation as every report
    write), once per key: ``source_id`` is the key, and (source, source_id) is unique in the store.
    Returns the stored report (without its note) and whether this call stored it."""
    check_key(key)
    source = settings.taxonomy.source_lookup().get(observation.source.strip().lower())
    if source is None:
        raise VisitError(f"unknown source {observation.source!r}", field="body.source")
    if user.role is Role.FIELD and source != FIELD_SOURCE:
        # Accounts carry no organisation: a field user naming "police" would plant police reports.
        raise VisitError(f"field users file observations as {FIELD_SOURCE}", field="body.source", status=403)
    source_id = ID_PREFIX + key
    stored = _observation(engine, source, source_id)
    if stored is None:
        check_area(areas.assign([observation.lat], [observation.lon])[0], user, "the position")
        raw = pd.DataFrame(
            [
                {
                    "source": source,
                    "source_id": source_id,
                    "occurred_at": observation.occurred_at.isoformat(),
                    "category": observation.category,
                    "lat": repr(observation.lat),
                    "lon": repr(observation.lon),
                    "note": observation.note or "",
                }
            ]
        )
        result = ingest.import_frame(
            engine, raw, settings=settings, areas=areas, filename="field", created_by=user.name
        )
        audit.record(
            engine,
            actor=user.name,
            action="field.observation",
            resource="/field/observations",
            detail={"import_id": result.import_id},
            rows=result.rows_added,
        )
        stored = _observation(engine, source, source_id)
        assert stored is not None, "the import stored the row or rejected it"
        created = bool(result.rows_added)
    else:
        created = False
    if stored.created_by != user.name:
        raise VisitError("Idempotency-Key already used", field="header.Idempotency-Key", status=409)
    return {
        "id": int(stored.id),
        "source": stored.source,
        "source_id": stored.source_id,
        "category": stored.category,
        "occurred_at": stored.occurred_at.isoformat(),
        "lat": float(stored.lat),
        "lon": float(stored.lon),
        "area_id": stored.area_id,
    }, created


def _observation(engine: Engine, source: str, source_id: str) -> Any:
    stmt = sa.select(reports).where(reports.c.source == source, reports.c.source_id == source_id)
    with engine.connect() as conn:
        return conn.execute(stmt).first()
