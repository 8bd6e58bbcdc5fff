"""The study-area lattice: every H3 cell where reports can occur, zero cells included, with k-ring weights.

Building one is half a computation (a polyfill of the areas and a nearest-report query), so whoever computes
again and again keeps them (:func:`hotspots.analysis.compute.compute`'s ``lattices``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.spatial import cKDTree

from hotspots.geo import h3grid
from hotspots.geo.areas import Areas
from hotspots.geo.projection import to_metric
from hotspots.stats.weights import h3_weights


@dataclass(frozen=True)
class Lattice:
    """All cells of the study area at one resolution (sorted), their area, and the k-ring weights."""

    cells: h3grid.CellArray
    area_id: npt.NDArray[np.object_]
    weights: sp.csr_matrix

    def index_of(self, cells: h3grid.CellArray) -> npt.NDArray[np.int64]:
        """Position of each cell in the lattice, -1 where it is not part of it."""
        pos = np.searchsorted(self.cells, cells)
        pos = np.minimum(pos, self.cells.size - 1)
        return np.where(self.cells[pos] == cells, pos, -1)


@lru_cache(maxsize=8)
def _area_cells(areas: Areas, resolution: int) -> tuple[h3grid.CellArray, h3grid.CellArray]:
    """(all cells of the areas, cells of the partnership areas) at ``resolution``; depends only on the file."""
    partnership = areas.frame["kind"] == "partnership"
    return (
        h3grid.polyfill(areas.geometries(), resolution),
        h3grid.polyfill(list(areas.frame.geometry[partnership]), resolution),
    )


def build_lattice(
    areas: Areas, resolution: int, k: int, active: h3grid.CellArray, extent_m: float, crs: str | None = None
) -> Lattice:
    """The study-area lattice: the areas' cells within ``extent_m`` of a reported cell, plus the
    partnership areas whole, plus a ring of ``k`` so edge cells have full neighbourhoods.

    Why not the whole municipality: 90 % of Örebro's 1,628 km² is forest and farmland without a single
    report. Its zeros would set the Gi* global mean, and every urban cell with two reports would be a
    "99 % hotspot". The study area is where reports can occur; its zero cells are still in the lattice.
    """
    every, partnership = _area_cells(areas, resolution)
    active = np.unique(active)
    near = np.zeros(every.size, dtype=bool)
    if active.size:
        every_lat, every_lon = h3grid.cells_to_latlng(every)
        crs = crs or areas.metric_crs()  # metres on the ground wherever the areas are
        tree = cKDTree(to_metric(*h3grid.cells_to_latlng(active), crs))
        distance, _ = tree.query(to_metric(every_lat, every_lon, crs), distance_upper_bound=extent_m)
        near = np.isfinite(distance)
    core = np.union1d(every[near], partnership)
    cells = h3grid.grid_disk(core, k)
    lat, lon = h3grid.cells_to_latlng(cells)
    return Lattice(cells=cells, area_id=areas.assign(lat, lon), weights=h3_weights(cells, k, star=True))
