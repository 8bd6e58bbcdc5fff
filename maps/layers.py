"""The map's tile layers: which cells of an analysis each layer draws, and what its features carry.

A hexagon layer picks cells of the analysis lattice and *extensive* per-cell columns (counts, indicator
columns) that ``HexagonLattice`` sums into parent cells at coarse zooms; ``properties`` then turns the
sums of one tile into what the browser styles and shows (a Gi* bin, an emerging category, a mean).
Lattices are built once per (analysis, layer, week) and kept in a :class:`LayerLattices` that whoever
serves tiles owns (the map factory), keyed by the analysis's ETag.

Usage (needs a store, so not a doctest)::

    tile = layer_tile(analysis, "hotspots", TMS.tile(15.16, 59.28, 14), lattices=LayerLattices())
    mapbox_vector_tile.decode(tile)["hotspots"]["features"][0]["properties"]
    # {'gi_bin': 3, 'count': 11, 'cells': 1, 'hot_cells': 1, 'z': 4.7}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

import morecantile
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from hotspots.analysis.compute import Analysis
from hotspots.analysis.query import InvalidQuery, QueryProblem, parse_week, week_name
from hotspots.geo.areas import Areas
from hotspots.lru import LRU
from hotspots.measures.measure import Measure
from hotspots.stats.emerging import CATEGORIES
from maps import mvt
from maps.tilegrid import (
    BUFFER,
    TMS,
    BinnedPoints,
    HexagonLattice,
    cell_feature_ids,
    clip_rings,
    lnglat_to_mercator,
)

#: Gi_Bin values from the strongest hot to the weakest cold: a parent hexagon shows the first present.
BIN_PRECEDENCE = (3, 2, 1, -3, -2, -1)
#: Heat cells below this share of the densest cell are not drawn (the KDE tail covers the whole lattice).
HEAT_FLOOR = 0.02
#: Prefix of the measures lattice's per-measure indicator columns (``measure_12``).
MEASURE_COLUMN = "measure_"

Columns = dict[str, np.ndarray]


class Layer(StrEnum):
    """Tile layers; the value is the MVT layer name and the URL segment."""

    cells = "cells"
    heat = "heat"
    hotspots = "hotspots"
    emerging = "emerging"
    measures = "measures"
    areas = "areas"


#: Layers whose content changes with the ``week`` parameter.
WEEKLY_LAYERS = frozenset({Layer.cells, Layer.hotspots})


def week_index(analysis: Analysis, week: str) -> int:
    """Column of ``analysis.cube`` (and ``emerging.bins``) holding ISO week ``week`` ('2026-W45');
    :class:`~hotspots.analysis.query.InvalidQuery` for a malformed week or one outside the analysed weeks."""
    position = analysis.weeks.get_indexer(pd.PeriodIndex([parse_week(week)]))[0]
    if position < 0:
        first, last = week_name(analysis.weeks[0]), week_name(analysis.weeks[-1])
        reason = f"week {week} is outside the analysed weeks {first}..{last}"
        raise InvalidQuery([QueryProblem("week", week, reason)])
    return int(position)


def complete_weeks(analysis: Analysis, today: date) -> pd.PeriodIndex:
    """The analysis's weeks that are over: their Sunday is inside the window and before ``today``
    (local). The current week, or a window ending mid-week, would show a part of a week as a week."""
    assert analysis.params.end is not None  # resolved parameters
    last_day = min(analysis.params.end, today - timedelta(days=1))
    sundays = np.array([week.end_time.date() for week in analysis.weeks], dtype="datetime64[D]")
    return analysis.weeks[sundays <= np.datetime64(last_day)]


class HexagonLayer(NamedTuple):
    """How one hexagon layer draws an analysis.

    ``cells_and_columns(analysis, week)`` returns which lattice cells are drawn and their summable
    columns; ``properties(sums)`` turns one tile's (parent-summed) columns into feature properties.
    """

    cells_and_columns: Callable[[Analysis, int | None], tuple[npt.NDArray[np.bool_], Columns]]
    properties: Callable[[Mapping[str, np.ndarray]], Columns]


def _cells(analysis: Analysis, week: int | None) -> tuple[npt.NDArray[np.bool_], Columns]:
    """Reports per cell in the window, or in one week of the cube; only cells with reports."""
    if week is not None:
        count = analysis.cube[:, week].astype(np.int64)
        return count > 0, {"count": count}
    return analysis.count > 0, {
        "count": analysis.count.astype(np.int64),
        "intensity": analysis.intensity,
    }


def _cells_properties(sums: Mapping[str, np.ndarray]) -> Columns:
    out: Columns = {"count": sums["count"]}
    if "intensity" in sums:
        out["intensity"] = np.round(sums["intensity"], 2)
    return out


def _hotspots(analysis: Analysis, week: int | None) -> tuple[npt.NDArray[np.bool_], Columns]:
    """Significant cells (Gi_Bin != 0) of the window, or of one week's space-time Gi*.

    In a week's view a hot cell without a report that week is left out: its space-time Gi* is hot
    because of its neighbours and earlier weeks, and a hexagon drawn hot for a week in which nothing
    happened there reads as an event. Bins are not summable, so each bin becomes an indicator column;
    the z-score rides along as a sum that is only shown where a feature is a single cell.
    """
    if week is None:
        bins, z, count = analysis.gi.gi_bin, analysis.gi.z, analysis.count
        drawn = bins != 0
    else:
        bins, z, count = analysis.emerging.bins[:, week], analysis.emerging.z[:, week], analysis.cube[:, week]
        drawn = (bins < 0) | ((bins > 0) & (count > 0))
    columns: Columns = {f"bin{b}": (bins == b).astype(np.int64) for b in BIN_PRECEDENCE}
    columns.update(count=count.astype(np.int64), cells=np.ones(bins.size, dtype=np.int64), z=z)
    return drawn, columns


def _hotspots_properties(sums: Mapping[str, np.ndarray]) -> Columns:
    present = np.column_stack([sums[f"bin{b}"] > 0 for b in BIN_PRECEDENCE])
    single = sums["cells"] == 1
    return {
        "gi_bin": np.asarray(BIN_PRECEDENCE)[present.argmax(axis=1)],
        "count": sums["count"],
        "cells": sums["cells"],
        "hot_cells": sum(sums[f"bin{b}"] for b in BIN_PRECEDENCE if b > 0),
        "z": np.where(single, np.round(sums["z"], 2), np.nan),
    }


def _emerging(analysis: Analysis, week: int | None) -> tuple[npt.NDArray[np.bool_], Columns]:
    """Cells with an emerging-hotspot pattern, one indicator column per category code."""
    category = analysis.emerging.category
    columns: Columns = {code: (category == code).astype(np.int64) for code in CATEGORIES[:-1]}
    return category != CATEGORIES[-1], columns


def _emerging_properties(sums: Mapping[str, np.ndarray]) -> Columns:
    """A parent hexagon shows its most frequent pattern (ties: the order of ``CATEGORIES``, hot first)."""
    codes = CATEGORIES[:-1]
    counts = np.column_stack([sums[code] for code in codes])
    return {"category": np.asarray(codes)[counts.argmax(axis=1)], "cells": counts.sum(axis=1)}


def _heat(analysis: Analysis, week: int | None) -> tuple[npt.NDArray[np.bool_], Columns]:
    """Kernel density scaled to the densest cell (0..1); summed with a cell count to give means."""
    top = float(analysis.density.max(initial=0.0))
    level = analysis.density / top if top > 0 else np.zeros_like(analysis.density)
    return level >= HEAT_FLOOR, {"level": level, "cells": np.ones(level.size, dtype=np.int64)}


def _heat_properties(sums: Mapping[str, np.ndarray]) -> Columns:
    return {"level": np.round(sums["level"] / sums["cells"], 2)}


HEXAGON_LAYERS: dict[Layer, HexagonLayer] = {
    Layer.cells: HexagonLayer(_cells, _cells_properties),
    Layer.hotspots: HexagonLayer(_hotspots, _hotspots_properties),
    Layer.emerging: HexagonLayer(_emerging, _emerging_properties),
    Layer.heat: HexagonLayer(_heat, _heat_properties),
}


class LayerLattices:
    """The lattices layers draw, built on a layer's first tile and kept for its next ones: a hexagon
    layer's by (analysis ETag, layer, week), the measures layer's by (resolution, measures in force).

    An object its owner creates (the map factory), not state on the analysis: a new dataset version is a
    new analysis ETag, so old lattices are never looked up again and age out of the LRU."""

    def __init__(self, size: int = 128) -> None:
        self._lattices: LRU[HexagonLattice] = LRU(size)

    def get(self, key: str, build: Callable[[], HexagonLattice]) -> HexagonLattice:
        """The lattice under ``key``, built (and kept) on a miss; two racing builds give equal lattices."""
        lattice = self._lattices.get(key)
        if lattice is None:
            lattice = build()
            self._lattices.put(key, lattice)
        return lattice

    def __len__(self) -> int:
        return len(self._lattices)


#: Columns that count reports: binned from the reports' points at every zoom's resolution, so a coarse
#: hexagon counts the reports inside it (the parent of a report's cell need not contain the report).
REPORT_COLUMNS: dict[Layer, tuple[str, ...]] = {
    Layer.cells: ("count", "intensity"),
    Layer.hotspots: ("count",),
}


def hexagon_lattice(analysis: Analysis, layer: Layer, week: int | None = None) -> HexagonLattice:
    """The lattice a hexagon layer draws for ``analysis`` (``week``: a column of the weekly cube)."""
    drawn, columns = HEXAGON_LAYERS[layer].cells_and_columns(analysis, week)
    counted = [name for name in REPORT_COLUMNS.get(layer, ()) if name in columns]
    return HexagonLattice(
        analysis.lattice.cells[drawn],
        {name: column[drawn] for name, column in columns.items() if name not in counted},
        points=report_points(analysis, week, counted) if counted else None,
    )


def report_points(analysis: Analysis, week: int | None, columns: Sequence[str]) -> BinnedPoints:
    """The reports of the window (or of cube column ``week``) as points carrying ``columns``."""
    points = analysis.points
    chosen = points.in_window if week is None else points.week == week
    weight = {"intensity": points.intensity[chosen]}  # "count" counts the points
    return BinnedPoints(points.lat[chosen], points.lon[chosen], {name: weight.get(name) for name in columns})


def measure_lattice(measures: Sequence[Measure], resolution: int) -> HexagonLattice:
    """The target cells of ``measures`` with how many of them cover each cell and, per measure, an
    indicator column ``measure_<id>`` that names it in the popup (a loop over a few measures)."""
    targets = [m.target_cells(resolution) for m in measures]
    cells, count = np.unique(
        np.concatenate(targets) if targets else np.empty(0, np.uint64), return_counts=True
    )
    columns: Columns = {"measures": count.astype(np.int64)}
    for measure, target in zip(measures, targets, strict=True):
        columns[f"{MEASURE_COLUMN}{measure.id}"] = np.isin(cells, target).astype(np.int64)
    return HexagonLattice(cells, columns)


def _measures_properties(sums: Mapping[str, np.ndarray]) -> Columns:
    """How many measures cover a hexagon and their ids ("3,7"), which the page's popup looks up."""
    columns = [name for name in sums if name.startswith(MEASURE_COLUMN)]
    present = np.zeros((sums["measures"].size, len(columns)), dtype=bool)
    for i, name in enumerate(columns):
        present[:, i] = sums[name] > 0
    ids = np.asarray([name.removeprefix(MEASURE_COLUMN) for name in columns], dtype=object)
    return {
        "measures": present.sum(axis=1).astype(np.int64),
        "ids": np.asarray([",".join(ids[row]) for row in present], dtype=str),
    }


