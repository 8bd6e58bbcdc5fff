"""The weekly report (:mod:`hotspots.weekly`) as one self-contained HTML page or an A4 PDF.

The HTML has no external resources (figures are ``data:`` URIs, the stylesheet is inline), so it can be
mailed, archived or opened offline; the PDF is the same page laid out by WeasyPrint.

Usage (needs a store, so not a doctest)::

    pdf = render_weekly(engine, settings, areas, "2026-W46", lang="sv", fmt="pdf")
    Path("lagesbild-2026-W46.pdf").write_bytes(pdf)
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.engine import Engine

from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.query import parse_window
from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import Areas
from hotspots.weekly import (
    CHART_WEEKS,
    PRIORITY_WINDOW,
    REPORTED_PATTERNS,
    AreaSection,
    WeeklyReport,
    build_weekly,
)
from hotspots.words import REPORT, VISIT_OUTCOMES, Language, emerging_label
from maps.page import FAVICON, STATIC_DIR, data_url
from maps.report import charts

Format = Literal["html", "pdf"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Places listed per pattern and area; the rest are summarised as "and N more".
MAX_PLACES = 4


def _number(value: float, lang: Language, decimals: int = 0) -> str:
    """A number the way the reader writes it: decimal comma and a thin space for thousands in Swedish."""
    text = f"{value:,.{decimals}f}"
    if lang == Language.sv:
        text = text.replace(",", "\u202f").replace(".", ",")
    return text.replace("-", "−")


def _percent(value: float, lang: Language) -> str:
    """A relative change as a signed percentage; 'new' when there was nothing to compare with."""
    if np.isnan(value):
        return REPORT[lang]["new_report"]
    return ("+" if value > 0 else "") + _number(100 * value, lang) + "\u00a0%"


def _local(moment: datetime | None, zone: str) -> str:
    return "–" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _css_string(text: str) -> Markup:
    """Text as a quoted CSS string for the page margins (the stylesheet is not HTML-escaped)."""
    return Markup('"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ") + '"')


def parameters(report: WeeklyReport) -> list[tuple[str, str]]:
    """(label, value) of every parameter the figures depend on, for the method section."""
    words, params = REPORT[report.lang], report.analysis.params
    return [
        (words["window"], f"{params.window.removesuffix('d')} {words['days_unit']}"),
        (words["priority_window"], f"{PRIORITY_WINDOW.removesuffix('d')} {words['days_unit']}"),
        (words["resolution"], str(params.resolution)),
        (words["neighbourhood"], f"k = {params.k}"),
        (words["permutations"], str(params.permutations)),
        (words["fdr"], words["fdr_value"]),
        (words["cube"], f"{len(report.analysis.weeks)} {words['weeks_unit']}"),
        (words["dataset_version"], str(report.analysis.dataset_version)),
    ]


def figures(report: WeeklyReport, section: AreaSection) -> tuple[str, str]:
    """The section's hotspot map and weekly chart as ``data:`` URIs."""
    analysis, mask = report.analysis, section.cell_mask
    area_map = charts.area_map_png(
        analysis.lattice.cells[mask],
        analysis.gi.gi_bin[mask],
        analysis.count[mask],
        analysis.areas.frame,
        focus=section.focus,
        lang=report.lang,
    )
    weeks = pd.PeriodIndex(section.weekly.index)
    chart = charts.weekly_counts_png(weeks, section.weekly.to_numpy(), lang=report.lang)
    return charts.data_uri(area_map), charts.data_uri(chart)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["pattern_label"] = emerging_label
    return env


def render_html(report: WeeklyReport, settings: Settings) -> str:
    """The report as one self-contained HTML page (inline CSS, figures as data: URIs)."""
    env = _environment()
    lang = report.lang
    env.filters["num"] = lambda value, decimals=0: _number(value, lang, decimals)
    env.filters["pct"] = lambda value: _percent(value, lang)
    env.filters["local"] = lambda moment: _local(moment, settings.timezone)
    env.filters["css_string"] = _css_string
    return env.get_template("weekly.html").render(
        report=report,
        t=REPORT[lang],
        lang=lang,
        patterns=REPORTED_PATTERNS,
        max_places=MAX_PLACES,
        chart_weeks=CHART_WEEKS,
        priority_days=parse_window(PRIORITY_WINDOW),
        parameters=parameters(report),
        figures={section.group: figures(report, section) for section in report.sections},
        stylesheet=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
        outcome_label=VISIT_OUTCOMES[lang],
        zip=zip,
        favicon=data_url(STATIC_DIR / FAVICON),
    )


def page_policy(html: bytes | str) -> str:
    """The Content-Security-Policy the served HTML report runs under: nothing loads from anywhere, its
    one inline stylesheet is admitted by its hash and its figures and icon as ``data:`` images. (The page
    stays one self-contained file, to mail or archive; the hash is as stable as the cached body.)"""
    body = html.encode("utf-8") if isinstance(html, str) else html
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(block).digest()).decode()}'"
        for block in re.findall(rb"<style>(.*?)</style>", body, flags=re.S)
    )
    styles = hashes or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def render_pdf(html: str) -> bytes:
    """The HTML report laid out on A4 by WeasyPrint (page numbers and footer come from the CSS).

    The fetcher allows ``data:`` URIs only and fails the rendering on any error, so a PDF never silently
    lacks a figure and rendering never touches the network.
    """
    from weasyprint import HTML  # imported here: WeasyPrint loads Pango at import, HTML-only callers skip it
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def render_weekly(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    week: str,
    lang: Language = Language.sv,
    fmt: Format = "html",
    cache: AnalysisCache | None = None,
) -> bytes:
    """The weekly report for ``week`` ('2026-W47') as HTML (UTF-8) or PDF bytes: what the API and CLI serve."""
    if fmt not in ("html", "pdf"):
        raise HotspotsError(f"format must be 'html' or 'pdf', got {fmt!r}")
    html = render_html(build_weekly(engine, settings, areas, week, lang=lang, cache=cache), settings)
    return render_pdf(html) if fmt == "pdf" else html.encode("utf-8")
