"""The EST map in real Chromium: what it draws must be what the statistics say, with a clean console,
working filters and week slider, and nothing loaded from outside the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from hotspots.analysis.compute import Analysis
from hotspots.geo import h3grid
from maps.page import PageQuery, standalone_page
from maps.tilegrid import cell_rings_lnglat, cells_from_feature_ids, resolution_for_zoom
from scripts.screenshots import IDLE, wait_until
from tests.map.conftest import ARTIFACTS, MapServer

OpenPage = Callable[..., tuple[Any, Any]]


def drawn(page: Any, layer: str) -> dict[int, dict[str, Any]]:
    """Cell -> properties of the features ``layer`` has drawn (a feature cut by tile edges counted once)."""
    resolution = resolution_for_zoom(page.evaluate("() => hotspotsMap.map.getZoom()"), 10)
    unique = page.evaluate(f"() => hotspotsMap.unique('{layer}')")
    cells = cells_from_feature_ids([int(key) for key in unique], resolution)
    return dict(zip(cells.tolist(), unique.values(), strict=True))


def expected_hotspots(
    analysis: Analysis, bins: np.ndarray, resolution: int, chosen: np.ndarray
) -> pd.DataFrame:
    """Per parent cell of the significant cells: the bin the map must show (strongest hot bin among its
    cells, else the strongest cold one) and the reports inside that hexagon, counted from the ``chosen``
    report points with h3-py (H3 cells do not nest: a hexagon's reports are not its children's)."""
    significant = bins != 0
    frame = pd.DataFrame(
        {
            "parent": h3grid.cell_to_parent(analysis.lattice.cells[significant], resolution),
            "hot": np.where(bins[significant] > 0, bins[significant], 0),
            "cold": np.where(bins[significant] < 0, bins[significant], 0),
        }
    ).groupby("parent")
    out = frame.agg(hot=("hot", "max"), cold=("cold", "min"))
    out["gi_bin"] = np.where(out["hot"] > 0, out["hot"], out["cold"])
    points = analysis.points
    inside = pd.Series(
        [
            h3.str_to_int(h3.latlng_to_cell(lat, lon, resolution))
            for lat, lon in zip(points.lat[chosen], points.lon[chosen], strict=True)
        ],
        dtype=np.uint64,
    ).value_counts()
    out["count"] = inside.reindex(out.index, fill_value=0).astype(int).to_numpy()
    return out


def in_view(page: Any, cells: np.ndarray) -> np.ndarray:
    """Which cells have their whole hexagon inside the map's current view."""
    south, west, north, east = page.evaluate(
        "() => { const b = hotspotsMap.map.getBounds(); return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }"
    )
    rings = cell_rings_lnglat(cells.astype(np.uint64))
    lon, lat = rings[..., 0], rings[..., 1]
    return (
        (lon.min(axis=1) > west)
        & (lon.max(axis=1) < east)
        & (lat.min(axis=1) > south)
        & (lat.max(axis=1) < north)
    )


def assert_hotspots_match(
    page: Any, analysis: Analysis, bins: np.ndarray, chosen: np.ndarray
) -> dict[int, Any]:
    resolution = resolution_for_zoom(page.evaluate("() => hotspotsMap.map.getZoom()"), 10)
    expected = expected_hotspots(analysis, bins, resolution, chosen)
    shown = drawn(page, "hotspots")
    assert shown, "no hotspot hexagons drawn"
    assert set(shown) <= set(expected.index), "a hexagon drawn where no cell is significant"
    visible = expected.index.to_numpy()[in_view(page, expected.index.to_numpy())]
    assert set(visible.tolist()) <= set(shown), "a significant hexagon in view is missing"
    for cell, properties in shown.items():
        assert properties["gi_bin"] == expected.loc[cell, "gi_bin"]
        assert properties["count"] == expected.loc[cell, "count"]
    return shown


def test_map_draws_the_statistics_hot_spots_without_console_errors(
    map_server: MapServer, open_page: OpenPage
) -> None:
    page, console = open_page(f"/map?end={map_server.demo.end}")
    analysis = map_server.analysis(window="28d")
    assert_hotspots_match(page, analysis, analysis.gi.gi_bin, analysis.points.in_window)
    assert page.evaluate("() => hotspotsMap.drawn('areas')") > 0
    markers = page.locator(".hs-priority").all_inner_texts()
    assert markers and markers == [str(rank) for rank in range(1, len(markers) + 1)]
    assert page.locator(".hs-legend").inner_text().count("säkerhet") == 6
    assert console.errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"))  # to look at; docs/map.png is `make screenshots`'s


def test_clicking_a_hot_spot_opens_a_popup_with_its_counts(
    map_server: MapServer, open_page: OpenPage
) -> None:
    page, console = open_page(f"/map?end={map_server.demo.end}")
    # The centre of a hexagon that nothing (priority marker, control) covers.
    point = page.evaluate(
        """() => {
            for (const path of document.querySelectorAll('.leaflet-hs-hotspots-pane path')) {
                const r = path.getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (r.width > 4 && document.elementFromPoint(x, y) === path) { return [x, y]; }
            }
            return null;
        }"""
    )
    assert point is not None
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    text = popup.inner_text()
    assert "Hotspot" in text and "säkerhet" in text
    reports = int(text.split("Rapporter")[1].split()[0])
    assert reports >= 1
    assert console.errors == []


