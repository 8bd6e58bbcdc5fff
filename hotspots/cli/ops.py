"""Operations: ``hotspots purge``, ``hotspots backup`` and ``hotspots restore``.

hotspots purge --older-than 36m --dry-run
hotspots purge --older-than 36m --yes
hotspots backup --out backups/hotspots-2026-11-22.db
hotspots restore backups/hotspots-2026-11-22.db --into sqlite:///var/restore-check.db --yes
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from hotspots.cli.app import JsonOpt, app, console, fail
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.store import backup, retention
from hotspots.store.engine import open_store

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@app.command("purge")
def purge_command(
    older_than: Annotated[
        str | None,
        typer.Option(help="Delete reports older than this: 36m (months) or 365d. Default: retention_months."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only count what would be deleted.")] = False,
    yes: YesOpt = False,
) -> None:
    """Delete reports past the retention period, in one transaction, with an audit row."""
    settings = get_settings()
    try:
        period = (
            retention.RetentionPeriod.parse(older_than)
            if older_than
            else retention.RetentionPeriod.months(settings.retention_months)
        )
        engine = open_store(settings)
        now = datetime.now(UTC)
        cutoff = period.cutoff(now)
        pending = retention.count_older(engine, cutoff)
        console.print(f"{pending} reports occurred before {cutoff:%Y-%m-%d %H:%M} UTC (older than {period}).")
        if dry_run:
            return
        if pending and not yes and not typer.confirm("Delete them permanently?", err=True):
            raise typer.Exit(1)
        result = retention.purge(engine, older_than=period, actor=getpass.getuser(), now=now)
    except HotspotsError as exc:
        raise fail(exc) from exc
    console.print(f"deleted {result.deleted} reports (dataset version {result.dataset_version}).")


@app.command("backup")
def backup_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Backup file to write (a manifest goes beside it).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Consistent copy of the store while it runs (SQLite online backup, or pg_dump for PostgreSQL)."""
    try:
        result = backup.backup(get_settings(), out)
    except HotspotsError as exc:
        raise fail(exc) from exc
    if as_json:
        print(result.to_json())
        return
    console.print(
        f"{out}: {result.counts.get('reports', 0)} reports, dataset version {result.dataset_version}, "
        f"checksum {result.reports_sha256[:16]}…; manifest {backup.manifest_path(out)}",
        soft_wrap=True,  # paths stay on one line, copyable
    )


@app.command("restore")
def restore_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A file made by `hotspots backup`.")
    ],
    into: Annotated[
        str | None, typer.Option(help="Restore into this database URL instead of the configured store.")
    ] = None,
    yes: YesOpt = False,
) -> None:
    """Replace a store's contents with a backup, then verify counts and checksum against its manifest."""
    settings = get_settings()
    target = into or settings.database_url
    shown = sa.engine.make_url(target).render_as_string(hide_password=True)
    if not yes and not typer.confirm(f"Replace everything in {shown} with {file.name}?", err=True):
        raise typer.Exit(1)
    try:
        result = backup.restore(settings, file, database_url=target)
    except HotspotsError as exc:
        raise fail(exc) from exc
    console.print(
        f"restored {result.counts.get('reports', 0)} reports (dataset version {result.dataset_version}); "
        "counts and checksum match the manifest."
    )
