"""Shared fixtures: settings on a throwaway SQLite file, and a throwaway PostgreSQL database per run.

Storage tests take the ``store_url`` fixture, parametrised over both back ends. PostgreSQL is the server at
``HOTSPOTS_TEST_PG`` (default 127.0.0.1:5432, user ``postgres``, trust auth). When a server, the browser or
node is missing, the tests that need it skip and say why -- unless ``HOTSPOTS_REQUIRE_POSTGRES`` /
``HOTSPOTS_REQUIRE_BROWSER`` is set (as ``.ci/run`` does), when they fail: CI cannot go green by skipping.

Markers follow the fixtures: a test that reaches PostgreSQL is marked ``postgres``, one that drives
Chromium ``browser`` (``pytest -m postgres`` runs exactly the former). The session also fails if the
run changed ``git status``: tests never write tracked files.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.config import Settings
from hotspots.demo import generate as demo
from hotspots.geo.areas import Areas, load_areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store

#: Every app refuses a missing or short session key; the tests' apps and served children sign with this one.
os.environ.setdefault("HOTSPOTS_SECRET_KEY", "test-session-key-" + uuid.uuid4().hex)

PG_ADMIN_URL = os.environ.get("HOTSPOTS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]


def skip_or_fail(requirement: str, reason: str) -> None:
    """Skip for a missing service or tool -- or fail when ``HOTSPOTS_REQUIRE_<requirement>`` is set."""
    variable = f"HOTSPOTS_REQUIRE_{requirement}"
    if os.environ.get(variable, "") not in {"", "0"}:
        pytest.fail(f"{reason} (and {variable} is set)", pytrace=False)
    pytest.skip(reason)


#: Fixtures that mean "this test reaches PostgreSQL" / "this test drives Chromium".
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per test process: Playwright's sync API allows one running instance per
    thread, so every browser test (map, pages, phone) shares this one."""
    from scripts.screenshots import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        skip_or_fail("BROWSER", f"{CHROMIUM} is missing (scripts/system-deps.sh installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


MARKED_BY_FIXTURE = {"pg_database": "postgres", "browser": "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they use, so ``-m postgres`` / ``-m browser`` select them without hand-kept
    decorators; ``store_url``'s PostgreSQL case reaches the server only at run time, so its id counts."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARKED_BY_FIXTURE.items():
            if fixture in fixtures:
                item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("store_url") == "postgres":
            item.add_marker("postgres")


_STATUS_BEFORE = pytest.StashKey[str | None]()


def _git_status() -> str | None:
    """``git status --porcelain`` of the checkout, or None outside a git work tree."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the xdist controller (or a plain run) checks, once
        session.config.stash[_STATUS_BEFORE] = _git_status()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_STATUS_BEFORE, None)
    after = _git_status() if before is not None else None
    if before is None or after is None or after == before:
        return
    changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
    session.config.get_terminal_writer().line(
        "FAILED: the tests changed the work tree (git status --porcelain): " + "; ".join(changed), red=True
    )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def _reads_wait_for_writes() -> Iterator[None]:
    """Every test sees its own writes in derived answers (staleness 0: a read waits for the new
    analysis), computed in the test's own process (a child per app would spawn hundreds of interpreters);
    the tests of bounded staleness and of the analysis process set their own settings."""
    defaults = {"HOTSPOTS_MAX_STALENESS_S": "0", "HOTSPOTS_ANALYSIS_PROCESS": "0"}
    before = {name: os.environ.get(name) for name in defaults}
    os.environ.update(defaults)
    yield
    for name, value in before.items():
        if value is None:
            del os.environ[name]
        else:
            os.environ[name] = value


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
        skip_or_fail("POSTGRES", reason)
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
    """Two years of the dense demo (seed 1, ending DEMO_END) imported once per test session: the planted-
    hotspot recall and the statistics need its volume; tests of the default demo use ``demo.generate``."""
    directory = tmp_path_factory.mktemp("demo")
    files = demo.write(directory, weeks=104, seed=1, end=DEMO_END, density=demo.Density.DENSE)
    settings = Settings(database_url=f"sqlite:///{directory / 'demo.db'}")
    engine = open_store(settings)
    ingest.import_file(engine, files.reports, settings=settings, areas=areas)
    return DemoStore(settings, engine, areas, pd.read_csv(files.truth), directory, DEMO_END)
