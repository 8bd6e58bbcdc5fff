"""Import pipeline: read a file, validate every row, reproject, bin into H3, assign areas, store.

Library first: the CLI (``hotspots import``) and the API's upload endpoint both call :func:`import_file`
or :func:`import_frame`. The default is all-or-nothing: one bad row rejects the batch, nothing is written,
and every problem is reported with its row number, field and reason. ``skip_invalid=True`` stores the good
rows and returns the rejects. Re-importing the same rows adds nothing (idempotent on source + source_id).

Validation runs on whole columns: text as Arrow string arrays (trim, lower, cast to numbers and instants in
C), numbers as numpy arrays. Messages are only formatted for the rows that fail, so a clean million-row
file costs no per-row Python work before the store.

Usage (needs a store, so not a doctest)::

    result = import_file(engine, Path("reports.csv"), settings=settings, areas=areas)
"""

from __future__ import annotations

import codecs
import hashlib
import io
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from sqlalchemy.engine import Engine

from hotspots import csvout, store
from hotspots.areas import Areas
from hotspots.config import Settings
from hotspots.conflicts import changed_rows
from hotspots.errors import ImportRejected, RowError
from hotspots.h3grid import latlng_to_cells

#: Canonical fields and the column names accepted for them (case-insensitive), Swedish and English.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "source": ("source", "källa", "kalla", "avsändare"),
    "source_id": ("source_id", "id", "källid", "ärendenummer", "ärende", "diarienummer", "ref"),
    "occurred_at": ("occurred_at", "tidpunkt", "händelsetid", "datum", "date", "time", "timestamp"),
    "reported_at": ("reported_at", "rapporterad", "rapporttid", "inkom"),
    "category": ("category", "kategori", "typ", "type"),
    "lat": ("lat", "latitude", "latitud", "y_wgs84"),
    "lon": ("lon", "lng", "long", "longitude", "longitud", "x_wgs84"),
    "x": ("x", "e", "easting", "östlig", "ostlig", "sweref_e"),
    "y": ("y", "n", "northing", "nordlig", "sweref_n"),
    "weight": ("weight", "vikt"),
    "note": ("note", "anteckning", "kommentar", "notering", "beskrivning", "fritext"),
}
MAX_NOTE_CHARS = 4000
MAX_WEIGHT = 100.0
FUTURE_TOLERANCE = pd.Timedelta(minutes=5)
#: Reports before this are typos (0001-01-01 was stored, then broke its own report view and `status`).
EARLIEST_REPORT = np.datetime64("1990-01-01T00:00:00", "us")
#: A header wider than this is refused before parsing (100,000 columns cost 12.5 s and a 789 KB error).
MAX_COLUMNS = 500
_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Instants = npt.NDArray[np.datetime64]
#: What an error shows as the offending value: a text column, an array, or a formatter of the failing rows.
Shown: TypeAlias = pa.ChunkedArray | npt.NDArray[np.object_] | Callable[[npt.NDArray[np.intp]], list[str]]


@dataclass
class ImportResult:
    """What an import did. ``errors`` are the rejected rows (all rows of a rejected batch's problems)."""

    rows_read: int
    rows_valid: int
    rows_added: int
    rows_present: int
    errors: list[RowError] = field(default_factory=list)
    import_id: int | None = None
    dataset_version: int | None = None
    by_area: dict[str, int] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        return len({e.row for e in self.errors})


# --------------------------------------------------------------------------------------------- reading


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """Raw rows as strings (CSV) or properties + point coordinates (GeoJSON / GeoPackage).

    Vector formats yield ``_x``/``_y`` columns from the point geometry in the file's CRS (``_crs``).
    """
    suffix = Path(filename).suffix.lower()
    if suffix in {".geojson", ".json", ".gpkg"}:
        return _read_vector(data, filename)
    return _read_csv(data, filename)


def _read_csv(data: bytes, filename: str) -> pd.DataFrame:
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)]
    sep = ";" if first.count(b";") > first.count(b",") else ","
    if first.count(sep.encode()) >= MAX_COLUMNS:
        raise ImportRejected(f"the header has {first.count(sep.encode()) + 1} columns: at most {MAX_COLUMNS}")
    frame = _read_csv_arrow(data, sep)
    if frame is None:
        frame = _read_csv_pandas(data, filename, sep)
    frame.attrs["decimal_comma"] = sep == ";"
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
            f"{filename}: not UTF-8 (byte {exc.start}, line {line}); save the file as UTF-8 "
            "(Excel: 'CSV UTF-8')"
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


