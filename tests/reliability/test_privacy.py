"""Privacy: field users limited to an area see nothing of other areas; planner exports of the demo hold no
small cells, no report coordinates and no free text; no aggregated response ever carries note text.

Notes are seeded with a unique marker string, and every aggregated response (statistics, priority lists,
exports, tiles, the map page, the weekly report) is searched for it as bytes, so compressed or binary
formats (GeoPackage, MVT) are covered too. The analyst's report list is the control: the marker is there.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import h3
import morecantile
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from api.main import create_app
from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import read_reports
from tests.api.conftest import CLUSTER, END, FIELD_AREA, Api, api_settings, make_api
from tests.conftest import DemoStore

MARKER = "ZQX7-anteckning-MARKÖR-4411"
OTHER_AREA = "baronbackarna"
Q = {"end": END.isoformat(), "window": "28d"}
TMS = morecantile.tms.get("WebMercatorQuad")
TILE_LAYERS = ("cells", "heat", "hotspots", "emerging", "measures", "areas")


@pytest.fixture(scope="module")
def marked_api(tmp_path_factory: pytest.TempPathFactory, areas: Areas) -> Iterator[Api]:
    """The seeded API store plus a hotspot in another area than the field user's, every note marked."""
    api = make_api(api_settings(f"sqlite:///{tmp_path_factory.mktemp('privacy') / 'store.db'}"), areas)
    rows = []
    for area_id in (FIELD_AREA, OTHER_AREA):
        lat, lon = api.point(area_id)
        rows += [
            {
                "source": "police",
                "source_id": f"M-{area_id}-{i}",
                "occurred_at": f"2026-11-{1 + i:02d}T22:00:00+01:00",
                "category": "observed_dealing",
                "lat": str(lat),
                "lon": str(lon),
                "note": f"{MARKER} {area_id} {i}",
            }
            for i in range(CLUSTER)
        ]
    ingest.import_frame(api.engine, pd.DataFrame(rows), settings=api.settings, areas=areas, created_by="seed")
    yield api
    api.engine.dispose()


def _tiles(api: Api, zoom: int) -> list[morecantile.Tile]:
    points = [api.point(a) for a in (FIELD_AREA, OTHER_AREA)]
    return sorted({TMS.tile(lon, lat, zoom) for lat, lon in points})


def _priority_bodies(api: Api, role: str, **query: str) -> dict[str, bytes]:
    bodies = {}
    for fmt in ("json", "csv", "geojson", "html"):
        response = api.client.get("/priorities", headers=api.auth(role), params=Q | query | {"format": fmt})
        assert response.status_code == 200, (fmt, response.text)
        bodies[fmt] = response.content
    return bodies


def test_field_user_sees_nothing_of_other_areas(marked_api: Api) -> None:
    other_cell, own_cell = marked_api.cell(OTHER_AREA), marked_api.cell(FIELD_AREA)
    for fmt, body in _priority_bodies(marked_api, "est").items():  # control: the other area is a hotspot
        assert b"Baronbackarna" in body and (fmt == "html" or other_cell.encode() in body), fmt
    for fmt, body in _priority_bodies(marked_api, "field").items():
        assert b"Vivalla" in body and (fmt == "html" or own_cell.encode() in body), fmt
        assert other_cell.encode() not in body and b"baronbackarna" not in body.lower(), fmt

    field = marked_api.auth("field")
    for name in (OTHER_AREA, "Baronbackarna"):
        refused = marked_api.client.get("/priorities", headers=field, params=Q | {"area": name})
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    mixed = marked_api.client.get("/priorities", headers=field, params=Q | {"area": [FIELD_AREA, OTHER_AREA]})
    assert mixed.status_code == 404

    tile = _tiles(marked_api, 12)[0]
    forbidden = [f"/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.mvt" for layer in TILE_LAYERS]
    forbidden += [f"/exports/cells.{fmt}" for fmt in ("csv", "geojson", "gpkg")]
    forbidden += ["/map", "/statistics/summary", "/statistics/cells", "/reports", "/report/weekly"]
    for path in forbidden:
        response = marked_api.client.get(path, headers=field, params=Q)
        assert response.status_code == 403, (path, response.status_code)
        assert response.json()["error"]["code"] == "forbidden"


