"""``hotspots backtest``: how well each ranking method predicts the next week's (or month's) reports.

hotspots backtest                          # 26 weekly steps, configured areas (or the data's extent)
hotspots backtest --step month --periods 12 --json
hotspots backtest --areas other_city.geojson
hotspots backtest --tune                   # also search the score weights (how the defaults were chosen)
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hotspots.areas import Areas, load_areas, read_areas
from hotspots.cli.app import JsonOpt, app, console, err_console, fail
from hotspots.config import Settings, get_settings
from hotspots.errors import HotspotsError
from hotspots.store import open_store, read_reports

#: Use the configured areas when at least this share of the reports lies inside them.
INSIDE_SHARE = 0.5


class StepChoice(StrEnum):
    week = "week"
    month = "month"


def study_areas(settings: Settings, areas_file: Path | None, extent: bool) -> Areas | None:
    """The areas the backtest's lattice comes from: a given file, else the configured areas when most
    reports lie in them, else None (the data's own extent)."""
    if extent:
        return None
    if areas_file is not None:
        return read_areas(areas_file)
    area_ids = read_reports(open_store(settings), columns=("area_id",))["area_id"]
    return load_areas(settings) if len(area_ids) and area_ids.notna().mean() >= INSIDE_SHARE else None


@app.command("backtest")
def backtest_command(
    step: Annotated[StepChoice, typer.Option(help="Forecast step.")] = StepChoice.week,
    periods: Annotated[int, typer.Option(min=1, max=520, help="Number of steps evaluated.")] = 26,
    areas_file: Annotated[Path | None, typer.Option("--areas", help="Areas file for the study area.")] = None,
    extent: Annotated[bool, typer.Option("--extent", help="Study area from the data's own extent.")] = False,
    tune: Annotated[bool, typer.Option("--tune", help="Also search the priority score's weights.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Hit rate, PAI and PEI at 1/5/10 % of the study area for naive, KDE, Gi*, prospective and score."""
    from hotspots.backtest import COVERAGES, run_backtest

    settings = get_settings()
    try:
        areas = study_areas(settings, areas_file, extent)
        with err_console.status("backtesting…"):
            result = run_backtest(
                open_store(settings), settings, areas=areas, step=step.value, periods=periods, tune=tune
            )
    except HotspotsError as exc:
        raise fail(exc) from exc
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    table = Table(
        title=f"Backtest: {len(result.periods)} {step.value}s {result.periods[0]} … {result.periods[-1]}, "
        f"{result.cells} cells ({result.study_area}), {result.reports} reports scored"
    )
    table.add_column("method")
    for coverage in COVERAGES:
        for name in ("hit rate", "PAI", "PEI"):
            table.add_column(f"{name} {coverage:.0%}", justify="right")
    for method, by_coverage in result.methods.items():
        cells = []
        for coverage in COVERAGES:
            hits = by_coverage[coverage]
            cells += [f"{hits.hit_rate:.1%}", f"{hits.pai:.1f}", f"{hits.pei:.2f}"]
        table.add_row(method, *cells)
    console.print(table)
    w = result.weights
    console.print(
        f"score weights: neighbours {w.neighbours}, significance {w.significance}, emerging {w.emerging}, "
        f"recency {w.recency}; {result.seconds:.1f} s"
    )
    if result.tuning:
        console.print("best weightings (mean PEI over 1/5/10 %):")
        for weights, value in result.tuning[:5]:
            console.print(f"  {value:.4f}  {vars(weights)}")