# ------------------------------------------------------------------------------------------ validation


def _text(values: pd.Series) -> pa.ChunkedArray:
    """A column as trimmed Arrow strings ('' where missing; other dtypes formatted as text first)."""
    arrow = pa.array(values.astype("string[pyarrow]").array)
    if isinstance(arrow, pa.Array):
        arrow = pa.chunked_array([arrow])
    return pc.fill_null(pc.utf8_trim_whitespace(arrow), "")


def _mask(condition: pa.ChunkedArray) -> Mask:
    """An Arrow boolean column as a numpy mask."""
    return np.asarray(condition.to_numpy(zero_copy_only=False), dtype=bool)


class _Problems:
    """Collects row-level errors: vectorised masks in, RowError objects out (formatted for failing rows only)."""

    def __init__(self, n: int) -> None:
        self.errors: list[RowError] = []
        self.bad = np.zeros(n, dtype=bool)

    def add(self, mask: Mask, field: str, reason: str | npt.NDArray[np.object_], shown: Shown) -> None:
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        if callable(shown):
            values = shown(idx)
        elif isinstance(shown, np.ndarray):
            values = shown[idx].tolist()
        else:
            values = shown.take(pa.array(idx)).to_pylist()
        reasons = reason[idx].tolist() if isinstance(reason, np.ndarray) else [reason] * idx.size
        self.errors.extend(
            RowError(int(i) + 1, field, str(v)[:80], r) for i, v, r in zip(idx, values, reasons, strict=True)
        )
        self.bad |= mask


def _pairs(first: Floats, second: Floats, sep: str) -> list[str]:
    """'a<sep>b' for each pair of numbers, as an error shows a coordinate."""
    return [f"{a}{sep}{b}" for a, b in zip(first.tolist(), second.tolist(), strict=True)]


