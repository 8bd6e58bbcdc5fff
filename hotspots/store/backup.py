"""Backups that are known to restore: a consistent copy of the store plus a manifest to check it against.

* SQLite: the online backup API (``sqlite3.Connection.backup``) copies the live database in one step, i.e.
  from one read snapshot; under WAL, writers keep committing meanwhile and the copy holds none of their
  half-done batches. The copy is a self-contained file (rollback journal, no ``-wal``).
* PostgreSQL: ``pg_dump --format=custom`` run inside an exported snapshot (``pg_export_snapshot``), with the
  manifest computed in that same snapshot, so the manifest describes exactly what the dump holds even
  while writers run.

The manifest (``<backup>.manifest.json``) is a :class:`Fingerprint`: per-table row counts, the dataset
version and a SHA-256 over every report's (source, source_id, occurred_at, category, cell, weight) in a
back-end independent order. :func:`restore` compares the restored store with it and fails loudly on any
difference.

Backups hold report-level data: they are written owner-only (mode 0600), like the store itself should be.

Usage (needs a store, so not a doctest)::

    fp = backup(settings, Path("backups/hotspots-2026-11-22.db"))
    restore(settings, Path("backups/hotspots-2026-11-22.db"), database_url="sqlite:///var/check.db")
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.store.engine import create_store_engine, dataset_version, new_epoch, read_reports
from hotspots.store.schema import metadata

#: The report columns the checksum covers: identity, time, what and where.
CHECKSUM_COLUMNS = ("source", "source_id", "occurred_at", "category", "cell", "weight")
_PG_TIMEOUT_S = 3600


class BackupError(HotspotsError):
    """A backup or restore could not be made, or the restored store does not match its manifest."""


class Fingerprint(NamedTuple):
    """What a store holds, compactly: equal fingerprints mean the same reports and the same table sizes."""

    counts: dict[str, int]
    dataset_version: int
    reports_sha256: str

    def to_json(self) -> str:
        return json.dumps(self._asdict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        raw = json.loads(text)
        return cls(
            {str(k): int(v) for k, v in raw["counts"].items()},
            int(raw["dataset_version"]),
            raw["reports_sha256"],
        )

    def differences(self, other: Fingerprint) -> list[str]:
        """Human-readable differences from ``other`` (empty when they match)."""
        out = [
            f"{table}: {self.counts.get(table)} rows, expected {other.counts.get(table)}"
            for table in sorted(set(self.counts) | set(other.counts))
            if self.counts.get(table) != other.counts.get(table)
        ]
        if self.dataset_version != other.dataset_version:
            out.append(f"dataset version {self.dataset_version}, expected {other.dataset_version}")
        if self.reports_sha256 != other.reports_sha256:
            out.append("report checksum differs")
        return out


def manifest_path(backup_file: Path) -> Path:
    """Where the manifest of ``backup_file`` lives: next to it."""
    return backup_file.with_name(backup_file.name + ".manifest.json")


def _reports_sha256(conn: Connection) -> str:
    """SHA-256 over the checksum columns of every report, sorted by (source, source_id) in Python so the
    order does not depend on the back end's collation: a SQLite store and its PostgreSQL copy compare
    equal."""
    frame = read_reports(conn, columns=CHECKSUM_COLUMNS).sort_values(["source", "source_id"], kind="stable")
    digest = hashlib.sha256()
    for name in ("source", "source_id", "category"):
        digest.update("\x1f".join(frame[name].astype(str)).encode())
        digest.update(b"\x1e")
    digest.update(frame["occurred_at"].astype("int64").to_numpy().astype("<i8").tobytes())
    digest.update(frame["cell"].to_numpy().astype("<u8").tobytes())
    digest.update(frame["weight"].to_numpy().astype("<f8").tobytes())
    return digest.hexdigest()


def _fingerprint(conn: Connection) -> Fingerprint:
    counts = {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in metadata.sorted_tables
    }
    return Fingerprint(counts, dataset_version(conn), _reports_sha256(conn))


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one consistent state of the store."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")  # deferred: the first read fixes the snapshot until rollback
            try:
                yield conn
            finally:
                conn.rollback()
    else:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn


def fingerprint(engine: Engine) -> Fingerprint:
    """The :class:`Fingerprint` of a store, read in one snapshot."""
    with _snapshot(engine) as conn:
        return _fingerprint(conn)


def _sqlite_path(url: sa.engine.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite store has nothing on disk to back up or restore into")
    return Path(url.database)


def _write_private(path: Path) -> None:
    """Create (or truncate) ``path`` readable by its owner only, before any data goes into it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    path.chmod(0o600)


