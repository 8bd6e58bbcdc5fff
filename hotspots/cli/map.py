"""``hotspots map``: write the current picture as one self-contained HTML file, for a room without network.

    hotspots map --out var/lagesbild.html                  # last 28 days ending today
    hotspots map --out v46.html --window 7d --end 2026-11-15 --lang en

The file carries Leaflet and the page's script inline, the area boundaries and the hot cells (Gi* bin > 0)
as GeoJSON, and the top priority places as numbered markers: a few hundred kB, no server needed. The
basemap still loads when the computer happens to be online.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hotspots.cli.app import LangOpt, app, console, err_console, fail
from hotspots.cli.compute import AreaOpt, CategoryOpt, EndOpt, SourceOpt, WindowOpt, params_from_options
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import load_areas
from hotspots.store.engine import open_store
from hotspots.words import Language


@app.command("map")
def map_command(
    out: Annotated[Path, typer.Option(help="HTML file to write.", dir_okay=False, writable=True)],
    window: WindowOpt = "28d",
    end: EndOpt = None,
    area: AreaOpt = None,
    category: CategoryOpt = None,
    source: SourceOpt = None,
    lang: LangOpt = Language.sv,
) -> None:
    """A self-contained HTML map of the current picture (hot cells, areas, priority places)."""
    from hotspots.analysis.cache import AnalysisCache
    from hotspots.analysis.compute import analyse
    from hotspots.ranking.priorities import build_priorities
    from maps.markers import priority_places
    from maps.page import PRIORITY_MARKERS, PageQuery, standalone_page

    settings = get_settings()
    try:
        params = params_from_options(window, end, area, category, source)
        engine, areas, cache = open_store(settings), load_areas(settings), AnalysisCache()
        with err_console.status("computing…"):  # the page and its markers share one analysis
            analysis = analyse(engine, settings, areas, params, cache=cache)
            priorities = build_priorities(
                engine,
                settings,
                areas,
                params,
                top=PRIORITY_MARKERS,
                lang=lang,
                with_follow_up=False,
                cache=cache,
            )
    except HotspotsError as exc:
        raise fail(exc) from exc
    filters = {"window": window, "category": category, "source": source}
    html = standalone_page(analysis, settings, PageQuery(filters, lang), priority_places(priorities))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    console.print(f"{out} ({len(html.encode()) / 1000:.0f} kB)")
