"""Refresh the README's pictures on purpose (``make screenshots``); the test suite never writes them.

Serves the seeded demo (the same two years the tests use) with the real app on a free loopback port, signs
in as an EST user in Debian's headless Chromium and shoots each page in ``PAGES`` into ``docs/``. The
basemap's tiles are answered with a plain tile: this machine reaches no tile server, and the picture is
about the hexagons anyway. The map tests drive Chromium with the same executable and flags.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import struct
import tempfile
import threading
import time
import zlib
from datetime import date
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
#: Headless as root, and no background calls to Google's hosts (this machine's network refuses them).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
#: A projector in a meeting room and a phone in the field (the README's pictures).
PROJECTOR = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
#: The demo's fixed last day, as in the tests: the same data every time.
DEMO_END = date(2026, 11, 15)
USER, PASSWORD = "screenshot-est", "screenshot-password-1"
#: README picture -> (page path and query, viewport). Map pages are shot once their tiles are drawn.
PAGES = {
    "map.png": (f"/map?end={DEMO_END}", PROJECTOR),
    "map-phone.png": (f"/map?end={DEMO_END}", PHONE),
    "priorities-phone.png": (f"/priorities?format=html&end={DEMO_END}", PHONE),
    "weekly-report.png": (f"/report/weekly?week={DEMO_END:%G-W%V}", PROJECTOR),
}
IDLE = "() => !!(window.hotspotsMap && window.hotspotsMap.idle())"


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A one-colour PNG (the stand-in basemap's tiles)."""
    row = b"\x00" + bytes(rgb) * size
    chunks = (
        (b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)),
        (b"IDAT", zlib.compress(row * size)),
        (b"IEND", b""),
    )
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks
    )


BASEMAP_TILE = solid_png((242, 239, 233))


def blank_tile(route: Any) -> None:
    """Answer a basemap tile request with the stand-in tile (a Playwright route handler)."""
    route.fulfill(status=200, content_type="image/png", body=BASEMAP_TILE)


def wait_until(page: Any, expression: str, timeout: float = 30.0) -> Any:
    """Poll ``expression`` until truthy. (``page.wait_for_function`` evaluates strings with eval(), which
    the page's Content-Security-Policy forbids, as it should.)"""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression)):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)
    return value


def sign_in(page: Any, base_url: str, user: str, password: str) -> None:
    page.goto(f"{base_url}/login?next=/")
    page.fill("#name", user)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _serve_demo(directory: Path) -> tuple[str, Any]:
    """Import the demo into a SQLite store under ``directory`` and serve the real app; (URL, server)."""
    import uvicorn

    from api.main import create_app
    from hotspots.access.accounts import Role, add_user
    from hotspots.config import Settings
    from hotspots.demo import generate as demo
    from hotspots.geo.areas import load_areas
    from hotspots.ingest import pipeline as ingest
    from hotspots.store.engine import open_store

    # A throwaway session key: the app refuses to start with the built-in one.
    settings = Settings(
        database_url=f"sqlite:///{directory / 'demo.db'}", secret_key=secrets.token_urlsafe(48)
    )
    # the default (sparse) demo: the pictures show what a deployment's own data will look like
    files = demo.write(directory, weeks=104, seed=1, end=DEMO_END)
    engine = open_store(settings)
    ingest.import_file(engine, files.reports, settings=settings, areas=load_areas(settings))
    add_user(engine, USER, Role.EST, password=PASSWORD)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder of the pictures (docs)")
    out: Path = parser.parse_args().out
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as directory, sync_playwright() as playwright:
        url, server = _serve_demo(Path(directory))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(timezone_id="Europe/Stockholm")  # as a phone in Örebro: "Hämtad" agrees
        context.route("https://*.openstreetmap.org/**", blank_tile)
        page = context.new_page()
        sign_in(page, url, USER, PASSWORD)
        out.mkdir(parents=True, exist_ok=True)
        for name, (path, viewport) in PAGES.items():
            page.set_viewport_size(viewport)
            page.goto(url + path)
            if path.startswith("/map"):
                wait_until(page, IDLE)
                page.wait_for_load_state("networkidle")  # the basemap's tiles too
                page.wait_for_timeout(500)  # Leaflet's tile fade-in
            page.screenshot(path=str(out / name))
            print(f"wrote {out / name} ({url}{path}, {viewport['width']}x{viewport['height']})")
        browser.close()
        server.should_exit = True


if __name__ == "__main__":
    main()
