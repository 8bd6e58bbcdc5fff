"""``hotspots backtest``: how well each ranking candidate, and the selection among them, predicts the next
week's (or month's) reports; ``--select`` chooses the ranking the priority list uses and stores it.

hotspots backtest                          # 26 weekly steps, configured areas (or the data's extent)
hotspots backtest --step month --periods 12 --json
hotspots backtest --areas other_city.geojson
hotspots backtest --select                 # choose the ranking in force on the latest evidence, store it
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from hotspots.cli.app import JsonOpt, app, console, err_console, fail
from hotspots.config import Settings, get_settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import Areas, load_areas, read_areas
from hotspots.store.engine import open_store, read_reports

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
    step: Annotated[StepChoice | None, typer.Option(help="Forecast step (default: the data's own).")] = None,
    periods: Annotated[int, typer.Option(min=1, max=520, help="Number of steps evaluated.")] = 26,
    lookback: Annotated[
        int | None, typer.Option(min=1, max=520, help="Steps of evidence behind each choice.")
    ] = None,
    areas_file: Annotated[Path | None, typer.Option("--areas", help="Areas file for the study area.")] = None,
    extent: Annotated[bool, typer.Option("--extent", help="Study area from the data's own extent.")] = False,
    select: Annotated[
        bool,
        typer.Option("--select", help="Choose the ranking in force on the latest evidence and store it."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Hit rate, PAI and PEI at 1/5/10 % of the study area for every ranking candidate and the selection."""
    from hotspots.ranking import choice
    from hotspots.ranking.backtest import COVERAGES, run_backtest, study_lattice

    settings = get_settings()
    try:
        engine = open_store(settings)
        areas = study_areas(settings, areas_file, extent)
        if select:
            with err_console.status("choosing the ranking…"):
                chosen = choice.select(
                    engine,
                    settings,
                    lambda r: study_lattice(r, settings, areas),
                    step=None if step is None else ("month" if step is StepChoice.month else "week"),
                )
            print(json.dumps(chosen.to_dict(), ensure_ascii=False)) if as_json else console.print(
                chosen.why()
            )
            return
        if step is None:
            reports = read_reports(engine, columns=("occurred_at",))
            natural = choice.natural_step(reports["occurred_at"], settings.timezone)
        with err_console.status("backtesting…"):
            result = run_backtest(
                engine, settings, areas=areas, step=step.value if step else natural, periods=periods,
                lookback=lookback,
            )  # fmt: skip
    except HotspotsError as exc:
        raise fail(exc) from exc
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    table = Table(
        title=f"Backtest: {len(result.periods)} {result.step}s {result.periods[0]} … {result.periods[-1]}, "
        f"{result.cells} cells ({result.study_area}), {result.reports} reports scored"
    )
    table.add_column("method")
    for coverage in COVERAGES:
        for name in ("hit rate", "PAI", "PEI"):
            table.add_column(f"{name} {coverage:.0%}", justify="right")
    ordered = sorted(result.methods.items(), key=lambda kv: -kv[1][0.05].pei)
    for method, by_coverage in ordered:
        cells = []
        for coverage in COVERAGES:
            hits = by_coverage[coverage]
            cells += [f"{hits.hit_rate:.1%}", f"{hits.pai:.1f}", f"{hits.pei:.2f}"]
        table.add_row("score (selected)" if method == "score" else method, *cells)
    console.print(table)
    counts = pd.Series(result.selected).value_counts()
    console.print(
        "score = each step's ranking chosen on the "
        f"{result.lookback} steps before it: " + ", ".join(f"{name} ×{n}" for name, n in counts.items())
    )
    console.print(f"in force for the next {result.step}: {result.in_force}; {result.seconds:.1f} s")
