"""Priority lists as people read them: CSV for Swedish Excel, GeoJSON for QGIS, a phone page, JSON.

The list itself (ranking, reasons) is :mod:`hotspots.priorities`; this module only draws it.

Usage (needs a store, so not a doctest)::

    render(build_priorities(engine, settings, areas, params), "csv")  # bytes with BOM, ";" and 1,5
"""

from __future__ import annotations

import json
from typing import Any

import jinja2
import pandas as pd
import shapely

from hotspots import csvout, h3grid
from hotspots.priorities import PriorityList
from hotspots.words import PRIORITY_LIST, Language

#: What :func:`render` produces (the API can offer exactly these).
FORMATS: tuple[str, ...] = ("json", "csv", "geojson", "html")


def _flat_rows(plist: PriorityList) -> pd.DataFrame:
    """One row per entry with the columns field teams read (CSV)."""
    t = PRIORITY_LIST[plist.lang]
    rows = []
    for e in plist:
        row: dict[str, Any] = {
            t["rank"]: e.rank,
            t["score"]: e.score,
            t["area"]: e.area,
            t["place"]: e.label,
            "lat": e.lat,
            "lon": e.lon,
            "sweref99tm_e": e.easting,
            "sweref99tm_n": e.northing,
            t["reports"]: e.reports,
            t["previous"]: e.previous_reports,
            "Gi_Bin": e.gi_bin,
            t["pattern"]: e.emerging_label,
            t["reasons"]: e.reason,
        }
        for category, label in plist.category_labels.items():
            row[label] = e.counts.get(category, 0)
        row[t["map"]] = e.osm_url
        row["geo"] = e.geo_uri
        row[t["cells"]] = " ".join(e.cells)
        rows.append(row)
    return pd.DataFrame(rows)


def _geojson(plist: PriorityList) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: each place's hexagons merged into one (multi)polygon, CCW exteriors."""
    features = []
    for e in plist:
        shape = shapely.union_all(h3grid.cells_to_polygons(h3grid.as_cells([int(c, 16) for c in e.cells])))
        # orient last: the precision reducer may flip rings
        shape = shapely.orient_polygons(shapely.set_precision(shape, 1e-6))
        properties = {k: v for k, v in e.to_dict().items() if k != "cells"}
        properties["cells"] = e.cells
        features.append(
            {"type": "Feature", "geometry": json.loads(shapely.to_geojson(shape)), "properties": properties}
        )
    meta = {k: v for k, v in plist.to_dict().items() if k != "entries"}
    return {"type": "FeatureCollection", "features": features, "metadata": meta}


def render(plist: PriorityList, fmt: str, *, decimal_comma: bool | None = None) -> bytes:
    """The list as JSON, GeoJSON, CSV (Excel, ``;``, BOM) or a phone-friendly HTML page.

    ``decimal_comma`` (CSV only) defaults to the list's language being Swedish.
    """
    if fmt == "json":
        return json.dumps(plist.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "geojson":
        return json.dumps(_geojson(plist), ensure_ascii=False).encode("utf-8")
    if fmt == "csv":
        comma = plist.lang == Language.sv if decimal_comma is None else decimal_comma
        meta = {PRIORITY_LIST[plist.lang]["window"]: f"{plist.start:%Y-%m-%d} – {plist.last_day}"}
        return csvout.to_csv(_flat_rows(plist), decimal_comma=comma, preamble=meta)
    if fmt == "html":
        return _html(plist).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _html(plist: PriorityList) -> str:
    """The phone page: one card per place with its reasons and a link that opens the phone's maps app."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("maps", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    return env.get_template("priorities.html.j2").render(plist=plist, t=PRIORITY_LIST[plist.lang])
