"""Exports: planners get fixed publications only; small counts removed; no report-level fields; metadata
beside every format; CSV a plain table for Swedish Excel; GeoPackage 1.2 that Debian 12's GDAL reads
without warnings; GeoJSON per RFC 7946; SWEREF 99 TM on request."""

from __future__ import annotations

import io
import sqlite3
import warnings
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

from hotspots.csvout import neutralise
from hotspots.ingest import pipeline as ingest
from hotspots.publish.exports import BOUNDARY_ATTRIBUTION
from tests.api.conftest import CLUSTER, END, Api

Q = {"end": END.isoformat(), "window": "28d"}
REPORT_FIELDS = {"note", "source_id", "occurred_at", "lat", "lon", "created_by", "id"}
#: A past month, published by now, seeded below with a cell of SEPTEMBER reports.
SEPTEMBER = {"period": "2026-09", "group": "dealing"}
SEPTEMBER_CLUSTER = 7


def _seed_september(api: Api) -> None:
    lat, lon = api.point("vivalla")
    rows = [
        {"source": "police", "source_id": f"S{i}", "occurred_at": f"2026-09-{10 + i:02d}T21:00:00+02:00",
         "category": "observed_dealing", "lat": str(lat), "lon": str(lon)}
        for i in range(SEPTEMBER_CLUSTER)
    ]  # fmt: skip
    ingest.import_frame(
        api.engine, pd.DataFrame(rows), settings=api.settings, areas=api.areas, created_by="t"
    )


def test_geojson_export_keeps_only_cells_over_the_threshold(api: Api) -> None:
    response = api.client.get("/exports/cells.geojson", headers=api.auth("est"), params=Q)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    collection = response.json()
    cells = {f["properties"]["cell"]: f["properties"]["count"] for f in collection["features"]}
    assert cells == {api.cell("vivalla"): CLUSTER}  # Baronbackarna's 3 reports are under 5: removed
    assert not REPORT_FIELDS & set(collection["features"][0]["properties"])
    assert "crs" not in collection
    assert all(shapely.LinearRing(f["geometry"]["coordinates"][0]).is_ccw for f in collection["features"])
    meta = collection["metadata"]
    assert meta["threshold"] == api.settings.suppression_threshold == 5
    assert meta["attribution"] == BOUNDARY_ATTRIBUTION == "Statistiska centralbyrån, RegSO 2025"
    assert meta["resolution"] == api.settings.analysis_resolution and meta["cells_suppressed"] == 1
    assert meta["period_start"].startswith("2026-10-18T22:00") and meta["generated_at"]
    assert "hemlig" not in response.text


def test_csv_export_is_a_plain_table_with_its_metadata_beside_it(api: Api) -> None:
    response = api.client.get("/exports/cells.csv", headers=api.auth("est"), params=Q)
    assert response.headers["content-type"].startswith("text/csv")
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    assert not any(line.startswith("#") for line in text.splitlines())
    frame = pd.read_csv(io.StringIO(text), sep=";", decimal=",")  # no comment= needed: one header line
    assert frame["cell"].tolist() == [api.cell("vivalla")] and frame["count"].tolist() == [CLUSTER]
    assert 59 < frame["lat"].iloc[0] < 60  # decimal comma parsed back
    assert not (REPORT_FIELDS - {"lat", "lon"}) & set(frame.columns)
    assert frame["emerging_sv"].iloc[0] and frame["Gi_Bin_sv"].iloc[0]  # Swedish labels beside the codes
    link = response.headers["link"]
    assert link.startswith("</exports/cells.meta.json?") and 'rel="describedby"' in link
    meta = api.client.get(link[1 : link.index(">")], headers=api.auth("est")).json()
    assert meta["attribution"] == BOUNDARY_ATTRIBUTION and meta["threshold"] == 5 and meta["cells"] == 1


def test_gpkg_export_has_cells_and_a_metadata_table(api: Api, tmp_path: Path) -> None:
    response = api.client.get("/exports/cells.gpkg", headers=api.auth("est"), params=Q)
    assert response.status_code == 200
    path = tmp_path / "export.gpkg"
    path.write_bytes(response.content)
    # GeoPackage 1.2 (application_id "GPKG", user_version 10200): GDAL 3.6 (Debian 12) reads it without
    # the "may only be partially supported" warning it gives the 1.4 that newer GDALs write by default.
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == int.from_bytes(b"GPKG", "big")
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pyogrio.read_info(path, layer="cells")
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"cells", "metadata"}
    cells = pyogrio.read_dataframe(path, layer="cells")
    assert cells["count"].tolist() == [CLUSTER] and cells.crs.to_epsg() == 4326
    meta = pyogrio.read_dataframe(path, layer="metadata").set_index("key")["value"]
    assert meta["threshold"] == "5" and meta["attribution"] == BOUNDARY_ATTRIBUTION
    assert pyogrio.read_info(path, layer="cells")["layer_metadata"]["threshold"] == "5"