def test_window_and_category_filters_change_what_is_drawn(map_server: MapServer, open_page: OpenPage) -> None:
    page, console = open_page(f"/map?end={map_server.demo.end}")
    before = drawn(page, "hotspots")
    with page.expect_navigation():
        page.select_option("select[name=window]", "7d")
    wait_until(page, IDLE)
    assert "window=7d" in page.url
    week = map_server.analysis(window="7d")
    after = assert_hotspots_match(page, week, week.gi.gi_bin, week.points.in_window)
    assert set(after) != set(before) or [p["count"] for p in after.values()] != [
        p["count"] for p in before.values()
    ]

    with page.expect_navigation():
        page.select_option("select[name=category]", "observed_dealing")
    wait_until(page, IDLE)
    dealing = map_server.analysis(window="7d", categories=("observed_dealing",))
    filtered = assert_hotspots_match(page, dealing, dealing.gi.gi_bin, dealing.points.in_window)
    assert filtered != after
    assert console.errors == []


def test_week_slider_shows_one_weeks_space_time_hot_spots(map_server: MapServer, open_page: OpenPage) -> None:
    page, console = open_page(f"/map?end={map_server.demo.end}")
    analysis = map_server.analysis(window="28d")
    slider = page.locator("input[name=week]")
    slider.focus()
    for steps in (1, 2):
        page.keyboard.press("ArrowLeft")
        wait_until(page, IDLE)
        week = analysis.weeks[-steps]
        label = f"{week.start_time.isocalendar().year}-W{week.start_time.isocalendar().week:02d}"
        assert page.evaluate("() => hotspotsMap.week()") == label
        assert label in page.locator(".hs-week").inner_text()
        bins, counts = analysis.emerging.bins[:, -steps], analysis.cube[:, -steps]
        # A cell hot only through its neighbours and past weeks, with no report that week, is not drawn.
        in_week = analysis.points.week == analysis.cube.shape[1] - steps
        shown = assert_hotspots_match(page, analysis, np.where((bins > 0) & (counts == 0), 0, bins), in_week)
        assert all(p["count"] > 0 for p in shown.values() if p["gi_bin"] > 0 and p["cells"] == 1)
    assert "Hexagoner utan rapporter" in page.locator(".hs-legend").inner_text()
    assert console.errors == []


def test_page_works_with_every_outside_request_blocked(map_server: MapServer, open_page: OpenPage) -> None:
    page, console = open_page(f"/map?end={map_server.demo.end}&lang=en", offline=True)
    assert page.evaluate("() => hotspotsMap.drawn('hotspots')") > 0
    assert "Hot spot analysis (Gi*)" in page.locator(".hs-legend").inner_text()
    # The only failures are the unreachable basemap's tiles; no script or style came from outside.
    assert console.errors and all("ERR_FAILED" in error for error in console.errors)
    outside = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name).filter(u => !u.includes('127.0.0.1'))"
    )
    assert outside and all("tile.openstreetmap.org" in url for url in outside)


def test_offline_file_draws_every_hot_cell_from_inline_data(
    map_server: MapServer, browser: Any, tmp_path: Path
) -> None:
    analysis = map_server.analysis(window="28d")
    html = standalone_page(analysis, map_server.settings, PageQuery({"window": "28d"}))
    assert len(html.encode()) < 2_000_000
    file = tmp_path / "lagesbild.html"
    file.write_text(html, encoding="utf-8")
    context = browser.new_context()
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(file.as_uri())
    wait_until(page, IDLE)
    assert page.evaluate("() => hotspotsMap.drawn('hotspots')") == int((analysis.gi.gi_bin > 0).sum())
    assert page.evaluate("() => hotspotsMap.drawn('areas')") == len(analysis.areas.frame)
    assert errors == []
    context.close()


