"""A served demo instance for the map tests: the real API app (login and access rules included), never a
map router mounted without them.

The server runs uvicorn on a free loopback port in a background thread, over the session's demo store.
Browser fixtures drive Debian's Chromium through Playwright; they skip (saying why) only when
/usr/bin/chromium is missing, and fail instead when ``HOTSPOTS_REQUIRE_BROWSER`` is set.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.main import create_app
from hotspots.access.accounts import AccountError, Role, add_user, create_key, get_user
from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.compute import Analysis, analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.config import Settings
from scripts.screenshots import IDLE, VIEWPORT, blank_tile, sign_in, wait_until
from tests.conftest import DemoStore

#: Where tests may leave screenshots (ignored by git); ``make screenshots`` refreshes the README's.
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
USER, PASSWORD = "map-test-est", "map-test-password-1"


class MapServer(NamedTuple):
    """The running app: base URL, its demo store and settings."""

    url: str
    demo: DemoStore
    settings: Settings
    analyses: AnalysisCache  # the tests' own, apart from the server's

    def analysis(self, **params: Any) -> Analysis:
        """The analysis the page and tiles show for ``params`` (the demo's last day unless given)."""
        params.setdefault("end", self.demo.end)
        return analyse(
            self.demo.engine, self.settings, self.demo.areas, AnalysisParams(**params), cache=self.analyses
        )


def _ensure_user(demo: DemoStore) -> None:
    """The EST user the map tests sign in as (on a copied store it may be there already)."""
    try:
        get_user(demo.engine, USER)
    except AccountError:
        add_user(demo.engine, USER, Role.EST, password=PASSWORD)


@contextmanager
def signed_in_client(demo: DemoStore) -> Iterator[TestClient]:
    """A test client of the real app on ``demo``'s store, sending an EST user's API key."""
    _ensure_user(demo)
    key = create_key(demo.engine, USER)
    with TestClient(create_app(demo.settings), headers={"X-API-Key": key}) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def map_server(demo_store: DemoStore) -> Iterator[MapServer]:
    _ensure_user(demo_store)
    app = create_app(demo_store.settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield MapServer(f"http://127.0.0.1:{port}", demo_store, demo_store.settings, AnalysisCache())
    server.should_exit = True
    thread.join(timeout=10)


class Console(NamedTuple):
    """Console errors and uncaught exceptions of a page."""

    errors: list[str]

    def record(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture
def open_page(browser: Any, map_server: MapServer) -> Iterator[Callable[..., tuple[Any, Console]]]:
    """Open a map URL in a fresh context, logged in; returns (page, console errors)."""
    contexts: list[Any] = []

    def open_(
        path: str, *, offline: bool = False, basemap: bool = True, size: tuple[int, int] | None = None
    ) -> tuple[Any, Console]:
        viewport = VIEWPORT if size is None else {"width": size[0], "height": size[1]}
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        if offline:
            context.route("**/*", _only_loopback)
        elif basemap:
            context.route("https://*.openstreetmap.org/**", blank_tile)
        page = context.new_page()
        console = Console([])
        page.on("console", lambda message: console.record(message))
        page.on("pageerror", lambda e: console.errors.append(f"uncaught: {e}"))
        sign_in(page, map_server.url, USER, PASSWORD)
        page.goto(map_server.url + path)
        wait_until(page, IDLE)
        return page, console

    yield open_
    for context in contexts:
        context.close()


def _only_loopback(route: Any) -> None:
    host = route.request.url.split("/")[2].split(":")[0]
    if host in {"127.0.0.1", "localhost"} or route.request.url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort()
