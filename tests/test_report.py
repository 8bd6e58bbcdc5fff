"""The weekly report as the EST meeting gets it: the PDF renders on A4 with each area's right counts, the
HTML is valid and self-contained, and the CLI writes the file."""

from __future__ import annotations

import io
import re
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Patch
from PIL import Image
from pypdf import PdfReader
from tinyhtml5.parser import HTMLParser
from typer.testing import CliRunner

from hotspots.analysis.query import parse_week, week_name
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.geo import h3grid
from hotspots.measures.records import record_measure
from hotspots.store.engine import open_store
from hotspots.weekly import WeeklyReport, build_weekly
from maps.report import charts
from maps.report.weekly import render_html, render_pdf
from tests.conftest import DemoStore

WEEK = "2026-W46"  # Monday 9 - Sunday 15 November 2026: the demo's last week
GENERATED = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def iso_week_of(epoch_us: int) -> str:
    """The Europe/Stockholm ISO week of a stored timestamp, straight from the calendar."""
    year, week, _ = datetime.fromtimestamp(epoch_us / 1e6, STOCKHOLM).isocalendar()
    return f"{year}-W{week:02d}"


@pytest.fixture(scope="module")
def store(demo_store: DemoStore, tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """A copy of the demo store with EST's measures recorded: the camera at Stortorget that the demo's
    planted hotspot moved away from (week 21), and a patrol at Vivalla centrum that ends in week 46."""
    directory = tmp_path_factory.mktemp("report")
    with (
        sqlite3.connect(demo_store.directory / "demo.db") as source,
        sqlite3.connect(directory / "demo.db") as copy,
    ):
        source.backup(copy)
    settings = demo_store.settings.model_copy(update={"database_url": f"sqlite:///{directory / 'demo.db'}"})
    engine = open_store(settings)
    truth = demo_store.truth
    moved = truth.loc[truth["pattern"] == "moved_from"].iloc[0]
    record_measure(engine, type="kamerabevakning", organisation="Polisen", start=date(2026, 5, 18),
                   lat=float(moved["lat"]), lon=float(moved["lon"]), radius_m=150)  # fmt: skip
    record_measure(engine, type="patrullering", organisation="Fältgruppen", start=date(2026, 10, 5),
                   end=date(2026, 11, 12), lat=59.2985, lon=15.1875)  # fmt: skip
    return demo_store._replace(settings=settings, engine=engine, directory=directory)


@pytest.fixture(scope="module")
def expected(store: DemoStore) -> Counter[tuple[str, str, str]]:
    """Reports per (ISO week, group, category) for weeks 41-46, counted from the SQLite file itself.

    Independent of the report code: raw SQL, the stored epoch microseconds, and the calendar's ISO week in
    Stockholm time; group = the partnership area a report was filed under, else "rest".
    """
    partnership = set(store.areas.partnership_ids)
    start = int(datetime(2026, 10, 4, tzinfo=UTC).timestamp() * 1e6)  # a day before W41 begins locally
    with sqlite3.connect(store.directory / "demo.db") as db:
        rows = db.execute(
            "SELECT occurred_at, area_id, category FROM reports WHERE occurred_at >= ?", (start,)
        ).fetchall()
    return Counter(
        (iso_week_of(at), area if area in partnership else "rest", category) for at, area, category in rows
    )


def total(expected: Counter[tuple[str, str, str]], week: str, group: str) -> int:
    return sum(n for (w, g, _), n in expected.items() if w == week and g == group)


@pytest.fixture(scope="module")
def report(store: DemoStore) -> WeeklyReport:
    return build_weekly(store.engine, store.settings, store.areas, WEEK, now=GENERATED)


@pytest.fixture(scope="module")
def html(report: WeeklyReport, store: DemoStore) -> str:
    return render_html(report, store.settings)


@pytest.fixture(scope="module")
def pdf_pages(html: str) -> list[str]:
    pdf = render_pdf(html)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4 in mm
    return [page.extract_text() for page in reader.pages]


def number(value: float, decimals: int = 0) -> str:
    """Swedish decimal comma, as the report prints it."""
    return f"{value:.{decimals}f}".replace(".", ",")


def test_pdf_overview_has_every_area_with_this_week_last_week_and_the_4_week_mean(
    pdf_pages: list[str], expected: Counter[tuple[str, str, str]], store: DemoStore
) -> None:
    overview = pdf_pages[0]
    groups = {**{a: store.areas.name_of(a) for a in store.areas.partnership_ids}, "rest": "Övriga kommunen"}
    for group, name in groups.items():
        this_week, last_week = total(expected, "2026-W46", group), total(expected, "2026-W45", group)
        mean = sum(total(expected, f"2026-W{w}", group) for w in (42, 43, 44, 45)) / 4
        row = f"{name} {this_week} {last_week} {number(mean, 1)} "
        assert row in overview, f"expected a row starting {row!r} in the overview:\n{overview}"
    municipality = sum(n for (w, _, _), n in expected.items() if w == "2026-W46")
    assert f"Hela kommunen {municipality} " in overview


def test_pdf_area_pages_have_the_counts_by_category(
    pdf_pages: list[str], expected: Counter[tuple[str, str, str]], store: DemoStore
) -> None:
    text = "\n".join(pdf_pages)
    for term in store.settings.taxonomy.categories:
        this_week = expected[("2026-W46", "vivalla", term.id)]
        last_week = expected[("2026-W45", "vivalla", term.id)]
        section = text[text.index("\nVivalla\n") :]
        assert f"{term.sv} {this_week} {last_week} " in section, term.id


def test_pdf_footer_has_page_numbers_generation_time_and_parameters(pdf_pages: list[str]) -> None:
    n = len(pdf_pages)
    assert n >= 7  # overview, five partnership areas, the rest of the municipality, method
    for i, page in enumerate(pdf_pages, start=1):
        assert f"Sida {i} av {n}" in page
        assert "Genererad 2026-11-16 08:30" in page  # 07:30 UTC in Stockholm
    method = pdf_pages[-1]
    for parameter in (
        "Hotspotfönster 7 dagar",
        "H3-upplösning 10",
        "k = 1",
        "Permutationer 999",
        "52 veckor",
    ):
        assert parameter in method


def test_pdf_pages_are_full_but_the_last(pdf_pages: list[str]) -> None:
    """Tables flow on: no page carries only a few rows of a table that began on the page before."""
    lengths = [len(page) for page in pdf_pages]
    median = sorted(lengths)[len(lengths) // 2]
    assert all(n >= 0.5 * median for n in lengths[:-1]), lengths


def test_html_is_valid_and_self_contained(html: str) -> None:
    parser = HTMLParser(namespace_html_elements=False)
    tree = parser.parse(html)
    assert parser.errors == []
    assert tree.find("head/title") is not None and tree.get("lang") == "sv"
    links = [(el.tag, attr, el.get(attr)) for el in tree.iter() for attr in ("src", "href") if el.get(attr)]
    images = ("data:image/png;base64,", "data:image/svg+xml;base64,", "#")  # figures, the icon, anchors
    assert links and all(value.startswith(images) for _, _, value in links)
    assert not tree.findall(".//script") and not tree.findall(".//link[@rel='stylesheet']")
    assert not re.search(r"https?://", html)
    assert "url(" not in "".join(style.text or "" for style in tree.iter("style"))
    assert len(tree.findall(".//section[@class='area']")) == 6
    assert len(tree.findall(".//figure/img")) == 12  # a map and a chart per area


def test_english_report_of_a_week_in_progress(store: DemoStore, report: WeeklyReport) -> None:
    monday_noon = datetime(2026, 11, 9, 11, 0, tzinfo=UTC)
    english = build_weekly(store.engine, store.settings, store.areas, WEEK, lang="en", now=monday_noon)
    page = render_html(english, store.settings)
    assert 'lang="en"' in page and "Rest of the municipality" in page and "observed dealing" in page
    assert english.in_progress and "The week is still in progress" in page
    assert not report.in_progress and "Veckan pågår" not in render_html(report, store.settings)
    assert [s.total for s in english.sections] == [
        s.total._replace(label=e.total.label) for s, e in zip(report.sections, english.sections, strict=True)
    ]


def test_week_parsing() -> None:
    assert str(parse_week("2026-W47")) == "2026-11-16/2026-11-22"
    assert week_name(parse_week("2026W53")) == "2026-W53"  # 2026 has 53 ISO weeks
    assert week_name(parse_week("2027-W01")) == "2027-W01"
    assert week_name(parse_week("2024-W01")) == "2024-W01"  # starts Monday 1 January
    assert week_name(parse_week("2025-W01")) == "2025-W01"  # starts Monday 30 December 2024
    for bad in ("2025-W53", "2026-W00", "2026-47", "last week", "9999-W52", "0001-W01"):  # no overflow
        with pytest.raises(HotspotsError):
            parse_week(bad)


def test_map_colours_a_hot_cell_in_the_hotspot_colour(store: DemoStore) -> None:
    cell = h3grid.latlng_to_cells(np.array([59.2762]), np.array([15.1540]), 10)
    neighbours = h3grid.grid_disk(cell, 1)
    bins = np.where(neighbours == cell[0], 3, 0)
    png = charts.area_map_png(neighbours, bins, np.ones(neighbours.size), store.areas.frame)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    centre = image.getpixel((image.width // 2, image.height // 2))
    assert centre == (0xD6, 0x2F, 0x27)  # the hot cell is drawn at the centre of the view
    assert charts.data_uri(png).startswith("data:image/png;base64,iVBORw0KGgo")


def test_measures_in_force_are_followed_up_as_of_the_weeks_end(
    report: WeeklyReport, pdf_pages: list[str]
) -> None:
    camera, patrol = report.measures
    assert (camera.measure.type, camera.place, camera.group) == ("kamerabevakning", "Stortorget", "rest")
    assert patrol.group == "vivalla" and patrol.measure.end == date(2026, 11, 12)
    # Followed up to Sunday 15 November: 182 days after the start of the camera against 182 before.
    assert camera.result["days"] == (date(2026, 11, 15) - date(2026, 5, 18)).days + 1
    assert camera.result["after"]["end"] == "2026-11-15"
    counts = camera.result["counts"]["target"]
    assert counts["after"] < counts["before"]  # the planted hotspot left the camera's field of view
    text = "\n".join(pdf_pages)
    measures = text[text.index("Pågående insatser och uppföljning") :]
    assert "kamerabevakning\nPolisen\nStortorget 2026-05-18 –\npågår" in measures
    target = f"{counts['before']:,} → {counts['after']:,}".replace(",", "\u202f")  # Swedish thin space
    assert target in measures
    assert camera.result["reading"]["sv"].split(",")[0] in measures
    vivalla = next(section for section in report.sections if section.group == "vivalla")
    assert [m.measure.type for m in vivalla.measures] == ["patrullering"]


def test_priority_lists_rank_places_with_reasons(report: WeeklyReport, pdf_pages: list[str]) -> None:
    assert [e.rank for e in report.priorities] == list(range(1, len(report.priorities) + 1))
    assert report.priorities[0].reasons and "rapporter senaste 28 dagarna" in report.priorities[0].reason
    for section in report.sections:
        assert [e.rank for e in section.priorities] == list(range(1, len(section.priorities) + 1))
        if section.group != "rest":
            assert {e.area_id for e in section.priorities} <= {section.group}
        else:
            assert not {e.area_id for e in section.priorities} & set(report.analysis.areas.partnership_ids)
    assert report.priorities[0].label in pdf_pages[0]


def test_cli_writes_the_report(store: DemoStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hotspots.cli.report  # noqa: F401  (registers the command, also when cli/__init__ does not yet)
    from hotspots.cli import app

    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", str(store.engine.url))
    get_settings.cache_clear()
    try:
        out = tmp_path / "lagesbild.html"
        result = CliRunner().invoke(
            app, ["report", "--week", WEEK, "--format", "html", "--out", str(out), "-q"]
        )
        assert result.exit_code == 0, result.output
        assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        result = CliRunner().invoke(app, ["report", "--week", "2026-W60"])
        assert result.exit_code == 1 and "ISO week" in result.stderr
    finally:
        get_settings.cache_clear()


def test_area_names_on_the_municipality_map_do_not_collide(store: DemoStore) -> None:
    """At the scale of the whole municipality Varberga's and Oxhagen's names, on their own points, overlap;
    placed by the report they overlap neither each other nor the legend."""
    frame = store.areas.frame
    partnership = frame[frame["kind"] == "partnership"]
    anchors = shapely.get_coordinates(partnership.geometry.representative_point().to_numpy())
    x, y = charts._TO_METRIC.transform(anchors[:, 0], anchors[:, 1])
    fig = charts._figure((10.0, 7.0))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    # The scale of the report's map of the rest of the municipality: about 20 km across.
    ax.set_xlim(x.mean() - 10_000, x.mean() + 10_000)
    ax.set_ylim(y.mean() - 7000, y.mean() + 7000)
    ax.set_aspect("equal")
    legend = ax.legend(handles=[Patch(label="hotspot 99 %")], loc="upper left", fontsize=6)
    renderer = FigureCanvasAgg(fig).get_renderer()
    naive = [
        ax.annotate(name, (px, py), ha="center", va="center", fontsize=6.5).get_window_extent(renderer)
        for name, px, py in zip(partnership["name"], x, y, strict=True)
    ]
    assert any(a.overlaps(b) for i, a in enumerate(naive) for b in naive[i + 1 :])
    for text in list(ax.texts):
        text.remove()
    boxes = charts.place_labels(ax, list(partnership["name"]), x, y, [legend])
    assert len(boxes) == len(partnership)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert not any(box.overlaps(legend.get_window_extent(renderer)) for box in boxes)
