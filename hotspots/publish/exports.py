"""Exports of the aggregated cell layer as GeoJSON (RFC 7946), GeoPackage or CSV, small counts removed.

Two layers: the planners' fixed publications (:mod:`hotspots.publish.publications`: calendar periods, fixed
category groups, suppression that survives differencing) and the analysts' and EST's layer of any
analysis query (cells under the threshold dropped per query). Neither carries points, times or notes.
GeoJSON is always WGS84 (RFC 7946); GeoPackage and CSV come in WGS84 or SWEREF 99 TM. Codes carry a
Swedish label beside them, missing values are nulls, and the metadata travels beside the data: a
``metadata`` member (GeoJSON), a ``metadata`` table (GeoPackage) or a JSON sidecar (CSV, which stays a
plain table for Excel and QGIS).

Usage (needs a store, so not a doctest)::

    layer = cell_layer(analyse(engine, settings, areas, AnalysisParams()), threshold=5)
    Path("celler.gpkg").write_bytes(to_gpkg(in_crs(layer, SWEREF99TM)))
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from hotspots import csvout
from hotspots.analysis.compute import Analysis
from hotspots.geo import h3grid
from hotspots.geo.areas import SWEREF99TM
from hotspots.publish.publications import Publication, as_frame
from hotspots.words import CHART_LEGEND, Language, emerging_label

#: Source attribution of the area boundaries (RegSO: SCB's regional statistical areas).
BOUNDARY_ATTRIBUTION = "Statistiska centralbyrån, RegSO 2025"
WGS84 = "EPSG:4326"
#: The CRSs an export may be asked for; GeoJSON is WGS84 only (RFC 7946 section 4).
EXPORT_CRS = (WGS84, SWEREF99TM)
#: GeoPackage version written: Debian 12's GDAL 3.6 warns on the 1.4 that newer GDALs write by default.
GPKG_VERSION = "1.2"
#: Columns an analysis export carries: aggregates and cell-level statistics only.
EXPORT_COLUMNS = (
    "cell", "area_id", "area", "count", "weighted", "GiZScore", "GiPValue", "Gi_Bin", "moran_q",
    "emerging", "density",
)  # fmt: skip


@dataclass(frozen=True)
class ExportMetadata:
    """What an export describes; written beside every format (GeoJSON member, GPKG table, CSV sidecar)."""

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
    publication: str = ""
    group: str = ""
    crs: str = WGS84
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
    return gpd.GeoDataFrame(frame, geometry=polygons, crs=WGS84)


def geojson_text(frame: pd.DataFrame) -> str:
    """A FeatureCollection of cell rows (NaN as null), without a ``crs`` member (RFC 7946)."""
    return with_polygons(frame).to_json(drop_id=True, na="null")


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Swedish labels beside the codes, and empty codes as nulls."""
    out = frame.copy()
    if "Gi_Bin" in out:
        out.insert(
            list(out.columns).index("Gi_Bin") + 1, "Gi_Bin_sv", out["Gi_Bin"].map(CHART_LEGEND[Language.sv])
        )
    if "moran_q" in out:
        out["moran_q"] = out["moran_q"].replace("", None)
    if "emerging" in out:
        labels = out["emerging"].map(lambda code: emerging_label(str(code), Language.sv))
        out.insert(list(out.columns).index("emerging") + 1, "emerging_sv", labels)
    return out


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="seconds")


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
        generated_at=_now(now),
    )
    return CellLayer(with_polygons(_labelled(shown)), metadata)


def publication_layer(
    publication: Publication, analysis: Analysis, group_label: str, *, now: datetime | None = None
) -> CellLayer:
    """A planner publication's cells with their area and hotspot class from ``analysis`` (the same period
    and group): counts come from the publication only, so its suppression is what leaves."""
    cells = as_frame(publication)
    stats = analysis.frame()[["cell", "area_id", "area", "Gi_Bin", "emerging"]]
    frame = cells.merge(stats, on="cell", how="inner")  # leaving a cell out keeps the guarantee
    frame.insert(1, "period", str(publication.period))
    frame.insert(2, "group", publication.group)
    frame.insert(3, "group_sv", group_label)
    frame = frame[["cell", "area_id", "area", "period", "group", "group_sv", "count", "Gi_Bin", "emerging"]]
    metadata = ExportMetadata(
        period_start=analysis.start.isoformat(),
        period_end=analysis.end.isoformat(),
        window=analysis.params.window,
        resolution=publication.resolution,
        threshold=publication.threshold,
        categories=publication.categories,
        sources=(),
        areas=(),
        dataset_version=analysis.dataset_version,
        cells=len(frame),
        cells_suppressed=publication.withheld,
        generated_at=_now(now),
        publication=str(publication.period),
        group=publication.group,
    )
    return CellLayer(with_polygons(_labelled(frame)), metadata)


def in_crs(layer: CellLayer, crs: str) -> CellLayer:
    """The layer reprojected (metadata says into what)."""
    if crs not in EXPORT_CRS:
        raise ValueError(f"crs must be one of {', '.join(EXPORT_CRS)}")
    if crs == WGS84:
        return layer
    return CellLayer(layer.frame.to_crs(crs), replace(layer.metadata, crs=crs))


def to_geojson(layer: CellLayer) -> dict[str, Any]:
    """A FeatureCollection (RFC 7946: WGS84 lon/lat, no ``crs`` member) with a ``metadata`` foreign member."""
    if layer.metadata.crs != WGS84:
        raise ValueError("GeoJSON is WGS84 only (RFC 7946)")
    collection: dict[str, Any] = json.loads(layer.frame.to_json(drop_id=True, na="null"))
    collection["metadata"] = layer.metadata.as_dict()
    return collection


def to_gpkg(layer: CellLayer) -> bytes:
    """A GeoPackage (version :data:`GPKG_VERSION`) with a ``cells`` layer (metadata also as layer
    metadata) and a ``metadata`` table."""
    meta = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in layer.metadata.as_dict().items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cells.gpkg"
        pyogrio.write_dataframe(
            layer.frame, path, layer="cells", driver="GPKG", layer_metadata=meta,
            dataset_options={"VERSION": GPKG_VERSION},
        )  # fmt: skip
        table = pd.DataFrame({"key": list(meta), "value": list(meta.values())})
        pyogrio.write_dataframe(table, path, layer="metadata", driver="GPKG")
        return path.read_bytes()


def to_csv(layer: CellLayer) -> bytes:
    """Semicolon CSV for Swedish Excel (:mod:`hotspots.csvout`: UTF-8 with BOM, decimal comma, formula-like
    text neutralised): one header line, then the cells with their centre (``lat``/``lon`` in WGS84,
    ``N``/``E`` in SWEREF 99 TM) instead of polygons. The metadata is :func:`metadata_json`."""
    frame = pd.DataFrame(layer.frame.drop(columns="geometry"))
    lat, lon = h3grid.cells_to_latlng(_cells(frame["cell"]))
    if layer.metadata.crs == WGS84:
        frame.insert(3, "lat", lat)
        frame.insert(4, "lon", lon)
    else:
        centres = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=WGS84).to_crs(layer.metadata.crs)
        frame.insert(3, "N", centres.y.round(2).to_numpy())
        frame.insert(4, "E", centres.x.round(2).to_numpy())
    return csvout.to_csv(frame, decimal_comma=True)


def metadata_json(layer: CellLayer) -> bytes:
    """The CSV's metadata as a JSON document (the file served beside it)."""
    return json.dumps(layer.metadata.as_dict(), ensure_ascii=False, indent=1).encode()
