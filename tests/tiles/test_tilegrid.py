"""maps.tilegrid: hexagon tiles checked against h3-py boundaries, pyproj, morecantile and shapely."""

from __future__ import annotations

import math

import h3
import mapbox_vector_tile
import morecantile
import numpy as np
import pyproj
import pytest
import shapely
import shapely.affinity

from hotspots.geo import h3grid
from maps import mvt, tilegrid

OREBRO = (59.2741, 15.2066)
TO_MERCATOR = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)


@pytest.fixture(scope="module")
def lattice() -> tilegrid.HexagonLattice:
    """About 5,000 res 10 cells (a disk ~6 km across) around central Örebro with random counts."""
    centre = h3grid.latlng_to_cells([OREBRO[0]], [OREBRO[1]], 10)
    cells = h3grid.grid_disk(centre, 40)
    counts = np.random.default_rng(1).poisson(2.0, cells.size)
    return tilegrid.HexagonLattice(cells, {"count": counts, "weight": counts * 0.5})


def decoded_features(tile_bytes: bytes) -> list[dict]:
    return mapbox_vector_tile.decode(tile_bytes, default_options={"y_coord_down": True})["hexagons"][
        "features"
    ]


def ring_of(feature: dict) -> np.ndarray:
    return np.array(feature["geometry"]["coordinates"][0][:-1])


def reference_ring(cell: int, tile: morecantile.Tile) -> np.ndarray:
    """h3-py boundary -> pyproj EPSG:3857 -> morecantile tile bounds -> tile units (y down)."""
    lat, lon = np.array(h3.cell_to_boundary(h3.int_to_str(cell))).T
    x, y = TO_MERCATOR.transform(lon, lat)
    left, bottom, right, top = tilegrid.TMS.xy_bounds(tile)
    return np.column_stack(((x - left) / (right - left), (top - y) / (top - bottom))) * mvt.EXTENT


def hexagon_px(res: int, zoom: int) -> float:
    """Vertex-to-vertex size of the res hexagon over Örebro in 256 px tile pixels."""
    cell = h3.latlng_to_cell(*OREBRO, res)
    centre = h3.cell_to_latlng(cell)
    across = 2 * max(h3.great_circle_distance(centre, v, "m") for v in h3.cell_to_boundary(cell))
    metres_per_px = 2 * math.pi * 6378137 * math.cos(math.radians(OREBRO[0])) / (256 * 2**zoom)
    return across / metres_per_px


@pytest.mark.parametrize("zoom", range(22))
def test_resolution_for_zoom_is_finest_with_hexagons_of_min_pixels(zoom):
    res = tilegrid.resolution_for_zoom(zoom)
    assert res == 0 or hexagon_px(res, zoom) >= tilegrid.MIN_HEXAGON_PX
    assert res == 15 or hexagon_px(res + 1, zoom) < tilegrid.MIN_HEXAGON_PX
    assert tilegrid.resolution_for_zoom(zoom, finest=10) == min(res, 10)


def test_mercator_matches_pyproj():
    lon, lat = np.array([15.2066, -179.9, 0.0, 120.5]), np.array([59.2741, -70.0, 0.0, 84.9])
    np.testing.assert_allclose(
        tilegrid.lnglat_to_mercator(lon, lat), TO_MERCATOR.transform(lon, lat), atol=1e-6
    )


def test_cell_rings_match_h3_boundaries_including_a_pentagon():
    pentagon = h3.str_to_int(h3.get_pentagons(6)[0])
    cells = np.append(
        h3grid.grid_disk(h3grid.latlng_to_cells([OREBRO[0]], [OREBRO[1]], 6), 1), np.uint64(pentagon)
    )
    rings = tilegrid.cell_rings_lnglat(cells)
    for cell, ring in zip(cells.tolist(), rings, strict=True):
        expected = np.array(h3.cell_to_boundary(h3.int_to_str(cell)))[:, ::-1]
        distinct = ring[np.r_[True, (np.diff(ring, axis=0) != 0).any(axis=1)]]
        np.testing.assert_allclose(distinct, expected, atol=1e-9)
    assert rings.shape[1] == max(len(h3.cell_to_boundary(h3.int_to_str(c))) for c in cells.tolist())


