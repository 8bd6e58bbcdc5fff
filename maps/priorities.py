"""Priority lists as people read them: CSV for Swedish Excel, GeoJSON for QGIS, a phone page, JSON.

The list itself (ranking, reasons) is :mod:`hotspots.ranking.priorities`; this module only draws it.

Usage (needs a store, so not a doctest)::

    render(build_priorities(engine, settings, areas, params), "csv")  # bytes with BOM, ";" and 1,5
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import pandas as pd
import shapely

from hotspots import csvout
from hotspots.geo import h3grid
from hotspots.ranking.priorities import PriorityList
from hotspots.ranking.priorities.reasons import number
from hotspots.words import FIELD_SCRIPT, PRIORITY_LIST, VISIT_OUTCOMES, Language
from maps.page import STATIC_DIR

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


@dataclass(frozen=True)
class AreaLink:
    """One entry of the phone page's area switcher."""

    name: str
    href: str
    current: bool = False


@dataclass(frozen=True)
class PhonePage:
    """What the phone page needs besides the list: where its assets and endpoints are, the "data as of"
    line and the area switcher (the user's own areas)."""

    static: str = "/static"
    worker: str = "/field/sw.js"
    worker_scope: str = "/priorities"
    visits: str = "/field/visits"
    observations: str = "/field/observations"
    data_as_of: str = ""
    nav: tuple[AreaLink, ...] = field(default_factory=tuple)
    timezone: str = "Europe/Stockholm"
    #: The signed-in user's id: the phone's queue sends only this user's submissions.
    user: str = ""
    #: A file to keep or mail (the CLI): the stylesheet inline, no script (the forms need the service).
    standalone: bool = False

    @property
    def stylesheet(self) -> str:
        return (STATIC_DIR / "field-list.css").read_text(encoding="utf-8") if self.standalone else ""


STANDALONE = PhonePage(standalone=True)


def render(
    plist: PriorityList, fmt: str, *, decimal_comma: bool | None = None, page: PhonePage | None = None
) -> bytes:
    """The list as JSON, GeoJSON, CSV (Excel, ``;``, BOM) or a phone-friendly HTML page.

    ``decimal_comma`` (CSV only) defaults to the list's language being Swedish; ``page`` (HTML only) says
    where the served page's assets and endpoints are; without it the page is a self-contained file.
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
        return _html(plist, page or STANDALONE).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _environment(lang: Language, timezone: str = "Europe/Stockholm") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("maps", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    env.filters["decimal"] = lambda value: number(value, lang, 1)
    env.filters["local"] = lambda moment: f"{moment.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}"
    return env


def _html(plist: PriorityList, page: PhonePage) -> str:
    """The phone page: one card per place with its reasons, its dose of visits, buttons that open the
    phone's maps app, and the visit and observation forms (the script and styles are static files: the
    page runs under ``default-src 'self'``)."""
    return (
        _environment(plist.lang, page.timezone)
        .get_template("priorities.html.j2")
        .render(
            plist=plist,
            t=PRIORITY_LIST[plist.lang],
            page=page,
            script_words=FIELD_SCRIPT[plist.lang],
            outcomes=VISIT_OUTCOMES[plist.lang],
        )
    )


def not_your_area(lang: Language, page: PhonePage) -> bytes:
    """The page a field user gets for an area that is not theirs: what happened and their own areas."""
    return (
        _environment(lang)
        .get_template("not-your-area.html.j2")
        .render(lang=lang, t=PRIORITY_LIST[lang], page=page)
        .encode("utf-8")
    )
