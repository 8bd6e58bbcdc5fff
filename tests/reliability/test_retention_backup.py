"""Retention and backups: a purge deletes exactly the old reports and audits it; a backup taken while a
writer runs is one consistent state that restores and matches its manifest, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from hotspots.access import audit
from hotspots.cli import app
from hotspots.cli import ops as _ops  # noqa: F401  (registers purge/backup/restore on the app)
from hotspots.config import Settings, get_settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store import backup, retention
from hotspots.store.engine import dataset_version, insert_reports, open_store, transaction
from hotspots.store.schema import reports
from tests.conftest import PG_ADMIN_URL
from tests.reliability.conftest import reports_frame, store_rows

NOW = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
CUTOFF_36M = datetime(2023, 10, 31, 12, 0, tzinfo=UTC)  # by hand: 36 calendar months before NOW
WRITER_BATCH = 400


def _source_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(reports.c.source_id)).scalars())


def _four_years_of_reports() -> pd.DataFrame:
    """1,500 reports over 48 months before NOW, plus two on either side of the 36-month cutoff."""
    frame = reports_frame(1_500, prefix="r", end=NOW - timedelta(hours=1), days=4 * 365)
    edge = pd.DataFrame(
        {
            "source": "police",
            "source_id": ["at-cutoff", "just-before"],
            "occurred_at": [CUTOFF_36M.isoformat(), (CUTOFF_36M - timedelta(seconds=1)).isoformat()],
            "category": "seizure",
            "lat": "59.274",
            "lon": "15.207",
        }
    )
    return pd.concat([frame, edge], ignore_index=True)


def test_periods_are_calendar_months_or_days() -> None:
    assert retention.RetentionPeriod.parse("36m").cutoff(NOW) == CUTOFF_36M
    assert retention.RetentionPeriod.parse("8M").cutoff(NOW) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert retention.RetentionPeriod.parse(" 365d ").cutoff(NOW) == NOW - timedelta(days=365)
    for bad in ("36", "3y", "-1m", "0d", "36 months", ""):
        with pytest.raises(HotspotsError, match="36m"):
            retention.RetentionPeriod.parse(bad)


def test_purge_deletes_exactly_the_old_reports_bumps_the_version_and_audits(
    store_url: str, areas: Areas
) -> None:
    settings = Settings(database_url=store_url)
    engine = open_store(settings)
    raw = _four_years_of_reports()
    ingest.import_frame(engine, raw, settings=settings, areas=areas)
    occurred = pd.to_datetime(raw["occurred_at"], utc=True)
    expected_kept = set(raw.loc[occurred >= pd.Timestamp(CUTOFF_36M), "source_id"])
    version = dataset_version(engine)

    result = retention.purge(engine, older_than="36m", actor="maria", now=NOW)

    assert result.cutoff == CUTOFF_36M
    assert result.deleted == len(raw) - len(expected_kept) > 0
    assert _source_ids(engine) == expected_kept
    assert {"at-cutoff"} <= expected_kept and "just-before" not in expected_kept
    assert result.dataset_version == dataset_version(engine) == version + 1
    (entry,) = audit.query(engine, action=retention.PURGE_ACTION)
    assert (entry.actor, entry.rows) == ("maria", result.deleted)
    assert entry.detail == {"older_than": "36m", "cutoff": CUTOFF_36M.isoformat(), "visits": 0}

    again = retention.purge(engine, older_than="36m", actor="maria", now=NOW)
    assert again.deleted == 0 and again.dataset_version == version + 1  # nothing changed, no new version
    assert [e.rows for e in audit.query(engine, action=retention.PURGE_ACTION)] == [0, result.deleted]


class _Writer(threading.Thread):
    """Imports batches of WRITER_BATCH reports back to back until stopped, counting its commits."""

    def __init__(self, engine: Engine, settings: Settings, areas: Areas) -> None:
        super().__init__(daemon=True)
        self.engine, self.settings, self.areas = engine, settings, areas
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                batch = reports_frame(WRITER_BATCH, prefix=f"w{self.committed}", seed=self.committed)
                ingest.import_frame(self.engine, batch, settings=self.settings, areas=self.areas)
                self.committed += 1
        except BaseException as exc:  # surfaced by the test after join()
            self.error = exc

    def wait_for(self, commits: int, timeout: float = 30) -> None:
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while self.committed < commits and datetime.now(UTC) < deadline and self.error is None:
            self.stop.wait(0.01)
        assert self.committed >= commits, self.error


@pytest.fixture
def restore_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty store on the same back end to restore into."""
    url = sa.engine.make_url(store_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"{url.database}_restore_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_backup_while_writing_is_consistent_and_restores(
    store_url: str, restore_url: str, tmp_path: Path, areas: Areas
) -> None:
    settings = Settings(database_url=store_url)
    engine = open_store(settings)
    writer = _Writer(engine, settings, areas)
    writer.start()
    try:
        writer.wait_for(2)
        with transaction(engine) as in_flight:  # a batch written but not committed during the whole backup
            insert_reports(in_flight, store_rows(300, prefix="in-flight"))
            manifest = backup.backup(settings, tmp_path / "backup.bin")
        writer.wait_for(writer.committed + 1)  # the writer carries on after the backup
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error

    # One committed state: whole batches only, and version, imports and reports agree with each other.
    batches = manifest.counts["imports"]
    assert batches >= 2
    assert manifest.counts["reports"] == WRITER_BATCH * batches
    assert manifest.dataset_version == batches
    assert backup.read_manifest(tmp_path / "backup.bin") == manifest
    assert (tmp_path / "backup.bin").stat().st_mode & 0o077 == 0, "backups hold report data: owner-only"

    restored = backup.restore(settings, tmp_path / "backup.bin", database_url=restore_url)
    assert restored == manifest
    target = open_store(Settings(database_url=restore_url))  # migrations see the restored schema as current
    restored_ids = _source_ids(target)
    assert len(restored_ids) == manifest.counts["reports"]
    assert restored_ids < _source_ids(engine)  # a past state of the source, which has moved on since
    assert "in-flight-0" in _source_ids(engine) and "in-flight-0" not in restored_ids
    target.dispose()