def test_exports_answer_304_to_a_current_etag(api: Api) -> None:
    first = api.client.get("/exports/cells.csv", headers=api.auth("est"), params=Q)
    again = api.client.get(
        "/exports/cells.csv", headers=api.auth("est") | {"If-None-Match": first.headers["etag"]}, params=Q
    )
    assert again.status_code == 304
    other_format = api.client.get("/exports/cells.geojson", headers=api.auth("est"), params=Q)
    assert other_format.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+46 19 21 10 00", "'+46 19 21 10 00"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Vivalla", "Vivalla"),
        ("Örebro - centrum", "Örebro - centrum"),
    ],
)
def test_formula_like_cells_are_neutralised(value: str, expected: str) -> None:
    assert neutralise(pd.Series([value])).tolist() == [expected]


def test_planners_get_the_fixed_publication_and_nothing_else(api: Api) -> None:
    _seed_september(api)
    planner = api.auth("planner")
    refused = api.client.get("/exports/cells.geojson", headers=planner, params=Q | {"area": "vivalla"})
    assert refused.status_code == 422
    assert {d["field"] for d in refused.json()["error"]["details"]} == {
        "query.end",
        "query.window",
        "query.area",
    }
    response = api.client.get("/exports/cells.geojson", headers=planner, params=SEPTEMBER)
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    assert [(f["properties"]["cell"], f["properties"]["count"]) for f in features] == [
        (api.cell("vivalla"), SEPTEMBER_CLUSTER)
    ]
    props = features[0]["properties"]
    assert props["period"] == "2026-09" and props["group_sv"] == "handel" and props["emerging_sv"]
    assert not {"GiZScore", "density", "weighted"} & set(props)  # no statistic that carries a count
    meta = response.json()["metadata"]
    assert meta["publication"] == "2026-09" and meta["group"] == "dealing" and meta["period_end"]
    for params, field in (
        ({"period": "2026-11"}, "query.period"),  # not over yet (+ the lag)
        ({"period": "2026-W40"}, "query.period"),
        ({"group": "all"}, "query.group"),  # "all" would difference against the groups
    ):
        bad = api.client.get("/exports/cells.csv", headers=planner, params=params)
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == field, bad.text


def test_sweref_99_tm_on_request_for_gpkg_and_csv_never_geojson(api: Api, tmp_path: Path) -> None:
    _seed_september(api)
    planner = api.auth("planner")
    wgs = api.client.get("/exports/cells.csv", headers=planner, params=SEPTEMBER).content
    tm = api.client.get("/exports/cells.csv", headers=planner, params=SEPTEMBER | {"crs": "EPSG:3006"})
    frame = pd.read_csv(io.BytesIO(tm.content), sep=";", decimal=",", encoding="utf-8-sig")
    lat = pd.read_csv(io.BytesIO(wgs), sep=";", decimal=",", encoding="utf-8-sig")["lat"].iloc[0]
    assert 6_560_000 < frame["N"].iloc[0] < 6_580_000 and 500_000 < frame["E"].iloc[0] < 520_000  # Örebro
    assert 59 < lat < 60
    gpkg = api.client.get("/exports/cells.gpkg", headers=planner, params=SEPTEMBER | {"crs": "EPSG:3006"})
    (tmp_path / "tm.gpkg").write_bytes(gpkg.content)
    cells = pyogrio.read_dataframe(tmp_path / "tm.gpkg", layer="cells")
    assert cells.crs.to_epsg() == 3006 and 6_560_000 < cells.geometry.centroid.y.iloc[0] < 6_580_000
    meta = pyogrio.read_dataframe(tmp_path / "tm.gpkg", layer="metadata").set_index("key")["value"]
    assert meta["crs"] == "EPSG:3006"
    refused = api.client.get(
        "/exports/cells.geojson", headers=planner, params=SEPTEMBER | {"crs": "EPSG:3006"}
    )
    assert refused.status_code == 422 and "RFC 7946" in refused.text


def test_missing_values_are_nulls_and_codes_carry_swedish_labels(api: Api) -> None:
    collection = api.client.get("/exports/cells.geojson", headers=api.auth("est"), params=Q).json()
    props = [f["properties"] for f in collection["features"]]
    assert props and all(p["moran_q"] is None or p["moran_q"] in {"HH", "HL", "LH", "LL"} for p in props)
    assert all(p["Gi_Bin_sv"].startswith(("hotspot", "kall fläck", "rapporter")) for p in props)
