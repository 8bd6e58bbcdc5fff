"""The EST map page: a folium map whose overlays, filters, week slider and legend run on vendored assets.

folium writes the page skeleton (map, basemap, layer control, fullscreen) and one small script per
overlay; ``static/hotspots-map.js`` draws the overlays (vector tiles with Leaflet.VectorGrid, or inline
GeoJSON in the offline file) and the controls. Every script and stylesheet folium would load from a CDN
is replaced by the app's own ``/static`` copies, so the page loads nothing from outside but the optional
basemap. Palettes live in :mod:`maps.symbology`, labels in :mod:`hotspots.words`; both reach the browser
as JSON. (Over 400 lines because the served page and its offline twin share every builder here.)

Usage (needs a store, so not a doctest)::

    html = build_page(analysis, settings, PageQuery({"window": "28d"}), tiles_url="/tiles",
                      static_url="/static", nonce="abc")
    offline = standalone_page(analysis, settings, PageQuery({"window": "28d"}))
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import folium
import folium.plugins
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from hotspots.analysis.compute import Analysis
from hotspots.analysis.query import week_name
from hotspots.config import Settings
from hotspots.measures.measure import Measure
from hotspots.words import MAP, Language
from maps.layers import WEEKLY_LAYERS, Layer, complete_weeks
from maps.markers import PriorityPlace
from maps.symbology import palette
from maps.tilegrid import cell_rings_lnglat
from maps.visits_layer import visits_layer

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The app's icon under the static URL (every HTML page links it; browsers otherwise ask for /favicon.ico).
FAVICON = "favicon.svg"
#: Priority places drawn as numbered markers (the top of the list).
PRIORITY_MARKERS = 10
#: Weeks the slider steps through (the last N weekly steps of the analysis).
WEEK_STEPS = 12
WINDOW_CHOICES = ("7d", "14d", "28d", "90d", "365d")

#: (folium resource name, path under the static URL). Replace folium's CDN defaults.
MAP_JS = (
    ("leaflet", "vendor/leaflet/leaflet.js"),
    ("leaflet_vectorgrid", "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
    ("hotspots_map", "hotspots-map.js"),
)
MAP_CSS = (("leaflet_css", "vendor/leaflet/leaflet.css"), ("hotspots_map_css", "hotspots-map.css"))
FULLSCREEN_JS = (("Control.Fullscreen.js", "vendor/leaflet.fullscreen/Control.FullScreen.js"),)
FULLSCREEN_CSS = (("Control.FullScreen.css", "vendor/leaflet.fullscreen/Control.FullScreen.css"),)


class PageQuery(NamedTuple):
    """The page's filters as URL parameters (window, category, source, end) and its language."""

    filters: Mapping[str, Any]
    lang: Language = Language.sv


def measure_popups(
    measures: Iterable[Measure], follow_ups: Mapping[int, Mapping[str, Any] | None], lang: Language
) -> dict[str, dict[str, Any]]:
    """What a measure's popup says, by id: type, organisation, dates, and the follow-up's WDQ and
    reading (``hotspots.measures.follow_up.follow_up``; None where it cannot be computed yet)."""
    out: dict[str, dict[str, Any]] = {}
    for measure in measures:
        result = follow_ups.get(measure.id)
        out[str(measure.id)] = {
            "type": measure.type,
            "organisation": measure.organisation,
            "start": measure.start.isoformat(),
            "end": measure.end.isoformat() if measure.end else None,
            "wdq": None if result is None else result["wdq"],
            "reading": None if result is None else result["reading"][lang],
        }
    return out


