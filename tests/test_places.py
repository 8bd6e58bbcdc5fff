"""Place labels: the nearest named place's name when close, else distance and direction from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from hotspots.config import Settings
from hotspots.geo.places import Places, load_places

TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
TO_WGS84 = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)
PLACES = Places.from_records([("Vivalla centrum", 59.2985, 15.1875), ("Stortorget", 59.2712, 15.2133)])


def offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m`` / ``north_m`` metres away on the SWEREF 99 TM grid."""
    x, y = TO_METRIC.transform(lon, lat)
    new_lon, new_lat = TO_WGS84.transform(x + east_m, y + north_m)
    return new_lat, new_lon


@pytest.mark.parametrize(
    ("east", "north", "sv", "en"),
    [
        (0, 300, "300 m N om Vivalla centrum", "300 m N of Vivalla centrum"),
        (212, 212, "300 m NO om Vivalla centrum", "300 m NE of Vivalla centrum"),
        (420, 0, "400 m O om Vivalla centrum", "400 m E of Vivalla centrum"),
        (-212, -212, "300 m SV om Vivalla centrum", "300 m SW of Vivalla centrum"),
        (0, -260, "250 m S om Vivalla centrum", "250 m S of Vivalla centrum"),
    ],
)
def test_far_points_get_distance_and_compass_direction(east: float, north: float, sv: str, en: str) -> None:
    lat, lon = offset(59.2985, 15.1875, east, north)
    assert PLACES.label([lat], [lon], near_m=150).tolist() == [sv]
    assert PLACES.label([lat], [lon], near_m=150, lang="en").tolist() == [en]


def test_near_points_get_the_name_of_the_nearest_place() -> None:
    near_vivalla = offset(59.2985, 15.1875, 80, -60)
    near_stortorget = offset(59.2712, 15.2133, -100, 0)
    labels = PLACES.label(
        [near_vivalla[0], near_stortorget[0]], [near_vivalla[1], near_stortorget[1]], near_m=150
    )
    assert labels.tolist() == ["Vivalla centrum", "Stortorget"]
    index, distance, _ = PLACES.nearest([near_vivalla[0]], [near_vivalla[1]])
    assert index.tolist() == [0]
    assert np.isclose(distance[0], 100.0, atol=1.0)


def test_shipped_places_file_labels_its_own_places() -> None:
    places = load_places(Settings())
    frame = places.frame.drop_duplicates(subset=["lat", "lon"]).head(10)
    labels = places.label(frame["lat"], frame["lon"], near_m=10)
    assert labels.tolist() == frame["name"].tolist()


GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize("centre", [(59.2741, 15.2066), (43.7, -79.4)], ids=["orebro", "43.7N"])
def test_distances_and_bearings_are_geodesic_where_the_areas_are(
    centre: tuple[float, float], tmp_path: Path
) -> None:
    """A deployment's places are measured in its areas' projection: at Örebro and at Toronto's latitude,
    the distance and bearing from a place agree with the WGS84 geodesic (SWEREF 99 TM at 43.7° N reads
    1.44× the distance)."""
    lat0, lon0 = centre
    square = shapely.box(lon0 - 0.15, lat0 - 0.1, lon0 + 0.15, lat0 + 0.1)
    feature = {
        "type": "Feature",
        "properties": {"name": "Centrum"},
        "geometry": shapely.geometry.mapping(square),
    }
    areas_file = tmp_path / "areas.geojson"
    areas_file.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    place_lon, place_lat, _ = GEOD.fwd(lon0, lat0, 40.0, 5000.0)  # 5 km from the areas' centre
    places_file = tmp_path / "places.csv"
    places_file.write_text(f"name,lat,lon\nTorget,{place_lat},{place_lon}\n", encoding="utf-8")
    places = load_places(Settings(areas_file=areas_file, places_file=places_file))

    azimuth = np.array([0.0, 30.0, 45.0, 100.0, 180.0, 200.0, 270.0, 315.0])
    metres = np.array([300.0, 806.0, 1500.0, 3000.0, 250.0, 806.0, 2000.0, 450.0])
    lon, lat, _ = GEOD.fwd(np.full(8, place_lon), np.full(8, place_lat), azimuth, metres)
    _, distance, bearing = places.nearest(lat, lon)
    assert distance == pytest.approx(metres, rel=2e-3)
    assert np.abs((bearing - azimuth + 180.0) % 360.0 - 180.0).max() < 0.5
    labels = places.label(lat[[0, 3]], lon[[0, 3]], near_m=100, lang="en").tolist()
    assert labels == ["300 m N of Torget", "3000 m E of Torget"]
