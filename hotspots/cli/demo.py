"""``hotspots demo-data``: write synthetic reports with planted hotspots, ready for ``hotspots import``.

hotspots demo-data --out var/demo
hotspots demo-data --out var/demo --weeks 104 --seed 1 --end 2026-03-15   # reproduces a file exactly
hotspots demo-data --out var/dense --density dense                      # ~55,000 reports a year
hotspots demo-measures var/demo/truth.json
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hotspots.cli.app import app, console, err_console
from hotspots.demo import generate as demo
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
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Last day of data (default: yesterday, Europe/Stockholm: the last complete day).",
        ),
    ] = None,
    density: Annotated[
        demo.Density,
        typer.Option(help="sparse: a few thousand reports a year, as real data; dense: for load tests."),
    ] = demo.Density.SPARSE,
) -> None:
    """Synthetic demo reports (import format) and the truth of where hotspots were planted."""
    try:
        files = demo.write(out, weeks=weeks, seed=seed, end=end.date() if end else None, density=density)
    except HotspotsError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"wrote {files.rows:,} reports to {files.reports} ({files.first[:10]} – {files.last[:10]}), "
        f"{files.hotspots} planted hotspots in {files.truth}",
        soft_wrap=True,
    )


@app.command("demo-measures")
def demo_measures(
    truth: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="truth.json written by demo-data.")
    ] = Path("var/demo/truth.json"),
) -> None:
    """Record the demo's planted measures in the store (idempotent), so the map and report show them."""
    from hotspots.config import get_settings
    from hotspots.store.engine import open_store

    try:
        added = demo.record_measures(open_store(get_settings()), truth)
    except HotspotsError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"{len(added)} demo measures recorded" + (": " + ", ".join(m.type for m in added) if added else "")
    )


@app.command("demo-logins")
def demo_logins(
    out: Annotated[
        Path, typer.Option(dir_okay=False, help="Where the demo passwords are kept (0600).")
    ] = Path("var/demo/logins.txt"),
) -> None:
    """One demo user per role (field limited to Vivalla) with random passwords, for trying the map locally.

    Idempotent: existing demo users keep their passwords, which are read back from ``--out``.
    """
    import secrets

    from hotspots.access import accounts
    from hotspots.config import get_settings
    from hotspots.store.engine import open_store

    engine = open_store(get_settings())
    known = {u.name for u in accounts.list_users(engine)}
    lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    saved = dict(line.split(" ", 1) for line in lines if " " in line)
    for role in accounts.Role:
        name = f"demo-{role.value}"
        if name in known and name in saved:
            continue
        password = secrets.token_urlsafe(9)
        if name in known:
            accounts.set_password(engine, name, password)
        else:
            areas = ("vivalla",) if role is accounts.Role.FIELD else ()
            accounts.add_user(engine, name, role, areas=areas, password=password)
        saved[name] = password
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{name} {pw}\n" for name, pw in sorted(saved.items())), encoding="utf-8")
    out.chmod(0o600)
    console.print("Demo logins (user password) for http://127.0.0.1:8000/login — also in " + str(out) + ":")
    for name, password in sorted(saved.items()):
        console.print(f"  {name:14s} {password}", highlight=False)
