"""What a measure may be: plausible dates, a place inside the areas' extent, a bounded target area.

Checked when a measure is recorded (a 422 naming the field) and again on every read of stored rows
(``hotspots.measures.records.list_measures``): a row written past the first check (by hand, by an older version)
is left out of the priority list, weekly report, map and tiles instead of failing them for everyone. A
polygon at (1500, 5900) or a measure starting 0001-01-01 used to make every list answer 500, and one
resolution-3 cell made each list fill 1.2 GB of cells.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import TYPE_CHECKING

import h3
import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import load_areas
from hotspots.stats.kde import to_sweref

if TYPE_CHECKING:
    from hotspots.measures.measure import Measure

#: Days a measure may start or end on: the data this service holds starts long after 1990.
EARLIEST = date(1990, 1, 1)
LATEST = date(2100, 12, 31)
COARSEST_BELOW_ANALYSIS = 2
_CELL_ID = re.compile(r"^[0-9a-f]{15,16}$")


class MeasureError(HotspotsError):
    """A measure cannot be recorded or followed up as asked (bad place, unknown id, no period).
    ``field`` names the input at fault (``start``, ``cells``, ``polygon``, ...)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def parse_polygon(polygon: object) -> BaseGeometry:
    """A non-empty (Multi)Polygon with finite WGS84 coordinates from GeoJSON, else MeasureError."""
    try:
        geometry = shape(polygon)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise MeasureError(f"not a GeoJSON geometry: {exc}", "polygon") from exc
    if geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise MeasureError("the measure's polygon must be a non-empty (Multi)Polygon", "polygon")
    if not np.isfinite(shapely.get_coordinates(geometry)).all():
        raise MeasureError("the measure's polygon has coordinates that are not numbers (NaN, inf)", "polygon")
    return geometry


def parse_cells(cells: list[str] | tuple[str, ...], settings: Settings) -> list[int]:
    """Valid H3 cell ids no coarser than the analysis resolution minus 2, else MeasureError."""
    coarsest = settings.analysis_resolution - COARSEST_BELOW_ANALYSIS
    parsed = []
    for text in cells:
        value = text.strip().lower()
        if not _CELL_ID.match(value) or not h3.is_valid_cell(value):
            raise MeasureError(f"not an H3 cell id: {text[:40]!r}", "cells")
        if h3.get_resolution(value) < coarsest:
            raise MeasureError(
                f"cell {value} has resolution {h3.get_resolution(value)}: at most {coarsest} levels coarser "
                f"than the analysis resolution {settings.analysis_resolution} is allowed",
                "cells",
            )
        parsed.append(int(value, 16))
    return parsed


def _inside(lat: np.ndarray, lon: np.ndarray, settings: Settings, field: str) -> None:
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        raise MeasureError("coordinates must be numbers", field)
    inside = load_areas(settings).within_extent(lat, lon, settings.extent_buffer_m)
    if not inside.all():
        raise MeasureError(
            f"the place lies outside the areas (more than {settings.extent_buffer_m:.0f} m from every area)",
            field,
        )


def _bounded(area_km2: float, settings: Settings, field: str) -> None:
    if not area_km2 <= settings.measure_max_area_km2:
        raise MeasureError(
            f"the target covers {area_km2:.2f} km²: at most {settings.measure_max_area_km2:g} km² is allowed",
            field,
        )


def check_dates(start: date, end: date | None) -> None:
    if not EARLIEST <= start <= LATEST:
        raise MeasureError(f"start {start} is not between {EARLIEST} and {LATEST}", "start")
    if end is not None and not start <= end <= LATEST:
        raise MeasureError(f"end {end} is not between the start {start} and {LATEST}", "end")


def check_measure(measure: Measure, settings: Settings) -> None:
    """MeasureError (naming the field) unless ``measure`` has sane dates and a bounded place inside the
    areas' extent; cheap enough to run on every stored row a list reads."""
    check_dates(measure.start, measure.end)
    if measure.polygon is not None:
        geometry = parse_polygon(measure.polygon)
        coords = shapely.get_coordinates(geometry)
        _inside(coords[:, 1], coords[:, 0], settings, "polygon")
        _bounded(shapely.area(shapely.transform(geometry, _to_metric)) / 1e6, settings, "polygon")
    elif measure.cells:
        values = parse_cells(measure.cells, settings)
        centres = np.array([h3.cell_to_latlng(f"{v:x}") for v in values])
        _inside(centres[:, 0], centres[:, 1], settings, "cells")
        _bounded(sum(h3.cell_area(f"{v:x}", unit="km^2") for v in values), settings, "cells")
    else:
        _inside(np.array([measure.lat]), np.array([measure.lon]), settings, "lat")
        radius = measure.radius_m if measure.radius_m is not None else 0.0
        if not (math.isfinite(radius) and radius > 0):
            raise MeasureError("radius_m must be a positive number", "radius_m")
        _bounded(math.pi * radius**2 / 1e6, settings, "radius_m")


def _to_metric(coords: np.ndarray) -> np.ndarray:
    """(lon, lat) rows -> SWEREF 99 TM metres, for areas."""
    x, y = to_sweref(coords[:, 1], coords[:, 0])
    return np.column_stack([x, y])