def area_labels(analysis: Analysis) -> list[dict[str, Any]]:
    """Each area's name with a point inside it (not the centroid, which a bent area can miss) and its
    bounds [south, west, north, east], beside which the page places the name where nothing else is."""
    frame = analysis.areas.frame
    geometry = np.asarray(frame.geometry)
    points = shapely.point_on_surface(geometry)
    inside = np.round(np.column_stack((shapely.get_y(points), shapely.get_x(points))), 6).tolist()
    west, south, east, north = np.round(shapely.bounds(geometry), 6).T.tolist()
    return [
        {"name": name, "kind": kind, "inside": point, "bounds": [s, w, n, e]}
        for name, kind, point, s, w, n, e in zip(
            frame["name"], frame["kind"], inside, south, west, north, east, strict=True
        )
    ]


class Overlay(folium.map.Layer):
    """An overlay drawn by ``HotspotsMap.overlay`` from a JSON spec; folium adds it and lists it in the
    layer control like any of its own layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = HotspotsMap.overlay({{ this._parent.get_name() }}, {{ this.spec|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, spec: Mapping[str, Any], name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "HotspotsOverlay"
        self.spec = dict(spec)


class PageConfig(MacroElement):
    """Labels, palettes and filter choices for ``hotspots-map.js``; added before any overlay is styled."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        HotspotsMap.configure({{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "HotspotsConfig"
        self.config = dict(config)


class MapControls(MacroElement):
    """Filters, week slider, legend and the ``window.hotspotsMap`` hook, after every overlay exists."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        HotspotsMap.controls({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "HotspotsControls"


def _resources(static_url: str, entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, f"{static_url}/{path}") for name, path in entries]


def _new_map(analysis: Analysis, settings: Settings, text: Mapping[str, str], static_url: str) -> folium.Map:
    """The folium map on the partnership areas, its basemap, and only the app's own assets."""
    frame = analysis.areas.frame
    west, south, east, north = frame[frame["kind"] == "partnership"].total_bounds
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=13,
        tiles=None,
        control_scale=False,  # hotspots-map.js adds a metric-only scale
        max_zoom=18,
    )
    fmap.default_js = _resources(static_url, MAP_JS)
    fmap.default_css = _resources(static_url, MAP_CSS)
    root = fmap.get_root()
    assert isinstance(root, Figure)
    root.title = text["title"]
    root.header.add_child(
        Element(f'<link rel="icon" type="image/svg+xml" href="{static_url}/{FAVICON}">'), name="favicon"
    )
    if settings.basemap_url:
        folium.TileLayer(
            settings.basemap_url, attr=settings.basemap_attribution, name=text["basemap"], max_zoom=19
        ).add_to(fmap)
    fmap.fit_bounds([[south, west], [north, east]])
    fullscreen = folium.plugins.Fullscreen(position="topleft")
    fullscreen.default_js = _resources(static_url, FULLSCREEN_JS)
    fullscreen.default_css = _resources(static_url, FULLSCREEN_CSS)
    fullscreen.add_to(fmap)
    return fmap


def _finish(fmap: folium.Map, text: Mapping[str, str], priorities: Sequence[PriorityPlace] | None) -> None:
    """Priority markers on top, then the layer control and the page's own controls."""
    if priorities:
        spec = {"name": "priorities", "kind": "markers", "data": [place._asdict() for place in priorities]}
        Overlay(spec, text["priorities"]).add_to(fmap)
        visits_layer(priorities, text).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    MapControls().add_to(fmap)


