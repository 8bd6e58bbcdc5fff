"""Planner exports: the aggregated cell layer as GeoJSON (RFC 7946), GeoPackage or CSV, small counts removed.

Planners get cells, never reports: no points, no times, no notes. Cells with fewer reports than the
suppression threshold are dropped (not merged: a merged remainder next to published neighbours could be
differenced back), and weekly counts are left out because a cell over the threshold for the window can
hold one or two reports in a week. Every file carries its metadata: period, resolution, threshold, the
boundary attribution and when it was generated.

Usage (needs a store, so not a doctest)::

    layer = cell_layer(analyse(engine, settings, areas, AnalysisParams()), threshold=5)
    Path("celler.gpkg").write_bytes(to_gpkg(layer))
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from hotspots import csvout, h3grid
from hotspots.analysis import Analysis

#: Source attribution of the area boundaries (RegSO: SCB's regional statistical areas).
BOUNDARY_ATTRIBUTION = "Statistiska centralbyrån, RegSO 2025"
#: Columns a planner export carries: aggregates and cell-level statistics only.
EXPORT_COLUMNS = (
    "cell",
    "area_id",
    "area",
    "count",
    "weighted",
    "GiZScore",
    "GiPValue",
    "Gi_Bin",
    "moran_q",
    "emerging",
    "density",
)


@dataclass(frozen=True)
class ExportMetadata:
    """What an export describes; written into every format (GeoJSON member, GPKG table, CSV header)."""

    period_start: str
    period_end: str
    window: str
    resolution: int
    threshold: int
    categories: tuple[str, ...]
    sources: tuple[str, ...]
    areas: tuple[str, ...]
    dataset_version: int
    cells: int
    cells_suppressed: int
    generated_at: str
    attribution: str = BOUNDARY_ATTRIBUTION

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class CellLayer:
    """The suppressed cell layer (WGS84 hexagons, exterior rings counter-clockwise) and its metadata."""

    frame: gpd.GeoDataFrame
    metadata: ExportMetadata


def _cells(hex_ids: pd.Series) -> h3grid.CellArray:
    return h3grid.as_cells(np.array([int(c, 16) for c in hex_ids], dtype=np.uint64))


def with_polygons(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Cell rows (hex ``cell`` column) with their hexagons: WGS84, exterior rings counter-clockwise as
    RFC 7946 section 3.1.6 asks (H3 gives clockwise rings)."""
    polygons = shapely.orient_polygons(h3grid.cells_to_polygons(_cells(frame["cell"])), exterior_cw=False)
    return gpd.GeoDataFrame(frame, geometry=polygons, crs="EPSG:4326")


def geojson_text(frame: pd.DataFrame) -> str:
    """A FeatureCollection of cell rows (NaN as null), without a ``crs`` member (RFC 7946)."""
    return with_polygons(frame).to_json(drop_id=True, na="null")


def cell_layer(analysis: Analysis, threshold: int, *, now: datetime | None = None) -> CellLayer:
    """Cells of ``analysis`` with at least ``threshold`` reports in the window, with their statistics."""
    frame = analysis.frame()
    keep = frame["count"].to_numpy() >= threshold
    shown = frame.loc[keep, list(EXPORT_COLUMNS)].reset_index(drop=True)
    shown["count"] = shown["count"].astype(np.int64)
    params = analysis.params
    metadata = ExportMetadata(
        period_start=analysis.start.isoformat(),
        period_end=analysis.end.isoformat(),
        window=params.window,
        resolution=int(params.resolution or 0),
        threshold=threshold,
        categories=params.categories,
        sources=params.sources,
        areas=params.areas,
        dataset_version=analysis.dataset_version,
        cells=int(keep.sum()),
        cells_suppressed=int((~keep & (frame["count"].to_numpy() > 0)).sum()),
        generated_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
    )
    return CellLayer(with_polygons(shown), metadata)


def to_geojson(layer: CellLayer) -> dict[str, Any]:
    """A FeatureCollection (RFC 7946: WGS84 lon/lat, no ``crs`` member) with a ``metadata`` foreign member."""
    collection: dict[str, Any] = json.loads(layer.frame.to_json(drop_id=True, na="null"))
    collection["metadata"] = layer.metadata.as_dict()
    return collection


def to_gpkg(layer: CellLayer) -> bytes:
    """A GeoPackage with a ``cells`` layer (metadata also as layer metadata) and a ``metadata`` table."""
    meta = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in layer.metadata.as_dict().items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cells.gpkg"
        pyogrio.write_dataframe(layer.frame, path, layer="cells", driver="GPKG", layer_metadata=meta)
        table = pd.DataFrame({"key": list(meta), "value": list(meta.values())})
        pyogrio.write_dataframe(table, path, layer="metadata", driver="GPKG")
        return path.read_bytes()


def to_csv(layer: CellLayer) -> bytes:
    """Semicolon CSV for Swedish Excel (:mod:`hotspots.csvout`: UTF-8 with BOM, decimal comma, formula-like
    text neutralised), cell centres instead of polygons.

    Metadata comes first as ``# key;value`` lines: ``pandas.read_csv(..., sep=";", comment="#")`` skips them.
    """
    frame = pd.DataFrame(layer.frame.drop(columns="geometry"))
    lat, lon = h3grid.cells_to_latlng(_cells(frame["cell"]))
    frame.insert(3, "lat", lat)
    frame.insert(4, "lon", lon)
    meta = {k: ", ".join(v) if isinstance(v, list) else v for k, v in layer.metadata.as_dict().items()}
    return csvout.to_csv(frame, decimal_comma=True, preamble=meta)
