"""Import coordinates: WGS84 lat/lon, any projected CRS's x/y, point geometries; and the diagnosis of
points outside the municipality (swapped columns, SWEREF 99 TM numbers read as degrees).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from hotspots.errors import ImportRejected
from hotspots.geo.areas import SWEREF99TM, Areas
from hotspots.ingest.validation import Floats, Mask, Options, Problems, mask, pairs, parse_numbers, text

#: SWEREF 99 TM's numbers over Sweden: northings and eastings (metres).
NORTHING = (6.1e6, 7.7e6)
EASTING = (2.5e5, 9.5e5)


def _within(values: Floats, bounds: tuple[float, float]) -> bool:
    finite = values[np.isfinite(values)]
    return bool(finite.size) and bool(((finite >= bounds[0]) & (finite <= bounds[1])).mean() > 0.9)


def looks_like_sweref(east: Floats, north: Floats) -> bool:
    """Whether most pairs lie in SWEREF 99 TM's range over Sweden (as east, north)."""
    return _within(east, EASTING) and _within(north, NORTHING)


class Coordinates(NamedTuple):
    """Points in WGS84, the field blamed for their errors, and the file's own text of each pair."""

    lat: Floats
    lon: Floats
    blame: str
    written: Callable[[npt.NDArray[np.intp]], list[str]]
    file_xy: Callable[[], tuple[Floats, Floats]]


def coordinates(
    raw: pd.DataFrame, cols: dict[str, str], crs: str | None, problems: Problems, options: Options
) -> Coordinates:
    """Points of ``raw`` in WGS84. Swedish conventions are recognised: SWEREF 99 TM columns named X/Y with
    X the northing (the Swedish order) are read that way round, and N/E or X/Y columns without a CRS whose
    numbers are SWEREF 99 TM's are read as SWEREF 99 TM; other projected numbers without a CRS get a hint."""
    source_crs = crs or raw.attrs.get("crs")
    try:
        crs_obj = CRS.from_user_input(source_crs or "EPSG:4326")
    except CRSError as exc:
        raise ImportRejected(f"unknown coordinate reference system {source_crs!r}: {exc}") from exc
    if "_x" in raw:
        geom_type = text(raw["_geom_type"])
        problems.add(mask(pc.not_equal(geom_type, "Point")), "geometry", "not a Point geometry", geom_type)
        x, y = raw["_x"].to_numpy(dtype=np.float64), raw["_y"].to_numpy(dtype=np.float64)
        return _to_wgs84(x, y, crs_obj, "geometry", lambda idx: pairs(x[idx], y[idx], " "), problems)
    projected_columns = "x" in cols and "y" in cols
    if crs_obj.is_geographic and not ("lat" in cols and "lon" in cols) and projected_columns and not crs:
        x, y = parse_numbers(text(raw[cols["x"]])), parse_numbers(text(raw[cols["y"]]))
        if looks_like_sweref(x, y) or looks_like_sweref(y, x):
            crs_obj = CRS.from_user_input(SWEREF99TM)  # N/E or X/Y in metres over Sweden: SWEREF 99 TM
        else:
            raise ImportRejected(
                f"columns {cols['x']}/{cols['y']} hold projected coordinates but no coordinate system was "
                f"given; give {options.crs} (e.g. EPSG:3006 for SWEREF 99 TM)"
            )
    if crs_obj.is_geographic:
        missing = [fld for fld in ("lat", "lon") if fld not in cols]
        if missing:
            raise ImportRejected(
                f"no {' or '.join(missing)} column; columns: {', '.join(raw.columns)} "
                f"({options.map_hint(missing[0])})"
            )
        lat_text, lon_text = text(raw[cols["lat"]]), text(raw[cols["lon"]])
        y, x = parse_numbers(lat_text), parse_numbers(lon_text)
        if looks_like_sweref(x, y) or looks_like_sweref(y, x):
            raise ImportRejected(
                f"columns {cols['lat']}/{cols['lon']} hold SWEREF 99 TM numbers, not degrees; give "
                f"{options.crs} EPSG:3006"
            )
        written = _written(lat_text, lon_text)
        return _to_wgs84(x, y, crs_obj, "lat/lon", written, problems)
    xcol = cols.get("x") or cols.get("lon")
    ycol = cols.get("y") or cols.get("lat")
    if not xcol or not ycol:
        raise ImportRejected(
            f"no x/y (easting/northing) columns for {source_crs}; {options.map_hint('x')}, "
            f"{options.map_hint('y')}"
        )
    x_text, y_text = text(raw[xcol]), text(raw[ycol])
    x, y = parse_numbers(x_text), parse_numbers(y_text)
    if crs_obj.equals(SWEREF99TM) and looks_like_sweref(y, x) and not looks_like_sweref(x, y):
        x, y = y, x  # X = northing, Y = easting: the Swedish (geodetic) order
    return _to_wgs84(x, y, crs_obj, "x/y", _written(x_text, y_text), problems)


