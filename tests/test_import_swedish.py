"""Imports as Swedish files are: SWEREF 99 TM in X/Y (X = north) and N/E, every ISO 8601 offset form,
DST changes resolved by a setting, identical rows without ids, one error for a missing column, errors that
quote the file and name the caller's options, rejects that carry the original row."""

from __future__ import annotations

import io
from pathlib import Path

import h3
import pandas as pd
import pytest
from pyproj import Transformer

from hotspots.config import Settings
from hotspots.errors import ImportRejected
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.ingest.validation import API_OPTIONS
from hotspots.store.engine import open_store, read_reports
from tests.test_ingest import POINTS

TO_SWEREF = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)


def _import(
    settings: Settings, areas: Areas, text: str, name: str = "r.csv", **kw: object
) -> ingest.ImportResult:
    return ingest.import_bytes(
        open_store(settings), text.encode(), name, settings=settings, areas=areas, **kw
    )  # type: ignore[arg-type]


def _stored_cells(settings: Settings) -> dict[str, str]:
    frame = read_reports(open_store(settings), columns=("source_id", "lat", "lon"))
    return {
        sid: h3.latlng_to_cell(lat, lon, 12)
        for sid, lat, lon in zip(frame["source_id"], frame["lat"], frame["lon"], strict=True)
    }


def _expected_cells() -> dict[str, str]:
    return {f"S-{i}": h3.latlng_to_cell(lat, lon, 12) for i, (lat, lon) in enumerate(POINTS)}


def _sweref_rows(first: str, second: str, order: str) -> str:
    lines = [f"source;id;tidpunkt;kategori;{first};{second}"]
    for i, (lat, lon) in enumerate(POINTS):
        east, north = TO_SWEREF.transform(lon, lat)
        a, b = (north, east) if order == "NE" else (east, north)
        lines.append(f"police;S-{i};2026-03-10 21:00;beslag;{a:.2f};{b:.2f}".replace(".", ","))
    return "\n".join(lines) + "\n"


def test_sweref_x_y_with_x_north_is_read_the_swedish_way(sqlite_settings: Settings, areas: Areas) -> None:
    _import(sqlite_settings, areas, _sweref_rows("X", "Y", "NE"), crs="EPSG:3006")
    assert _stored_cells(sqlite_settings) == _expected_cells()


def test_n_e_columns_without_a_crs_are_recognised_as_sweref(sqlite_settings: Settings, areas: Areas) -> None:
    _import(sqlite_settings, areas, _sweref_rows("N", "E", "NE"))
    assert _stored_cells(sqlite_settings) == _expected_cells()


def test_sweref_numbers_in_lat_lon_columns_get_the_hint_naming_the_callers_option(
    sqlite_settings: Settings, areas: Areas
) -> None:
    text = _sweref_rows("lat", "lon", "NE")
    with pytest.raises(ImportRejected, match=r"SWEREF 99 TM.*--crs EPSG:3006"):
        _import(sqlite_settings, areas, text)
    with pytest.raises(ImportRejected, match=r"SWEREF 99 TM.*form field crs EPSG:3006") as info:
        _import(sqlite_settings, areas, text, options=API_OPTIONS)
    assert "--" not in str(info.value)


@pytest.mark.parametrize(
    "written",
    ["2020-06-27 04:00:00+00", "2020/06/27 04:00:00+00", "2020-06-27T04:00:00Z", "2020-06-27T06:00:00+0200",
     "2020-06-27 06:00+02:00", "2020/06/27 06:00"],
)  # fmt: skip
def test_every_offset_form_and_slashed_dates_parse(
    sqlite_settings: Settings, areas: Areas, written: str
) -> None:
    lat, lon = POINTS[0]
    _import(
        sqlite_settings,
        areas,
        f"source,id,occurred_at,category,lat,lon\npolice,T,{written},arrest,{lat},{lon}\n",
    )
    stored = read_reports(open_store(sqlite_settings), columns=("occurred_at",))["occurred_at"]
    assert stored.tolist() == [pd.Timestamp("2020-06-27 04:00:00", tz="UTC")]


