"""Cut an H3 lattice with per-cell values into Web Mercator hexagon tiles (WebMercatorQuad, morecantile).

A ``HexagonLattice`` is built once per dataset version (the API caches it with the statistics).
For each zoom it picks an H3 resolution that keeps hexagons at least ``MIN_HEXAGON_PX`` pixels
across, sums the values into parent cells at that resolution, and projects every hexagon to
EPSG:3857 once. A tile request is then a bounding-box filter, an affine map to tile units, a
vectorised clip to the tile plus ``BUFFER`` and the MVT encoder (maps/mvt.py).

Pentagons and the extra "distortion" vertices of some odd-resolution cells are handled as padded
rings: they do occur here (the res 0 cell over Scandinavia is a pentagon, a res 9 one lies off
Norway). Cells crossing the antimeridian are not: Sweden is
far from it.

>>> import numpy as np
>>> from hotspots.geo import h3grid
>>> cells = h3grid.grid_disk(h3grid.latlng_to_cells([59.2883], [15.2490], 10), 3)
>>> lattice = HexagonLattice(cells, {"count": np.ones(cells.size, dtype=np.int64)})
>>> tile = lattice.select(TMS.tile(15.2490, 59.2883, 12))
>>> int(tile.resolution), int(tile.values["count"].sum())
(9, 37)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import h3ronpy.vector as h3v
import morecantile
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from hotspots.geo import h3grid
from maps import mvt

FloatArray = npt.NDArray[np.float64]

TMS = morecantile.tms.get("WebMercatorQuad")
EARTH_RADIUS = 6378137.0
"""Sphere radius of EPSG:3857 (metres)."""

BUFFER = 64
"""Tile units drawn beyond each tile edge (1/64 of the extent: 4 px of a 256 px tile), so strokes
of hexagons on a tile edge render without seams. Rings are clipped to [-BUFFER, extent + BUFFER]
whatever the hexagon size: above zoom 14 the res 10 hexagons keep growing (470 px at zoom 18, wider
than a tile), so no fixed buffer could hold them unclipped."""

MIN_HEXAGON_PX = 16
"""Smallest hexagon, vertex to vertex in 256 px tile pixels, that ``resolution_for_zoom`` allows."""

# Finest H3 resolution whose hexagons are >= MIN_HEXAGON_PX across at Örebro (59.27 N), by zoom;
# hexagon size in pixels in brackets. Each resolution is sqrt(7) ~ 2**1.40 times smaller, so the
# size swings between 16 and ~40 px. Zoom 21 and finer stay at resolution 15.
#   z0 r0 (26)   z4 r3 (25)   z8 r6 (22)   z12 r9 (19)    z16 r12 (17)  z20 r14 (38)
#   z1 r1 (22)   z5 r4 (20)   z9 r7 (17)   z13 r9 (38)    z17 r12 (33)  z21 r15 (28)
#   z2 r2 (17)   z6 r4 (39)   z10 r7 (33)  z14 r10 (29)   z18 r13 (25)
#   z3 r2 (34)   z7 r5 (29)   z11 r8 (26)  z15 r11 (22)   z19 r14 (19)
_RESOLUTION_BY_ZOOM = (0, 1, 2, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 9, 10, 11, 12, 12, 13, 14, 14, 15)


class LatticeLevel(NamedTuple):
    """The lattice at one H3 resolution: cells, summed values and hexagons in EPSG:3857.

    Rows are ordered by the west edge of their hexagon, so the candidates of a tile are one
    ``searchsorted`` window instead of a scan of the whole lattice.
    """

    resolution: int
    cells: h3grid.CellArray
    values: dict[str, np.ndarray]
    rings: FloatArray
    """(n, k, 2) vertices in metres, counter-clockwise as H3 gives them (the encoder orients them);
    rings with fewer than k vertices repeat their last."""
    bounds: FloatArray
    """(n, 4) xmin, ymin, xmax, ymax of each ring, xmin ascending."""
    widest: float
    """Largest xmax - xmin: how far west of a tile a hexagon reaching into it can start."""


class BinnedPoints(NamedTuple):
    """Points (reports) whose columns are binned into the cell containing each point at every level, not
    summed from finer cells: H3 cells do not nest exactly, so a parent's children hold some points of its
    neighbours. ``values``: per point weight of each column, ``None`` to count the points."""

    lat: FloatArray
    lon: FloatArray
    values: Mapping[str, FloatArray | None]


class HexagonTile(NamedTuple):
    """The hexagons of one tile: cell ids, integer tile coordinates (y down) and their values."""

    tile: morecantile.Tile
    resolution: int
    cells: h3grid.CellArray
    rings: npt.NDArray[np.int32]
    """(n, k, 2) in tile units, clipped to [-buffer, extent + buffer]; padded by repeated vertices."""
    values: dict[str, np.ndarray]


def resolution_for_zoom(zoom: int, finest: int = 15) -> int:
    """H3 resolution to draw at ``zoom``: hexagons >= ``MIN_HEXAGON_PX`` across, never finer than ``finest``.

    With the res 10 lattice of the service: res 10 from zoom 14 (29 px, 58 px at zoom 15), res 9
    at zoom 12-13, res 8 at 11, res 7 at 9-10, and so on (table in the module source).
    """
    return min(_RESOLUTION_BY_ZOOM[min(zoom, len(_RESOLUTION_BY_ZOOM) - 1)], finest)


def lnglat_to_mercator(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """EPSG:4326 degrees to EPSG:3857 metres (spherical Mercator, closed form)."""
    x = EARTH_RADIUS * np.radians(lon)
    y = EARTH_RADIUS * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return x, y


def cell_rings_lnglat(cells: h3grid.CellArray) -> FloatArray:
    """H3 cell boundaries as an (n, k, 2) lon/lat array, k the largest vertex count (6 for hexagons).

    h3ronpy writes the boundaries as little-endian WKB polygons; reading the coordinates straight
    out of the Arrow buffer takes ~75 ms for 144,000 cells, where shapely.from_wkb and
    get_coordinates take ~0.4 s. Rings with fewer vertices (pentagons, or hexagons beside ones
    with distortion vertices at odd resolutions) repeat their last vertex.
    """
    cells = h3grid.as_cells(cells)
    if cells.size == 0:
        return np.empty((0, 6, 2))
    wkb = pa.array(h3v.cells_to_wkb_polygons(cells))
    _, offsets_buffer, data_buffer = wkb.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[wkb.offset : wkb.offset + len(wkb)]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    # Header: byte order (1 = little endian), geometry type uint32 (3 = polygon), ring count,
    # point count of the first ring (closed: the first point is repeated at the end).
    header = data[offsets[:, None] + np.arange(13)]
    if (header[:, :9] != [1, 3, 0, 0, 0, 1, 0, 0, 0]).any():
        raise ValueError("h3ronpy returned WKB other than little-endian single-ring polygons")
    n_vertices = header[:, 9:13].copy().view("<u4").ravel().astype(np.int64) - 1
    vertex = np.minimum(np.arange(n_vertices.max()), (n_vertices - 1)[:, None])
    first_byte = offsets[:, None] + 13 + 16 * vertex
    rings = np.empty((*vertex.shape, 2))
    for alignment in range(8):  # doubles inside WKB are unaligned: read each byte alignment separately
        rows = first_byte[:, 0] % 8 == alignment
        doubles = np.frombuffer(data, dtype="<f8", count=(data.size - alignment) // 8, offset=alignment)
        rings[rows] = doubles[(first_byte[rows, :, None] - alignment) // 8 + np.arange(2)]
    return rings


def clip_rings(rings: FloatArray, low: float, high: float) -> FloatArray:
    """Clip convex rings to the square [low, high]², all at once (Sutherland-Hodgman, one pass per side).

    Clipped rings are padded by repeating their last vertex; a ring wholly outside the square
    collapses to one repeated point, which the encoder's degeneracy check drops.
    """
    for axis, bound, side in ((0, low, 1.0), (0, high, -1.0), (1, low, 1.0), (1, high, -1.0)):
        rings = _clip_half_plane(rings, axis, bound, side)
    return rings


def _clip_half_plane(rings: FloatArray, axis: int, bound: float, side: float) -> FloatArray:
    """Keep the part of each ring where ``side * (coordinate - bound) >= 0``.

    Each edge emits its start vertex if inside and its crossing point if it crosses the bound,
    into 2k slots; the emitted slots move to the front in order and the last one pads the row.
    """
    following = np.roll(rings, -1, axis=1)
    inside = side * (rings[..., axis] - bound) >= 0
    crosses = inside != np.roll(inside, -1, axis=1)
    run = following[..., axis] - rings[..., axis]
    fraction = np.divide(bound - rings[..., axis], run, out=np.zeros_like(run), where=crosses)
    crossing = rings + fraction[..., None] * (following - rings)
    crossing[..., axis] = bound
    n, k = inside.shape
    slots = np.stack((rings, crossing), axis=2).reshape(n, 2 * k, 2)
    emitted = np.stack((inside, crosses), axis=2).reshape(n, 2 * k)
    counts = emitted.sum(axis=1)
    width = max(int(counts.max(initial=0)), 3)  # stay an array of rings even if everything is outside
    front = np.argsort(~emitted, axis=1, kind="stable")
    padded = np.minimum(np.arange(width), np.maximum(counts - 1, 0)[:, None])
    order = np.take_along_axis(front, padded, axis=1)
    return np.take_along_axis(slots, order[..., None], axis=1)


def cell_feature_ids(cells: h3grid.CellArray) -> npt.NDArray[np.uint64]:
    """Feature ids that JavaScript keeps exact: the low 52 bits of the cell (base cell and digits).

    The dropped high bits are the mode (1 for cells) and the resolution, constant within a layer.
    """
    return h3grid.as_cells(cells) & np.uint64((1 << 52) - 1)


def cells_from_feature_ids(ids: npt.ArrayLike, resolution: int) -> h3grid.CellArray:
    """Inverse of ``cell_feature_ids`` for the layer drawn at ``resolution``."""
    return np.asarray(ids, dtype=np.uint64) | np.uint64(1 << 59 | resolution << 52)


def _summable(name: str, column: npt.ArrayLike, size: int) -> np.ndarray:
    """A value column as int64 (ints, bools) or float64, so sums into parents neither wrap nor saturate."""
    array = np.asarray(column)
    if array.shape != (size,) or array.dtype.kind not in "biuf":
        raise ValueError(f"values[{name!r}] must be numeric with one value per cell")
    return array.astype(np.float64 if array.dtype.kind == "f" else np.int64)


class HexagonLattice:
    """A sorted H3 lattice with per-cell values, cut into hexagon tiles on demand.

    Parameters
    ----------
    cells : array of uint64
        Sorted, unique cells of one resolution (the analysis lattice, res 10 in the service).
    values : mapping of str to array
        One numeric array per property, aligned with ``cells``. Values are *summed* into parent
        cells at coarse zooms, so pass extensive quantities (counts, weights), not z-scores.
    points : BinnedPoints, optional
        Columns binned from points at every resolution. The hexagons drawn are the parents of
        ``cells`` if ``values`` has columns, else the cells holding the points.

    Attributes
    ----------
    cells : array of uint64
        The lattice cells.
    values : dict of str to array
        The lattice values.
    resolution : int
        H3 resolution of the lattice, the finest drawn.
    levels : dict of int to LatticeLevel
        Each resolution drawn so far: aggregated values and hexagons in EPSG:3857, built on the
        first tile that needs it (two racing threads may both build it; the result is the same).
    """

    def __init__(
        self, cells: npt.ArrayLike, values: Mapping[str, npt.ArrayLike], points: BinnedPoints | None = None
    ) -> None:
        self.cells = h3grid.as_cells(cells)
        self.points = points
        self.values = {name: _summable(name, column, self.cells.size) for name, column in values.items()}
        if self.cells.ndim != 1 or np.any(self.cells[1:] <= self.cells[:-1]):
            raise ValueError("lattice cells must be a sorted, unique 1-d array")
        resolutions = np.unique(h3grid.cells_resolution(self.cells))
        if resolutions.size > 1:
            raise ValueError(f"lattice cells mix resolutions {resolutions.tolist()}")
        self.resolution = int(resolutions[0]) if resolutions.size else 15  # empty: nothing to draw anyway
        self.levels: dict[int, LatticeLevel] = {}

    def level(self, resolution: int) -> LatticeLevel:
        """The lattice summed into cells of ``resolution`` and projected (cached)."""
        if resolution not in self.levels:
            self.levels[resolution] = self._build_level(resolution)
        return self.levels[resolution]

    def _build_level(self, resolution: int) -> LatticeLevel:
        """Group-by sum into parents (children of a parent are contiguous in sorted order), then project."""
        parents = h3grid.cell_to_parent(self.cells, resolution)
        starts = (
            np.flatnonzero(np.r_[True, parents[1:] != parents[:-1]]) if parents.size else np.empty(0, int)
        )
        cells = parents[starts]
        values = {
            name: np.add.reduceat(column, starts) if starts.size else column
            for name, column in self.values.items()
        }
        if self.points is not None:
            cells, binned = self._bin_points(cells if self.values else None, resolution)
            values.update(binned)
        lnglat = cell_rings_lnglat(cells)
        x, y = lnglat_to_mercator(lnglat[..., 0], lnglat[..., 1])
        bounds = np.column_stack((x.min(axis=1), y.min(axis=1), x.max(axis=1), y.max(axis=1)))
        west_to_east = np.argsort(bounds[:, 0], kind="stable")
        return LatticeLevel(
            resolution,
            cells[west_to_east],
            {name: column[west_to_east] for name, column in values.items()},
            np.stack((x, y), axis=2)[west_to_east],
            bounds[west_to_east],
            float((bounds[:, 2] - bounds[:, 0]).max(initial=0.0)),
        )

    def _bin_points(
        self, cells: h3grid.CellArray | None, resolution: int
    ) -> tuple[h3grid.CellArray, dict[str, np.ndarray]]:
        """The points' columns per cell of ``resolution`` (``cells``, or the cells holding the points)."""
        assert self.points is not None
        binned = h3grid.latlng_to_cells(self.points.lat, self.points.lon, resolution)
        cells = np.unique(binned) if cells is None else cells
        position = np.searchsorted(cells, binned).clip(max=max(cells.size - 1, 0))
        found = np.flatnonzero(cells[position] == binned) if cells.size else np.empty(0, np.int64)
        return cells, {
            name: np.bincount(
                position[found], weights=None if weight is None else weight[found], minlength=cells.size
            )
            for name, weight in self.points.values.items()
        }

    def select(
        self, tile: morecantile.Tile, *, extent: int = mvt.EXTENT, buffer: int = BUFFER
    ) -> HexagonTile:
        """Hexagons drawn in ``tile``: those reaching into the tile plus ``buffer``, clipped to it."""
        level = self.level(resolution_for_zoom(tile.z, self.resolution))
        left, bottom, right, top = TMS.xy_bounds(tile)
        scale = extent / (right - left)
        margin = buffer / scale
        west, east = np.searchsorted(level.bounds[:, 0], [left - margin - level.widest, right + margin])
        bounds = level.bounds[west:east]
        near = (
            (bounds[:, 2] >= left - margin)
            & (bounds[:, 3] >= bottom - margin)
            & (bounds[:, 1] <= top + margin)
        )
        candidates = west + np.flatnonzero(near)
        tile_xy = (level.rings[candidates] - [left, top]) * [scale, -scale]
        rings = np.rint(clip_rings(tile_xy, -buffer, extent + buffer)).astype(np.int32)
        drawn = mvt.polygon_rings(rings)
        rows = candidates[drawn]
        return HexagonTile(
            tile,
            level.resolution,
            level.cells[rows],
            rings[drawn],
            {name: column[rows] for name, column in level.values.items()},
        )

    def encode(
        self,
        tile: morecantile.Tile,
        layer: str = "hexagons",
        *,
        extent: int = mvt.EXTENT,
        buffer: int = BUFFER,
    ) -> bytes:
        """The MVT bytes of ``tile``: one polygon layer, ids from ``cell_feature_ids``, values as properties."""
        hexagons = self.select(tile, extent=extent, buffer=buffer)
        return mvt.encode_hexagon_layer(
            layer, hexagons.rings, hexagons.values, extent, ids=cell_feature_ids(hexagons.cells)
        )