def _aggregated_responses(api: Api) -> dict[str, bytes]:
    """Every aggregated endpoint's body (est and planner roles), tiles at two zooms over both clusters."""
    est, planner = api.auth("est"), api.auth("planner")
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = [
        (f"/statistics/{name}", est, Q | extra)
        for name in ("summary", "cells", "hotspots", "emerging", "change")
        for extra in ({}, {"format": "geojson"})
        if not (name in {"summary", "change"} and extra)
    ]
    requests += [
        (f"/exports/cells.{fmt}", who, query)
        for fmt in ("csv", "geojson", "gpkg", "meta.json")
        for who, query in ((est, Q), (planner, {}))  # planners: the latest fixed publication
    ]
    requests += [("/map", est, Q), ("/report/weekly", est, {"week": "2026-W46"})]
    requests += [
        (f"/tiles/{layer}/{t.z}/{t.x}/{t.y}.mvt", est, Q)
        for layer in TILE_LAYERS
        for zoom in (11, 14)
        for t in _tiles(api, zoom)
    ]
    bodies = {f"priorities.{fmt}": body for fmt, body in _priority_bodies(api, "est").items()}
    for path, headers, query in requests:
        response = api.client.get(path, headers=headers, params=query)
        assert response.status_code in {200, 204}, (path, response.status_code, response.text[:300])
        bodies[f"{path}?{sorted(query.items())}"] = response.content
    return bodies


def test_no_aggregated_response_contains_note_text(marked_api: Api) -> None:
    control = marked_api.client.get("/reports", headers=marked_api.auth("analyst"), params={"limit": 1000})
    assert MARKER in control.text  # the analyst's raw view is where notes live
    bodies = _aggregated_responses(marked_api)
    assert sum(len(b) > 0 for b in bodies.values()) >= 25  # empty tiles are 204s
    needles = [MARKER.encode(), MARKER.encode("utf-16-le"), b"hemlig anteckning"]
    leaks = [name for name, body in bodies.items() if any(n in body for n in needles)]
    assert leaks == []


# ------------------------------------------------------------------ planner exports on the demo data


@pytest.fixture(scope="module")
def demo_exports(demo_store: DemoStore) -> dict[str, bytes]:
    """The three planner exports of the demo's last 28 days (a fresh app: computed, not from a cache)."""
    app = create_app(demo_store.settings, demo_store.engine)
    accounts.add_user(demo_store.engine, "privacy-est", Role.EST, password="privacy-test-pw-1")
    key = accounts.create_key(demo_store.engine, "privacy-est")
    client = TestClient(app)
    query = {"end": demo_store.end.isoformat(), "window": "28d"}
    bodies = {}
    for fmt in ("csv", "geojson", "gpkg"):
        response = client.get(f"/exports/cells.{fmt}", headers={"X-API-Key": key}, params=query)
        assert response.status_code == 200, response.text
        bodies[fmt] = response.content
    return bodies


def _window_counts(demo: DemoStore) -> pd.Series:
    """Reports per analysis cell (hex) in the export's window, counted here from the raw rows."""
    tz = demo.settings.timezone  # local calendar days: the window crosses the end of summer time
    start, stop = (pd.Timestamp(demo.end + timedelta(days=d), tz=tz) for d in (-27, 1))
    frame = read_reports(demo.engine, start=start, end=stop, columns=("lat", "lon"))
    res = demo.settings.analysis_resolution  # the cell containing each point (h3-py, not our binning)
    return pd.Series(
        [h3.latlng_to_cell(lat, lon, res) for lat, lon in zip(frame["lat"], frame["lon"], strict=True)]
    ).value_counts()


