"""The import pipeline end to end: file on disk -> validated, H3-indexed, area-assigned rows in the store."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pyproj import Transformer
from shapely.geometry import Point

from hotspots.config import Settings
from hotspots.errors import ImportRejected
from hotspots.geo.areas import Areas
from hotspots.geo.h3grid import latlng_to_cells
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import dataset_version, open_store, read_reports
from hotspots.store.schema import reports

HEADER = "source,source_id,occurred_at,reported_at,category,lat,lon,weight,note"
# Vivalla centrum, Varberga centrum, Stortorget (city centre): points well inside their areas.
POINTS = [(59.2985, 15.1875), (59.2860, 15.1700), (59.2712, 15.2133)]


def good_rows(n: int = 6) -> list[str]:
    rows = []
    for i in range(n):
        lat, lon = POINTS[i % len(POINTS)]
        rows.append(
            f"police,P-{i},2026-03-{10 + i:02d}T21:35:00+01:00,2026-03-{10 + i:02d}T23:00:00+01:00,"
            f"observed_dealing,{lat},{lon},1,anteckning {i}"
        )
    return rows


def write_csv(path: Path, rows: list[str], header: str = HEADER, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


def count(settings: Settings) -> int:
    engine = open_store(settings)
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one())


def run_import(settings: Settings, areas: Areas, path: Path, **kw: object) -> ingest.ImportResult:
    return ingest.import_file(open_store(settings), path, settings=settings, areas=areas, **kw)


def test_good_file_is_stored_with_cells_and_areas(settings: Settings, areas: Areas, tmp_path: Path) -> None:
    result = run_import(settings, areas, write_csv(tmp_path / "r.csv", good_rows(6)))
    assert (result.rows_read, result.rows_added, result.rows_present) == (6, 6, 0)
    stored = read_reports(open_store(settings), columns=("source_id", "cell", "area_id", "occurred_at"))
    assert sorted(stored["area_id"].unique()) == ["1880R031", "varberga", "vivalla"]
    lat, lon = np.array(POINTS).T
    expected = dict(
        zip(
            ["vivalla", "varberga", "1880R031"],
            latlng_to_cells(lat, lon, settings.stored_resolution),
            strict=True,
        )
    )
    for area_id, cell in expected.items():
        assert set(stored.loc[stored["area_id"] == area_id, "cell"]) == {cell}
    # 21:35 local (CET, +01:00) is 20:35 UTC
    first = stored.sort_values("source_id").iloc[0]["occurred_at"]
    assert first == pd.Timestamp("2026-03-10T20:35:00Z")


def test_bad_row_in_the_middle_rejects_the_whole_batch(
    settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    rows = good_rows(9)
    rows[4] = rows[4].replace("observed_dealing", "fishing")
    path = write_csv(tmp_path / "r.csv", rows)
    version_before = dataset_version(open_store(settings))
    with pytest.raises(ImportRejected) as info:
        run_import(settings, areas, path)
    assert [(e.row, e.field) for e in info.value.errors] == [(6, "category")]  # Excel: header is row 1
    assert "unknown category" in info.value.errors[0].reason
    assert count(settings) == 0
    assert dataset_version(open_store(settings)) == version_before


def test_second_import_of_the_same_file_adds_nothing(
    settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", good_rows(5))
    first = run_import(settings, areas, path)
    version = first.dataset_version
    second = run_import(settings, areas, path)
    assert (second.rows_added, second.rows_present) == (0, 5)
    assert count(settings) == 5
    assert second.dataset_version == version  # nothing written, nothing to recompute


def test_rows_without_source_id_get_a_stable_content_hash(
    settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    rows = [",".join([*r.split(",")[:1], "", *r.split(",")[2:]]) for r in good_rows(3)]
    path = write_csv(tmp_path / "r.csv", rows)
    assert run_import(settings, areas, path).rows_added == 3
    assert run_import(settings, areas, path).rows_added == 0
    ids = read_reports(open_store(settings), columns=("source_id",))["source_id"]
    assert ids.str.startswith("h:").all()


def test_sweref_and_wgs84_land_in_the_same_cells_and_areas(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    to_sweref = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    lat, lon = np.array(POINTS).T
    east, north = to_sweref.transform(lon, lat)
    sweref_rows = [
        f"police,S-{i},2026-03-10T21:00:00+01:00,,seizure,{north[i]:.2f},{east[i]:.2f}"
        for i in range(len(POINTS))
    ]
    wgs_rows = [
        f"police,W-{i},2026-03-10T21:00:00+01:00,,seizure,{lat[i]},{lon[i]}" for i in range(len(POINTS))
    ]
    header = "source,source_id,occurred_at,reported_at,category,N,E"
    run_import(sqlite_settings, areas, write_csv(tmp_path / "s.csv", sweref_rows, header), crs="EPSG:3006")
    run_import(
        sqlite_settings,
        areas,
        write_csv(tmp_path / "w.csv", wgs_rows, header.replace("N,E", "lat,lon")),
    )
    stored = read_reports(open_store(sqlite_settings), columns=("source_id", "cell", "area_id")).set_index(
        "source_id"
    )
    for i in range(len(POINTS)):
        assert stored.loc[f"S-{i}", "cell"] == stored.loc[f"W-{i}", "cell"]
        assert stored.loc[f"S-{i}", "area_id"] == stored.loc[f"W-{i}", "area_id"]


def test_swapped_and_projected_coordinates_are_diagnosed(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    lat, lon = POINTS[0]
    rows = [
        f"police,A,2026-03-10T21:00:00+01:00,,seizure,{lon},{lat}",  # swapped
        "police,B,2026-03-10T21:00:00+01:00,,seizure,6574000,512000",  # SWEREF 99 TM given as lat/lon
        "police,C,2026-03-10T21:00:00+01:00,,seizure,57.70,11.97",  # Göteborg: simply outside
    ]
    with pytest.raises(ImportRejected) as info:
        run_import(sqlite_settings, areas, write_csv(tmp_path / "r.csv", rows, HEADER.rsplit(",", 2)[0]))
    reasons = {e.row: e.reason for e in info.value.errors}
    assert "swapped" in reasons[2]
    assert "SWEREF 99 TM" in reasons[3]
    assert "outside" in reasons[4] and "swapped" not in reasons[4] and "SWEREF" not in reasons[4]


def test_every_problem_names_row_field_and_reason(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    rows = good_rows(8)
    rows[0] = rows[0].replace("2026-03-10T21:35:00+01:00", "2099-01-01T10:00:00+01:00")  # future
    rows[1] = rows[1].replace("2026-03-11T21:35:00+01:00", "yesterday")
    rows[2] = rows[2].replace("2026-03-12T21:35:00+01:00", "2026-03-29 02:30")  # skipped by DST
    rows[3] = rows[3].replace(",1,", ",nan,")  # weight
    rows[4] = rows[4].replace("police", "martians")
    rows[5] = rows[5].replace("59.2712", "NaN")
    rows[6] = rows[6].replace("P-6", "P-5")  # duplicate id within the file
    with pytest.raises(ImportRejected) as info:
        run_import(sqlite_settings, areas, write_csv(tmp_path / "r.csv", rows))
    found = {(e.row, e.field) for e in info.value.errors}
    assert {  # the rows as Excel numbers them: the header is row 1
        (2, "occurred_at"),
        (3, "occurred_at"),
        (4, "occurred_at"),
        (5, "weight"),
        (6, "source"),
        (7, "lat/lon"),
        (8, "source_id"),
    } <= found
    assert (9, "category") not in found and not any(e.row == 9 for e in info.value.errors)
    reason = {(e.row, e.field): e.reason for e in info.value.errors}
    assert "future" in reason[2, "occurred_at"]
    assert "DST" in reason[4, "occurred_at"]
    assert "row 7" in reason[8, "source_id"]
    assert count(sqlite_settings) == 0


def test_skip_invalid_stores_the_good_rows_and_returns_rejects(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    rows = good_rows(5)
    rows[2] = rows[2].replace("observed_dealing", "")
    result = run_import(sqlite_settings, areas, write_csv(tmp_path / "r.csv", rows), skip_invalid=True)
    assert (result.rows_added, result.rows_rejected) == (4, 1)
    rejects = tmp_path / "rejects.csv"
    ingest.write_rejects(result, rejects)
    text = rejects.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and b"4;category" in text


def test_swedish_excel_csv_semicolon_bom_decimal_comma_and_labels(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    lat, lon = POINTS[1]
    lines = [
        "Källa;Ärendenummer;Tidpunkt;Kategori;Latitud;Longitud;Anteckning",
        f"Polisen;K-1;2026-03-10 21:35;Beslag;{str(lat).replace('.', ',')};{str(lon).replace('.', ',')};å ä ö",
    ]
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff".encode() + "\r\n".join(lines).encode("utf-8"))
    result = run_import(sqlite_settings, areas, path)
    assert result.rows_added == 1
    row = read_reports(open_store(sqlite_settings), columns=("source", "category", "area_id", "note")).iloc[0]
    assert (row["source"], row["category"], row["area_id"], row["note"]) == (
        "police",
        "seizure",
        "varberga",
        "å ä ö",
    )


def test_windows_1252_file_is_read_and_other_encodings_are_rejected_with_the_line(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path
) -> None:
    rows = [*good_rows(2), good_rows(3)[2].replace("anteckning", "hälsa från Örebro")]
    path = write_csv(tmp_path / "excel.csv", rows, encoding="cp1252")  # Excel's "CSV (semikolonavgränsad)"
    assert run_import(sqlite_settings, areas, path).rows_added == 3
    notes = read_reports(open_store(sqlite_settings), columns=("note",))["note"]
    assert "hälsa från Örebro" in " ".join(notes.dropna())
    broken = tmp_path / "broken.csv"
    broken.write_bytes(path.read_bytes().replace("å".encode("cp1252"), b"\x81"))  # undefined in both
    with pytest.raises(ImportRejected, match=r"neither UTF-8 nor Windows-1252.*line 4"):
        run_import(sqlite_settings, areas, broken)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_geojson_and_geopackage_points(
    sqlite_settings: Settings, areas: Areas, tmp_path: Path, suffix: str
) -> None:
    to_sweref = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    lat, lon = np.array(POINTS).T
    east, north = to_sweref.transform(lon, lat)
    frame = gpd.GeoDataFrame(
        {
            "source": ["police"] * 3,
            "source_id": ["G1", "G2", "G3"],
            "occurred_at": ["2026-03-10T21:00:00+01:00"] * 3,
            "category": ["arrest"] * 3,
        },
        geometry=[Point(e, n) for e, n in zip(east, north, strict=True)],
        crs="EPSG:3006",
    )
    path = tmp_path / f"pts{suffix}"
    frame.to_file(path)
    result = run_import(sqlite_settings, areas, path)
    assert result.rows_added == 3
    stored = read_reports(open_store(sqlite_settings), columns=("source_id", "cell")).sort_values("source_id")
    assert stored["cell"].tolist() == latlng_to_cells(lat, lon, sqlite_settings.stored_resolution).tolist()


def test_non_point_geometry_is_rejected(sqlite_settings: Settings, areas: Areas, tmp_path: Path) -> None:
    lat, lon = POINTS[0]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "source": "police",
                    "occurred_at": "2026-03-10T21:00:00+01:00",
                    "category": "arrest",
                },
                "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.001, lat]]},
            }
        ],
    }
    path = tmp_path / "line.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(ImportRejected) as info:
        run_import(sqlite_settings, areas, path)
    assert info.value.errors[0].field == "geometry" and "Point" in info.value.errors[0].reason
