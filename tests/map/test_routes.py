"""Tile and page endpoints over the demo store: tiles carry exactly the statistics, cache correctly, and the
page references nothing outside the app."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient

import maps
from hotspots.analysis.compute import Analysis
from hotspots.analysis.query import week_name
from hotspots.config import Settings
from hotspots.geo import h3grid
from hotspots.measures.follow_up import follow_up
from hotspots.measures.records import record_measure
from hotspots.store.engine import open_store, read_reports
from maps.layers import HEAT_FLOOR, complete_weeks
from maps.page import PageQuery, standalone_map, standalone_page
from maps.routes import MapFactory, page_csp
from maps.tilegrid import TMS, cells_from_feature_ids, resolution_for_zoom
from tests.conftest import DemoStore
from tests.map.conftest import MapServer, signed_in_client

STATIC = Path(maps.__file__).parent / "static"
ORIGIN = (15.2134, 59.2753)  # Örebro, in the middle of the partnership areas


@pytest.fixture(scope="module")
def client(map_server: MapServer) -> Iterator[TestClient]:
    with signed_in_client(map_server.demo) as test_client:
        yield test_client


def covering_tiles(analysis: Analysis, zoom: int) -> list[Any]:
    """Every tile of ``zoom`` that the lattice reaches into."""
    lat, lon = h3grid.cells_to_latlng(analysis.lattice.cells)
    return list(TMS.tiles(lon.min() - 0.01, lat.min() - 0.01, lon.max() + 0.01, lat.max() + 0.01, [zoom]))


def decoded_features(
    client: TestClient, layer: str, tiles: list[Any], **query: Any
) -> dict[int, dict[str, Any]]:
    """Feature id -> properties over ``tiles`` (a hexagon cut by tile edges appears in several tiles)."""
    out: dict[int, dict[str, Any]] = {}
    for tile in tiles:
        response = client.get(f"/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.mvt", params=query)
        assert response.status_code in (200, 204)
        if response.status_code == 200:
            for feature in mapbox_vector_tile.decode(response.content)[layer]["features"]:
                out[feature["id"]] = feature["properties"]
    return out


def test_cell_tiles_add_up_to_the_windows_reports_at_every_zoom(
    client: TestClient, map_server: MapServer
) -> None:
    analysis = map_server.analysis(window="28d")
    window = read_reports(
        map_server.demo.engine, start=analysis.start, end=analysis.end, columns=("lat", "lon")
    )
    lat, lon = window["lat"].to_numpy(), window["lon"].to_numpy()
    inside = analysis.lattice.index_of(h3grid.latlng_to_cells(lat, lon, 10)) >= 0
    for zoom in (10, 12):
        features = decoded_features(client, "cells", covering_tiles(analysis, zoom), end=map_server.demo.end)
        assert sum(p["count"] for p in features.values()) == analysis.count.sum()
        # the hexagons holding the window's reports (exact binning: not the parents of the lattice cells)
        holding = np.unique(h3grid.latlng_to_cells(lat[inside], lon[inside], resolution_for_zoom(zoom, 10)))
        assert (
            sorted(cells_from_feature_ids(list(features), resolution_for_zoom(zoom, 10)).tolist())
            == holding.tolist()
        )


def test_week_parameter_draws_that_weeks_counts(client: TestClient, map_server: MapServer) -> None:
    analysis = map_server.analysis(window="28d")
    week = analysis.weeks[-2].start_time.isocalendar()
    features = decoded_features(
        client,
        "cells",
        covering_tiles(analysis, 11),
        end=map_server.demo.end,
        week=f"{week.year}-W{week.week:02d}",
    )
    assert sum(p["count"] for p in features.values()) == analysis.cube[:, -2].sum() > 0


def test_hotspot_features_at_full_resolution_are_the_significant_cells(
    client: TestClient, map_server: MapServer
) -> None:
    analysis = map_server.analysis(window="28d")
    tile = TMS.tile(*ORIGIN, 14)
    response = client.get(f"/tiles/hotspots/14/{tile.x}/{tile.y}.mvt", params={"end": map_server.demo.end})
    features = mapbox_vector_tile.decode(response.content)["hotspots"]["features"]
    assert features
    cells = cells_from_feature_ids([f["id"] for f in features], 10)
    position = analysis.lattice.index_of(cells)
    assert (position >= 0).all()
    assert [f["properties"]["gi_bin"] for f in features] == analysis.gi.gi_bin[position].tolist()
    assert [f["properties"]["count"] for f in features] == analysis.count[position].astype(int).tolist()
    np.testing.assert_allclose([f["properties"]["z"] for f in features], analysis.gi.z[position], atol=0.005)


def test_emerging_and_heat_layers_carry_categories_and_relative_density(
    client: TestClient, map_server: MapServer
) -> None:
    analysis = map_server.analysis(window="28d")
    tiles = covering_tiles(analysis, 14)
    emerging = decoded_features(client, "emerging", tiles, end=map_server.demo.end)
    cells = cells_from_feature_ids(list(emerging), 10)
    assert [p["category"] for p in emerging.values()] == analysis.emerging.category[
        analysis.lattice.index_of(cells)
    ].tolist()
    assert "no_pattern" not in {p["category"] for p in emerging.values()}
    heat = decoded_features(client, "heat", tiles, end=map_server.demo.end)
    level = analysis.density / analysis.density.max()
    position = analysis.lattice.index_of(cells_from_feature_ids(list(heat), 10))
    np.testing.assert_allclose([p["level"] for p in heat.values()], level[position], atol=0.005)
    assert len(heat) == (level >= HEAT_FLOOR).sum() and max(p["level"] for p in heat.values()) == 1.0


def test_areas_tile_names_the_partnership_area(client: TestClient, map_server: MapServer) -> None:
    frame = map_server.demo.areas.frame
    inside = frame.loc[frame["name"] == "Vivalla"].geometry.iloc[0].representative_point()
    tile = TMS.tile(inside.x, inside.y, 13)
    response = client.get(f"/tiles/areas/13/{tile.x}/{tile.y}.mvt")
    names = {
        f["properties"]["name"]: f["properties"]["kind"]
        for f in mapbox_vector_tile.decode(response.content)["areas"]["features"]
    }
    assert names["Vivalla"] == "partnership"


def test_etag_304_and_cheap_empty_tiles(client: TestClient, map_server: MapServer) -> None:
    tile = TMS.tile(*ORIGIN, 13)
    url = f"/tiles/hotspots/13/{tile.x}/{tile.y}.mvt"
    first = client.get(url, params={"end": map_server.demo.end})
    assert first.status_code == 200 and first.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    etag = first.headers["etag"]
    again = client.get(url, params={"end": map_server.demo.end}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url, params={"end": map_server.demo.end, "window": "7d"}).headers["etag"] != etag
    assert (
        client.get(f"/tiles/cells/13/{tile.x}/{tile.y}.mvt", params={"end": map_server.demo.end}).headers[
            "etag"
        ]
        != etag
    )

    stockholm = TMS.tile(18.07, 59.33, 13)
    empty = client.get(
        f"/tiles/cells/13/{stockholm.x}/{stockholm.y}.mvt", params={"end": map_server.demo.end}
    )
    assert empty.status_code == 204 and empty.content == b"" and empty.headers["etag"]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/tiles/nonsense/13/0/0.mvt", {}, 422, "path.layer"),
        ("/tiles/cells/13/9000/0.mvt", {}, 404, None),
        ("/tiles/cells/13/0/0.mvt", {"week": "45"}, 422, "query.week"),
        ("/tiles/cells/13/0/0.mvt", {"week": "2001-W01"}, 422, "query.week"),
        ("/tiles/cells/13/0/0.mvt", {"category": "gossip"}, 422, "query.category"),
        ("/tiles/cells/13/0/0.mvt", {"window": "forever"}, 422, "query.window"),
        ("/tiles/cells/13/0/0.mvt", {"end": "1066-10-14"}, 422, "query.end"),
    ],
)
def test_bad_tile_requests_are_refused(
    client: TestClient,
    map_server: MapServer,
    path: str,
    params: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    """Refused with the API's one error body; a 422 names the parameter, as the statistics routes do."""
    response = client.get(path, params={"end": map_server.demo.end, **params})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == ("validation_error" if status == 422 else "not_found")
    if field is not None:
        assert [detail["field"] for detail in error["details"]] == [field]


