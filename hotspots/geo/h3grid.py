"""Vectorised H3 helpers: every function takes and returns whole numpy arrays of uint64 cell ids.

The H3 index is the spatial index of the store, so these run on every import and every statistic.
Binning and polyfill use h3ronpy (Rust, array in / array out); parents are pure bit arithmetic.

>>> import numpy as np
>>> cells = latlng_to_cells(np.array([59.2741]), np.array([15.2484]), 12)
>>> int(cells_resolution(cell_to_parent(cells, 10))[0])
10
"""

from __future__ import annotations

from collections.abc import Iterable

import h3ronpy
import h3ronpy.vector as h3v
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import scipy.sparse as sp
import shapely
from shapely.geometry.base import BaseGeometry

CellArray = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]

_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF) << _RES_SHIFT
_DIGIT_BITS = 3
_MAX_RES = 15


def as_cells(values: Iterable[int] | npt.ArrayLike) -> CellArray:
    """Coerce ints (Python, int64 from a database, uint64) to a uint64 cell array without copying if possible."""
    arr = np.asarray(values)
    if arr.dtype == np.uint64:
        return arr
    return (
        arr.astype(np.int64, copy=False).view(np.uint64) if arr.dtype == np.int64 else arr.astype(np.uint64)
    )


def to_db(cells: CellArray) -> npt.NDArray[np.int64]:
    """Cells as signed 64-bit integers for SQL BIGINT columns (H3 leaves the top bit 0, so this is lossless)."""
    return as_cells(cells).view(np.int64)


def latlng_to_cells(lat: npt.ArrayLike, lon: npt.ArrayLike, res: int) -> CellArray:
    """Bin WGS84 points into H3 cells at ``res`` (h3ronpy, one call for the whole array)."""
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    if lat.size == 0:
        return np.empty(0, dtype=np.uint64)
    return np.asarray(h3v.coordinates_to_cells(lat, lon, res), dtype=np.uint64)


def cells_resolution(cells: CellArray) -> npt.NDArray[np.int64]:
    """Resolution of each cell, read from bits 52-55 of the index."""
    return ((as_cells(cells) & _RES_MASK) >> _RES_SHIFT).astype(np.int64)


def cell_to_parent(cells: CellArray, res: int) -> CellArray:
    """Parent of each cell at ``res`` by bit arithmetic: set the resolution field, fill finer digits with 7.

    All cells must have resolution >= ``res``. A parent is the hierarchy's, not the geometry's: H3 cells
    do not nest exactly, so ~6 % of points in a res-12 cell lie outside its res-10 parent. Reports are
    binned from their points (:func:`latlng_to_cells`) at every resolution they are counted at.
    """
    cells = as_cells(cells)
    if cells.size == 0:
        return cells.copy()
    current = cells_resolution(cells)
    if (current < res).any():
        raise ValueError(f"cannot take a parent at resolution {res} of a finer-than-{res} cell")
    unused = _MAX_RES - res
    fill = np.uint64((1 << (unused * _DIGIT_BITS)) - 1)
    return ((cells & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT)) | fill


def cells_to_latlng(cells: CellArray) -> tuple[FloatArray, FloatArray]:
    """Cell centres (lat, lon) in WGS84."""
    cells = as_cells(cells)
    if cells.size == 0:
        return np.empty(0), np.empty(0)
    batch = h3v.cells_to_coordinates(cells)
    return (
        np.asarray(batch.column("lat"), dtype=np.float64),
        np.asarray(batch.column("lng"), dtype=np.float64),
    )


def cells_to_polygons(cells: CellArray) -> npt.NDArray[np.object_]:
    """Cell boundaries as shapely Polygons (lon, lat order, WGS84)."""
    cells = as_cells(cells)
    if cells.size == 0:
        return np.empty(0, dtype=object)
    return shapely.from_wkb(np.asarray(h3v.cells_to_wkb_polygons(cells).to_pylist(), dtype=object))


def polyfill(geometries: Iterable[BaseGeometry], res: int) -> CellArray:
    """All cells whose centre lies in any of the (WGS84) polygons, sorted and unique."""
    parts = [
        np.asarray(h3v.geometry_to_cells(g, res), dtype=np.uint64)
        for g in geometries
        if g is not None and not g.is_empty
    ]
    if not parts:
        return np.empty(0, dtype=np.uint64)
    return np.unique(np.concatenate(parts))


def grid_disk(cells: CellArray, k: int) -> CellArray:
    """Every cell within grid distance ``k`` of any input cell (the input included), sorted and unique."""
    cells = as_cells(cells)
    if cells.size == 0 or k == 0:
        return np.unique(cells)
    return np.unique(np.asarray(h3ronpy.grid_disk(cells, k, flatten=True), dtype=np.uint64))


def disk_pairs(cells: CellArray, k: int) -> tuple[npt.NDArray[np.int64], CellArray]:
    """For each input cell, its k-ring (self included) as (row index into ``cells``, neighbour cell id)."""
    cells = as_cells(cells)
    if cells.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    nested = pa.array(h3ronpy.grid_disk(cells, k, flatten=False))
    offsets = nested.offsets.to_numpy().astype(np.int64, copy=False)
    values = nested.values.to_numpy()
    rows = np.repeat(np.arange(cells.size, dtype=np.int64), np.diff(offsets))
    return rows, values[offsets[0] : offsets[-1]]


def kring_weights(cells: CellArray, k: int = 1, *, self_weight: bool = True) -> sp.csr_matrix:
    """Binary k-ring contiguity on a lattice, restricted to ``cells`` (which must be sorted and unique).

    Entry (i, j) = 1 when cell j lies within grid distance ``k`` of cell i and both are in the
    lattice. ``self_weight=True`` keeps the diagonal (Gi*); ``False`` drops it (Gi, Local Moran).
    """
    cells = as_cells(cells)
    n = cells.size
    if n and np.any(cells[1:] <= cells[:-1]):
        raise ValueError("lattice cells must be sorted and unique")
    rows, neigh = disk_pairs(cells, k)
    pos = np.searchsorted(cells, neigh)
    pos_clipped = np.minimum(pos, max(n - 1, 0))
    inside = (pos < n) & (cells[pos_clipped] == neigh) if n else np.zeros(0, dtype=bool)
    rows, cols = rows[inside], pos_clipped[inside]
    if not self_weight:
        keep = rows != cols
        rows, cols = rows[keep], cols[keep]
    data = np.ones(rows.size, dtype=np.float64)
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n))
