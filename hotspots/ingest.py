"""Import pipeline: read a file, validate every row, reproject, bin into H3, assign areas, store.

Library first: the CLI (``hotspots import``) and the API's upload endpoint both call :func:`import_file`
or :func:`import_frame`. The default is all-or-nothing: one bad row rejects the batch, nothing is written,
and every problem is reported with its row number, field and reason. ``skip_invalid=True`` stores the good
rows and returns the rejects. Re-importing the same rows adds nothing (idempotent on source + source_id).

>>> # result = import_file(engine, Path("reports.csv"), settings=settings, areas=areas)
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from sqlalchemy.engine import Engine

from hotspots import store
from hotspots.areas import Areas
from hotspots.config import Settings
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
_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"


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
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            f"{filename}: not UTF-8 (byte {exc.start}, line {line}); save the file as UTF-8 "
            "(Excel: 'CSV UTF-8')"
        ) from exc
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False, engine="c"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImportRejected(f"{filename}: cannot parse as CSV: {exc}") from exc
    frame.attrs["decimal_comma"] = sep == ";"
    return frame


def _read_vector(data: bytes, filename: str) -> pd.DataFrame:
    import pyogrio

    try:
        with warnings.catch_warnings():  # in-memory GeoPackages have no file extension; GDAL says so
            warnings.filterwarnings("ignore", message=".*non conformant file extension", category=RuntimeWarning)
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


class _Problems:
    """Collects row-level errors (vectorised masks in, RowError objects out)."""

    def __init__(self, raw: pd.DataFrame) -> None:
        self.raw = raw
        self.errors: list[RowError] = []
        self.bad = np.zeros(len(raw), dtype=bool)

    def add(
        self, mask: npt.ArrayLike, field: str, reason: str | pd.Series, values: pd.Series | None = None
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        shown = values if values is not None else self.raw.get(field, pd.Series([""] * len(self.raw)))
        shown_list = shown.iloc[idx].astype(str).str.slice(0, 80).tolist()
        reasons = reason.iloc[idx].tolist() if isinstance(reason, pd.Series) else [reason] * idx.size
        self.errors.extend(
            RowError(int(i) + 1, field, v, r) for i, v, r in zip(idx, shown_list, reasons, strict=True)
        )
        self.bad |= mask


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


def _parse_numbers(values: pd.Series) -> pd.Series:
    """Floats from strings with a decimal point or a Swedish decimal comma; NaN where unparseable."""
    cleaned = values.astype(str).str.strip().str.replace("\u2212", "-", regex=False).str.replace(",", ".")
    return pd.to_numeric(cleaned, errors="coerce")


def parse_timestamps(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """UTC timestamps from ISO 8601 strings; local time (``tz``) where no offset is given.

    Returns (timestamps, reason) where reason is '' for good rows. Month-only dates ("2026-03") and
    day-only dates are accepted (their first instant, local time).
    """
    text = values.astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET, regex=True)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    reason = pd.Series("", index=values.index, dtype=object)
    if has_offset.any():
        out[has_offset] = pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce")
    naive = ~has_offset & (text != "")
    if naive.any():
        local = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        try:
            localized = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        except (TypeError, AttributeError):  # mixed/odd values: fall back to element-wise parsing
            localized = pd.to_datetime(text[naive], errors="coerce").dt.tz_localize(
                tz, ambiguous="NaT", nonexistent="NaT"
            )
        out[naive] = localized.dt.tz_convert("UTC")
        dst = naive & out.isna() & local.reindex(values.index).notna()
        reason[dst] = (
            f"local time that does not exist or is ambiguous in {tz} (DST change); give a UTC offset"
        )
    reason[(text == "")] = "missing"
    reason[out.isna() & (reason == "")] = "not a date/time; use ISO 8601, e.g. 2026-03-14T21:35:00+01:00"
    return out, reason


def _coordinates(
    raw: pd.DataFrame, cols: dict[str, str], crs: str | None, problems: _Problems
) -> tuple[pd.Series, pd.Series, str]:
    """(lat, lon) in WGS84 and the name of the field to blame for coordinate errors."""
    source_crs = crs or raw.attrs.get("crs") or "EPSG:4326"
    try:
        crs_obj = CRS.from_user_input(source_crs)
    except CRSError as exc:
        raise ImportRejected(f"unknown coordinate reference system {source_crs!r}: {exc}") from exc
    if "_x" in raw:
        problems.add(raw["_geom_type"] != "Point", "geometry", "not a Point geometry", raw["_geom_type"])
        x, y = raw["_x"].astype(float), raw["_y"].astype(float)
        blame = "geometry"
    elif crs_obj.is_geographic:
        for fld in ("lat", "lon"):
            if fld not in cols:
                raise ImportRejected(
                    f"no {fld} column; columns: {', '.join(raw.columns)} (use --map {fld}=NAME)"
                )
        y, x = _parse_numbers(raw[cols["lat"]]), _parse_numbers(raw[cols["lon"]])
        blame = "lat/lon"
    else:
        xcol = cols.get("x") or cols.get("lon")
        ycol = cols.get("y") or cols.get("lat")
        if not xcol or not ycol:
            raise ImportRejected(f"no x/y (easting/northing) columns for {source_crs}; use --map x=…,y=…")
        x, y = _parse_numbers(raw[xcol]), _parse_numbers(raw[ycol])
        blame = "x/y"
    finite = np.isfinite(x.to_numpy()) & np.isfinite(y.to_numpy())
    problems.add(~finite, blame, "missing, NaN or not a number", x.astype(str) + " " + y.astype(str))
    if crs_obj.is_geographic and crs_obj.equals("EPSG:4326"):
        lon, lat = x, y
    else:
        to_wgs = Transformer.from_crs(crs_obj, "EPSG:4326", always_xy=True)
        lon_a, lat_a = to_wgs.transform(x.to_numpy(), y.to_numpy())
        lon, lat = pd.Series(lon_a, index=raw.index), pd.Series(lat_a, index=raw.index)
    return lat, lon, blame


def _extent_reasons(
    lat: pd.Series, lon: pd.Series, x_raw: pd.Series, y_raw: pd.Series, areas: Areas, buffer_m: float
) -> tuple[np.ndarray, pd.Series]:
    """Mask of points outside the extent, with a diagnosis of likely mistakes (swapped, SWEREF 99 TM)."""
    inside = areas.within_extent(lat, lon, buffer_m)
    outside = ~inside & np.isfinite(lat.to_numpy())
    reason = pd.Series("outside the municipality's extent", index=lat.index, dtype=object)
    if outside.any():
        swapped = areas.within_extent(lon, lat, buffer_m) & outside
        reason[swapped] = (
            "outside the municipality; with lat and lon swapped it would be inside: check columns"
        )
        to_wgs = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)
        slon, slat = to_wgs.transform(x_raw.to_numpy(float), y_raw.to_numpy(float))
        sweref = areas.within_extent(slat, slon, buffer_m) & outside & ~swapped
        reason[sweref] = (
            "outside the municipality; read as SWEREF 99 TM (EPSG:3006) it would be inside: use --crs EPSG:3006"
        )
    return outside, reason


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
    cols = _resolve_columns(raw, column_map)
    problems = _Problems(raw)
    taxonomy = settings.taxonomy

    def column(fld: str, default: str = "") -> pd.Series:
        return (
            raw[cols[fld]].astype(str).str.strip() if fld in cols else pd.Series([default] * n, dtype=object)
        )

    # source and category: ids, labels or aliases from the taxonomy file
    src_raw = column("source", default_source or "")
    if default_source is not None:
        src_raw = src_raw.where(src_raw != "", default_source)
    source = src_raw.str.lower().map(taxonomy.source_lookup())
    problems.add(src_raw == "", "source", "missing (give a source column or --source)", src_raw)
    problems.add(
        source.isna(),
        "source",
        f"unknown source; known: {', '.join(t.id for t in taxonomy.sources)}",
        src_raw,
    )
    cat_raw = column("category")
    category = cat_raw.str.lower().map(taxonomy.category_lookup())
    problems.add(cat_raw == "", "category", "missing", cat_raw)
    problems.add(
        category.isna(),
        "category",
        f"unknown category; known: {', '.join(t.id for t in taxonomy.categories)}",
        cat_raw,
    )

    occurred, why = parse_timestamps(column("occurred_at"), settings.timezone)
    problems.add(why != "", "occurred_at", why, column("occurred_at"))
    problems.add(occurred > now_ts + FUTURE_TOLERANCE, "occurred_at", "in the future", column("occurred_at"))
    rep_text = column("reported_at")
    reported, why_r = parse_timestamps(rep_text, settings.timezone)
    given = rep_text != ""
    problems.add(given & (why_r != ""), "reported_at", why_r, rep_text)
    problems.add(given & (reported < occurred), "reported_at", "earlier than occurred_at", rep_text)
    problems.add(given & (reported > now_ts + FUTURE_TOLERANCE), "reported_at", "in the future", rep_text)

    lat, lon, blame = _coordinates(raw, cols, crs, problems)
    xr = raw["_x"] if "_x" in raw else _parse_numbers(column("lon") if "lon" in cols else column("x"))
    yr = raw["_y"] if "_y" in raw else _parse_numbers(column("lat") if "lat" in cols else column("y"))
    outside, why_out = _extent_reasons(
        lat, lon, xr.astype(float), yr.astype(float), areas, settings.extent_buffer_m
    )
    problems.add(outside, blame, why_out, lat.round(6).astype(str) + ", " + lon.round(6).astype(str))

    weight_text = column("weight")
    weight = _parse_numbers(weight_text.where(weight_text != "", "1"))
    problems.add(
        ~((weight > 0) & (weight <= MAX_WEIGHT)),
        "weight",
        f"must be a number in (0, {MAX_WEIGHT:g}]",
        weight_text,
    )
    note = column("note")
    problems.add(note.str.len() > MAX_NOTE_CHARS, "note", f"longer than {MAX_NOTE_CHARS} characters", note)

    source_id = column("source_id")
    missing_id = source_id == ""
    if missing_id.any():
        # Deterministic content hash: the same row imported again gets the same id, so it is not doubled.
        parts = [
            source,
            occurred.astype(str),
            category,
            lat.round(6).astype(str),
            lon.round(6).astype(str),
            note,
        ]
        key = pd.Series("", index=raw.index, dtype=object)
        for part in parts:
            key = key + "|" + part.astype(object).fillna("").astype(str)
        hashed = key[missing_id].map(lambda k: "h:" + hashlib.sha256(k.encode()).hexdigest()[:24])
        source_id = source_id.where(~missing_id, hashed)
    problems.add(source_id.str.len() > 128, "source_id", "longer than 128 characters", source_id)
    dup = pd.DataFrame({"s": source, "i": source_id}).duplicated(keep="first").to_numpy()
    if dup.any():
        first_row = (
            pd.DataFrame({"s": source, "i": source_id, "r": np.arange(1, n + 1)})
            .groupby(["s", "i"], dropna=False)["r"]
            .transform("min")
        )
        problems.add(
            dup, "source_id", "duplicate of row " + first_row.astype(str) + " in this file", source_id
        )

    good = ~problems.bad
    rows = pd.DataFrame(
        {
            "source": source[good].to_numpy(),
            "source_id": source_id[good].to_numpy(),
            "occurred_at": occurred[good].to_numpy(),
            "reported_at": reported[good].to_numpy(),
            "category": category[good].to_numpy(),
            "lat": lat[good].to_numpy(dtype=float),
            "lon": lon[good].to_numpy(dtype=float),
            "weight": weight[good].to_numpy(dtype=float),
            "note": note[good].where(note[good] != "", None).to_numpy(),
        }
    )
    rows["occurred_at"] = pd.to_datetime(rows["occurred_at"], utc=True)
    rows["reported_at"] = pd.to_datetime(rows["reported_at"], utc=True)
    rows["cell"] = latlng_to_cells(rows["lat"].to_numpy(), rows["lon"].to_numpy(), settings.stored_resolution)
    rows["area_id"] = areas.assign(rows["lat"].to_numpy(), rows["lon"].to_numpy())
    rows["created_by"] = created_by
    rows["created_at"] = now_ts.tz_convert("UTC") if now_ts.tzinfo else now_ts.tz_localize("UTC")
    errors = sorted(problems.errors, key=lambda e: (e.row, e.field))
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
    unless ``skip_invalid``; then the good rows are stored and ``result.errors`` lists the rejects."""
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


def import_bytes(engine: Engine, data: bytes, filename: str, **kwargs: object) -> ImportResult:
    """Import a file's content (CSV, GeoJSON or GeoPackage, told apart by the file name)."""
    raw = read_table(data, filename)
    crs = kwargs.pop("crs", None) or raw.attrs.get("crs")
    return import_frame(
        engine,
        raw,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        crs=crs,
        **kwargs,  # type: ignore[arg-type]
    )


def import_file(engine: Engine, path: Path, **kwargs: object) -> ImportResult:
    """Import a file from disk (see :func:`import_bytes`)."""
    return import_bytes(engine, path.read_bytes(), path.name, **kwargs)


def write_rejects(errors: list[RowError], path: Path) -> None:
    """The rejected rows' problems as CSV (row;field;value;reason), UTF-8 with BOM for Swedish Excel."""
    frame = pd.DataFrame(errors, columns=list(RowError._fields))
    frame.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
