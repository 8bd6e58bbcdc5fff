"""Kernel density of report locations for the heat layer, evaluated at lattice cell centres.

The input is the weighted report points themselves, not per-cell counts placed at cell centres: points keep
their position inside a cell, so the surface does not inherit the hexagon grid's quantisation.

Distances are metric: points and cell centres are projected to a CRS that fits them
(:mod:`hotspots.geo.projection`: SWEREF 99 TM in Sweden, true to scale within ~0.1 % over Örebro; elsewhere an
azimuthal equidistant projection centred on the cells), so 250 m is 250 m on the ground anywhere. The kernel is the quartic (biweight) kernel that ArcGIS's
Kernel Density uses (Silverman 1986, eq. 4.5),

    K(d) = 3 / (pi h^2) * (1 - d^2 / h^2)^2  for d < h, else 0,

which integrates to 1 over the plane, so the surface integrates to the total weight of the points.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from scipy.spatial import cKDTree

from hotspots.errors import StatisticsError
from hotspots.geo import h3grid
from hotspots.geo.projection import crs_for, to_metric
from hotspots.stats.weights import FloatArray

DEFAULT_BANDWIDTH_M = 250.0
"""Kernel radius. 250 m is about two rings of H3 res-10 cells and a three-minute walk: wide enough to join
reports from the same square or street corner into one peak, narrow enough to keep neighbouring blocks,
which EST treats as separate places, apart."""

SQUARE_METRES_PER_KM2 = 1e6


@cache
def _to_sweref() -> Transformer:
    return Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)


def to_sweref(lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 lat/lon to SWEREF 99 TM easting/northing in metres (the Swedish grid coordinates lists show;
    for distances use :mod:`hotspots.geo.projection`, which fits any place)."""
    easting, northing = _to_sweref().transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(easting, dtype=float), np.asarray(northing, dtype=float)


def quartic_kernel(distance: npt.ArrayLike, bandwidth: float) -> FloatArray:
    """Quartic kernel value per m² at ``distance`` metres (integrates to 1 over the plane)."""
    ratio2 = np.square(np.asarray(distance, dtype=float) / bandwidth)
    return np.where(ratio2 < 1.0, 3.0 / (np.pi * bandwidth**2) * np.square(1.0 - ratio2), 0.0)


def kernel_density(
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    cells: h3grid.CellArray,
    *,
    weights: npt.ArrayLike | None = None,
    bandwidth_m: float = DEFAULT_BANDWIDTH_M,
    crs: str | None = None,
) -> FloatArray:
    """Weighted quartic kernel density of the points at each cell centre, in weight per km².

    ``weights`` defaults to 1 per point (a report); pass report weights to let e.g. observed dealing count
    more than a tip. Cells farther than ``bandwidth_m`` from every point get 0. ``crs`` overrides the
    metric projection (default: :func:`hotspots.geo.projection.crs_for` the cells).
    """
    if not bandwidth_m > 0:
        raise StatisticsError(f"bandwidth must be a positive number of metres, got {bandwidth_m}")
    lat = np.asarray(lat, dtype=float)
    point_weight = np.ones(lat.size) if weights is None else np.asarray(weights, dtype=float)
    if point_weight.shape != lat.shape:
        raise StatisticsError(f"{point_weight.size} weights for {lat.size} points")
    cells = h3grid.as_cells(cells)
    density = np.zeros(cells.size)
    if cells.size == 0 or lat.size == 0:
        return density
    centre_lat, centre_lon = h3grid.cells_to_latlng(cells)
    crs = crs or crs_for(centre_lat, centre_lon)
    centres = cKDTree(to_metric(centre_lat, centre_lon, crs))
    points = cKDTree(to_metric(lat, lon, crs))
    pairs = centres.sparse_distance_matrix(points, bandwidth_m, output_type="ndarray")
    contribution = quartic_kernel(pairs["v"], bandwidth_m) * point_weight[pairs["j"]]
    density += np.bincount(pairs["i"], weights=contribution, minlength=cells.size)
    return density * SQUARE_METRES_PER_KM2
