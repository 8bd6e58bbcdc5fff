"""A measure (insats) as a value: where it acts (a point with a radius, H3 cells or a polygon), by whom, when.

Its target area at the analysis resolution is what lists, maps and the follow-up all use
(:meth:`Measure.target_cells`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import h3
import numpy as np
from scipy.spatial import cKDTree
from shapely.geometry import shape

from hotspots.config import get_settings
from hotspots.geo import h3grid
from hotspots.geo.projection import crs_for, to_metric

#: Common measure types (free text is accepted; these are the ones the CLI suggests).
MEASURE_TYPES = (
    "patrullering", "kamerabevakning", "belysning", "röjning av vegetation", "städning",
    "uppsökande arbete", "ordningsvakter", "trygghetsvandring",
)  # fmt: skip
DEFAULT_RADIUS_M = 100.0


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