def test_measures_layer_draws_the_measures_in_force(demo_store: DemoStore, tmp_path: Path) -> None:
    shutil.copyfile(demo_store.directory / "demo.db", tmp_path / "copy.db")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'copy.db'}")
    store = demo_store._replace(settings=settings, engine=open_store(settings))
    tile = TMS.tile(*ORIGIN, 14)
    with signed_in_client(store) as client:
        url = f"/tiles/measures/14/{tile.x}/{tile.y}.mvt"
        before = client.get(url, params={"end": store.end})
        assert before.status_code == 204
        measure = record_measure(
            store.engine,
            type="patrullering",
            organisation="Polisen",
            start=date(2026, 11, 1),
            lat=ORIGIN[1],
            lon=ORIGIN[0],
            radius_m=150,
        )
        after = client.get(url, params={"end": store.end}, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        features = mapbox_vector_tile.decode(after.content)["measures"]["features"]
        assert features and all(f["properties"]["measures"] == 1 for f in features)
        assert {f["properties"]["ids"] for f in features} == {str(measure.id)}
        # The page's popup for that id: type, organisation, dates and the follow-up's WDQ and reading.
        page = client.get("/map", params={"end": store.end}).text
        config = json.loads(re.search(r"HotspotsMap\.configure\((.*)\);", page).group(1))  # type: ignore[union-attr]
        popup = config["measures"][str(measure.id)]
        assert popup["type"] == "patrullering" and popup["organisation"] == "Polisen"
        assert popup["start"] == "2026-11-01" and popup["end"] is None
        expected = follow_up(store.engine, measure, settings=settings)
        assert popup["wdq"] == expected["wdq"] and popup["reading"] == expected["reading"]["sv"]


def test_a_weeks_view_draws_no_hot_cell_without_reports_that_week(
    client: TestClient, map_server: MapServer
) -> None:
    analysis = map_server.analysis(window="28d")
    bins, counts = analysis.emerging.bins, analysis.cube
    # The demo has weeks where a cell is hot only through its neighbours: the case this guards.
    week = int(np.argmax(((bins > 0) & (counts == 0)).sum(axis=0)))
    assert ((bins[:, week] > 0) & (counts[:, week] == 0)).any()
    iso = analysis.weeks[week].start_time.isocalendar()
    features = decoded_features(
        client,
        "hotspots",
        covering_tiles(analysis, 15),
        end=map_server.demo.end,
        week=f"{iso.year}-W{iso.week:02d}",
    )
    hot = [p for p in features.values() if p["gi_bin"] > 0]
    assert hot and all(p["count"] > 0 for p in hot)
    assert any(p["gi_bin"] < 0 for p in features.values()) == bool((bins[:, week] < 0).any())


@pytest.mark.parametrize(
    ("end", "today", "last"),
    [
        (date(2026, 11, 15), date(2026, 11, 30), "2026-W46"),  # a Sunday in the past: its week is over
        (date(2026, 11, 15), date(2026, 11, 15), "2026-W45"),  # that Sunday is today: not over yet
        (date(2026, 11, 18), date(2026, 11, 30), "2026-W46"),  # a window ending on a Wednesday
    ],
)
def test_the_week_slider_ends_at_the_last_complete_week(
    map_server: MapServer, end: date, today: date, last: str
) -> None:
    analysis = map_server.analysis(window="28d", end=end)
    weeks = complete_weeks(analysis, today)
    assert week_name(weeks[-1]) == last
    assert len(weeks) >= len(analysis.weeks) - 1


def test_page_loads_nothing_from_outside_and_nonces_every_inline_block(
    client: TestClient, map_server: MapServer
) -> None:
    response = client.get("/map", params={"end": map_server.demo.end, "lang": "en"})
    assert response.status_code == 200
    html = response.text
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)  # type: ignore[union-attr]
    assert "default-src 'self'" in response.headers["content-security-policy"]
    tags = re.findall(r"<(script|style)\b([^>]*)>", html)
    assert tags and all(f'nonce="{nonce}"' in attributes for _, attributes in tags)
    resources = re.findall(r'<script[^>]* src="([^"]+)"', html) + re.findall(
        r'<link[^>]* href="([^"]+)"', html
    )
    assert resources and all(url.startswith(("/static/", "data:")) for url in resources)
    for url in resources:
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url
    assert client.get("/static/../routes.py").status_code == 404
    assert "Hot spot analysis (Gi*)" in html
    # Tiles repeat the page's filters.
    assert (
        f'"url": "/tiles/hotspots/{{z}}/{{x}}/{{y}}.mvt?window=28d\\u0026end={map_server.demo.end}"' in html
    )


