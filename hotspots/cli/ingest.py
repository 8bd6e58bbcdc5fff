"""``hotspots import`` and ``hotspots status``: getting reports into the store and seeing what is there.

hotspots import reports.csv
hotspots import sweref.csv --crs EPSG:3006 --source police --map x=E,y=N
hotspots import export.csv --skip-invalid --rejects rejects.csv
hotspots status --json
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from hotspots.cli.app import JsonOpt, LangOpt, QuietOpt, app, console, err_console, fail
from hotspots.config import Settings, get_settings
from hotspots.errors import HotspotsError, ImportRejected
from hotspots.geo.areas import Areas, load_areas
from hotspots.ingest import pipeline as ingest
from hotspots.store import summary
from hotspots.store.engine import open_store
from hotspots.words import CLI, Language

MAX_ERRORS_SHOWN = 20


def _parse_map(pairs: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in pairs or []:
        for pair in item.split(","):
            fld, sep, column = pair.partition("=")
            if not sep or not fld.strip() or not column.strip():
                raise typer.BadParameter(f"expected FIELD=COLUMN, got {pair!r}", param_hint="--map")
            mapping[fld.strip()] = column.strip()
    return mapping


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, GeoJSON or GeoPackage.")],
    crs: Annotated[str | None, typer.Option(help="Coordinate system of the file, e.g. EPSG:3006.")] = None,
    source: Annotated[str | None, typer.Option(help="Source for rows without one, e.g. police.")] = None,
    column_map: Annotated[
        list[str] | None, typer.Option("--map", help="Column names: lat=Latitud,lon=Longitud,...")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the good rows; write the bad ones to --rejects.")
    ] = False,
    rejects: Annotated[Path | None, typer.Option(help="Where --skip-invalid writes rejected rows.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Import reports: all-or-nothing by default; a second import of the same rows adds nothing."""
    settings = get_settings()
    try:
        engine = open_store(settings)
        areas = load_areas(settings)
        with Progress(
            TextColumn("[bold]importing[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=quiet,
            transient=True,
        ) as bar:
            task = bar.add_task("import", total=None)
            result = ingest.import_file(
                engine,
                file,
                settings=settings,
                areas=areas,
                crs=crs,
                default_source=source,
                column_map=_parse_map(column_map),
                skip_invalid=skip_invalid,
                created_by=getpass.getuser(),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except ImportRejected as exc:
        err_console.print(f"[red]rejected:[/] {exc}")
        for error in exc.errors[:MAX_ERRORS_SHOWN]:
            err_console.print(f"  {error}", highlight=False)
        if len(exc.errors) > MAX_ERRORS_SHOWN:
            err_console.print(
                f"  … and {len(exc.errors) - MAX_ERRORS_SHOWN} more (use --skip-invalid --rejects FILE)"
            )
        raise typer.Exit(1) from exc
    except HotspotsError as exc:
        raise fail(exc) from exc
    if result.errors:
        target = rejects or file.with_suffix(".rejects.csv")
        ingest.write_rejects(result, target)
        err_console.print(f"{result.rows_rejected} rows rejected; reasons written to {target}")
    if result.rows_added == 0 and result.rows_present:
        console.print(
            f"{file.name}: all {result.rows_present} valid rows were already stored; nothing added."
        )
    else:
        console.print(
            f"{file.name}: {result.rows_read} rows read, {result.rows_added} added, "
            f"{result.rows_present} already stored, {result.rows_rejected} rejected "
            f"(dataset version {result.dataset_version})."
        )
        _reselect_ranking(engine, settings, areas)


def _reselect_ranking(engine: Engine, settings: Settings, areas: Areas) -> None:
    """New reports are new evidence: re-choose the priority list's ranking (only the new steps are scored)."""
    from hotspots.ranking.choice import reselect_after_import

    try:
        choice = reselect_after_import(engine, settings, areas)
    except HotspotsError as exc:
        err_console.print(f"ranking not re-chosen: {exc}")
        return
    if choice is not None:
        console.print(f"ranking in force: {choice.why()}")


@app.command("status")
def status_command(as_json: JsonOpt = False, lang: LangOpt = Language.sv) -> None:
    """What the store holds: totals by area and category, first and last report."""
    settings = get_settings()
    facts = summary.status(open_store(settings), load_areas(settings), lang)
    if as_json:
        print(json.dumps(facts, ensure_ascii=False))
        return
    t = CLI[lang]
    table = Table(title=t["status_title"].format(n=facts["reports"], first=facts["first"] or "–",
                                                 last=facts["last"] or "–"))  # fmt: skip
    table.add_column(t["area"])
    table.add_column(t["reports_all_time"], justify="right")
    for name, count in facts["by_area"].items():
        table.add_row(name, str(count))
    console.print(table)
    console.print(
        "Every stored report, by the area that contains it. `hotspots compute` counts only its window "
        "(default: the 28 days ending today) and the study area's cells, so its per-area numbers are smaller.",
        soft_wrap=True,
    )
