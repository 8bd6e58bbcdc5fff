"""``hotspots demo-data``: write synthetic reports with planted hotspots, ready for ``hotspots import``.

hotspots demo-data --out var/demo
hotspots demo-data --out var/demo --weeks 104 --seed 1 --end 2026-03-15   # reproduces a file exactly
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hotspots import demo
from hotspots.cli.app import app, console, err_console
from hotspots.errors import HotspotsError


@app.command("demo-data")
def demo_data(
    out: Annotated[
        Path, typer.Option(file_okay=False, help="Folder for reports.csv, truth.csv, truth.json.")
    ],
    weeks: Annotated[
        int, typer.Option(min=2, help="ISO weeks of data, ending with the week of --end.")
    ] = 104,
    seed: Annotated[
        int, typer.Option(help="Random seed; same seed, weeks and --end give the same files.")
    ] = 1,
    end: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day of data (default: today, Europe/Stockholm)."),
    ] = None,
) -> None:
    """Synthetic demo reports (import format) and the truth of where hotspots were planted."""
    try:
        files = demo.write(out, weeks=weeks, seed=seed, end=end.date() if end else None)
    except HotspotsError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"wrote {files.rows:,} reports to {files.reports} ({files.first[:10]} – {files.last[:10]}), "
        f"{files.hotspots} planted hotspots in {files.truth}",
        soft_wrap=True,
    )
