"""Import pipeline: read a file, validate every row, reproject, bin into H3, assign areas, store.

Library first: the CLI (``hotspots import``) and the API's upload endpoint both call :func:`import_file`
or :func:`import_frame`. The default is all-or-nothing: one bad row rejects the batch, nothing is written,
and every problem is reported with its row number, field and reason. ``skip_invalid=True`` stores the good
rows and returns the rejects. Re-importing the same rows adds nothing (idempotent on source + source_id).

The steps have their own modules: :mod:`hotspots.ingest.readers` (files to raw text rows),
:mod:`hotspots.ingest.validation` (columns, masks, row problems), :mod:`hotspots.ingest.timestamps`,
:mod:`hotspots.ingest.coordinates`; this one joins them into rows for the store and writes them. Validation runs
on whole columns, so a clean million-row file costs no per-row Python work before the store.

Usage (needs a store, so not a doctest)::

    result = import_file(engine, Path("reports.csv"), settings=settings, areas=areas)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import Engine

from hotspots import csvout
from hotspots.config import Settings
from hotspots.errors import ImportRejected, RowError
from hotspots.geo.areas import Areas
from hotspots.geo.h3grid import latlng_to_cells
from hotspots.ingest.conflicts import changed_rows
from hotspots.ingest.coordinates import coordinates, extent_reasons
from hotspots.ingest.readers import read_table
from hotspots.ingest.timestamps import DstPolicy, instants
from hotspots.ingest.validation import (
    CLI_OPTIONS,
    Mask,
    Options,
    Problems,
    lookup,
    mask,
    parse_numbers,
    resolve_columns,
    text,
)
from hotspots.store import engine as store

MAX_NOTE_CHARS = 4000
#: Reports before this are typos (0001-01-01 was stored, then broke its own report view and `status`).
EARLIEST_REPORT = np.datetime64("1990-01-01T00:00:00", "us")
MAX_WEIGHT = 100.0
FUTURE_TOLERANCE = pd.Timedelta(minutes=5)


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
    #: The rejected rows as the file has them, indexed by the row numbers the errors name.
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def rows_rejected(self) -> int:
        return len({e.row for e in self.errors})


def _content_ids(parts: list[pd.Series], rows: Mask) -> list[str]:
    """Deterministic ids of rows without one: the same row imported again gets the same id, so it is not
    doubled. Identical rows in one file are distinct events (two reports of the same hour, place and
    category): the n-th copy's key carries ``#n``, so each is stored once and a re-import still adds
    nothing. (The text of each part, joined with '|', hashed; the format must never change.)"""
    key = pd.Series("", index=parts[0].index, dtype=object)
    for part in parts:
        key = key + "|" + part.astype(object).fillna("").astype(str)
    key = key[rows]
    copy = key.groupby(key, sort=False).cumcount().to_numpy()
    key = key.where(copy == 0, key + "#" + copy.astype(str))
    return ["h:" + hashlib.sha256(k.encode()).hexdigest()[:24] for k in key]


def _duplicates(
    source: npt.NDArray[np.object_], source_id: npt.NDArray[np.object_], first: int
) -> tuple[Mask, npt.NDArray[np.int64]]:
    """Rows whose (source, source_id) occurred earlier in the file, and each row's first row number."""
    id_codes, id_uniques = pd.factorize(source_id)
    source_codes, _ = pd.factorize(source)  # unknown sources (None) share code -1, as they did as NaN
    key = pd.Series(source_codes.astype(np.int64) * len(id_uniques) + id_codes)
    dup = key.duplicated(keep="first").to_numpy()
    if not dup.any():
        return dup, np.empty(0, dtype=np.int64)
    first_row = pd.Series(np.arange(first, len(key) + first)).groupby(key).transform("min").to_numpy()
    return dup, first_row


