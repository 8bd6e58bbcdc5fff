"""Hexagon vector tiles: maps.mvt against mapbox_vector_tile.encode, and select + project + encode per tile.

    .venv/bin/python bench/tiles.py

1. Encoder alone: 5,000 res 10 hexagons around Örebro projected into one zoom 12 tile (count, weight
   and category properties, feature ids), µs per hexagon for both encoders on the same features.
2. End to end over a lattice of ~144,000 res 10 cells (Poisson counts) around Örebro: building the
   ``HexagonLattice`` and a zoom's level (once per dataset version), then one tile at zoom 14 (res 10)
   and zoom 12 (res 9 parents) from the cached level.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial

import mapbox_vector_tile
import numpy as np
import pyproj
import shapely

from hotspots.geo import h3grid
from maps import mvt, tilegrid

OREBRO_LON, OREBRO_LAT = 15.2066, 59.2741
# The brief asked for a ~15 km radius and ~144,000 res 10 cells; at 59° N a res 10 cell is 11,230 m², so
# 15 km gives 62,600 cells. The cell count is what loads the tile path, so the radius is 22.7 km.
LATTICE_RADIUS_M = 22_700
ENCODER_HEXAGONS = 5_000


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """Fastest of ``repeats`` runs, in seconds (the least disturbed by the other processes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def orebro_lattice(radius_m: float) -> h3grid.CellArray:
    """Res 10 cells with their centre within ``radius_m`` of central Örebro (circle drawn in SWEREF 99 TM)."""
    to_sweref = pyproj.Transformer.from_crs(4326, 3006, always_xy=True)
    to_wgs84 = pyproj.Transformer.from_crs(3006, 4326, always_xy=True)
    circle = shapely.Point(to_sweref.transform(OREBRO_LON, OREBRO_LAT)).buffer(radius_m, 256)
    circle = shapely.transform(circle, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    return h3grid.polyfill([circle], 10)


def encoder_figures(rng: np.random.Generator) -> dict[str, float]:
    """Both encoders on the same 5,000 hexagons in one tile."""
    tile = tilegrid.TMS.tile(OREBRO_LON, OREBRO_LAT, 12)
    centre = h3grid.latlng_to_cells([OREBRO_LAT], [OREBRO_LON], 10)
    cells = h3grid.grid_disk(centre, 45)[:ENCODER_HEXAGONS]
    lnglat = tilegrid.cell_rings_lnglat(cells)
    x, y = tilegrid.lnglat_to_mercator(lnglat[..., 0], lnglat[..., 1])
    left, _, right, top = tilegrid.TMS.xy_bounds(tile)
    scale = mvt.EXTENT / (right - left)
    rings = np.rint(np.stack(((x - left) * scale, (top - y) * scale), axis=2)).astype(np.int32)
    properties = {
        "count": rng.poisson(3.0, cells.size),
        "weight": rng.gamma(2.0, 1.5, cells.size).round(3),
        "category": rng.choice(
            np.array(["observed_dealing", "suspected_dealing", "syringe_find"]), cells.size
        ),
    }
    ids = tilegrid.cell_feature_ids(cells)
    features = [
        {
            "geometry": shapely.Polygon(ring),
            "properties": {key: column[i].item() for key, column in properties.items()},
            "id": int(ids[i]),
        }
        for i, ring in enumerate(rings)
    ]
    layers = [{"name": "hexagons", "features": features}]
    ours = best_of(20, lambda: mvt.encode_hexagon_layer("hexagons", rings, properties, ids=ids))
    theirs = best_of(2, lambda: mapbox_vector_tile.encode(layers, default_options={"y_coord_down": True}))
    ours_bytes = mvt.encode_hexagon_layer("hexagons", rings, properties, ids=ids)
    theirs_bytes = mapbox_vector_tile.encode(layers, default_options={"y_coord_down": True})
    options = {"y_coord_down": True}
    same = mapbox_vector_tile.decode(ours_bytes, default_options=options) == mapbox_vector_tile.decode(
        theirs_bytes, default_options=options
    )
    print(f"encoder, {cells.size} hexagons in one tile (decoded equal: {same})")
    print(f"  maps.mvt            {ours * 1e6 / cells.size:8.2f} µs/hexagon  {len(ours_bytes):7d} bytes")
    print(f"  mapbox_vector_tile  {theirs * 1e6 / cells.size:8.2f} µs/hexagon  {len(theirs_bytes):7d} bytes")
    print(f"  speed-up            {theirs / ours:8.1f}x")
    return {
        "encoder_hexagons": int(cells.size),
        "encoder_us_per_hexagon": ours * 1e6 / cells.size,
        "mapbox_vector_tile_us_per_hexagon": theirs * 1e6 / cells.size,
        "encoder_speedup": theirs / ours,
        "encoder_decoded_equal": same,
    }


def end_to_end_figures(rng: np.random.Generator) -> dict[str, float]:
    """Lattice build, level build per zoom (cold) and a warm tile (select + project + encode)."""
    cells = orebro_lattice(LATTICE_RADIUS_M)
    counts = rng.poisson(0.5, cells.size)
    start = time.perf_counter()
    lattice = tilegrid.HexagonLattice(cells, {"count": counts})
    build = time.perf_counter() - start
    print(f"end to end, lattice of {cells.size} res 10 cells (HexagonLattice built in {build * 1e3:.1f} ms)")
    figures: dict[str, float] = {"lattice_cells": int(cells.size), "lattice_build_ms": build * 1e3}
    for zoom in (14, 12):
        tile = tilegrid.TMS.tile(OREBRO_LON, OREBRO_LAT, zoom)
        resolution = tilegrid.resolution_for_zoom(zoom, lattice.resolution)
        level = best_of(1, partial(lattice.level, resolution))
        warm = best_of(20, partial(lattice.encode, tile))
        hexagons = lattice.select(tile)
        size = len(lattice.encode(tile))
        print(
            f"  zoom {zoom} (res {resolution}): level {level * 1e3:7.1f} ms once, then tile {warm * 1e3:6.2f} ms"
            f" for {hexagons.cells.size} hexagons, {size} bytes"
        )
        figures |= {
            f"z{zoom}_level_build_ms": level * 1e3,
            f"z{zoom}_tile_ms": warm * 1e3,
            f"z{zoom}_hexagons": int(hexagons.cells.size),
            f"z{zoom}_bytes": size,
        }
    return figures


def main() -> None:
    rng = np.random.default_rng(2024)
    figures = encoder_figures(rng) | end_to_end_figures(rng)
    print(json.dumps({key: round(v, 3) if isinstance(v, float) else v for key, v in figures.items()}))


if __name__ == "__main__":
    main()
