"""The import's fast paths give the same stored rows as the plain ones: chunk boundaries, statement
literals, the SQLite bulk load (indexes dropped and rebuilt), Arrow's CSV reader and its parsers."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.geo.h3grid import latlng_to_cells
from hotspots.ingest import pipeline as ingest
from hotspots.ingest import timestamps, validation
from hotspots.store import bulk_insert
from hotspots.store import engine as store
from hotspots.store.engine import open_store
from hotspots.store.schema import reports

COLUMNS = ["source_id", "occurred_at", "reported_at", "lat", "lon", "weight", "note", "area_id", "cell"]


def batch(n: int, first: int = 0) -> pd.DataFrame:
    """Rows whose optional columns change between chunks: constant runs, NULL runs, then varying values."""
    i = np.arange(first, first + n)
    occurred = pd.Timestamp("2026-03-01T00:00:00Z") + pd.to_timedelta(i, unit="min")
    lat, lon = 59.27 + (i % 97) * 1e-4, 15.20 + (i % 89) * 1e-4
    return pd.DataFrame(
        {
            "source": "police",
            "source_id": [f"T-{k}" for k in i],
            "occurred_at": occurred,
            "reported_at": occurred.where(i % 10 >= 5) + pd.Timedelta(hours=1),  # NaT runs of 5
            "category": "seizure",
            "lat": lat,
            "lon": lon,
            "cell": latlng_to_cells(lat, lon, 12),
            "area_id": pd.Series(np.where(i % 3 == 0, None, "vivalla"), dtype=object),
            "weight": np.where(i < 20, 1.0, 1.0 + (i % 4)),  # one value in the first chunks only
            "note": pd.Series(np.where(i % 14 < 7, None, [f"n{k}" for k in i]), dtype=object),
            "import_id": 1,
            "created_by": "tester",
            "created_at": pd.Timestamp("2026-04-01T12:00:00Z"),
        }
    )


def insert(engine: sa.Engine, rows: pd.DataFrame, chunk: int) -> int:
    with store.transaction(engine) as conn:
        return store.insert_reports(conn, rows, chunk=chunk)


def stored(engine: sa.Engine) -> pd.DataFrame:
    frame = store.read_reports(engine, columns=COLUMNS)
    return frame.sort_values("source_id", key=lambda s: s.str[2:].astype(int)).reset_index(drop=True)


def expected(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows[COLUMNS].copy()
    out["cell"] = out["cell"].astype(np.uint64)
    return out


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    for name in COLUMNS:
        left = got[name].astype(object).where(got[name].notna(), None).tolist()
        right = want[name].astype(object).where(want[name].notna(), None).tolist()
        assert left == right, name


@pytest.mark.parametrize("chunk", [7, 10, 1000])
def test_every_value_survives_chunk_boundaries(store_url: str, chunk: int) -> None:
    engine = open_store(Settings(database_url=store_url))
    rows = batch(45)
    assert insert(engine, rows, chunk) == 45
    assert_same(stored(engine), expected(rows))


@pytest.fixture
def bulk_from_20_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_insert, "BULK_LOAD_ROWS", 20)


def sqlite_indexes(url: str) -> set[str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return {row[1] for row in db.execute("PRAGMA index_list(reports)")}


def test_bulk_load_stores_the_same_rows_and_restores_the_indexes(
    sqlite_settings: Settings, tmp_path: Path, bulk_from_20_rows: None
) -> None:
    engine = open_store(sqlite_settings)
    indexes = sqlite_indexes(sqlite_settings.database_url)
    assert {"ix_reports_cell", "ix_reports_occurred_at"} <= indexes
    first = batch(30)
    assert insert(engine, first, chunk=8) == 30  # bulk: 30 rows >= 20 and >= an empty table
    again = pd.concat([first.iloc[10:], batch(25, first=30)], ignore_index=True)
    assert insert(engine, again, chunk=8) == 25  # 45 rows >= 30 stored: bulk again, repeats skipped
    assert sqlite_indexes(sqlite_settings.database_url) == indexes
    assert_same(stored(engine), expected(batch(55)))
    with engine.connect() as conn:  # the rebuilt index answers queries
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM reports WHERE cell = 1").all()
    assert "ix_reports_cell" in str(plan)


def test_a_failed_bulk_load_leaves_table_and_indexes_as_they_were(
    sqlite_settings: Settings, bulk_from_20_rows: None
) -> None:
    engine = open_store(sqlite_settings)
    indexes = sqlite_indexes(sqlite_settings.database_url)
    with pytest.raises(RuntimeError), store.transaction(engine) as conn:
        store.insert_reports(conn, batch(30), chunk=8)
        raise RuntimeError("crash after the rows, before the commit")
    assert sqlite_indexes(sqlite_settings.database_url) == indexes
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one() == 0


HEADER = "source;source_id;occurred_at;category;lat;lon;note"


def write(path: Path, lines: list[str]) -> Path:
    path.write_bytes("\ufeff".encode() + "\r\n".join(lines).encode())
    return path


def test_csv_quoted_newlines_short_rows_and_duplicate_headers(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    row = "police;{id};2026-03-10T21:35:00+01:00;seizure;59,2860;15,1700"
    quoted = write(tmp_path / "q.csv", [HEADER, row.format(id="Q1") + ';"rad ett\nrad två; med semikolon"'])
    short = write(tmp_path / "s.csv", [HEADER, row.format(id="S1") + ";x", row.format(id="S2")])  # no note
    twice = write(tmp_path / "d.csv", [HEADER + ";note", row.format(id="D1") + ";a;b"])
    for path in (quoted, short, twice):
        ingest.import_file(open_store(sqlite_settings), path, settings=sqlite_settings, areas=areas)
    notes = store.read_reports(open_store(sqlite_settings), columns=("source_id", "note")).fillna("")
    assert dict(zip(notes["source_id"], notes["note"], strict=True)) == {
        "Q1": "rad ett\nrad två; med semikolon",
        "S1": "x",
        "S2": "",
        "D1": "a",  # pandas names the second 'note' column 'note.1'
    }


def test_number_parsing_matches_python_float_with_and_without_odd_values() -> None:
    plain = ["59.2985", "-15.5", "1e-3", "7", "+2.5", "0.1234567890123"]
    odd = [*plain, "1,5", "\u22123,25", "abc", "", "1.2.3"]
    want = [float(v) for v in plain] + [1.5, -3.25, np.nan, np.nan, np.nan]
    for values, reference in ((plain, want[: len(plain)]), (odd, want)):
        got = validation.parse_numbers(validation.text(pd.Series(values)))
        np.testing.assert_array_equal(got, np.array(reference))


def test_offset_timestamps_match_pandas_iso8601_parser_on_both_paths() -> None:
    stamps = [
        "2026-03-14T21:35:00+01:00",
        "2026-03-14T21:35:00+0100",
        "2026-07-01 08:00:00.250-02:30",
        "2026-03-14T21:35:00Z",
        "2026-03-14T21:35+01:00",
    ]
    for values in (stamps, [*stamps, "2026-02-30T10:00:00+01:00"]):  # the invalid day forces the fallback
        got, reason = timestamps.parse_timestamps(pd.Series(values), "Europe/Stockholm")
        want = pd.to_datetime(pd.Series(values), format="ISO8601", utc=True, errors="coerce")
        assert got.tolist()[: len(stamps)] == want.tolist()[: len(stamps)]
        assert reason.tolist()[: len(stamps)] == [""] * len(stamps)
    assert pd.isna(got.iloc[-1]) and reason.iloc[-1].startswith("not a date/time")


def test_prepare_keeps_text_as_python_strings_for_the_store(areas: Areas) -> None:
    raw = pd.DataFrame(
        {
            "Källa": ["Polisen"],
            "id": ["A"],
            "datum": ["2026-03-10 21:35"],
            "typ": ["beslag"],
            "lat": ["59.2860"],
            "lon": ["15.1700"],
        }
    )
    now = datetime(2026, 4, 1, tzinfo=UTC)
    rows = ingest.prepare(raw, settings=Settings(), areas=areas, now=now).rows
    assert rows[["source", "category", "area_id"]].iloc[0].tolist() == ["police", "seizure", "varberga"]
    assert rows["occurred_at"].iloc[0] == pd.Timestamp("2026-03-10T20:35:00Z")
    assert all(rows[c].dtype == object for c in ("source", "source_id", "category", "note", "area_id"))