def data_as_of(analysis: Analysis, settings: Settings) -> str:
    """When the analysis read the reports, in local time: derived data may lag a write by a few seconds."""
    return analysis.computed_at.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _controls_config(
    analysis: Analysis,
    settings: Settings,
    query: PageQuery,
    text: Mapping[str, str],
    *,
    filters: bool,
    measures: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the controls need: labels, palettes, filter choices, the complete weeks of the slider,
    area labels and the measures' popups."""
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    taxonomy = settings.taxonomy
    window = str(query.filters.get("window", analysis.params.window))
    days = window.removesuffix("d")
    end = analysis.params.end.isoformat() if analysis.params.end else ""
    return {
        "lang": query.lang,
        "text": dict(text),
        "subtitle": text["period"].format(days=days, end=end, as_of=data_as_of(analysis, settings)),
        "palette": palette(text, query.lang),
        "filters": filters,
        "windows": sorted({*WINDOW_CHOICES, window}, key=lambda w: int(w.removesuffix("d"))),
        "window": window,
        "categories": [{"id": t.id, "label": t.label(query.lang)} for t in taxonomy.categories],
        "sources": [{"id": t.id, "label": t.label(query.lang)} for t in taxonomy.sources],
        "category": list(query.filters.get("category") or []),
        "source": list(query.filters.get("source") or []),
        "weeks": [week_name(week) for week in complete_weeks(analysis, today)[-WEEK_STEPS:]],
        "areas": area_labels(analysis),
        "measures": dict(measures or {}),
    }


def build_map(
    analysis: Analysis,
    settings: Settings,
    query: PageQuery,
    *,
    tiles_url: str,
    static_url: str,
    priorities: Sequence[PriorityPlace] | None = None,
    measures: Mapping[str, Any] | None = None,
) -> folium.Map:
    """The served map: every hexagon and area layer as vector tiles from ``tiles_url`` with the page's filters.

    ``priorities`` are drawn as numbered markers; the caller passes them from ``hotspots.ranking.priorities``,
    and ``measures`` (``measure_popups``) for the measures layer's popups.
    """
    text = MAP[query.lang]
    fmap = _new_map(analysis, settings, text, static_url)
    config = _controls_config(analysis, settings, query, text, filters=True, measures=measures)
    PageConfig(config).add_to(fmap)
    query_string = urlencode(dict(query.filters), doseq=True)
    layers = (
        (Layer.areas, True, False),
        (Layer.heat, False, False),
        (Layer.cells, False, True),
        (Layer.emerging, False, True),
        (Layer.hotspots, True, True),
        (Layer.measures, False, True),
    )
    for layer, show, interactive in layers:
        url = f"{tiles_url}/{layer.value}/{{z}}/{{x}}/{{y}}.mvt" + (
            f"?{query_string}" if query_string else ""
        )
        spec: dict[str, Any] = {
            "name": layer.value,
            "kind": "tiles",
            "url": url,
            "weekly": layer in WEEKLY_LAYERS,
            "interactive": interactive,
        }
        Overlay(spec, text[layer.value], show=show).add_to(fmap)
    _finish(fmap, text, priorities)
    return fmap


def add_nonce(html: str, nonce: str) -> str:
    """Mark every script and style block with the CSP nonce, so the page runs under a policy without
    'unsafe-inline' (folium writes its map set-up as inline scripts)."""
    return re.sub(r"<(script|style)(?=[\s>])", rf'<\1 nonce="{nonce}"', html)


def build_page(
    analysis: Analysis,
    settings: Settings,
    query: PageQuery,
    *,
    tiles_url: str,
    static_url: str,
    nonce: str,
    priorities: Sequence[PriorityPlace] | None = None,
    measures: Mapping[str, Any] | None = None,
) -> str:
    """The served page's HTML, its inline blocks carrying ``nonce``."""
    fmap = build_map(
        analysis,
        settings,
        query,
        tiles_url=tiles_url,
        static_url=static_url,
        priorities=priorities,
        measures=measures,
    )
    return add_nonce(fmap.get_root().render(), nonce)


def hot_cells_geojson(analysis: Analysis) -> dict[str, Any]:
    """Hot cells (Gi_Bin > 0) of the analysis as a GeoJSON FeatureCollection (RFC 7946, lon/lat)."""
    hot = np.flatnonzero(analysis.gi.gi_bin > 0)
    rings = np.round(cell_rings_lnglat(analysis.lattice.cells[hot]), 6)
    closed = np.concatenate((rings, rings[:, :1]), axis=1).tolist()
    properties = zip(
        analysis.gi.gi_bin[hot].tolist(),
        analysis.count[hot].astype(int).tolist(),
        np.round(analysis.gi.z[hot], 2).tolist(),
        strict=True,
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"gi_bin": gi_bin, "count": count, "cells": 1, "z": z},
            }
            for ring, (gi_bin, count, z) in zip(closed, properties, strict=True)
        ],
    }