@pytest.mark.parametrize(("policy", "hours"), [("earlier", [0, 0]), ("later", [1, 1])])
def test_a_setting_resolves_times_a_dst_change_makes_ambiguous_or_missing(
    tmp_path: Path, areas: Areas, policy: str, hours: list[int]
) -> None:
    lat, lon = POINTS[0]
    text = (
        "source,id,occurred_at,category,lat,lon\n"
        f"police,A,2026-10-25 02:30,arrest,{lat},{lon}\n"  # happens twice: 00:30 or 01:30 UTC
        f"police,B,2026-03-29 02:30,arrest,{lat},{lon}\n"  # never happens: 00:30 or 01:30 UTC
    )
    refuse = Settings(database_url=f"sqlite:///{tmp_path / 'refuse.db'}")
    with pytest.raises(ImportRejected) as info:
        _import(refuse, areas, text)
    assert [(e.row, e.field) for e in info.value.errors] == [(2, "occurred_at"), (3, "occurred_at")]
    assert "HOTSPOTS_DST_POLICY" in info.value.errors[0].reason
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'policy.db'}", dst_policy=policy)  # type: ignore[arg-type]
    _import(settings, areas, text)
    stored = read_reports(open_store(settings), columns=("occurred_at",))["occurred_at"].sort_values()
    assert [t.hour for t in stored] == hours and [t.minute for t in stored] == [30, 30]


def test_identical_rows_without_ids_are_separate_reports_and_a_reimport_adds_nothing(
    sqlite_settings: Settings, areas: Areas
) -> None:
    lat, lon = POINTS[1]
    row = f"police,2026-03-10 21:00,observed_dealing,{lat},{lon}\n"
    text = "source,occurred_at,category,lat,lon\n" + row * 3
    assert _import(sqlite_settings, areas, text).rows_added == 3
    again = _import(sqlite_settings, areas, text)
    assert (again.rows_added, again.rows_present) == (0, 3)
    assert _import(sqlite_settings, areas, text + row).rows_added == 1  # a fourth copy is a fourth event


def test_a_missing_column_is_one_error_naming_the_option(sqlite_settings: Settings, areas: Areas) -> None:
    lat, lon = POINTS[0]
    text = "id,occurred_at,category,lat,lon\n" + f"1,2026-03-10 21:00,arrest,{lat},{lon}\n" * 50
    with pytest.raises(ImportRejected, match=r"no source column \(or give --source\)") as info:
        _import(sqlite_settings, areas, text)
    assert info.value.errors == []
    with pytest.raises(ImportRejected, match=r"no source column \(or give the form field source\)"):
        _import(sqlite_settings, areas, text, options=API_OPTIONS)


def test_errors_quote_values_as_written_and_rejects_carry_the_original_row(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    lat, lon = POINTS[0]
    text = (
        "källa;id;tidpunkt;kategori;lat;lon;anteckning\n"
        f"police;1;2026-03-10 21:00;arrest;{str(lat).replace('.', ',')};{str(lon).replace('.', ',')};bra\n"
        "police;2;2026-03-10 21:00;arrest;57,70;11,97;Göteborg\n"
    )
    result = _import(sqlite_settings, areas, text, skip_invalid=True)
    (error,) = result.errors
    assert (error.row, error.field, error.value) == (3, "lat/lon", "57,70; 11,97")  # Excel's row 3
    rejects = tmp_path / "rejects.csv"
    ingest.write_rejects(result, rejects)
    frame = pd.read_csv(io.BytesIO(rejects.read_bytes()), sep=";", encoding="utf-8-sig", dtype=str)
    assert frame.loc[0, "row"] == "3" and "outside" in frame.loc[0, "reason"]
    assert frame.loc[0, "original:anteckning"] == "Göteborg" and frame.loc[0, "original:lat"] == "57,70"
