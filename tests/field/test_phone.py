"""The field list as a phone uses it: Chromium at 390×844 with geolocation, a shift with no coverage, a
visit and an observation logged offline, the network back, exactly one row each in the store, a lost
answer retried without a second row, and EST seeing the dose.

"Offline" is both Playwright's offline mode for the page and the server actually gone: Chromium's service
worker does not obey ``context.set_offline`` (microsoft/playwright#2311), so only a stopped server shows
that the list really comes from the phone's copy.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
import uvicorn

from api.main import create_app
from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store
from hotspots.store.schema import reports, visits
from scripts.screenshots import CHROMIUM, sign_in, wait_until
from tests.conftest import skip_or_fail
from tests.map.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PASSWORD = "fältlösenord-1234"
#: All assets of the list page, gzip-compressed: the page must stay usable on a 3G-class connection.
BUDGET_BYTES = 150_000
LIST = "/priorities?format=html&area=vivalla"


class Server:
    """uvicorn on a fixed loopback port that can be stopped (no network) and started again."""

    def __init__(self, app: Any, port: int) -> None:
        self.app, self.port, self.url = app, port, f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _seed(engine: Any, settings: Settings, areas: Areas) -> tuple[float, float]:
    """A busy cell in Vivalla over the last ten days (so today's list has it first) and a quieter one."""
    frame = areas.frame.set_index("area_id").geometry["vivalla"]
    point = frame.representative_point()
    now = datetime.now(UTC)
    rows = [
        {
            "source": "police",
            "source_id": f"p{i}",
            "occurred_at": (now - timedelta(days=1 + i % 10, hours=2)).isoformat(),
            "category": "observed_dealing",
            "lat": str(point.y + (0.004 if i % 4 == 3 else 0.0)),
            "lon": str(point.x),
        }
        for i in range(16)
    ]
    ingest.import_frame(engine, pd.DataFrame(rows), settings=settings, areas=areas, created_by="seed")
    return point.y, point.x


@pytest.fixture(scope="module")
def phone_server(
    tmp_path_factory: pytest.TempPathFactory, areas: Areas
) -> Iterator[tuple[Server, Any, tuple]]:
    if not CHROMIUM.exists():
        skip_or_fail("BROWSER", f"{CHROMIUM} is missing (scripts/system-deps.sh installs Debian's chromium)")
    directory = tmp_path_factory.mktemp("phone")
    settings = Settings(database_url=f"sqlite:///{directory / 'store.db'}", permutations=99)
    engine = open_store(settings)
    position = _seed(engine, settings, areas)
    accounts.add_user(engine, "falt", Role.FIELD, areas=("vivalla",), password=PASSWORD)
    accounts.add_user(engine, "est", Role.EST, password=PASSWORD)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Server(create_app(settings, engine), port)
    server.start()
    yield server, engine, position
    server.stop()
    engine.dispose()


@pytest.fixture
def chromium(browser: Any) -> Any:
    """The suite's one Chromium (tests/conftest.py): a second Playwright in the process would refuse."""
    return browser


def _login(context: Any, url: str, name: str, target: str) -> Any:
    page = context.new_page()
    sign_in(page, url, name, PASSWORD)
    page.goto(url + target)
    return page


def _rows(engine: Any) -> tuple[int, int]:
    with engine.connect() as conn:
        n_visits = conn.execute(sa.select(sa.func.count()).select_from(visits)).scalar_one()
        n_observations = conn.execute(
            sa.select(sa.func.count()).select_from(reports).where(reports.c.source == "field_group")
        ).scalar_one()
    return int(n_visits), int(n_observations)


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"field-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def test_a_shift_without_coverage(chromium: Any, phone_server: tuple[Server, Any, tuple]) -> None:
    server, engine, (lat, lon) = phone_server
    context = chromium.new_context(
        viewport=PHONE,
        geolocation={"latitude": lat, "longitude": lon, "accuracy": 8},
        permissions=["geolocation"],
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
    )
    errors: list[str] = []
    loaded: dict[str, Any] = {}
    page = _login(context, server.url, "falt", LIST)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    wait_until(
        page, "() => navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller !== null)"
    )
    wait_until(page, "() => caches.match(location.href).then(hit => !!hit)")
    page.on("response", lambda r: loaded.__setitem__(r.url, r))
    page.reload()
    page.wait_for_selector(".card")

    # Every asset of the page, gzip-compressed, within the 3G budget; the buttons are thumb-sized.
    assets = {url: response for url, response in loaded.items() if url.startswith(server.url)}
    sizes = {
        url: len(gzip.compress(response.body())) for url, response in assets.items() if response.status == 200
    }
    assert any(u.endswith("field-list.js") for u in sizes) and any(
        u.endswith("field-list.css") for u in sizes
    )
    assert sum(sizes.values()) <= BUDGET_BYTES, sizes
    heights = page.evaluate(
        "() => Array.from(document.querySelectorAll('.card:first-child > .buttons .btn')).map(b => b.getBoundingClientRect().height)"
    )
    assert len(heights) == 5 and min(heights) >= 44, heights
    assert page.evaluate("() => document.styleSheets.length") == 1  # the stylesheet applied under the CSP
    cards = page.locator(".card").count()
    assert cards >= 1 and "," in page.locator(".card .meta").first.inner_text()  # decimal comma
    _shot(page, "1-online")

    # No coverage: the page's network is off and the server is gone.
    context.set_offline(True)
    server.stop()
    page.reload()
    page.wait_for_selector(".card")
    assert page.locator(".card").count() == cards
    assert page.locator("#offline").is_visible()
    wait_until(page, "() => document.getElementById('fetched').textContent.includes('sparad på telefonen')")

    # A visit in three taps, and an observation at the phone's position.
    first = page.locator(".card").first
    first.locator("button.log").click()
    first.locator(".outcomes button[value=nothing_observed]").click()
    first.locator("button.save-visit").click()
    first.locator("button.observe").click()
    wait_until(page, "() => document.querySelector('.card .position').textContent.startsWith('Position')")
    first.locator("button.save-observation").click()
    wait_until(page, "() => window.hotspotsField.queue().length === 2")
    assert page.locator("#queue").inner_text() == "2 inskick väntar på nätet"
    page.evaluate("() => window.scrollTo(0, 0)")
    _shot(page, "2-offline-queued")
    assert _rows(engine) == (0, 0)

    # The network is back: both are sent, once.
    server.start()
    context.set_offline(False)
    wait_until(page, "() => window.hotspotsField.queue().length === 0", 30)
    assert _rows(engine) == (1, 1)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(reports.c.lat, reports.c.lon).where(reports.c.source == "field_group")
        ).one()
    assert (round(stored.lat, 5), round(stored.lon, 5)) == (
        round(lat, 5),
        round(lon, 5),
    )  # the phone's position

    # The server stores the next visit but the answer is lost: the phone retries with the same key.
    lost: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()  # the server receives and commits the visit ...
            lost.append(route.request.headers["idempotency-key"])
            route.abort("connectionreset")  # ... and the phone never hears the answer
        else:
            route.continue_()

    page.route("**/field/visits", lose_first_answer)
    first.locator("button.log").click()
    first.locator(".outcomes button[value=dispersed]").click()
    first.locator("input[name=minutes]").fill("12")
    first.locator("button.save-visit").click()
    wait_until(page, "() => window.hotspotsField.queue().length === 0", 30)
    assert lost and _rows(engine) == (2, 1)  # stored once although sent twice
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(visits.c.idempotency_key).where(visits.c.minutes == 12)).scalar_one()
            == lost[0]
        )
    page.unroute("**/field/visits")

    # A visit timed on the spot: start on arrival, end on leaving (the phone keeps the start time).
    second = page.locator(".card").nth(1)
    second.locator("button.start").click()
    assert second.locator("button.start").inner_text().startswith("Avsluta besök")
    second.locator("button.start").click()
    second.locator(".outcomes button[value=contact_made]").click()
    second.locator("button.save-visit").click()
    wait_until(page, "() => window.hotspotsField.queue().length === 0", 30)
    assert _rows(engine) == (3, 1)
    with engine.connect() as conn:
        timed = conn.execute(sa.select(visits).where(visits.c.outcome == "contact_made")).one()
    assert timed.minutes == 1 and timed.ended_at > timed.started_at
    assert second.locator("button.start").inner_text() == "Starta besök"
    assert errors == ["Failed to load resource: net::ERR_CONNECTION_RESET"]  # the lost answer, nothing else
    context.close()

    # EST opens the list: the place shows its dose of visits.
    est = chromium.new_context(viewport=PHONE, locale="sv-SE")
    page = _login(est, server.url, "est", LIST)
    dose = page.locator(".card").first.locator(".dose").inner_text()
    assert dose == "Besökt 2 gånger senaste 7 dagarna (27 min)", dose
    _shot(page, "3-est-dose")
    est.close()