def test_offline_file_inlines_every_asset(map_server: MapServer) -> None:
    analysis = map_server.analysis(window="28d")
    query = PageQuery({"window": "28d"})
    linked = standalone_map(analysis, map_server.settings, query).get_root().render()
    scripts = re.findall(r'<script src="static/([^"]+)"', linked)
    styles = re.findall(r'<link rel="stylesheet" href="static/([^"]+)"', linked)
    assert {
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet.fullscreen/Control.FullScreen.js",
        "hotspots-map.js",
    } <= set(scripts)
    assert {"vendor/leaflet/leaflet.css", "hotspots-map.css"} <= set(styles)

    html = standalone_page(analysis, map_server.settings, query)
    assert "static/" not in html and not re.findall(r'<script[^>]* src=|<link[^>]* rel="stylesheet"', html)
    for name in scripts:
        assert (STATIC / name).read_text("utf-8").replace("</script", "<\\/script") in html, name
    for name in styles:
        css = (STATIC / name).read_text("utf-8")
        local = [
            u for u in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", css) if not u.startswith(("data:", "#"))
        ]
        for target in local:  # images travel as data: URIs of the very files
            assert base64.b64encode((STATIC / name).parent.joinpath(target).read_bytes()).decode() in html
        for piece in re.split(r"url\([^)]*\)", css):  # the rest of the stylesheet verbatim
            assert piece in html, name
    features = html.count('"type": "Feature"')
    assert (
        features
        == int((analysis.gi.gi_bin > 0).sum()) + len(analysis.areas.frame)
        > len(analysis.areas.frame)
    )