def areas_geojson(analysis: Analysis, tolerance_deg: float = 0.0001) -> dict[str, Any]:
    """Area boundaries simplified to ~10 m (plenty for a city map, a few kB instead of 340)."""
    frame = analysis.areas.frame
    simplified = shapely.simplify(np.asarray(frame.geometry), tolerance_deg, preserve_topology=True)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geometry),
                "properties": {"area_id": area_id, "name": name, "kind": kind},
            }
            for geometry, area_id, name, kind in zip(
                simplified, frame["area_id"], frame["name"], frame["kind"], strict=True
            )
        ],
    }


def standalone_map(
    analysis: Analysis,
    settings: Settings,
    query: PageQuery,
    priorities: Sequence[PriorityPlace] | None = None,
) -> folium.Map:
    """The offline picture: areas and hot cells as inline GeoJSON, no tiles, no filters."""
    text = MAP[query.lang]
    fmap = _new_map(analysis, settings, text, "static")
    PageConfig(_controls_config(analysis, settings, query, text, filters=False)).add_to(fmap)
    for name, data in (("areas", areas_geojson(analysis)), ("hotspots", hot_cells_geojson(analysis))):
        spec: dict[str, Any] = {
            "name": name,
            "kind": "geojson",
            "data": data,
            "interactive": name == "hotspots",
        }
        Overlay(spec, text[name]).add_to(fmap)
    _finish(fmap, text, priorities)
    return fmap


def inline_assets(html: str, static_dir: Path = STATIC_DIR, static_url: str = "static") -> str:
    """Replace links to ``static_url`` assets by their content; images in CSS become data: URIs."""
    prefix = re.escape(static_url.rstrip("/"))

    def script(match: re.Match[str]) -> str:
        source = (static_dir / match.group(1)).read_text(encoding="utf-8")
        return "<script>" + source.replace("</script", "<\\/script") + "</script>"

    def stylesheet(match: re.Match[str]) -> str:
        path = static_dir / match.group(1)
        css = re.sub(
            r"url\((['\"]?)([^'\")]+)\1\)", lambda m: _data_uri(path.parent, m), path.read_text("utf-8")
        )
        return f"<style>{css}</style>"

    def icon(match: re.Match[str]) -> str:
        return f'{match.group(1)}{data_url(static_dir / match.group(2))}"'

    html = re.sub(rf'<script src="{prefix}/([^"]+)"></script>', script, html)
    html = re.sub(rf'(<link rel="icon" [^>]*href="){prefix}/([^"]+)"', icon, html)
    return re.sub(rf'<link rel="stylesheet" href="{prefix}/([^"]+)"/>', stylesheet, html)


def _data_uri(base: Path, match: re.Match[str]) -> str:
    """``url(...)`` of a CSS file as a data: URI when it names a local file; other URLs stay."""
    target = match.group(2)
    if target.startswith(("data:", "http:", "https:", "#")):
        return match.group(0)
    return f"url({data_url(base / target)})"


def data_url(file: Path) -> str:
    """A file as a ``data:`` URL (the offline map and the report carry their icon and images inline)."""
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(file.read_bytes()).decode()}"


def standalone_page(
    analysis: Analysis,
    settings: Settings,
    query: PageQuery,
    priorities: Sequence[PriorityPlace] | None = None,
) -> str:
    """A single HTML file of the current picture for offline use: every asset and the data inline."""
    html = standalone_map(analysis, settings, query, priorities).get_root().render()
    return inline_assets(html)
