"""Planner exports: small counts removed, no report-level fields, metadata in every format, CSV safe for
Swedish Excel, GeoPackage readable by GDAL, GeoJSON per RFC 7946."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

from hotspots.csvout import neutralise
from hotspots.exports import BOUNDARY_ATTRIBUTION
from tests.api.conftest import CLUSTER, END, Api

Q = {"end": END.isoformat(), "window": "28d"}
REPORT_FIELDS = {"note", "source_id", "occurred_at", "lat", "lon", "created_by", "id"}


def test_geojson_export_keeps_only_cells_over_the_threshold(api: Api) -> None:
    response = api.client.get("/exports/cells.geojson", headers=api.auth("planner"), params=Q)
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


def test_csv_export_is_for_swedish_excel(api: Api) -> None:
    response = api.client.get("/exports/cells.csv", headers=api.auth("planner"), params=Q)
    assert response.headers["content-type"].startswith("text/csv")
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    assert "# attribution;Statistiska centralbyrån, RegSO 2025" in text
    frame = pd.read_csv(io.StringIO(text), sep=";", decimal=",", comment="#")
    assert frame["cell"].tolist() == [api.cell("vivalla")] and frame["count"].tolist() == [CLUSTER]
    assert 59 < frame["lat"].iloc[0] < 60  # decimal comma parsed back
    assert not (REPORT_FIELDS - {"lat", "lon"}) & set(frame.columns)


def test_gpkg_export_has_cells_and_a_metadata_table(api: Api, tmp_path: Path) -> None:
    response = api.client.get("/exports/cells.gpkg", headers=api.auth("est"), params=Q)
    assert response.status_code == 200
    path = tmp_path / "export.gpkg"
    path.write_bytes(response.content)
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"cells", "metadata"}
    cells = pyogrio.read_dataframe(path, layer="cells")
    assert cells["count"].tolist() == [CLUSTER] and cells.crs.to_epsg() == 4326
    meta = pyogrio.read_dataframe(path, layer="metadata").set_index("key")["value"]
    assert meta["threshold"] == "5" and meta["attribution"] == BOUNDARY_ATTRIBUTION
    assert pyogrio.read_info(path, layer="cells")["layer_metadata"]["threshold"] == "5"


def test_exports_answer_304_to_a_current_etag(api: Api) -> None:
    first = api.client.get("/exports/cells.csv", headers=api.auth("planner"), params=Q)
    again = api.client.get(
        "/exports/cells.csv", headers=api.auth("planner") | {"If-None-Match": first.headers["etag"]}, params=Q
    )
    assert again.status_code == 304
    other_format = api.client.get("/exports/cells.geojson", headers=api.auth("planner"), params=Q)
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
