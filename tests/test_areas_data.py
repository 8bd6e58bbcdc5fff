"""The shipped boundaries and place names: a clean partition of Örebro municipality, places in their areas."""

from __future__ import annotations

import json
import runpy

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from hotspots.config import DATA_DIR

AREAS_FILE = DATA_DIR / "areas.geojson"
PARTNERSHIP = {"vivalla", "baronbackarna", "varberga", "oxhagen", "brickebacken"}
MUNICIPALITY_KM2 = 1628.0
CONTRACT = {"area_id", "name", "kind", "regsokod", "approximate", "note", "source"}


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    return gpd.read_file(AREAS_FILE)


@pytest.fixture(scope="module")
def metric(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return areas.to_crs("EPSG:3006")


def test_every_feature_carries_the_contract_properties() -> None:
    features = json.loads(AREAS_FILE.read_text(encoding="utf-8"))["features"]
    assert len(features) == 37
    assert all(set(f["properties"]) == CONTRACT for f in features)
    assert all(isinstance(f["properties"]["approximate"], bool) for f in features)


def test_partition_is_valid_without_overlaps_and_covers_the_municipality(
    areas: gpd.GeoDataFrame, metric: gpd.GeoDataFrame
) -> None:
    assert areas["area_id"].is_unique
    assert areas.is_valid.all()
    union = shapely.union_all(metric.geometry.to_numpy())
    overlap_m2 = metric.area.sum() - union.area
    assert overlap_m2 < 100  # shared borders only; a real overlap of two blocks would be ~10,000 m²
    assert union.area / 1e6 == pytest.approx(MUNICIPALITY_KM2, rel=0.005)
    municipality = gpd.read_file(DATA_DIR / "sources" / "orebro_municipality.geojson").to_crs("EPSG:3006")
    assert union.symmetric_difference(municipality.geometry.iloc[0]).area < 1e-4 * union.area


def test_coordinates_are_wgs84_longitude_first(areas: gpd.GeoDataFrame) -> None:
    minx, miny, maxx, maxy = areas.total_bounds
    assert 14.5 < minx < maxx < 16.0 and 58.8 < miny < maxy < 59.7


def test_five_partnership_areas_and_the_rest_as_regso(areas: gpd.GeoDataFrame) -> None:
    kinds = areas.set_index("area_id")["kind"]
    assert set(kinds[kinds == "partnership"].index) == PARTNERSHIP
    rest = areas[areas["kind"] == "regso"]
    assert len(rest) == 32 and (rest["area_id"] == rest["regsokod"]).all()
    assert "Örebro city" in set(rest["name"])


def test_only_the_varberga_oxhagen_split_is_approximate_and_each_part_holds_its_centre(
    areas: gpd.GeoDataFrame, metric: gpd.GeoDataFrame
) -> None:
    approx = areas[areas["approximate"]]
    assert set(approx["area_id"]) == {"varberga", "oxhagen"}
    assert (approx["regsokod"] == "1880R028").all()
    assert approx["note"].str.contains("bisector").all()
    centres = {"varberga": (59.2860, 15.1700), "oxhagen": (59.2800, 15.1785)}
    for area_id, (lat, lon) in centres.items():
        hits = areas[areas.contains(shapely.Point(lon, lat))]["area_id"].tolist()
        assert hits == [area_id]
    # Both halves are a real share of the 1.24 km² RegSO, not a sliver.
    halves = metric[metric["area_id"].isin(centres)].area / 1e6
    assert halves.sum() == pytest.approx(1.243, abs=0.005)
    assert (halves > 0.3).all()


def test_places_lie_in_the_area_they_are_labelled_with(metric: gpd.GeoDataFrame) -> None:
    places = pd.read_csv(DATA_DIR / "places.csv", encoding="utf-8")
    assert list(places.columns) == ["name", "kind", "lat", "lon", "area_id"]
    assert 40 <= len(places) <= 70 and places["name"].is_unique
    assert set(places["area_id"]) <= set(metric["area_id"])
    assert set(places["area_id"]) >= PARTNERSHIP
    points = gpd.GeoSeries(gpd.points_from_xy(places["lon"], places["lat"]), crs="EPSG:4326").to_crs(
        "EPSG:3006"
    )
    labelled = metric.set_index("area_id").geometry.loc[places["area_id"]].reset_index(drop=True)
    distance = labelled.distance(points.reset_index(drop=True))
    assert (distance <= 300).all(), places.loc[distance > 300, "name"].tolist()


def test_make_areas_rebuilds_the_shipped_file() -> None:
    module = runpy.run_path(str(DATA_DIR / "make_areas.py"))
    regso = json.loads((DATA_DIR / "sources" / "regso_2025_orebro.geojson").read_text(encoding="utf-8"))
    rebuilt = module["build_features"](regso["features"])
    shipped = json.loads(AREAS_FILE.read_text(encoding="utf-8"))["features"]
    assert json.loads(json.dumps(rebuilt, ensure_ascii=False)) == shipped