def test_planner_exports_of_the_demo_hold_only_cells_over_the_threshold(
    demo_store: DemoStore, demo_exports: dict[str, bytes], tmp_path: Path
) -> None:
    threshold = demo_store.settings.suppression_threshold
    counts = _window_counts(demo_store)
    expected = set(counts[counts >= threshold].index)
    assert len(expected) >= 10 and (counts < threshold).sum() >= 10  # both kinds exist in the demo
    csv_frame = pd.read_csv(
        io.BytesIO(demo_exports["csv"]),
        sep=";",
        decimal=",",
        comment="#",
        encoding="utf-8-sig",
        dtype={"cell": str},
    )
    geojson = json.loads(demo_exports["geojson"])
    (tmp_path / "cells.gpkg").write_bytes(demo_exports["gpkg"])
    gpkg = pyogrio.read_dataframe(tmp_path / "cells.gpkg", layer="cells")
    properties = pd.DataFrame([f["properties"] for f in geojson["features"]])
    for name, cells, exported_counts in (
        ("csv", csv_frame["cell"], csv_frame["count"]),
        ("geojson", properties["cell"], properties["count"]),
        ("gpkg", gpkg["cell"], gpkg["count"]),
    ):
        assert set(cells) == expected, name  # 0 cells under the threshold, none missing
        assert (exported_counts.to_numpy() >= threshold).all(), name
        assert dict(zip(cells, exported_counts, strict=True)) == counts[list(cells)].to_dict(), name
    assert geojson["metadata"]["cells_suppressed"] == int((counts < threshold).sum())


def _coordinate_pairs(text: str) -> set[tuple[float, float]]:
    """Every pair of decimal numbers that follow each other in ``text`` (lon,lat or lat;lon), rounded to
    the 6 decimals (~0.1 m) that report coordinates are given in."""
    numbers = [float(n.replace(",", ".")) for n in re.findall(r"-?\d+[.,]\d{3,}", text)]
    rounded = np.round(numbers, 6)
    return set(itertools.pairwise(rounded.tolist()))


def test_planner_exports_of_the_demo_hold_no_report_coordinates_or_notes(
    demo_store: DemoStore, demo_exports: dict[str, bytes], tmp_path: Path
) -> None:
    raw = read_reports(demo_store.engine, columns=("lat", "lon", "note", "source_id"))
    points = set(zip(raw["lat"].round(6), raw["lon"].round(6), strict=True))
    points |= {(lon, lat) for lat, lon in points}
    (tmp_path / "cells.gpkg").write_bytes(demo_exports["gpkg"])
    gpkg = pyogrio.read_dataframe(tmp_path / "cells.gpkg", layer="cells")
    vertices = shapely.get_coordinates(gpkg.geometry.to_numpy())
    texts = {
        "csv": demo_exports["csv"].decode("utf-8-sig"),
        "geojson": demo_exports["geojson"].decode(),
        "gpkg vertices": " ".join(f"{x:.9f} {y:.9f}" for x, y in vertices),
    }
    for name, text in texts.items():
        pairs = _coordinate_pairs(text)
        assert len(pairs) > 100, name  # the check sees the exported coordinates
        assert not pairs & points, (name, sorted(pairs & points)[:5])  # 0 report coordinates
    notes = set(raw["note"].dropna()) - {""}
    assert len(notes) > 100
    with sqlite3.connect(tmp_path / "cells.gpkg") as conn:
        dumped = "\n".join(conn.iterdump())
    for name, text in (("csv", texts["csv"]), ("geojson", texts["geojson"]), ("gpkg", dumped)):
        assert not [n for n in notes if n in text], name  # 0 free text
        assert not {"note", "source_id", "occurred_at"} & set(re.findall(r"[a-z_]+", text)), name
