"""``hotspots priorities``: the ranked places for a window, with reasons, for EST and field teams.

hotspots priorities --area Vivalla --top 10
hotspots priorities --format html --out vivalla.html --area Vivalla
hotspots priorities --format csv --lang en --out list.csv
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hotspots.cli.app import LangOpt, app, console, err_console, fail
from hotspots.cli.compute import CategoryOpt, EndOpt, SourceOpt, WindowOpt, params_from_options
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import load_areas
from hotspots.store.engine import open_store
from hotspots.words import PRIORITY_LIST, Language


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    geojson = "geojson"
    html = "html"


@app.command("priorities")
def priorities_command(
    area: Annotated[str | None, typer.Option(help="Rank only this area's places (name or id).")] = None,
    top: Annotated[int, typer.Option(min=1, max=500, help="Number of places.")] = 20,
    window: WindowOpt = "28d",
    end: EndOpt = None,
    category: CategoryOpt = None,
    source: SourceOpt = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="table on screen (JSON when --out is given), or json/csv/geojson/html."
        ),
    ] = OutputFormat.table,
    lang: LangOpt = Language.sv,
    decimal_comma: Annotated[
        bool | None,
        typer.Option("--decimal-comma/--decimal-point", help="CSV decimals (default: comma for sv)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Ranked places to act on, with reasons in words, labels, coordinates and map links."""
    from hotspots.ranking.priorities import build_priorities
    from maps.priorities import render

    settings = get_settings()
    try:
        params = params_from_options(window, end, None, category, source)
        with err_console.status("ranking…"):
            plist = build_priorities(
                open_store(settings),
                settings,
                load_areas(settings),
                params,
                area=area,
                top=top,
                lang=lang,
            )
    except HotspotsError as exc:
        raise fail(exc) from exc
    if fmt is OutputFormat.table and out is None:
        t = PRIORITY_LIST[lang]
        table = Table(title=f"{plist.area or t['all_areas']}: {plist.start:%Y-%m-%d} – {plist.last_day}")
        for column in ("#", t["score"], t["area"], t["place"], t["reasons"]):
            table.add_column(column, overflow="fold")
        for e in plist:
            table.add_row(str(e.rank), f"{e.score:.1f}", e.area, e.label, e.reason)
        console.print(table)
        return
    data = render(plist, "json" if fmt is OutputFormat.table else fmt.value, decimal_comma=decimal_comma)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)
        err_console.print(f"{len(plist)} places written to {out}")