@pytest.mark.parametrize(
    ("basemap", "allowed"),
    [
        (
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "img-src 'self' data: https://tile.openstreetmap.org;",
        ),
        ("https://{s}.kartta.fi/{z}/{x}/{y}.png", "img-src 'self' data: https://*.kartta.fi;"),
        ("", "img-src 'self' data:;"),
    ],
)
def test_page_policy_admits_images_from_the_basemap_host_only(basemap: str, allowed: str) -> None:
    policy = page_csp("n0nce", basemap)
    assert allowed in policy and "script-src 'self' 'nonce-n0nce';" in policy and "unsafe" not in policy


def test_route_dependencies_guard_only_the_routes_they_name(map_server: MapServer) -> None:
    def refuse() -> None:
        raise HTTPException(403, "est only")

    app = FastAPI()
    factory = MapFactory(
        engine_dependency=lambda: map_server.demo.engine,
        settings_dependency=lambda: map_server.settings,
        areas_dependency=lambda: map_server.demo.areas,
        route_dependencies=[([{"path": "/map", "method": "GET"}], [Depends(refuse)])],
        router_prefix="/kartor",
    )
    app.include_router(factory.router, prefix="/kartor")
    with TestClient(app) as client:
        assert client.get("/kartor/map").status_code == 403
        assert client.get("/kartor/static/hotspots-map.js").status_code == 200
        tile = TMS.tile(*ORIGIN, 13)
        assert client.get(f"/kartor/tiles/areas/13/{tile.x}/{tile.y}.mvt").status_code == 200
