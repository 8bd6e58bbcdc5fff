"""Validation building blocks of the import: whole text columns as Arrow strings, row problems collected
from masks, column names resolved against their Swedish and English aliases, numbers with a decimal comma.

Messages are only formatted for the rows that fail, so a clean file costs no per-row Python work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hotspots.errors import ImportRejected, RowError

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

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
#: What an error shows as the offending value: a text column, an array, or a formatter of the failing rows.
Shown: TypeAlias = pa.ChunkedArray | npt.NDArray[np.object_] | Callable[[npt.NDArray[np.intp]], list[str]]


class Options(NamedTuple):
    """How the caller names the import's options in messages: the CLI's flags or the API's parameters."""

    source: str = "--source"
    crs: str = "--crs"
    map: str | None = "--map"

    def map_hint(self, fld: str) -> str:
        return f"use {self.map} {fld}=NAME" if self.map else f"name the column {fld}"


CLI_OPTIONS = Options()
#: The API's form fields (/reports/import); it has no column mapping.
API_OPTIONS = Options(source="the form field source", crs="the form field crs", map=None)


def text(values: pd.Series) -> pa.ChunkedArray:
    """A column as trimmed Arrow strings ('' where missing; other dtypes formatted as text first)."""
    arrow = pa.array(values.astype("string[pyarrow]").array)
    if isinstance(arrow, pa.Array):
        arrow = pa.chunked_array([arrow])
    return pc.fill_null(pc.utf8_trim_whitespace(arrow), "")


def mask(condition: pa.ChunkedArray) -> Mask:
    """An Arrow boolean column as a numpy mask."""
    return np.asarray(condition.to_numpy(zero_copy_only=False), dtype=bool)


class Problems:
    """Collects row-level errors: vectorised masks in, RowError objects out (formatted for failing rows only)."""

    def __init__(self, n: int, first_row: int = 1) -> None:
        self.errors: list[RowError] = []
        self.bad = np.zeros(n, dtype=bool)
        self.first_row = first_row  # the number the first row is shown with (a spreadsheet's: 2)

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
            RowError(int(i) + self.first_row, field, str(v)[:80], r)
            for i, v, r in zip(idx, values, reasons, strict=True)
        )
        self.bad |= mask


def pairs(first: Floats, second: Floats, sep: str) -> list[str]:
    """'a<sep>b' for each pair of numbers, as an error shows a coordinate."""
    return [f"{a}{sep}{b}" for a, b in zip(first.tolist(), second.tolist(), strict=True)]


def resolve_columns(
    raw: pd.DataFrame, mapping: Mapping[str, str] | None, options: Options = CLI_OPTIONS
) -> dict[str, str]:
    """Canonical field -> column in the file (explicit ``mapping`` first, then the default aliases)."""
    by_lower = {c.strip().lower(): c for c in raw.columns}
    found: dict[str, str] = {}
    for fld, column in (mapping or {}).items():
        if fld not in DEFAULT_COLUMNS:
            raise ImportRejected(
                f"{options.map}: unknown field {fld!r}; fields: {', '.join(DEFAULT_COLUMNS)}"
            )
        if column.strip().lower() not in by_lower:
            raise ImportRejected(
                f"{options.map} {fld}={column}: no such column; columns: {', '.join(raw.columns)}"
            )
        found[fld] = by_lower[column.strip().lower()]
    for fld, aliases in DEFAULT_COLUMNS.items():
        if fld in found:
            continue
        for alias in aliases:
            if alias in by_lower and by_lower[alias] not in found.values():
                found[fld] = by_lower[alias]
                break
    return found


def lookup(text: pa.ChunkedArray, table: Mapping[str, str]) -> npt.NDArray[np.object_]:
    """Configured ids of (case-insensitive) names, None where unknown; each distinct name is looked up once."""
    encoded = text.combine_chunks().dictionary_encode()
    names = pc.utf8_lower(encoded.dictionary).to_pylist()
    ids = np.array([table.get(name) for name in names], dtype=object)
    return ids[encoded.indices.to_numpy(zero_copy_only=False)]


def parse_numbers(values: pa.ChunkedArray) -> Floats:
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