@pytest.fixture(scope="module")
def pentagon_lattice() -> tuple[tilegrid.HexagonLattice, tuple[float, float]]:
    """Res 10 cells around the res 9 pentagon off Norway (64.7 N), whose parent level mixes 5- to 10-gons."""
    pentagon = next(p for p in h3.get_pentagons(9) if abs(h3.cell_to_latlng(p)[0]) < 70)
    cells = h3grid.grid_disk(np.array([h3.str_to_int(h3.cell_to_center_child(pentagon, 10))], np.uint64), 30)
    return tilegrid.HexagonLattice(cells, {"count": np.ones(cells.size, dtype=np.int64)}), h3.cell_to_latlng(
        pentagon
    )


@pytest.mark.parametrize(("where", "zoom", "resolution"), [("orebro", 14, 10), ("pentagon", 12, 9)])
def test_vertices_are_h3_boundaries_in_tile_units(lattice, pentagon_lattice, where, zoom, resolution):
    hexagons, (lat, lon) = (lattice, OREBRO) if where == "orebro" else pentagon_lattice
    tile = tilegrid.TMS.tile(lon, lat, zoom)
    features = decoded_features(hexagons.encode(tile))
    cells = tilegrid.cells_from_feature_ids([f["id"] for f in features], resolution)
    vertex_counts: list[int] = []
    for cell, feature in zip(cells.tolist(), features, strict=True):
        expected = reference_ring(cell, tile)
        if expected.min() < -tilegrid.BUFFER or expected.max() > mvt.EXTENT + tilegrid.BUFFER:
            continue  # clipped; covered by the seam and coverage tests
        ring = ring_of(feature)  # the encoder reverses H3's counter-clockwise order; compare as vertex sets
        assert ring.shape == expected.shape
        assert np.abs(ring[:, None, :] - expected[None]).max(axis=2).min(axis=0).max() <= 0.5 + 1e-6
        vertex_counts.append(len(ring))
    assert len(vertex_counts) > 50
    assert set(vertex_counts) == ({6} if where == "orebro" else {6, 7, 8, 10})


def tile_pair_near(lon: float, lat: float, zoom: int, axis: int) -> tuple[morecantile.Tile, morecantile.Tile]:
    """Two tiles adjacent along ``axis`` (0: x, 1: y) whose shared edge is the one nearest the point."""
    left, bottom, right, top = tilegrid.TMS.xy_bounds(tilegrid.TMS.tile(lon, lat, zoom))
    x, y = TO_MERCATOR.transform(lon, lat)
    fraction = (x - left) / (right - left) if axis == 0 else (top - y) / (top - bottom)
    first = tilegrid.TMS.tile(lon, lat, zoom)
    if fraction < 0.5:
        first = morecantile.Tile(first.x - (axis == 0), first.y - (axis == 1), zoom)
    return first, morecantile.Tile(first.x + (axis == 0), first.y + (axis == 1), zoom)


@pytest.mark.parametrize("axis", [0, 1], ids=["east", "south"])
@pytest.mark.parametrize("zoom", [12, 14, 17])
def test_neighbouring_tiles_meet_without_gaps(lattice, zoom, axis):
    first_tile, second_tile = tile_pair_near(OREBRO[1], OREBRO[0], zoom, axis)
    extent, buffer = mvt.EXTENT, tilegrid.BUFFER
    offset = (extent, 0) if axis == 0 else (0, extent)
    first = {f["id"]: shapely.Polygon(ring_of(f)) for f in decoded_features(lattice.encode(first_tile))}
    second = {  # in the first tile's frame
        f["id"]: shapely.affinity.translate(shapely.Polygon(ring_of(f)), *offset)
        for f in decoded_features(lattice.encode(second_tile))
    }
    edge = shapely.LineString(
        [(extent, 0), (extent, extent)] if axis == 0 else [(0, extent), (extent, extent)]
    )
    crossing_edge = {i for i, polygon in first.items() if polygon.intersects(edge)}
    assert crossing_edge
    assert crossing_edge == {i for i, polygon in second.items() if polygon.intersects(edge)}
    # Both tiles draw the strip within ``buffer`` of their shared edge: there the hexagons must coincide.
    strip = shapely.box(extent - buffer, -buffer, extent + buffer, extent + buffer)
    if axis == 1:
        strip = shapely.box(-buffer, extent - buffer, extent + buffer, extent + buffer)
    for feature_id in crossing_edge:
        here = first[feature_id].intersection(strip)
        there = second[feature_id].intersection(strip)
        assert here.symmetric_difference(there).area <= here.length  # at most a one-unit rounding band