def measures_key(measures: Sequence[Measure]) -> str:
    """What the measures layer's content depends on (recording or ending a measure changes it)."""
    return ",".join(f"{m.id}:{m.start}:{m.end}" for m in measures)


def layer_tile(
    analysis: Analysis,
    layer: Layer,
    tile: morecantile.Tile,
    week: int | None = None,
    measures: Sequence[Measure] = (),
    *,
    lattices: LayerLattices,
) -> bytes:
    """MVT bytes of one layer and tile (``mvt.EMPTY_TILE`` when nothing is drawn there).

    ``measures`` are those in force during the window (``hotspots.measures.records.list_measures``), for the
    measures layer; ``lattices`` keeps what the layer's tiles are cut from.
    """
    if layer is Layer.areas:
        return area_outlines(analysis.areas).encode(tile)
    resolution = analysis.params.resolution
    assert resolution is not None  # resolved parameters
    properties: Callable[[Mapping[str, np.ndarray]], Columns]
    if layer is Layer.measures:
        key = f"measures/{resolution}/{measures_key(measures)}"
        lattice = lattices.get(key, lambda: measure_lattice(measures, resolution))
        properties = _measures_properties
    else:
        week = week if layer in WEEKLY_LAYERS else None
        key = f"{analysis.etag}/{layer.value}/{week}"
        lattice = lattices.get(key, lambda: hexagon_lattice(analysis, layer, week))
        properties = HEXAGON_LAYERS[layer].properties
    hexagons = lattice.select(tile)
    if hexagons.cells.size == 0:
        return mvt.EMPTY_TILE
    return mvt.encode_hexagon_layer(
        layer.value, hexagons.rings, properties(hexagons.values), ids=cell_feature_ids(hexagons.cells)
    )