def _backup_sqlite(source: Path, dest: Path) -> Fingerprint:
    tmp = dest.with_name(dest.name + ".partial")
    _write_private(tmp)
    src = sqlite3.connect(source, timeout=30)
    out = sqlite3.connect(tmp)
    try:
        src.backup(out)  # pages=-1: the whole database in one step, from one read snapshot
        out.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        check = out.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        out.close()
        src.close()
    if check != "ok":
        tmp.unlink()
        raise BackupError(f"the copy of {source} fails SQLite's integrity check: {check}")
    copy = sa.create_engine(f"sqlite:///{tmp}")  # plain: the store's engine would switch it to WAL
    try:
        result = fingerprint(copy)
    finally:
        copy.dispose()
    tmp.replace(dest)
    return result


def _pg_command(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} not found on PATH: install the PostgreSQL client tools (the same major version as "
            "the server, e.g. apt-get install postgresql-client) to back up or restore PostgreSQL stores"
        )
    return found


def _pg_run(args: list[str], url: sa.engine.URL) -> None:
    """Run a PostgreSQL client tool against ``url``; the password goes by environment, never argv (ps)."""
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(
        [*args, "--dbname", conninfo], env=env, capture_output=True, text=True, timeout=_PG_TIMEOUT_S
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _backup_postgres(engine: Engine, url: sa.engine.URL, dest: Path) -> Fingerprint:
    pg_dump = _pg_command("pg_dump")
    tmp = dest.with_name(dest.name + ".partial")
    _write_private(tmp)
    with _snapshot(engine) as conn:
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        _pg_run([pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}", "--file", str(tmp)], url)
        result = _fingerprint(conn)
    tmp.replace(dest)
    return result


def backup(settings: Settings, dest: Path) -> Fingerprint:
    """Copy the configured store to ``dest`` (SQLite file or pg_dump custom archive) and write its manifest.

    Safe while the service runs: the copy is one consistent state. Returns the copy's fingerprint.
    """
    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        result = _backup_sqlite(_sqlite_path(url), dest)
    else:
        engine = create_store_engine(settings)
        try:
            result = _backup_postgres(engine, url, dest)
        finally:
            engine.dispose()
    manifest = manifest_path(dest)
    _write_private(manifest)
    manifest.write_text(result.to_json(), encoding="utf-8")
    return result


def read_manifest(backup_file: Path) -> Fingerprint:
    """The fingerprint recorded when ``backup_file`` was made."""
    try:
        return Fingerprint.from_json(manifest_path(backup_file).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise BackupError(f"cannot read the manifest of {backup_file}: {exc}") from exc


def _refuse_if_in_use(settings: Settings) -> None:
    """BackupError while other sessions are connected to the PostgreSQL database: a server would go on
    from the store it had (its temporary tables even make ``pg_restore --clean`` fail half-way through a
    message about sequences). Stop the API workers and importers first. (On SQLite a running server
    notices the restore instead: :func:`hotspots.store.engine.new_epoch`.)"""
    engine = create_store_engine(settings)
    try:
        with engine.connect() as conn:
            others = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).scalar_one()
    finally:
        engine.dispose()
    if others:
        raise BackupError(
            f"{others} other connection(s) use the database: stop the API server and importers, then restore"
        )


def restore(settings: Settings, backup_file: Path, *, database_url: str | None = None) -> Fingerprint:
    """Replace the contents of the store at ``database_url`` (default: the configured one) with a backup,
    then check the result against the backup's manifest. Raises :class:`BackupError` on any difference.

    Stop writers first: a restore replaces everything, and a write racing it makes the check fail.
    """
    expected = read_manifest(backup_file)
    target = Settings(database_url=database_url or settings.database_url)
    url = sa.engine.make_url(target.database_url)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        out = sqlite3.connect(path, timeout=30)
        try:
            src.backup(out)  # through SQLite's locks and journal: safe even if other processes have it open
        finally:
            out.close()
            src.close()
    else:
        _refuse_if_in_use(target)
        _pg_run(
            [_pg_command("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--exit-on-error", str(backup_file)],
            url,
        )  # fmt: skip
    engine = create_store_engine(target)
    try:
        restored = fingerprint(engine)
        problems = restored.differences(expected)
        if problems:
            raise BackupError(f"restored store does not match {backup_file}: " + "; ".join(problems))
        with engine.begin() as conn:
            new_epoch(conn)  # a server on this store sees new versions on its next request
    finally:
        engine.dispose()
    return restored
