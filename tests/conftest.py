"""Shared fixtures: settings on a throwaway SQLite file, and a throwaway PostgreSQL database per run.

Storage tests take the ``store_url`` fixture, parametrised over both back ends. PostgreSQL is the server on
127.0.0.1:5432 (user ``postgres``, trust auth); when none answers those tests skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots import demo, ingest
from hotspots.areas import Areas, load_areas
from hotspots.config import Settings
from hotspots.store import open_store

PG_ADMIN_URL = os.environ.get("HOTSPOTS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_reachable() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any driver or network error means "not reachable"
        return f"no PostgreSQL server reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}".splitlines()[
            0
        ]
    return None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh database on the local PostgreSQL server, dropped after the session."""
    reason = _pg_reachable()
    if reason:
        pytest.skip(reason)
    name = f"hotspots_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each back end (a new SQLite file; the PostgreSQL test database wiped)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_database")
    _reset_postgres(url)
    return url


@pytest.fixture
def settings(store_url: str) -> Settings:
    return Settings(database_url=store_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture(scope="session")
def areas() -> Areas:
    return load_areas(Settings())


#: The demo's fixed last day: every demo-based test sees the same data.
DEMO_END = date(2026, 11, 15)


class DemoStore(NamedTuple):
    """The seeded demo imported into a SQLite store, with its planted ground truth."""

    settings: Settings
    engine: Engine
    areas: Areas
    truth: pd.DataFrame
    directory: Path
    end: date


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory, areas: Areas) -> DemoStore:
    """Two years of demo reports (seed 1, ending DEMO_END) imported once per test session."""
    directory = tmp_path_factory.mktemp("demo")
    files = demo.write(directory, weeks=104, seed=1, end=DEMO_END)
    settings = Settings(database_url=f"sqlite:///{directory / 'demo.db'}")
    engine = open_store(settings)
    ingest.import_file(engine, files.reports, settings=settings, areas=areas)
    return DemoStore(settings, engine, areas, pd.read_csv(files.truth), directory, DEMO_END)