class AreaOutlines:
    """Area polygons as padded exterior rings in EPSG:3857, cut into tiles like the hexagons.

    Holes are left out: the layer draws boundaries, and an enclave's own ring is drawn anyway.
    Sutherland-Hodgman clipping (``clip_rings``) is exact for concave rings against the square tile;
    where a concave ring leaves and re-enters, the seam runs along the clip edge in the buffer, off screen.
    """

    def __init__(self, areas: Areas) -> None:
        frame = areas.frame
        parts, owner = shapely.get_parts(np.asarray(frame.geometry), return_index=True)
        coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
        sizes = np.bincount(ring, minlength=parts.size) - 1  # drop the closing vertex
        starts = np.r_[0, np.cumsum(sizes + 1)[:-1]]
        vertex = np.minimum(np.arange(sizes.max()), (sizes - 1)[:, None])
        lnglat = coords[starts[:, None] + vertex]
        x, y = lnglat_to_mercator(lnglat[..., 0], lnglat[..., 1])
        self.rings = np.stack((x, y), axis=2)
        self.bounds = np.column_stack((x.min(axis=1), y.min(axis=1), x.max(axis=1), y.max(axis=1)))
        self.properties: Columns = {
            "area_id": frame["area_id"].to_numpy(dtype=str)[owner],
            "name": frame["name"].to_numpy(dtype=str)[owner],
            "kind": frame["kind"].to_numpy(dtype=str)[owner],
        }

    def encode(self, tile: morecantile.Tile, *, extent: int = mvt.EXTENT, buffer: int = BUFFER) -> bytes:
        left, bottom, right, top = TMS.xy_bounds(tile)
        scale = extent / (right - left)
        margin = buffer / scale
        near = np.flatnonzero(
            (self.bounds[:, 0] <= right + margin)
            & (self.bounds[:, 2] >= left - margin)
            & (self.bounds[:, 1] <= top + margin)
            & (self.bounds[:, 3] >= bottom - margin)
        )
        if near.size == 0:
            return mvt.EMPTY_TILE
        tile_xy = (self.rings[near] - [left, top]) * [scale, -scale]
        rings = np.rint(clip_rings(tile_xy, -buffer, extent + buffer)).astype(np.int64)
        return mvt.encode_hexagon_layer(
            Layer.areas.value, rings, {key: column[near] for key, column in self.properties.items()}, extent
        )


@lru_cache(maxsize=4)
def area_outlines(areas: Areas) -> AreaOutlines:
    """Outlines of an areas file, built on the first areas tile."""
    return AreaOutlines(areas)
