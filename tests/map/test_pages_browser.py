"""Every HTML page of the app in real Chromium, as each role, on a phone (390x844) and a projector (1440x900),
under the app's own response headers.

A page passes when nothing in it failed: no console error, no uncaught exception, no Content-Security-Policy
violation (reported by the page itself through ``securitypolicyviolation``), no failed or 4xx/5xx
sub-request (the basemap's host excepted: it is unreachable here, and the map must work without it), no
stylesheet that did not apply and no image that did not load. A role that may not open a page gets the
403 page, a browser without a session is sent to the login page, and an unknown path shows the 404 page,
all under the same rules. Screenshots of every page go to ``tests/artifacts/pages/`` for a person to look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

from hotspots.access.accounts import Role, add_user
from scripts.screenshots import IDLE, wait_until
from tests.map.conftest import ARTIFACTS, MapServer

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "projector": {"width": 1440, "height": 900}}
PASSWORD = "pages-test-password-1"
STATISTICS = frozenset({Role.EST, Role.ANALYST, Role.ADMIN})
#: The analysts' upload page (issue 14 item 6), tested as soon as the app serves it.
UPLOAD = "/reports/upload"


class HtmlPage(NamedTuple):
    """An HTML route, who may open it, and what shows it is the page and not an error."""

    name: str
    path: str
    roles: frozenset[Role]
    ready: str  # a selector present once the page has drawn


def served(server: MapServer, path: str) -> bool:
    """Whether the app declares a route at exactly ``path`` (its OpenAPI document lists every route)."""
    with urlopen(f"{server.url}/openapi.json") as answer:
        return path in json.load(answer)["paths"]


def html_pages(server: MapServer) -> list[HtmlPage]:
    end = server.demo.end.isoformat()
    pages = [
        HtmlPage("start", "/", frozenset(Role), "main h1"),
        HtmlPage("map", f"/map?end={end}", STATISTICS, ".leaflet-container"),
        HtmlPage(
            "priorities", f"/priorities?format=html&end={end}", STATISTICS | {Role.FIELD}, "main, body > *"
        ),
        HtmlPage("report", f"/report/weekly?end={end}", STATISTICS, "h1"),
    ]
    if served(server, UPLOAD):
        pages.append(HtmlPage("upload", UPLOAD, frozenset({Role.ANALYST, Role.ADMIN}), "form"))
    return pages


#: Injected before any page script: collects the page's CSP violations where the test can read them.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
});
"""

#: Stylesheets that did not apply, and images that did not load (after they had their chance), but the
#: unreachable basemap's tiles.
PAGE_PROBLEMS = """(basemapHost) => {
  const problems = [...window.__cspViolations];
  for (const link of document.querySelectorAll('link[rel=stylesheet]')) {
    if (!link.sheet) { problems.push(`stylesheet not applied: ${link.href}`); }
  }
  for (const img of document.images) {
    if (basemapHost && new URL(img.src).host.endsWith(basemapHost)) { continue; }
    if (!img.complete || img.naturalWidth === 0) { problems.push(`image not loaded: ${img.src.slice(0, 80)}`); }
  }
  return problems;
}"""


class Visit:
    """A browser context of one role and viewport that records everything that fails on its pages."""

    def __init__(self, browser: Any, server: MapServer, viewport: str) -> None:
        self.server = server
        self.viewport = viewport
        self.basemap_host = urlsplit(server.settings.basemap_url).netloc.replace("{s}", "")
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], has_touch=viewport == "phone")
        self.context.add_init_script(CSP_LISTENER)
        self.context.route("**/*", self._only_loopback)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _is_basemap(self, url: str) -> bool:
        return bool(self.basemap_host) and urlsplit(url).netloc.endswith(self.basemap_host)

    def _only_loopback(self, route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in {"127.0.0.1", "localhost"} or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    def _console(self, message: Any) -> None:
        url = message.location.get("url", "")
        # Chromium logs a 403/404 document's own status too; the tests assert each document's status.
        own_status = url == self.page.url and message.text.startswith("Failed to load resource")
        if message.type == "error" and not self._is_basemap(url) and not own_status:
            self.problems.append(f"console: {message.text}")

    def _failed(self, request: Any) -> None:
        # ERR_ABORTED: the test went on to the next page while this one still loaded tiles or its icon.
        if not self._is_basemap(request.url) and request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def _response(self, response: Any) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def login(self, name: str) -> None:
        self.page.goto(f"{self.server.url}/login")
        self.page.fill("#name", name)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.server.url}/")

    def open(self, path: str, ready: str, shot: str) -> Any:
        """Open ``path``; returns the document's response once the page has drawn and settled."""
        response = self.page.goto(self.server.url + path)
        self.page.locator(ready).first.wait_for(timeout=20_000)
        if self.page.evaluate("() => !!window.hotspotsMap"):
            wait_until(self.page, "() => window.hotspotsMap.idle()")
        self.page.wait_for_load_state("networkidle")
        self.problems.extend(
            f"{path}: {problem}" for problem in self.page.evaluate(PAGE_PROBLEMS, self.basemap_host)
        )
        folder = ARTIFACTS / "pages"
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{shot}-{self.viewport}.png"), full_page=True)
        return response


@pytest.fixture(scope="session")
def role_users(map_server: MapServer) -> dict[Role, str]:
    names = {role: f"pages-{role.value}" for role in Role}
    for role, name in names.items():
        add_user(map_server.demo.engine, name, role, password=PASSWORD)
    return names


@pytest.fixture
def visit(browser: Any, map_server: MapServer, request: pytest.FixtureRequest) -> Iterator[Visit]:
    visit = Visit(browser, map_server, request.param)
    yield visit
    visit.context.close()


@pytest.mark.parametrize("visit", list(VIEWPORTS), indirect=True)
@pytest.mark.parametrize("role", list(Role), ids=[role.value for role in Role])
def test_every_page_a_role_opens_loads_cleanly(
    visit: Visit, role: Role, role_users: dict[Role, str], map_server: MapServer
) -> None:
    visit.login(role_users[role])
    for page in html_pages(map_server):
        response = visit.open(
            page.path, "main h1" if role not in page.roles else page.ready, f"{page.name}-{role}"
        )
        if role in page.roles:
            assert response.status == 200, f"{role} on {page.path}: {response.status}"
        else:
            assert response.status == 403, f"{role} on {page.path}: {response.status}"
            assert "Ingen behörighet" in visit.page.locator("h1").inner_text()
    response = visit.open("/no-such-page", "main h1", f"404-{role}")
    assert response.status == 404 and "Sidan finns inte" in visit.page.locator("h1").inner_text()
    assert visit.problems == [], "\n".join(visit.problems)


@pytest.mark.parametrize("visit", list(VIEWPORTS), indirect=True)
def test_a_browser_without_a_session_goes_to_the_login_page_and_back(
    visit: Visit, role_users: dict[Role, str], map_server: MapServer
) -> None:
    target = f"/map?end={map_server.demo.end}"
    visit.open(target, "form", "login")
    assert visit.page.url.startswith(f"{map_server.url}/login?next=")
    visit.page.fill("#name", role_users[Role.EST])
    visit.page.fill("#password", PASSWORD)
    visit.page.click("button[type=submit]")
    visit.page.wait_for_url(f"{map_server.url}{target}")
    wait_until(visit.page, IDLE)
    assert visit.problems == [], "\n".join(visit.problems)
