r"""Reading import files: CSV (UTF-8 or Windows-1252, comma or semicolon), GeoJSON and GeoPackage, as raw
rows of text (vector formats add the point coordinates as ``_x``/``_y`` in the file's CRS ``_crs``).

>>> read_table("källa;id\nPolisen;1\n".encode("cp1252"), "rader.csv")["källa"].tolist()
['Polisen']
"""

from __future__ import annotations

import codecs
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import shapely

from hotspots.errors import ImportRejected

#: A header wider than this is refused before parsing (100,000 columns cost 12.5 s and a 789 KB error).
MAX_COLUMNS = 500


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """Raw rows as strings (CSV) or properties + point coordinates (GeoJSON / GeoPackage).

    Vector formats yield ``_x``/``_y`` columns from the point geometry in the file's CRS (``_crs``).
    """
    suffix = Path(filename).suffix.lower()
    if suffix in {".geojson", ".json", ".gpkg"}:
        return _read_vector(data, filename)
    return _read_csv(data, filename)


#: Letters Windows-1252 has that Swedish text does not: where they appear, the file is another encoding.
_UNLIKELY_IN_CP1252 = frozenset("ŠŒŽšœžŸƒˆ˜‰‹›\x00")


def _as_utf8(data: bytes) -> tuple[bytes, str]:
    """The file as UTF-8 and the encoding it came in: UTF-8 (with or without BOM), else Windows-1252, which
    Swedish Excel's "CSV (semikolonavgränsad)" writes. A file that is neither is left as it is and refused
    with the line of its first bad byte."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return data, "unknown"
        if not _UNLIKELY_IN_CP1252.isdisjoint(text):  # e.g. Mac Roman's ä å ö read as Š Œ š
            return data, "unknown"
        return text.encode("utf-8"), "cp1252"
    return data, "utf-8"


def _read_csv(data: bytes, filename: str) -> pd.DataFrame:
    data, encoding = _as_utf8(data)
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)]
    sep = ";" if first.count(b";") > first.count(b",") else ","
    if first.count(sep.encode()) >= MAX_COLUMNS:
        raise ImportRejected(f"the header has {first.count(sep.encode()) + 1} columns: at most {MAX_COLUMNS}")
    frame = _read_csv_arrow(data, sep)
    if frame is None:
        frame = _read_csv_pandas(data, filename, sep)
    frame.attrs["decimal_comma"] = sep == ";"
    frame.attrs["encoding"] = encoding
    return frame


def _read_csv_arrow(data: bytes, sep: str) -> pd.DataFrame | None:
    """Every column as strings, parsed by Arrow's multithreaded reader (~5x pandas' C parser).

    None for what Arrow refuses (ragged rows, invalid UTF-8, duplicate or empty header names): the pandas
    parser then reads those files exactly as before, or explains what is wrong with them.
    """
    body = memoryview(data)[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    parse = pa_csv.ParseOptions(delimiter=sep, newlines_in_values=True)
    try:
        header = pa_csv.open_csv(
            pa.BufferReader(body), read_options=pa_csv.ReadOptions(block_size=1 << 16), parse_options=parse
        )
        names = header.schema.names
        if "" in names or len(set(names)) < len(names):
            return None
        table = pa_csv.read_csv(
            pa.BufferReader(body),
            parse_options=parse,
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):  # a header that is not UTF-8 fails as the latter
        return None
    return table.to_pandas()


def _read_csv_pandas(data: bytes, filename: str, sep: str) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            f"{filename}: neither UTF-8 nor Windows-1252 (byte {exc.start}, line {line}); save the file as "
            "UTF-8 (Excel: 'CSV UTF-8')"
        ) from exc
    try:
        return pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False, engine="c"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImportRejected(f"{filename}: cannot parse as CSV: {exc}") from exc


#: The first bytes of every GeoPackage (an SQLite 3 database).
SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_geojson_or_gpkg(data: bytes) -> bool:
    """True for an SQLite database or text starting with ``{``. GDAL would also open an archive (zip, gzip,
    tar) from memory and expand it, so a 1 MB upload could make it inflate gigabytes (a zip bomb): only
    these two formats reach it."""
    if data.startswith(SQLITE_MAGIC):
        return True
    text = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    return text[:4096].lstrip()[:1] == b"{"


def _read_vector(data: bytes, filename: str) -> pd.DataFrame:
    import pyogrio

    if not _is_geojson_or_gpkg(data):
        raise ImportRejected(
            f"{filename}: not a GeoJSON or GeoPackage file (archives such as .zip are not accepted; unpack "
            "the file first)"
        )
    try:
        with warnings.catch_warnings():  # in-memory GeoPackages have no file extension; GDAL says so
            warnings.filterwarnings(
                "ignore", message=".*non conformant file extension", category=RuntimeWarning
            )
            gdf = pyogrio.read_dataframe(io.BytesIO(data))
    except Exception as exc:  # GDAL errors come in several types
        raise ImportRejected(f"{filename}: cannot read as GeoJSON/GeoPackage: {exc}") from exc
    geom = gdf.geometry
    types = geom.geom_type.fillna("missing")
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    frame = frame.where(frame.notna(), "").astype(str)
    is_point = (types == "Point").to_numpy()
    xy = np.full((len(gdf), 2), np.nan)
    xy[is_point] = shapely.get_coordinates(geom.to_numpy()[is_point])
    frame["_x"], frame["_y"] = xy[:, 0], xy[:, 1]
    frame["_geom_type"] = types.to_numpy()
    frame.attrs["crs"] = gdf.crs.to_string() if gdf.crs is not None else "EPSG:4326"
    return frame
