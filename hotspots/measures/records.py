"""Measures (insatser) in the store: record what EST decided where, list, end and delete them.

Every write is checked (:mod:`hotspots.measures.checks`) and bumps the dataset version, so lists, tiles and
reports that show measures see the change. Follow-up is :mod:`hotspots.measures.follow_up`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.access import audit
from hotspots.config import Settings, get_settings
from hotspots.geo import h3grid
from hotspots.measures.checks import MeasureError, check_dates, check_measure, parse_cells, parse_polygon
from hotspots.measures.measure import DEFAULT_RADIUS_M, Measure
from hotspots.store.engine import bump_version, transaction
from hotspots.store.schema import measures as measures_table

_log = logging.getLogger(__name__)


class UnknownMeasure(MeasureError):
    """No measure has the id asked for."""


def _row_to_measure(row: Any) -> Measure:
    """The stored row as a Measure; a polygon that is not even JSON reads as an empty dict, which
    :func:`~hotspots.measures.checks.check_measure` then refuses."""
    try:
        polygon = json.loads(row.polygon) if row.polygon else None
    except ValueError:
        polygon = {}
    return Measure(
        id=int(row.id),
        type=row.type,
        organisation=row.organisation,
        lat=float(row.lat),
        lon=float(row.lon),
        radius_m=row.radius_m,
        cells=tuple(row.cells.split()) if row.cells else (),
        polygon=polygon,
        start=row.start_date,
        end=row.end_date,
        note=row.note or "",
        created_by=row.created_by,
    )


def record_measure(
    engine: Engine,
    *,
    type: str,
    organisation: str,
    start: date,
    end: date | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_m: float | None = None,
    cells: list[str] | None = None,
    polygon: dict[str, Any] | None = None,
    note: str = "",
    created_by: str = "cli",
    settings: Settings | None = None,
) -> Measure:
    """Store a measure placed by exactly one of: lat/lon (+ radius_m, default 100 m), cells, polygon;
    MeasureError (naming the field) for implausible dates or a place outside or too large
    (:mod:`hotspots.measures.checks`)."""
    settings = settings or get_settings()
    given = [lat is not None and lon is not None, bool(cells), polygon is not None]
    if sum(given) != 1:
        raise MeasureError("give the measure's place as exactly one of: lat and lon, cells, or a polygon")
    if not type.strip() or not organisation.strip():
        raise MeasureError("a measure needs a type and a responsible organisation")
    for field, text in (("type", type), ("organisation", organisation), ("note", note)):
        if "\x00" in text:  # PostgreSQL text cannot hold NUL: the write failed with a 500
            raise MeasureError("contains a NUL byte", field)
    check_dates(start, end)
    if cells:
        parsed = h3grid.as_cells(parse_cells(cells, settings))
        centre_lat, centre_lon = (float(v.mean()) for v in h3grid.cells_to_latlng(parsed))
    elif polygon is not None:
        point = parse_polygon(polygon).representative_point()
        centre_lat, centre_lon = point.y, point.x
    else:
        assert lat is not None and lon is not None
        centre_lat, centre_lon = lat, lon
    check_measure(
        Measure(0, type, organisation, centre_lat, centre_lon, (radius_m or DEFAULT_RADIUS_M) if given[0]
                else None, tuple(cells or ()), polygon, start, end, note, created_by),
        settings,
    )  # fmt: skip
    values = {
        "type": type.strip(),
        "organisation": organisation.strip(),
        "lat": centre_lat,
        "lon": centre_lon,
        "radius_m": (radius_m or DEFAULT_RADIUS_M) if given[0] else None,
        "cells": " ".join(cells) if cells else None,
        "polygon": json.dumps(polygon) if polygon is not None else None,
        "start_date": start,
        "end_date": end,
        "note": note or None,
        "created_by": created_by,
        "created_at": datetime.now(UTC),
    }
    with transaction(engine) as conn:
        new_id = conn.execute(sa.insert(measures_table).values(**values)).inserted_primary_key[0]  # type: ignore[index]
        bump_version(conn)  # lists, tiles and reports show measures: their caches must see the change
    return get_measure(engine, int(new_id))


def get_measure(engine: Engine, measure_id: int) -> Measure:
    with engine.connect() as conn:
        row = conn.execute(sa.select(measures_table).where(measures_table.c.id == measure_id)).first()
    if row is None:
        raise UnknownMeasure(f"no measure with id {measure_id}")
    return _row_to_measure(row)


def list_measures(
    engine: Engine,
    *,
    active_on: date | None = None,
    active_between: tuple[date, date] | None = None,
    settings: Settings | None = None,
    invalid: bool = False,
) -> list[Measure]:
    """Measures, oldest first; optionally only those in force on a day or at some time in [first, last].

    Stored rows that fail :func:`~hotspots.measures.checks.check_measure` are left out (and logged): one bad
    row must not fail every list, report and map that shows measures. ``invalid=True`` keeps them, with
    the reason in ``problem``, for the measures list where they can be found and deleted."""
    settings = settings or get_settings()
    stmt = sa.select(measures_table).order_by(measures_table.c.start_date, measures_table.c.id)
    if active_on is not None:
        active_between = (active_on, active_on)
    if active_between is not None:
        first, last = active_between
        stmt = stmt.where(measures_table.c.start_date <= last).where(
            sa.or_(measures_table.c.end_date.is_(None), measures_table.c.end_date >= first)
        )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for row in rows:
        measure = _row_to_measure(row)
        try:
            check_measure(measure, settings)
        except MeasureError as exc:
            _log.warning("measure %s is stored with an unusable %s, left out: %s", measure.id, exc.field, exc)
            if invalid:
                out.append(replace(measure, problem=f"{exc.field}: {exc}"))
            continue
        out.append(measure)
    return out


def delete_measure(engine: Engine, measure_id: int, *, actor: str) -> Measure:
    """Delete a measure (also one whose stored row is unusable); audited, and the version changes so no
    list or tile keeps showing it."""
    measure = get_measure(engine, measure_id)
    with transaction(engine) as conn:
        conn.execute(sa.delete(measures_table).where(measures_table.c.id == measure_id))
        bump_version(conn)
        audit.record(
            conn, actor=actor, action="measures.delete", resource=f"/measures/{measure_id}",
            detail={"type": measure.type, "organisation": measure.organisation, "start": measure.start}, rows=1,
        )  # fmt: skip
    return measure


def end_measure(engine: Engine, measure_id: int, end: date) -> Measure:
    """Set a measure's last day."""
    measure = get_measure(engine, measure_id)
    check_dates(measure.start, end)
    with transaction(engine) as conn:
        conn.execute(sa.update(measures_table).where(measures_table.c.id == measure_id).values(end_date=end))
        bump_version(conn)
    return get_measure(engine, measure_id)