BOXES = """(selectors) => selectors.map((s) => [...document.querySelectorAll(s)]
  .filter((n) => n.offsetParent !== null)
  .map((n) => { const r = n.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }))"""


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("size", [(390, 844), (1440, 900)], ids=["phone", "projector"])
def test_every_layer_on_keeps_legend_and_popups_clear_of_the_controls(
    map_server: MapServer, open_page: OpenPage, size: tuple[int, int]
) -> None:
    page, console = open_page(f"/map?end={map_server.demo.end}", size=size)
    width, height = size
    # The layer list starts folded; open it, turn every overlay on, and unfold the legend.
    page.hover(".leaflet-control-layers")
    page.locator(".leaflet-control-layers-expanded").wait_for()
    for box in page.locator(".leaflet-control-layers-overlays input[type=checkbox]").all():
        if not box.is_checked():
            box.check()
    wait_until(page, IDLE)
    page.mouse.move(width // 2, height - 60)  # leaving the layer list folds it again
    legend_button = page.locator(".hs-legend-panel .hs-fold")
    if legend_button.get_attribute("aria-expanded") == "false":
        legend_button.click()
    legend, filters = page.evaluate(BOXES, [".hs-legend-panel", ".hs-filters"])
    left, top, right, bottom = legend[0]
    assert min(left, top) >= 0 and right <= width and bottom <= height, "the legend leaves the screen"
    assert not overlap(legend[0], filters[0]), "the legend covers the filters"
    text = page.locator(".hs-legend").inner_text()
    for title in ("Hotspot-analys (Gi*)", "Framväxande hotspots", "Rapporter per hexagon", "Relativ täthet"):
        assert title in text
    # Every emerging class has its own fill (colour or pattern): none told apart by a shade alone.
    fills = page.evaluate(
        "() => [...document.querySelectorAll('.hs-legend-section')].find(s => s.textContent.includes('Framväxande'))"
        ".querySelectorAll('rect').length"
    )
    assert fills == 16
    page.screenshot(path=str(ARTIFACTS / f"map-all-layers-{width}x{height}.png"))

    # A popup opened on a hexagon at the far right pans clear of the controls on that side.
    point = page.evaluate(
        """() => {
            let best = null;
            for (const path of document.querySelectorAll('.leaflet-hs-hotspots-pane path')) {
                const r = path.getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (r.width > 4 && document.elementFromPoint(x, y) === path && (!best || x > best[0])) { best = [x, y]; }
            }
            return best;
        }"""
    )
    assert point is not None
    page.mouse.click(*point)
    page.locator(".leaflet-popup-content").wait_for(timeout=5000)
    page.wait_for_timeout(400)  # the pan animation
    assert page.locator(".leaflet-popup").count() == 1, "one click, one popup"
    (popup,), controls = page.evaluate(BOXES, [".leaflet-popup-content-wrapper", ".leaflet-control"])
    assert not any(overlap(popup, control) for control in controls), "a control covers the popup"
    assert min(popup[0], popup[1]) >= 0 and popup[2] <= width
    page.screenshot(path=str(ARTIFACTS / f"map-popup-{width}x{height}.png"))
    assert console.errors == []


def test_scale_is_metric_only_and_area_names_are_on_the_map(
    map_server: MapServer, open_page: OpenPage
) -> None:
    page, console = open_page(f"/map?end={map_server.demo.end}")
    assert page.locator(".leaflet-control-scale-line").count() == 1
    assert page.locator(".leaflet-control-scale-line").inner_text().endswith(("m", "km"))
    names = set(page.locator(".hs-area-major span:not([hidden])").all_inner_texts())
    frame = map_server.demo.areas.frame
    assert names == set(frame.loc[frame["kind"] == "partnership", "name"])
    labels = page.evaluate(BOXES, [".hs-area-major span", ".hs-priority"])
    assert not any(overlap(a, b) for a in labels[0] for b in labels[1]), "a name covers a numbered marker"
    assert console.errors == []


#: Each partnership name shown beside its outline: (name, [left, top, right, bottom]) on the page.
BESIDE_NAMES = """() => [...document.querySelectorAll('.hs-area-major span:not([hidden])')]
  .filter((n) => !n.classList.contains('hs-at-centre'))
  .map((n) => { const r = n.getBoundingClientRect(); return [n.textContent, [r.left, r.top, r.right, r.bottom]]; })"""
#: An outline's [west, south, east, north] as a page box [left, top, right, bottom].
OUTLINE_BOX = """(b) => { const m = window.hotspotsMap.map, o = m.getContainer().getBoundingClientRect();
  const sw = m.latLngToContainerPoint([b[1], b[0]]), ne = m.latLngToContainerPoint([b[3], b[2]]);
  return [o.left + sw.x, o.top + ne.y, o.left + ne.x, o.top + sw.y]; }"""


def test_a_name_beside_its_outline_is_not_on_a_neighbours(map_server: MapServer, open_page: OpenPage) -> None:
    """'Vivalla', placed below its outline, sat on Baronbackarna's and read as that area's name. On a
    projector there is room for every name; on a phone a crowded name may still fall back."""
    page, console = open_page(f"/map?end={map_server.demo.end}", size=(1440, 900))
    frame = map_server.demo.areas.frame
    partnership = frame[frame["kind"] == "partnership"]
    outlines = {
        name: page.evaluate(OUTLINE_BOX, [float(v) for v in geometry.bounds])
        for name, geometry in zip(partnership["name"], partnership.geometry, strict=True)
    }
    beside = page.evaluate(BESIDE_NAMES)
    assert beside, "no name was placed beside its outline"
    for name, box in beside:
        on = [other for other, outline in outlines.items() if other != name and overlap(box, outline)]
        assert not on, f"{name!r} sits on the outline of {on}"
    assert console.errors == []
