"""Measures (insatser): record what EST decided where, and follow up whether reports moved or fell.

Follow-up compares equal periods before and after the start of a measure in three zones, all at the
analysis resolution: the **target** (the measure's cells), a **buffer** ring around it (cells whose centre
is within ``measure_buffer_m`` of a target cell's centre: where displaced trade would go) and a **control** (every other reported cell, or given areas), and reads
the result with the Weighted Displacement Quotient of Bowers & Johnson (2003, "Measuring the geographical
displacement and diffusion of benefit effects of crime prevention activity", J. Quant. Criminol. 19(3)),
with R = target, B = buffer, C = control, b = before, a = after::

    success measure       SM  = Ra/Ca - Rb/Cb              (< 0: the target fell relative to the control)
    buffer measure        BDM = Ba/Ca - Bb/Cb              (> 0: the buffer rose relative to the control)
    WDQ                       = BDM / SM                   (read only when SM < 0)
    total net effect      TNE = (Rb*Ca/Cb - Ra) - (Ba - Bb*Ca/Cb)   (reports prevented, net of displacement)

Reading (their Table 1): WDQ > 1 diffusion of benefit larger than the direct effect; 0 < WDQ <= 1 diffusion
of benefit; WDQ = 0 neither; -1 <= WDQ < 0 displacement, smaller than the direct effect (net benefit);
WDQ < -1 displacement larger than the direct effect (net harm).

>>> wdq_from_counts(target=(100, 50), buffer=(40, 60), control=(1000, 1000))["wdq"]
-0.4
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import h3
import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.spatial import cKDTree
from shapely.geometry import shape
from sqlalchemy.engine import Engine

from hotspots import audit, h3grid
from hotspots.config import Settings, get_settings
from hotspots.dosage import dose_between
from hotspots.measure_checks import MeasureError, check_dates, check_measure, parse_cells, parse_polygon
from hotspots.projection import crs_for, to_metric
from hotspots.schema import measures as measures_table
from hotspots.store import bump_version, read_reports, transaction
from hotspots.words import WDQ_READINGS

#: Common measure types (free text is accepted; these are the ones the CLI suggests).
MEASURE_TYPES = (
    "patrullering", "kamerabevakning", "belysning", "röjning av vegetation", "städning",
    "uppsökande arbete", "ordningsvakter", "trygghetsvandring",
)  # fmt: skip
DEFAULT_RADIUS_M = 100.0
_log = logging.getLogger(__name__)


class UnknownMeasure(MeasureError):
    """No measure has the id asked for."""


@dataclass(frozen=True)
class Measure:
    """A stored measure. Its place is a point with a radius, a set of H3 cells, or a polygon (WGS84)."""

    id: int
    type: str
    organisation: str
    lat: float
    lon: float
    radius_m: float | None
    cells: tuple[str, ...]
    polygon: dict[str, Any] | None
    start: date
    end: date | None
    note: str
    created_by: str
    problem: str | None = None  # why a stored row is unusable (list_measures(invalid=True) only)

    @property
    def place_kind(self) -> str:
        return "polygon" if self.polygon else "cells" if self.cells else "point"

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def target_cells(self, resolution: int | None) -> h3grid.CellArray:
        """The target area as sorted unique cells at ``resolution`` (the analysis lattice's)."""
        resolution = resolution or get_settings().analysis_resolution
        if self.polygon:
            geometry = shape(self.polygon)
            found = h3grid.polyfill([geometry], resolution)
            if found.size:
                return found
            point = geometry.representative_point()
            return h3grid.latlng_to_cells([point.y], [point.x], resolution)
        if self.cells:
            return _cells_at(h3grid.as_cells([int(c, 16) for c in self.cells]), resolution)
        centre = h3grid.latlng_to_cells([self.lat], [self.lon], resolution)
        radius = self.radius_m or DEFAULT_RADIUS_M
        spacing = h3.average_hexagon_edge_length(resolution, unit="m") * np.sqrt(3.0)
        disk = h3grid.grid_disk(centre, int(np.ceil(radius / spacing)) + 1)
        crs = crs_for([self.lat], [self.lon])
        xy = to_metric(*h3grid.cells_to_latlng(disk), crs)
        cx, cy = to_metric([self.lat], [self.lon], crs)[0]
        return np.union1d(disk[np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) <= radius], centre)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(start=self.start.isoformat(), end=self.end.isoformat() if self.end else None,
                   cells=list(self.cells), place_kind=self.place_kind)  # fmt: skip
        if self.problem is None:
            del out["problem"]
        return out


def _cells_at(cells: h3grid.CellArray, resolution: int) -> h3grid.CellArray:
    """Cells at ``resolution``: finer ones by their parent, coarser ones filled with their children."""
    res = h3grid.cells_resolution(cells)
    fine = h3grid.cell_to_parent(cells[res >= resolution], resolution)
    coarse = h3grid.polyfill(h3grid.cells_to_polygons(cells[res < resolution]), resolution)
    return np.union1d(fine, coarse)


