"""Build data/areas.geojson: the partnership areas plus the other RegSO areas, a partition of Örebro municipality.

Usage (rewrites the file byte for byte the same on every run)::

    .venv/bin/python data/make_areas.py

Input is the SCB RegSO 2025 file in data/sources/. Four RegSO polygons are partnership areas as they
stand; the fifth, 1880R028 Varberga-Oxhagen, holds two partnership areas and is cut in two along the
perpendicular bisector of the two local centres (computed in SWEREF 99 TM), because RegSO draws no line
between them. See data/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

DATA = Path(__file__).resolve().parent
REGSO_FILE = DATA / "sources" / "regso_2025_orebro.geojson"
OUT_FILE = DATA / "areas.geojson"

SOURCE = "Statistiska centralbyrån, RegSO 2025 (2025_v2, referensdatum 2025-01-01)"
#: 1e-7 degrees is about 1 cm: far below the data's accuracy, and it keeps the file small.
DECIMALS = 7

#: RegSO polygons that are one partnership area each: regsokod -> (area_id, name).
WHOLE_PARTNERSHIP = {
    "1880R029": ("vivalla", "Vivalla"),
    "1880R003": ("baronbackarna", "Baronbackarna"),
    "1880R004": ("brickebacken", "Brickebacken"),
}
SPLIT_REGSO = "1880R028"
#: The two local centres (lat, lon) whose perpendicular bisector separates Varberga from Oxhagen.
#: Varberga lies between Oxhagen, Västerleden, Mellringe and Hjärsta, i.e. in the north-west of the
#: RegSO polygon; Oxhagen is its south-east part towards Markbacken and Västhaga.
SPLIT_CENTRES = {
    "varberga": ("Varberga", 59.2860, 15.1700),
    "oxhagen": ("Oxhagen", 59.2800, 15.1785),
}

_to_metric = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
_to_wgs84 = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)


def _reproject(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def split_by_bisector(
    polygon: BaseGeometry, a: tuple[float, float], b: tuple[float, float]
) -> tuple[BaseGeometry, BaseGeometry]:
    """Cut a WGS84 polygon along the perpendicular bisector of points a and b (lat, lon), in SWEREF 99 TM.

    Returns (part containing a, part containing b). The bisector is the fairest line we can draw
    without an official boundary: every point goes to the nearer of the two centres.
    """
    metric = _reproject(polygon, _to_metric)
    ax, ay = _to_metric.transform(a[1], a[0])
    bx, by = _to_metric.transform(b[1], b[0])
    mid = np.array([(ax + bx) / 2, (ay + by) / 2])
    direction = np.array([-(by - ay), bx - ax])
    reach = 10 * np.hypot(*np.subtract(metric.bounds[2:], metric.bounds[:2]))
    direction *= reach / np.hypot(*direction)
    cut = shapely.LineString([mid - direction, mid + direction])
    parts = list(split(metric, cut).geoms)
    a_point, b_point = shapely.Point(ax, ay), shapely.Point(bx, by)
    near_a = shapely.union_all([p for p in parts if p.distance(a_point) < p.distance(b_point)])
    near_b = shapely.union_all([p for p in parts if p.distance(a_point) >= p.distance(b_point)])
    return _reproject(near_a, _to_wgs84), _reproject(near_b, _to_wgs84)


def _clean(geom: BaseGeometry) -> BaseGeometry:
    """Valid, rounded to DECIMALS, exterior rings counter-clockwise (RFC 7946 section 3.1.6)."""
    geom = shapely.transform(geom, lambda xy: np.round(xy, DECIMALS))
    geom = shapely.make_valid(geom) if not geom.is_valid else geom
    return shapely.orient_polygons(geom, exterior_cw=False)


def _feature(geom: BaseGeometry, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": mapping(_clean(geom))}


def build_features(regso: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Partnership areas first (in the order EST names them), then the other RegSO areas by code."""
    by_code = {f["properties"]["regsokod"]: f for f in regso}
    partnership: dict[str, dict[str, Any]] = {}
    for code, (area_id, name) in WHOLE_PARTNERSHIP.items():
        partnership[area_id] = _feature(
            shape(by_code[code]["geometry"]),
            area_id=area_id,
            name=name,
            kind="partnership",
            regsokod=code,
            approximate=False,
            note=f"The whole RegSO {code} {by_code[code]['properties']['name']}.",
            source=SOURCE,
        )

    (v_id, (v_name, v_lat, v_lon)), (o_id, (o_name, o_lat, o_lon)) = SPLIT_CENTRES.items()
    varberga, oxhagen = split_by_bisector(
        shape(by_code[SPLIT_REGSO]["geometry"]), (v_lat, v_lon), (o_lat, o_lon)
    )
    note = (
        f"Approximate: RegSO {SPLIT_REGSO} Varberga-Oxhagen is one polygon and no official boundary "
        "between Varberga and Oxhagen exists in the RegSO data. Split along the perpendicular bisector "
        f"of Varberga centrum ({v_lat:.4f} N, {v_lon:.4f} E) and Oxhagens centrum ({o_lat:.4f} N, "
        f"{o_lon:.4f} E), computed in SWEREF 99 TM (EPSG:3006): each point goes to the nearer centre."
    )
    for area_id, name, geom in ((v_id, v_name, varberga), (o_id, o_name, oxhagen)):
        partnership[area_id] = _feature(
            geom,
            area_id=area_id,
            name=name,
            kind="partnership",
            regsokod=SPLIT_REGSO,
            approximate=True,
            note=note,
            source=SOURCE,
        )

    order = ("vivalla", "baronbackarna", "varberga", "oxhagen", "brickebacken")
    taken = {*WHOLE_PARTNERSHIP, SPLIT_REGSO}
    rest = [
        _feature(
            shape(f["geometry"]),
            area_id=code,
            name=f["properties"]["name"],
            kind="regso",
            regsokod=code,
            approximate=False,
            note="Rest of the municipality: one RegSO area as published.",
            source=SOURCE,
        )
        for code, f in sorted(by_code.items())
        if code not in taken
    ]
    return [partnership[a] for a in order] + rest


def main() -> None:
    regso = json.loads(REGSO_FILE.read_text(encoding="utf-8"))["features"]
    collection = {
        "type": "FeatureCollection",
        "name": "orebro_areas",
        "attribution": "Statistiska centralbyrån, RegSO 2025",
        "features": build_features(regso),
    }
    OUT_FILE.write_text(json.dumps(collection, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(collection['features'])} areas to {OUT_FILE}")


if __name__ == "__main__":
    main()
