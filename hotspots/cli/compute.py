"""``hotspots compute``: run the statistics for a window and print the per-area summary.

hotspots compute                      # last 28 days ending today
hotspots compute --window 90d --area Vivalla --json
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from hotspots.cli.app import JsonOpt, LangOpt, app, console, err_console, fail
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import load_areas
from hotspots.store.engine import open_store
from hotspots.words import Language

if TYPE_CHECKING:
    from hotspots.analysis.params import AnalysisParams

WindowOpt = Annotated[str, typer.Option(help="Days ending at --end, e.g. 7d, 28d, 90d.")]
EndOpt = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day included (default: today).")
]
AreaOpt = Annotated[
    list[str] | None, typer.Option("--area", help="Show only this area (name or id); repeatable.")
]
CategoryOpt = Annotated[
    list[str] | None, typer.Option("--category", help="Only this category id; repeatable.")
]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Only this source id; repeatable.")]


def params_from_options(
    window: str,
    end: datetime | None,
    area: list[str] | None,
    category: list[str] | None,
    source: list[str] | None,
    res: int | None = None,
) -> AnalysisParams:
    """AnalysisParams from CLI options, with area names resolved to ids (shared by compute/priorities/report)."""
    from hotspots.analysis.params import AnalysisParams

    areas = load_areas(get_settings())
    end_day: date | None = end.date() if end else None
    return AnalysisParams(
        window=window,
        end=end_day,
        categories=tuple(category or ()),
        sources=tuple(source or ()),
        resolution=res,
        areas=tuple(areas.resolve(area) or ()),
    )


@app.command("compute")
def compute_command(
    window: WindowOpt = "28d",
    end: EndOpt = None,
    res: Annotated[int | None, typer.Option(help="H3 analysis resolution (default from settings).")] = None,
    area: AreaOpt = None,
    category: CategoryOpt = None,
    source: SourceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = Language.sv,
) -> None:
    """Hotspot statistics (Gi*, Local Moran, emerging hotspots, KDE) summarised per area."""
    from hotspots.analysis.compute import analyse
    from hotspots.words import CLI, emerging_label

    settings = get_settings()
    try:
        params = params_from_options(window, end, area, category, source, res)
        with err_console.status("computing…"):
            result = analyse(open_store(settings), settings, load_areas(settings), params)
    except HotspotsError as exc:
        raise fail(exc) from exc
    summary = result.summary(lang)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    window_text = f"{result.start:%Y-%m-%d %H:%M} – {result.end:%Y-%m-%d %H:%M} UTC"
    table = Table(title=f"Hotspots {window_text}, H3 res {summary['resolution']}, k={summary['k']}")
    t = CLI[lang]
    for key in ("area", "reports", "hot_99", "hot_95", "hot_90", "patterns"):
        table.add_column(t[key], justify="left" if key in ("area", "patterns") else "right")
    for facts in summary["areas"].values():
        top = list(facts["emerging"].items())[:3]
        patterns = ", ".join(f"{emerging_label(code, lang)} {n}" for code, n in top)
        table.add_row(
            facts["name"],
            str(facts["reports"]),
            str(facts["hot_99"]),
            str(facts["hot_95"]),
            str(facts["hot_90"]),
            patterns or "–",
        )
    console.print(table)
    hot = summary["hot_cells"]
    console.print(
        f"{summary['reports']} reports in the window; hot cells: {hot['99']} at 99 %, {hot['95']} at 95 %, "
        f"{hot['90']} at 90 % (Gi*, FDR-corrected; dataset version {summary['dataset_version']})."
    )