def _queue_a_visit_that_cannot_be_sent(page: Any) -> None:
    """A visit logged while every send fails: it stays in the phone's queue."""
    page.route("**/field/visits", lambda route: route.abort("internetdisconnected"))
    first = page.locator(".card").first
    first.locator("button.log").click()
    first.locator(".outcomes button[value=nothing_observed]").click()
    first.locator("button.save-visit").click()
    wait_until(page, "() => window.hotspotsField.queue().length === 1")


def test_logout_clears_the_phones_copy_and_queue(
    chromium: Any, phone_server: tuple[Server, Any, tuple]
) -> None:
    """A shared phone: after "Logga ut" neither the kept list nor the queued visit is left for the next user."""
    server, engine, _ = phone_server
    before = _rows(engine)
    context = chromium.new_context(viewport=PHONE, locale="sv-SE")
    page = _login(context, server.url, "falt", LIST)
    page.wait_for_selector(".card")
    wait_until(
        page, "() => navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller !== null)"
    )
    wait_until(page, "() => caches.match(location.href).then(hit => !!hit)")
    _queue_a_visit_that_cannot_be_sent(page)
    assert page.evaluate("() => localStorage.length") >= 1

    page.goto(server.url + "/")
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    assert page.url.endswith("/login")
    wait_until(page, "() => navigator.serviceWorker.getRegistrations().then(r => r.length === 0)")
    assert page.evaluate("() => caches.keys()") == []
    assert page.evaluate("() => localStorage.length") == 0
    assert _rows(engine) == before
    context.close()