def test_restore_refuses_a_backup_that_does_not_match_its_manifest(
    sqlite_settings: Settings, areas: Areas
) -> None:
    engine = open_store(sqlite_settings)
    ingest.import_frame(engine, reports_frame(50, prefix="m"), settings=sqlite_settings, areas=areas)
    dest = Path(str(sa.engine.make_url(sqlite_settings.database_url).database)).with_name("b.db")
    manifest = backup.backup(sqlite_settings, dest)
    tampered = manifest._replace(counts={**manifest.counts, "reports": 49})
    backup.manifest_path(dest).write_text(tampered.to_json())
    with pytest.raises(backup.BackupError, match="reports: 50 rows, expected 49"):
        backup.restore(sqlite_settings, dest, database_url=f"sqlite:///{dest.with_name('r.db')}")


def test_cli_purge_backup_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, areas: Areas) -> None:
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        engine = open_store(settings)
        old = reports_frame(30, prefix="old", end=datetime.now(UTC) - timedelta(days=4 * 365), days=30)
        new = reports_frame(20, prefix="new", days=30)
        ingest.import_frame(engine, pd.concat([old, new]), settings=settings, areas=areas)
        runner = CliRunner()

        def said(result: Result) -> str:
            return " ".join(result.output.split())  # rich wraps long lines

        dry = runner.invoke(app, ["purge", "--dry-run"])  # default period: retention_months (36)
        assert dry.exit_code == 0 and "30 reports occurred before" in said(dry)
        assert len(_source_ids(engine)) == 50
        declined = runner.invoke(app, ["purge", "--older-than", "36m"], input="n\n")
        assert declined.exit_code == 1 and len(_source_ids(engine)) == 50
        bad = runner.invoke(app, ["purge", "--older-than", "3 years", "--yes"])
        assert bad.exit_code == 1 and "36m" in said(bad)

        done = runner.invoke(app, ["purge", "--older-than", "36m", "--yes"])
        assert done.exit_code == 0 and "deleted 30 reports" in said(done)
        assert all(i.startswith("new") for i in _source_ids(engine)) and len(_source_ids(engine)) == 20

        out = tmp_path / "backups" / "b.db"
        made = runner.invoke(app, ["backup", "--out", str(out)])
        assert made.exit_code == 0 and "20 reports" in said(made)
        into = f"sqlite:///{tmp_path / 'check.db'}"
        restored = runner.invoke(app, ["restore", str(out), "--into", into, "--yes"])
        assert restored.exit_code == 0 and "counts and checksum match" in said(restored)
        assert _source_ids(sa.create_engine(into)) == _source_ids(engine)
    finally:
        get_settings.cache_clear()