@dataclass
class Prepared:
    """Validated rows ready for the store, the rejected rows' errors, and the file's row count."""

    rows: pd.DataFrame
    errors: list[RowError]
    rows_read: int
    rejected: pd.DataFrame


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
    options: Options = CLI_OPTIONS,
    first_row: int = 1,
) -> Prepared:
    """Validate and enrich raw rows (vectorised over the whole frame). Never writes anything.

    ``first_row`` is the number errors give the first row (2 for a file: a spreadsheet's row, the header
    being row 1); ``options`` names the caller's options in messages. A column that is missing altogether
    is one error for the batch, not one per row."""
    n = len(raw)
    raw = raw.reset_index(drop=True)
    now_ts = pd.Timestamp(now or datetime.now(UTC))
    now_utc = now_ts.tz_convert("UTC") if now_ts.tzinfo else now_ts.tz_localize("UTC")
    latest = (now_utc + FUTURE_TOLERANCE).tz_localize(None).to_datetime64()
    cols = resolve_columns(raw, column_map, options)
    missing = [f for f in ("category", "occurred_at") if f not in cols]
    if "source" not in cols and default_source is None:
        missing.insert(0, "source")
    if missing:
        hint = f" (or give {options.source})" if missing[0] == "source" else ""
        raise ImportRejected(
            f"no {', '.join(missing)} column{hint}; columns: {', '.join(map(str, raw.columns))}; "
            f"{options.map_hint(missing[0])}"
        )
    problems = Problems(n, first_row)
    taxonomy = settings.taxonomy

    def column(fld: str, default: str = "") -> pa.ChunkedArray:
        return text(raw[cols[fld]]) if fld in cols else pa.chunked_array([pa.repeat(default, n)])

    # source and category: ids, labels or aliases from the taxonomy file
    src_raw = column("source", default_source or "")
    if default_source is not None:
        src_raw = pc.if_else(pc.equal(src_raw, ""), default_source, src_raw)
    source = lookup(src_raw, taxonomy.source_lookup())
    problems.add(
        mask(pc.equal(src_raw, "")), "source", f"missing (fill it in or give {options.source})", src_raw
    )
    problems.add(
        pd.isna(source),
        "source",
        f"unknown source; known: {', '.join(t.id for t in taxonomy.sources)}",
        src_raw,
    )
    cat_raw = column("category")
    category = lookup(cat_raw, taxonomy.category_lookup())
    problems.add(mask(pc.equal(cat_raw, "")), "category", "missing", cat_raw)
    problems.add(
        pd.isna(category),
        "category",
        f"unknown category; known: {', '.join(t.id for t in taxonomy.categories)}",
        cat_raw,
    )

    occ_text = column("occurred_at")
    dst = DstPolicy(settings.dst_policy)
    occurred, why = instants(occ_text, settings.timezone, dst)
    problems.add(np.isnat(occurred), "occurred_at", why, occ_text)
    problems.add(occurred > latest, "occurred_at", "in the future", occ_text)
    problems.add(occurred < EARLIEST_REPORT, "occurred_at", "before 1990-01-01", occ_text)
    rep_text = column("reported_at")
    reported, why_r = instants(rep_text, settings.timezone, dst)
    given = mask(pc.not_equal(rep_text, ""))
    problems.add(given & np.isnat(reported), "reported_at", why_r, rep_text)
    problems.add(given & (reported < occurred), "reported_at", "earlier than occurred_at", rep_text)
    problems.add(given & (reported > latest), "reported_at", "in the future", rep_text)

    points = coordinates(raw, cols, crs, problems, options)
    lat, lon = points.lat, points.lon
    area_id = areas.assign(lat, lon)
    outside, why_out = extent_reasons(
        lat, lon, ~pd.isna(area_id), points, areas, settings.extent_buffer_m, options
    )
    problems.add(outside, points.blame, why_out, points.written)

    weight_text = column("weight")
    weight = parse_numbers(pc.if_else(pc.equal(weight_text, ""), "1", weight_text))
    problems.add(
        ~((weight > 0) & (weight <= MAX_WEIGHT)),
        "weight",
        f"must be a number in (0, {MAX_WEIGHT:g}]",
        weight_text,
    )
    note = column("note")
    too_long = mask(pc.greater(pc.utf8_length(note), MAX_NOTE_CHARS))
    problems.add(too_long, "note", f"longer than {MAX_NOTE_CHARS} characters", note)
    nul = "contains a NUL byte"  # PostgreSQL text cannot hold one: the write failed with a 500
    problems.add(mask(pc.match_substring(note, "\x00")), "note", nul, note)

    id_text = column("source_id")
    problems.add(
        mask(pc.greater(pc.utf8_length(id_text), 128)), "source_id", "longer than 128 characters", id_text
    )
    problems.add(mask(pc.match_substring(id_text, "\x00")), "source_id", nul, id_text)
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
    dup, first_of = _duplicates(source, source_id, first_row)
    if dup.any():
        reason = np.array([f"duplicate of row {r} in this file" for r in first_of.tolist()], dtype=object)
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
    rejected = raw.loc[problems.bad, [c for c in raw.columns if not str(c).startswith("_")]]
    rejected.index = np.flatnonzero(problems.bad) + first_row
    rows.attrs["row"] = np.flatnonzero(good) + first_row  # file row numbers, for errors found when storing
    return Prepared(rows=rows, errors=errors, rows_read=n, rejected=rejected)


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
    options: Options = CLI_OPTIONS,
    first_row: int = 1,
) -> ImportResult:
    """Validate ``raw`` and store it in one transaction (``options`` and ``first_row`` as :func:`prepare`). Raises ImportRejected (nothing written) on errors
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
        options=options,
        first_row=first_row,
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
        rejected=prepared.rejected,
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
    options: Options = CLI_OPTIONS,
) -> ImportResult:
    """Import a file's content (CSV, GeoJSON or GeoPackage, told apart by the file name). Errors number a
    CSV's rows as a spreadsheet does (the header is row 1) and a vector file's features from 1."""
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
        options=options,
        first_row=1 if "_x" in raw else 2,
    )


def import_file(engine: Engine, path: Path, **options: Any) -> ImportResult:
    """Import a file from disk; ``options`` are :func:`import_bytes`' keyword arguments."""
    return import_bytes(engine, path.read_bytes(), path.name, **options)


def write_rejects(result: ImportResult, path: Path) -> None:
    """The rejected rows as CSV for Swedish Excel: row;field;value;reason, then the row as the file had it.
    The values are the file's own text, so they go through :mod:`hotspots.csvout` (a rejected
    ``=HYPERLINK(…)`` stays text)."""
    path.write_bytes(rejects_csv(result))


def rejects_csv(result: ImportResult) -> bytes:
    """:func:`write_rejects`' content (the upload page offers it for download)."""
    errors = pd.DataFrame(result.errors, columns=list(RowError._fields))
    original = result.rejected.add_prefix("original:") if not result.rejected.empty else pd.DataFrame()
    table = errors.join(original, on="row") if not original.empty else errors
    return csvout.to_csv(table)