def _resolve_columns(raw: pd.DataFrame, mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Canonical field -> column in the file (explicit ``mapping`` first, then the default aliases)."""
    by_lower = {c.strip().lower(): c for c in raw.columns}
    found: dict[str, str] = {}
    for fld, column in (mapping or {}).items():
        if fld not in DEFAULT_COLUMNS:
            raise ImportRejected(f"--map: unknown field {fld!r}; fields: {', '.join(DEFAULT_COLUMNS)}")
        if column.strip().lower() not in by_lower:
            raise ImportRejected(f"--map {fld}={column}: no such column; columns: {', '.join(raw.columns)}")
        found[fld] = by_lower[column.strip().lower()]
    for fld, aliases in DEFAULT_COLUMNS.items():
        if fld in found:
            continue
        for alias in aliases:
            if alias in by_lower and by_lower[alias] not in found.values():
                found[fld] = by_lower[alias]
                break
    return found


def _lookup(text: pa.ChunkedArray, table: Mapping[str, str]) -> npt.NDArray[np.object_]:
    """Configured ids of (case-insensitive) names, None where unknown; each distinct name is looked up once."""
    encoded = text.combine_chunks().dictionary_encode()
    names = pc.utf8_lower(encoded.dictionary).to_pylist()
    ids = np.array([table.get(name) for name in names], dtype=object)
    return ids[encoded.indices.to_numpy(zero_copy_only=False)]


def _parse_numbers(values: pa.ChunkedArray) -> Floats:
    """Floats from trimmed text with a decimal point or a Swedish decimal comma; NaN where unparseable."""
    try:  # plain numbers (the usual file): one pass in C
        return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        cleaned = pc.replace_substring(pc.replace_substring(values, "\u2212", "-"), ",", ".")
    try:
        return pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # some value is not a number: pandas' lenient parser, NaN for those
        parsed = pd.to_numeric(cleaned.to_pandas(), errors="coerce")
        return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


def _utc_us(values: pd.Series) -> Instants:
    """tz-aware timestamps -> naive UTC datetime64[us]."""
    return values.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")


def _instants(text: pa.ChunkedArray, tz: str) -> tuple[Instants, npt.NDArray[np.object_]]:
    """UTC instants of trimmed ISO 8601 text (NaT where invalid) and the reason (None for good rows)."""
    n = len(text)
    has_offset = _mask(pc.match_substring_regex(text, _OFFSET))
    blank = _mask(pc.equal(text, ""))
    out = np.full(n, np.datetime64("NaT", "us"))
    if has_offset.any():
        with_offset = text.filter(pa.array(has_offset))
        try:  # Arrow's ISO 8601 cast covers what exports contain, ~10x faster than pandas
            out[has_offset] = pc.cast(with_offset, pa.timestamp("us", tz="UTC")).to_numpy(
                zero_copy_only=False
            )
        except pa.ArrowInvalid:  # anything rarer (or invalid): pandas' parser, NaT for the invalid
            parsed = pd.to_datetime(with_offset.to_pandas(), format="ISO8601", utc=True, errors="coerce")
            out[has_offset] = _utc_us(parsed)
    naive = ~has_offset & ~blank
    dst = np.zeros(n, dtype=bool)
    if naive.any():
        local_text = text.filter(pa.array(naive)).to_pandas()
        local = pd.to_datetime(local_text, format="ISO8601", errors="coerce")
        try:
            localized = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        except (TypeError, AttributeError):  # mixed/odd values: fall back to element-wise parsing
            localized = pd.to_datetime(local_text, errors="coerce").dt.tz_localize(
                tz, ambiguous="NaT", nonexistent="NaT"
            )
        out[naive] = _utc_us(localized)
        dst[naive] = localized.isna().to_numpy() & local.notna().to_numpy()
    reason = np.empty(n, dtype=object)  # None for good rows: only failing rows' reasons are ever read
    reason[np.isnat(out)] = "not a date/time; use ISO 8601, e.g. 2026-03-14T21:35:00+01:00"
    reason[dst] = f"local time that does not exist or is ambiguous in {tz} (DST change); give a UTC offset"
    reason[blank] = "missing"
    return out, reason


def parse_timestamps(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """UTC timestamps from ISO 8601 strings; local time (``tz``) where no offset is given.

    Returns (timestamps, reason) where reason is '' for good rows. Month-only dates ("2026-03") and
    day-only dates are accepted (their first instant, local time).
    """
    out, reason = _instants(_text(values), tz)
    reason[~np.isnat(out)] = ""
    return pd.Series(out, index=values.index).dt.tz_localize("UTC"), pd.Series(reason, index=values.index)


def _coordinates(
    raw: pd.DataFrame, cols: dict[str, str], crs: str | None, problems: _Problems
) -> tuple[Floats, Floats, str]:
    """(lat, lon) in WGS84 and the name of the field to blame for coordinate errors."""
    source_crs = crs or raw.attrs.get("crs") or "EPSG:4326"
    try:
        crs_obj = CRS.from_user_input(source_crs)
    except CRSError as exc:
        raise ImportRejected(f"unknown coordinate reference system {source_crs!r}: {exc}") from exc
    if "_x" in raw:
        geom_type = _text(raw["_geom_type"])
        problems.add(_mask(pc.not_equal(geom_type, "Point")), "geometry", "not a Point geometry", geom_type)
        x, y = raw["_x"].to_numpy(dtype=np.float64), raw["_y"].to_numpy(dtype=np.float64)
        blame = "geometry"
    elif crs_obj.is_geographic:
        for fld in ("lat", "lon"):
            if fld not in cols:
                raise ImportRejected(
                    f"no {fld} column; columns: {', '.join(raw.columns)} (use --map {fld}=NAME)"
                )
        y, x = _parse_numbers(_text(raw[cols["lat"]])), _parse_numbers(_text(raw[cols["lon"]]))
        blame = "lat/lon"
    else:
        xcol = cols.get("x") or cols.get("lon")
        ycol = cols.get("y") or cols.get("lat")
        if not xcol or not ycol:
            raise ImportRejected(f"no x/y (easting/northing) columns for {source_crs}; use --map x=…,y=…")
        x, y = _parse_numbers(_text(raw[xcol])), _parse_numbers(_text(raw[ycol]))
        blame = "x/y"
    finite = np.isfinite(x) & np.isfinite(y)
    problems.add(~finite, blame, "missing, NaN or not a number", lambda idx: _pairs(x[idx], y[idx], " "))
    if crs_obj.is_geographic and crs_obj.equals("EPSG:4326"):
        return y, x, blame
    to_wgs = Transformer.from_crs(crs_obj, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(x, y)
    return lat, lon, blame


def _extent_reasons(
    lat: Floats,
    lon: Floats,
    in_area: Mask,
    file_xy: Callable[[], tuple[Floats, Floats]],
    areas: Areas,
    buffer_m: float,
) -> tuple[Mask, str | npt.NDArray[np.object_]]:
    """Mask of points outside the extent, with a diagnosis of likely mistakes (swapped, SWEREF 99 TM).

    Points inside an area are inside the extent: only the others are tested against the buffered union.
    ``file_xy`` gives the file's own numbers (computed only if some point is outside).
    """
    outside = ~in_area & np.isfinite(lat)
    candidates = np.flatnonzero(outside)
    outside[candidates] = ~areas.within_extent(lat[candidates], lon[candidates], buffer_m)
    if not outside.any():
        return outside, ""
    reason = np.full(lat.size, "outside the municipality's extent", dtype=object)
    swapped = areas.within_extent(lon, lat, buffer_m) & outside
    reason[swapped] = "outside the municipality; with lat and lon swapped it would be inside: check columns"
    to_wgs = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)
    slon, slat = to_wgs.transform(*file_xy())
    sweref = areas.within_extent(slat, slon, buffer_m) & outside & ~swapped
    reason[sweref] = (
        "outside the municipality; read as SWEREF 99 TM (EPSG:3006) it would be inside: use --crs EPSG:3006"
    )
    return outside, reason


def _content_ids(parts: list[pd.Series], rows: Mask) -> list[str]:
    """Deterministic ids of rows without one: the same row imported again gets the same id, so it is not
    doubled. (The text of each part, joined with '|', hashed; the format must never change.)"""
    key = pd.Series("", index=parts[0].index, dtype=object)
    for part in parts:
        key = key + "|" + part.astype(object).fillna("").astype(str)
    return ["h:" + hashlib.sha256(k.encode()).hexdigest()[:24] for k in key[rows]]


def _duplicates(
    source: npt.NDArray[np.object_], source_id: npt.NDArray[np.object_]
) -> tuple[Mask, npt.NDArray[np.int64]]:
    """Rows whose (source, source_id) occurred earlier in the file, and each row's first row number."""
    id_codes, id_uniques = pd.factorize(source_id)
    source_codes, _ = pd.factorize(source)  # unknown sources (None) share code -1, as they did as NaN
    key = pd.Series(source_codes.astype(np.int64) * len(id_uniques) + id_codes)
    dup = key.duplicated(keep="first").to_numpy()
    if not dup.any():
        return dup, np.empty(0, dtype=np.int64)
    first_row = pd.Series(np.arange(1, len(key) + 1)).groupby(key).transform("min").to_numpy()
    return dup, first_row


@dataclass
class Prepared:
    """Validated rows ready for the store, the rejected rows' errors, and the file's row count."""

    rows: pd.DataFrame
    errors: list[RowError]
    rows_read: int


def prepare(
    raw: pd.DataFrame,
    *,
    settings: Settings,
    areas: Areas,
    crs: str | None = None,
    default_source: str | None = None,
    column_map: Mapping[str, str] | None = None,
    created_by: str = "import",
    now: datetime | None = None,
) -> Prepared:
    """Validate and enrich raw rows (vectorised over the whole frame). Never writes anything."""
    n = len(raw)
    raw = raw.reset_index(drop=True)
    now_ts = pd.Timestamp(now or datetime.now(UTC))
    now_utc = now_ts.tz_convert("UTC") if now_ts.tzinfo else now_ts.tz_localize("UTC")
    latest = (now_utc + FUTURE_TOLERANCE).tz_localize(None).to_datetime64()
    cols = _resolve_columns(raw, column_map)
    problems = _Problems(n)
    taxonomy = settings.taxonomy

    def column(fld: str, default: str = "") -> pa.ChunkedArray:
        return _text(raw[cols[fld]]) if fld in cols else pa.chunked_array([pa.repeat(default, n)])

    # source and category: ids, labels or aliases from the taxonomy file
    src_raw = column("source", default_source or "")
    if default_source is not None:
        src_raw = pc.if_else(pc.equal(src_raw, ""), default_source, src_raw)
    source = _lookup(src_raw, taxonomy.source_lookup())
    problems.add(
        _mask(pc.equal(src_raw, "")), "source", "missing (give a source column or --source)", src_raw
    )
    problems.add(
        pd.isna(source),
        "source",
        f"unknown source; known: {', '.join(t.id for t in taxonomy.sources)}",
        src_raw,
    )
    cat_raw = column("category")
    category = _lookup(cat_raw, taxonomy.category_lookup())
    problems.add(_mask(pc.equal(cat_raw, "")), "category", "missing", cat_raw)
    problems.add(
        pd.isna(category),
        "category",
        f"unknown category; known: {', '.join(t.id for t in taxonomy.categories)}",
        cat_raw,
    )

    occ_text = column("occurred_at")
    occurred, why = _instants(occ_text, settings.timezone)
    problems.add(np.isnat(occurred), "occurred_at", why, occ_text)
    problems.add(occurred > latest, "occurred_at", "in the future", occ_text)
    problems.add(occurred < EARLIEST_REPORT, "occurred_at", "before 1990-01-01", occ_text)
    rep_text = column("reported_at")
    reported, why_r = _instants(rep_text, settings.timezone)
    given = _mask(pc.not_equal(rep_text, ""))
    problems.add(given & np.isnat(reported), "reported_at", why_r, rep_text)
    problems.add(given & (reported < occurred), "reported_at", "earlier than occurred_at", rep_text)
    problems.add(given & (reported > latest), "reported_at", "in the future", rep_text)

    lat, lon, blame = _coordinates(raw, cols, crs, problems)

    def file_xy() -> tuple[Floats, Floats]:
        if "_x" in raw:
            return raw["_x"].to_numpy(dtype=np.float64), raw["_y"].to_numpy(dtype=np.float64)
        x = _parse_numbers(column("lon") if "lon" in cols else column("x"))
        return x, _parse_numbers(column("lat") if "lat" in cols else column("y"))

    area_id = areas.assign(lat, lon)
    outside, why_out = _extent_reasons(lat, lon, ~pd.isna(area_id), file_xy, areas, settings.extent_buffer_m)
    problems.add(outside, blame, why_out, lambda idx: _pairs(lat[idx].round(6), lon[idx].round(6), ", "))

    weight_text = column("weight")
    weight = _parse_numbers(pc.if_else(pc.equal(weight_text, ""), "1", weight_text))
    problems.add(
        ~((weight > 0) & (weight <= MAX_WEIGHT)),
        "weight",
        f"must be a number in (0, {MAX_WEIGHT:g}]",
        weight_text,
    )
    note = column("note")
    too_long = _mask(pc.greater(pc.utf8_length(note), MAX_NOTE_CHARS))
    problems.add(too_long, "note", f"longer than {MAX_NOTE_CHARS} characters", note)
    nul = "contains a NUL byte"  # PostgreSQL text cannot hold one: the write failed with a 500
    problems.add(_mask(pc.match_substring(note, "\x00")), "note", nul, note)

    id_text = column("source_id")
    problems.add(
        _mask(pc.greater(pc.utf8_length(id_text), 128)), "source_id", "longer than 128 characters", id_text
    )
    problems.add(_mask(pc.match_substring(id_text, "\x00")), "source_id", nul, id_text)
    source_id = id_text.to_numpy(zero_copy_only=False)
    missing_id = source_id == ""
    if missing_id.any():
        parts = [
            pd.Series(source),
            pd.Series(occurred).dt.tz_localize("UTC").astype(str),
            pd.Series(category),
            pd.Series(lat).round(6).astype(str),
            pd.Series(lon).round(6).astype(str),
            note.to_pandas(),
        ]
        source_id[missing_id] = _content_ids(parts, missing_id)
    dup, first_row = _duplicates(source, source_id)
    if dup.any():
        reason = np.array([f"duplicate of row {r} in this file" for r in first_row.tolist()], dtype=object)
        problems.add(dup, "source_id", reason, source_id)

    good = ~problems.bad
    lat, lon = lat[good], lon[good]
    notes = pc.if_else(pc.equal(note, ""), pa.scalar(None, note.type), note).to_numpy(zero_copy_only=False)

    def strings(values: npt.NDArray[np.object_]) -> pd.Series:
        """Kept as Python objects: pandas would otherwise copy each string into Arrow and back for the store."""
        return pd.Series(values, dtype=object, copy=False)

    rows = pd.DataFrame(
        {
            "source": strings(source[good]),
            "source_id": strings(source_id[good]),
            "occurred_at": pd.to_datetime(occurred[good], utc=True),
            "reported_at": pd.to_datetime(reported[good], utc=True),
            "category": strings(category[good]),
            "lat": lat,
            "lon": lon,
            "weight": weight[good],
            "note": strings(notes[good]),
            "cell": latlng_to_cells(lat, lon, settings.stored_resolution),
            "area_id": strings(area_id[good]),
            "created_by": strings(np.full(lat.size, created_by, dtype=object)),
            "created_at": now_utc,
        },
        copy=False,
    )
    errors = sorted(problems.errors, key=lambda e: (e.row, e.field))
    rows.attrs["row"] = np.flatnonzero(good) + 1  # file row numbers, for errors found when storing
    return Prepared(rows=rows, errors=errors, rows_read=n)


# ------------------------------------------------------------------------------------------ storing


def import_frame(
    engine: Engine,
    raw: pd.DataFrame,
    *,
    settings: Settings,
    areas: Areas,
    filename: str = "<rows>",
    sha256: str = "",
    crs: str | None = None,
    default_source: str | None = None,
    column_map: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    created_by: str = "import",
    progress: store.ProgressFn | None = None,
) -> ImportResult:
    """Validate ``raw`` and store it in one transaction. Raises ImportRejected (nothing written) on errors
    unless ``skip_invalid``; then the good rows are stored and ``result.errors`` lists the rejects.
    A file without rows is rejected too: it is a wrong export far more often than news."""
    if raw.empty:
        raise ImportRejected(f"{filename}: no rows to import; nothing was imported")
    prepared = prepare(
        raw,
        settings=settings,
        areas=areas,
        crs=crs,
        default_source=default_source,
        column_map=column_map,
        created_by=created_by,
    )
    if prepared.errors and not skip_invalid:
        bad_rows = len({e.row for e in prepared.errors})
        raise ImportRejected(
            f"{filename}: {bad_rows} of {prepared.rows_read} rows are invalid; nothing was imported",
            prepared.errors,
        )
    rows = prepared.rows
    with store.transaction(engine) as conn:
        import_id = store.record_import(
            conn,
            filename=filename,
            sha256=sha256,
            created_by=created_by,
            rows_read=prepared.rows_read,
            rows_rejected=len({e.row for e in prepared.errors}),
        )
        rows["import_id"] = import_id
        added = store.insert_reports(conn, rows, progress=progress)
        if added < len(rows) and (conflicts := changed_rows(conn, rows, import_id, rows.attrs["row"])):
            raise ImportRejected(
                f"{filename}: {len(conflicts)} rows change reports already stored under the same source and "
                "source_id; nothing was imported",
                conflicts,
            )  # raised inside the transaction: the rows just inserted are rolled back
        store.finish_import(conn, import_id, added=added, present=len(rows) - added)
        version = store.dataset_version(conn)
    by_area = rows["area_id"].fillna("–").value_counts().to_dict() if added else {}
    return ImportResult(
        rows_read=prepared.rows_read,
        rows_valid=len(rows),
        rows_added=added,
        rows_present=len(rows) - added,
        errors=prepared.errors,
        import_id=import_id,
        dataset_version=version,
        by_area={str(k): int(v) for k, v in by_area.items()},
    )


def import_bytes(
    engine: Engine,
    data: bytes,
    filename: str,
    *,
    settings: Settings,
    areas: Areas,
    crs: str | None = None,
    default_source: str | None = None,
    column_map: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    created_by: str = "import",
    progress: store.ProgressFn | None = None,
) -> ImportResult:
    """Import a file's content (CSV, GeoJSON or GeoPackage, told apart by the file name)."""
    raw = read_table(data, filename)
    return import_frame(
        engine,
        raw,
        settings=settings,
        areas=areas,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        crs=crs or raw.attrs.get("crs"),
        default_source=default_source,
        column_map=column_map,
        skip_invalid=skip_invalid,
        created_by=created_by,
        progress=progress,
    )


def import_file(engine: Engine, path: Path, **options: Any) -> ImportResult:
    """Import a file from disk; ``options`` are :func:`import_bytes`' keyword arguments."""
    return import_bytes(engine, path.read_bytes(), path.name, **options)


def write_rejects(errors: list[RowError], path: Path) -> None:
    """The rejected rows' problems as CSV (row;field;value;reason) for Swedish Excel. The values are the
    file's own text, so they go through :mod:`hotspots.csvout` (a rejected ``=HYPERLINK(…)`` stays text)."""
    path.write_bytes(csvout.to_csv(pd.DataFrame(errors, columns=list(RowError._fields))))