def _written(first: pa.ChunkedArray, second: pa.ChunkedArray) -> Callable[[npt.NDArray[np.intp]], list[str]]:
    """The file's own text of failing rows' coordinate pairs, as an error quotes them."""

    def show(idx: npt.NDArray[np.intp]) -> list[str]:
        take = pa.array(idx)
        return [
            f"{a}; {b}"
            for a, b in zip(first.take(take).to_pylist(), second.take(take).to_pylist(), strict=True)
        ]

    return show


def _to_wgs84(
    x: Floats,
    y: Floats,
    crs_obj: CRS,
    blame: str,
    written: Callable[[npt.NDArray[np.intp]], list[str]],
    problems: Problems,
) -> Coordinates:
    finite = np.isfinite(x) & np.isfinite(y)
    problems.add(~finite, blame, "missing, NaN or not a number", written)
    if crs_obj.is_geographic and crs_obj.equals("EPSG:4326"):
        lat, lon = y, x
    else:
        lon, lat = Transformer.from_crs(crs_obj, "EPSG:4326", always_xy=True).transform(x, y)
    return Coordinates(lat, lon, blame, written, lambda: (x, y))


def extent_reasons(
    lat: Floats,
    lon: Floats,
    in_area: Mask,
    points: Coordinates,
    areas: Areas,
    buffer_m: float,
    options: Options,
) -> tuple[Mask, str | npt.NDArray[np.object_]]:
    """Mask of points outside the extent, with a diagnosis of likely mistakes (swapped, SWEREF 99 TM).

    Points inside an area are inside the extent: only the others are tested against the buffered union.
    """
    outside = ~in_area & np.isfinite(lat) & np.isfinite(lon)
    candidates = np.flatnonzero(outside)
    outside[candidates] = ~areas.within_extent(lat[candidates], lon[candidates], buffer_m)
    if not outside.any():
        return outside, ""
    reason = np.full(lat.size, "outside the municipality's extent", dtype=object)
    swapped = areas.within_extent(lon, lat, buffer_m) & outside
    reason[swapped] = (
        "outside the municipality; with the two columns swapped it would be inside: check columns"
    )
    to_wgs = Transformer.from_crs(SWEREF99TM, "EPSG:4326", always_xy=True)
    x, y = points.file_xy()
    for east, north, how in ((x, y, ""), (y, x, " with the two columns swapped")):
        slon, slat = to_wgs.transform(east, north)
        sweref = areas.within_extent(slat, slon, buffer_m) & outside & ~swapped
        reason[sweref] = (
            f"outside the municipality; read as SWEREF 99 TM (EPSG:3006){how} it would be inside: "
            f"give {options.crs} EPSG:3006{' and swap the columns' if how else ''}"
        )
        swapped |= sweref
    return outside, reason
