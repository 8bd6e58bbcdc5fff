"""Helpers for the fault tests: generated report batches and a child process that imports them.

The faults are real (a killed process, terminated server connections, several writer processes), so imports
that must be killed or must compete run in separate Python processes started with :func:`start_import`.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.geo.h3grid import latlng_to_cells
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store
from hotspots.store.schema import REPORT_COLUMNS

#: A box around central Örebro: every point is inside the municipality, so every generated row is valid.
LAT_RANGE = (59.255, 59.295)
LON_RANGE = (15.17, 15.25)
CATEGORIES = ("observed_dealing", "suspected_dealing", "public_use", "paraphernalia", "loitering")

#: The child: imports each file named on its command line into the store of HOTSPOTS_DATABASE_URL. It
#: prints every progress call ("progress DONE TOTAL") so the parent knows when a batch's rows are being
#: written, and with a GO file named waits for that file first, so several children write at once.
IMPORT_SCRIPT = """
import os, sys, time
from pathlib import Path
from hotspots.ingest import pipeline as ingest
from hotspots.geo.areas import load_areas
from hotspots.config import get_settings
from hotspots.store.engine import open_store

settings = get_settings()
engine = open_store(settings)
areas = load_areas(settings)
go = os.environ.get("GO_FILE")
while go and not Path(go).exists():
    time.sleep(0.005)
def progress(done, total):
    print(f"progress {done} {total}", flush=True)
for name in sys.argv[1:]:
    result = ingest.import_file(engine, Path(name), settings=settings, areas=areas, progress=progress)
    print(f"added {result.rows_added}", flush=True)
"""


def reports_frame(
    n: int, *, prefix: str, seed: int = 0, end: datetime | None = None, days: float = 365
) -> pd.DataFrame:
    """``n`` valid raw report rows (strings, as read from a file) with source ids ``{prefix}-{i}``,
    occurring uniformly over the ``days`` days before ``end`` (default: an hour ago)."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC) - timedelta(hours=1)
    ages = pd.to_timedelta(rng.uniform(0, days * 86_400, n), unit="s")
    return pd.DataFrame(
        {
            "source": "police",
            "source_id": [f"{prefix}-{i}" for i in range(n)],
            "occurred_at": (pd.Timestamp(end) - ages).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "category": np.asarray(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
            "lat": rng.uniform(*LAT_RANGE, n).round(6).astype(str),
            "lon": rng.uniform(*LON_RANGE, n).round(6).astype(str),
        }
    )


def store_rows(n: int, *, prefix: str) -> pd.DataFrame:
    """``n`` validated rows as the import pipeline hands them to ``store.insert_reports`` (source ids
    ``{prefix}-{i}``), for tests that write inside a transaction of their own."""
    now = pd.Timestamp(datetime.now(UTC))
    lat, lon = np.full(n, 59.274), np.full(n, 15.207)
    frame = pd.DataFrame(
        {
            "source": "police",
            "source_id": [f"{prefix}-{i}" for i in range(n)],
            "occurred_at": now,
            "reported_at": now,
            "category": "observed_dealing",
            "lat": lat,
            "lon": lon,
            "cell": latlng_to_cells(lat, lon, 12),
            "area_id": None,
            "weight": 1.0,
            "note": None,
            "import_id": None,
            "created_by": "fault-test",
            "created_at": now,
        }
    )
    return frame[list(REPORT_COLUMNS)]


def write_reports_csv(path: Path, n: int, *, prefix: str, seed: int = 0, **when: object) -> Path:
    """:func:`reports_frame` written as an import file."""
    reports_frame(n, prefix=prefix, seed=seed, **when).to_csv(path, index=False)  # type: ignore[arg-type]
    return path


def seeded_store(directory: Path, areas: Areas, n: int, **settings: Any) -> tuple[Settings, Engine]:
    """A SQLite store under ``directory`` holding ``n`` generated reports of the last 20 days."""
    config = Settings(database_url=f"sqlite:///{directory / 'store.db'}", **settings)
    engine = open_store(config)
    reports = write_reports_csv(directory / "a.csv", n, prefix="a", days=20)
    ingest.import_file(engine, reports, settings=config, areas=areas)
    return config, engine


def start_import(
    files: list[Path], database_url: str, log: Path, go_file: Path | None = None
) -> subprocess.Popen[str]:
    """The import library call in a child process: progress lines on stdout, errors in ``log``."""
    env = {"HOTSPOTS_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    if go_file is not None:
        env["GO_FILE"] = str(go_file)
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-c", IMPORT_SCRIPT, *map(str, files)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )


def wait_for_line(child: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The child's next stdout line starting with ``prefix``; fails if it exits or the time runs out."""
    assert child.stdout is not None
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([child.stdout], [], [], remaining)
        if not ready:
            break
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"child exited ({child.wait()}) before printing {prefix!r}")
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no {prefix!r} line from the child within {timeout} s")


def terminate_backends(admin: Engine, application_name: str) -> int:
    """``pg_terminate_backend`` on every server process of ``application_name`` (never the caller's own);
    how many were terminated."""
    with admin.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"app": application_name},
            ).scalar_one()
        )