def distance_to_cells(cells: h3grid.CellArray, targets: h3grid.CellArray) -> np.ndarray:
    """Metres from each cell's centre to the nearest target cell's centre (a projection fitting the targets)."""
    unique, inverse = np.unique(cells, return_inverse=True)
    if unique.size == 0:
        return np.zeros(0)
    target_lat, target_lon = h3grid.cells_to_latlng(targets)
    crs = crs_for(target_lat, target_lon)
    tree = cKDTree(to_metric(target_lat, target_lon, crs))
    distance, _ = tree.query(to_metric(*h3grid.cells_to_latlng(unique), crs))
    return np.asarray(distance)[inverse]


def _row_to_measure(row: Any) -> Measure:
    """The stored row as a Measure; a polygon that is not even JSON reads as an empty dict, which
    :func:`~hotspots.measure_checks.check_measure` then refuses."""
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
    (:mod:`hotspots.measure_checks`)."""
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

    Stored rows that fail :func:`~hotspots.measure_checks.check_measure` are left out (and logged): one bad
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


# ------------------------------------------------------------------------------------------- follow-up


def reading_of(wdq: float | None, success: float | None) -> str:
    """The Bowers & Johnson reading code of a WDQ (:data:`hotspots.words.WDQ_READINGS` has the words)."""
    if success is None:
        return "no_control"
    if success >= 0 or wdq is None:
        return "no_reduction"
    if wdq > 1:
        return "diffusion_larger"
    if wdq > 0:
        return "diffusion"
    if wdq == 0:
        return "neither"
    return "displacement_smaller" if wdq >= -1 else "displacement_larger"


def wdq_from_counts(
    *, target: tuple[float, float], buffer: tuple[float, float], control: tuple[float, float]
) -> dict[str, Any]:
    """Success measure, buffer measure, WDQ, total net effect and reading from (before, after) counts."""
    (rb, ra), (bb, ba), (cb, ca) = target, buffer, control
    if cb <= 0 or ca <= 0:
        success = buffer_measure = wdq = net = None
    else:
        success = ra / ca - rb / cb
        buffer_measure = ba / ca - bb / cb
        wdq = buffer_measure / success if success < 0 else None
        net = (rb * ca / cb - ra) - (ba - bb * ca / cb)
    code = reading_of(wdq, success)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {
        "success_measure": rounded(success),
        "buffer_measure": rounded(buffer_measure),
        "wdq": rounded(wdq),
        "total_net_effect": rounded(net),
        "reading": {"code": code, **WDQ_READINGS[code]},
    }


def follow_up(
    engine: Engine,
    measure: Measure | int,
    *,
    settings: Settings | None = None,
    days: int | None = None,
    buffer_m: float | None = None,
    control_areas: list[str] | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Reports before vs after the measure's start in target, buffer and control, with the WDQ, and the
    field visits (count and minutes) in the target in each period: the dose the measure actually got.

    The periods are equally long: ``days`` if given, else from the start to the measure's end (or to
    ``today`` while it runs), at most as long as the data before it allows. The control is every report
    outside target and buffer, or only those in ``control_areas`` (area ids).
    """
    settings = settings or get_settings()
    measure = get_measure(engine, measure) if isinstance(measure, int) else measure
    check_measure(measure, settings)  # a stored row that is unusable: 422 for it alone
    today = today or datetime.now(ZoneInfo(settings.timezone)).date()
    last = min(measure.end or today, today)
    length = days or (last - measure.start).days + 1
    if length < 1:
        raise MeasureError(f"measure {measure.id} starts {measure.start}: nothing after it to follow up yet")
    zone = ZoneInfo(settings.timezone)

    def instant(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)

    before = (measure.start - timedelta(days=length), measure.start)
    after = (measure.start, measure.start + timedelta(days=length))
    reports = read_reports(
        engine,
        start=instant(before[0]),
        end=instant(after[1]),
        columns=("occurred_at", "lat", "lon", "area_id"),
    )
    resolution = settings.analysis_resolution
    target = measure.target_cells(resolution)
    ring_m = buffer_m or settings.measure_buffer_m
    cells = h3grid.latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), resolution)
    in_target = np.isin(cells, target)
    near = distance_to_cells(cells, target) <= ring_m
    in_buffer = near & ~in_target
    in_control = ~near
    if control_areas:
        in_control &= reports["area_id"].isin(control_areas).to_numpy()
    is_after = (reports["occurred_at"] >= pd.Timestamp(instant(after[0]))).to_numpy()

    def split(mask: np.ndarray) -> tuple[int, int]:
        return int((mask & ~is_after).sum()), int((mask & is_after).sum())

    counts = {"target": split(in_target), "buffer": split(in_buffer), "control": split(in_control)}
    target_hex = [f"{c:x}" for c in target.tolist()]
    dose = {  # the field visits in the target: the intervention as it was carried out
        period: dose_between(engine, target_hex, instant(first), instant(last))._asdict()
        for period, (first, last) in (("before", before), ("after", after))
    }
    return {
        "measure": measure.to_dict(),
        "days": length,
        "before": {"start": before[0].isoformat(), "end": (before[1] - timedelta(days=1)).isoformat()},
        "after": {"start": after[0].isoformat(), "end": (after[1] - timedelta(days=1)).isoformat()},
        "complete": after[1] - timedelta(days=1) <= today,
        "buffer_m": ring_m,
        "target_cells": int(target.size),
        "counts": {zone: {"before": b, "after": a} for zone, (b, a) in counts.items()},
        "visits": dose,
        **wdq_from_counts(**counts),
    }