@pytest.mark.parametrize("zoom", [13, 14, 17])
def test_tiles_are_covered_without_gaps_and_stay_in_the_buffer(lattice, zoom):
    tile = tilegrid.TMS.tile(OREBRO[1], OREBRO[0], zoom)
    features = decoded_features(lattice.encode(tile))
    rings = [ring_of(f) for f in features]
    vertices = np.concatenate(rings)
    assert vertices.min() >= -tilegrid.BUFFER and vertices.max() <= mvt.EXTENT + tilegrid.BUFFER
    polygons = [shapely.Polygon(r) for r in rings]
    assert all(p.is_valid for p in polygons)
    tile_box = shapely.box(0, 0, mvt.EXTENT, mvt.EXTENT)
    covered = shapely.union_all(polygons).intersection(tile_box).area
    # Neighbours share vertices, which round alike: no slivers open between them.
    assert covered == pytest.approx(tile_box.area, rel=1e-9)


def test_parents_sum_the_counts_of_their_children(lattice):
    tile = tilegrid.TMS.tile(OREBRO[1], OREBRO[0], 12)
    hexagons = lattice.select(tile)
    assert hexagons.resolution == 9
    parents = np.array(
        [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(c), 9)) for c in lattice.cells.tolist()]
    )
    for name in ("count", "weight"):
        expected = {p: lattice.values[name][parents == p].sum() for p in hexagons.cells.tolist()}
        assert hexagons.values[name].tolist() == pytest.approx([expected[p] for p in hexagons.cells.tolist()])
    covering = lattice.select(morecantile.Tile(tile.x // 16, tile.y // 16, 8))
    assert covering.values["count"].sum() == lattice.values["count"].sum()
    decoded = {f["id"]: f["properties"] for f in decoded_features(lattice.encode(tile))}
    ids = tilegrid.cell_feature_ids(hexagons.cells).tolist()
    assert decoded == {
        i: {"count": c, "weight": w} for i, c, w in zip(ids, *hexagons.values.values(), strict=True)
    }


def test_tiles_without_cells_are_empty(lattice):
    assert lattice.encode(tilegrid.TMS.tile(18.07, 59.33, 14)) == mvt.EMPTY_TILE  # Stockholm
    empty = tilegrid.HexagonLattice(np.empty(0, dtype=np.uint64), {"count": np.empty(0, dtype=int)})
    assert empty.encode(tilegrid.TMS.tile(OREBRO[1], OREBRO[0], 12)) == mvt.EMPTY_TILE


def test_clip_matches_shapely_intersection():
    angles = np.radians(np.arange(6) * 60 + 10)
    centres = np.array([[0, 0], [100, 100], [50, -20], [300, 300], [120, 50]])
    rings = centres[:, None, :] + 60 * np.stack((np.cos(angles), np.sin(angles)), axis=1)[None]
    clipped = tilegrid.clip_rings(rings, 0.0, 100.0)
    box = shapely.box(0, 0, 100, 100)
    for ring, result in zip(rings, clipped, strict=True):
        assert shapely.Polygon(result).area == pytest.approx(
            shapely.Polygon(ring).intersection(box).area, abs=1e-9
        )


def test_lattice_rejects_unsorted_or_mixed_cells():
    cells = h3grid.grid_disk(h3grid.latlng_to_cells([OREBRO[0]], [OREBRO[1]], 10), 1)
    with pytest.raises(ValueError, match="sorted"):
        tilegrid.HexagonLattice(cells[::-1], {})
    mixed = np.sort(np.r_[cells[:3], h3grid.cell_to_parent(cells[3:4], 9)])
    with pytest.raises(ValueError, match="mix resolutions"):
        tilegrid.HexagonLattice(mixed, {})
    with pytest.raises(ValueError, match="numeric"):
        tilegrid.HexagonLattice(cells, {"name": np.array(["a"] * cells.size)})
