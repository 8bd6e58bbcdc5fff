"""A square study area around Umeå (far outside Örebro): a deployment with its own areas file, for the
ranking and backtest tests that must not lean on Örebro's areas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import shapely
from pyproj import Transformer

from hotspots.config import Settings
from hotspots.geo.areas import Areas, read_areas

UMEA = (63.8258, 20.2630)


class Town(NamedTuple):
    settings: Settings
    areas: Areas
    to_wgs84: Transformer  # SWEREF 99 TM metres -> WGS84
    centre: tuple[float, float]  # SWEREF 99 TM metres


def square_town(directory: Path, name: str, half_side_m: float) -> Town:
    """One area, a square of ``2 * half_side_m`` around Umeå's centre, and a SQLite store beside it."""
    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    to_wgs84 = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)
    cx, cy = to_metric.transform(UMEA[1], UMEA[0])
    box = shapely.box(cx - half_side_m, cy - half_side_m, cx + half_side_m, cy + half_side_m)
    outline = shapely.transform(box, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    areas_file = directory / "town.geojson"
    feature = {"type": "Feature", "properties": {"name": name}, "geometry": shapely.geometry.mapping(outline)}
    areas_file.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    settings = Settings(database_url=f"sqlite:///{directory / 'town.db'}", areas_file=areas_file)
    return Town(settings, read_areas(areas_file), to_wgs84, (cx, cy))
