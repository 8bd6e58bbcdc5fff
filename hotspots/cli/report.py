"""``hotspots report``: the weekly situation report (lägesbild) as a PDF or a self-contained HTML page.

hotspots report                                          # last complete week, PDF, Swedish
hotspots report --week 2026-W47 --format pdf --out lagesbild-v47.pdf
hotspots report --week 2026-W47 --format html --lang en --out report.html
"""

from __future__ import annotations

from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hotspots.cli.app import LangOpt, QuietOpt, app, console, err_console, fail
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import load_areas
from hotspots.store.engine import open_store
from hotspots.words import Language


class ReportFormat(StrEnum):
    pdf = "pdf"
    html = "html"


@app.command("report")
def report_command(
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: the last complete week).")
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="pdf (A4) or html (one self-contained file).")
    ] = (ReportFormat.pdf),
    lang: LangOpt = Language.sv,
    out: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Output file (default: lagesbild-<week>.<format>).")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """The weekly situation report for the EST meeting: per area counts, hotspots, maps and charts."""
    from hotspots.weekly import last_complete_week
    from maps.report.weekly import render_weekly

    settings = get_settings()
    week = week or last_complete_week(settings.timezone)
    target = out or Path(f"lagesbild-{week}.{fmt.value}")
    try:
        engine = open_store(settings)
        with nullcontext() if quiet else err_console.status(f"building the report for {week}…"):
            content = render_weekly(engine, settings, load_areas(settings), week, lang, fmt.value)
    except HotspotsError as exc:
        raise fail(exc) from exc
    target.write_bytes(content)
    if quiet:
        print(target)
    else:
        console.print(f"wrote {target} ({len(content) / 1024:,.0f} KiB)")