def test_another_users_queue_is_dropped_not_sent(
    chromium: Any, phone_server: tuple[Server, Any, tuple]
) -> None:
    """A session that ended without the logout form (expired, cookies cleared) leaves the queue behind:
    the next user's list drops it instead of sending it under their session."""
    server, engine, _ = phone_server
    accounts.add_user(engine, "falt2", Role.FIELD, areas=("vivalla",), password=PASSWORD)
    before = _rows(engine)
    context = chromium.new_context(viewport=PHONE, locale="sv-SE")
    page = _login(context, server.url, "falt", LIST)
    page.wait_for_selector(".card")
    _queue_a_visit_that_cannot_be_sent(page)
    page.unroute("**/field/visits")
    context.clear_cookies()

    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" and "/field/" in r.url else None)
    sign_in(page, server.url, "falt2", PASSWORD)
    page.goto(server.url + LIST)
    page.wait_for_selector(".card")
    wait_until(page, "() => localStorage.getItem('hotspots.field.queue') === '[]'")
    assert page.locator("#queue").is_hidden()
    # Their own visit is sent as usual.
    first = page.locator(".card").first
    first.locator("button.log").click()
    first.locator(".outcomes button[value=dispersed]").click()
    first.locator("button.save-visit").click()
    wait_until(page, "() => window.hotspotsField.queue().length === 0", 30)
    assert len(sent) == 1 and _rows(engine) == (before[0] + 1, before[1])
    with engine.connect() as conn:
        newest = conn.execute(
            sa.select(visits.c.user_name).order_by(visits.c.id.desc()).limit(1)
        ).scalar_one()
    assert newest == "falt2"  # the one new row is falt2's own visit, not falt's queued one
    context.close()


def test_the_fetch_time_is_the_deployments_local_time_on_a_phone_abroad(
    chromium: Any, phone_server: tuple[Server, Any, tuple]
) -> None:
    """A phone set to Toronto time shows "Hämtad" in Stockholm time, as every other time on the page."""
    server, _, _ = phone_server
    context = chromium.new_context(viewport=PHONE, locale="sv-SE", timezone_id="America/Toronto")
    page = _login(context, server.url, "falt", LIST)
    page.wait_for_selector(".card")
    wait_until(page, "() => document.querySelector('#fetched').textContent.includes(':')")
    shown = page.locator("#fetched").inner_text()
    stockholm = [
        (datetime.now(ZoneInfo("Europe/Stockholm")) + timedelta(minutes=d)).strftime("%Y-%m-%d %H:%M")
        for d in (-1, 0, 1)
    ]
    assert any(moment in shown for moment in stockholm), (shown, stockholm)
    context.close()
