"""The weekly situation report (lägesbild) for the EST meeting, as self-contained HTML or A4 PDF.

One ISO week (Monday-Sunday, Europe/Stockholm) per report. For each partnership area and for the rest of
the municipality: reports this week against last week and the trailing 4-week mean, by category; the new,
intensifying and persistent hotspots; a hotspot map and the last 26 weeks as a chart. Counts come straight
from the store by the area each report was filed under, so they add up to what the analysts imported; the
hotspot statistics come from :func:`hotspots.analysis.analyse` for the week.

The HTML has no external resources (figures are ``data:`` URIs, the stylesheet is inline), so it can be
mailed, archived or opened offline; the PDF is the same page laid out by WeasyPrint.

>>> # pdf = render_weekly(engine, settings, areas, "2026-W46", lang="sv", fmt="pdf")
>>> # Path("lagesbild-2026-W46.pdf").write_bytes(pdf)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from scipy.sparse.csgraph import connected_components
from sqlalchemy.engine import Engine

from hotspots import charts, h3grid
from hotspots.analysis import Analysis, AnalysisParams, analyse, emerging_label, parse_window
from hotspots.areas import Areas
from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.measures import Measure, follow_up, list_measures
from hotspots.places import Places, load_places
from hotspots.priorities import (
    PriorityEntry,
    PriorityList,
    ScoreWeights,
    previous_window_counts,
    priority_list,
)
from hotspots.schema import imports, reports
from hotspots.stats.change import BASELINE_WEEKS, WeekOverWeek
from hotspots.stats.emerging import iso_week_steps
from hotspots.store import dataset_version, read_reports

Language = Literal["sv", "en"]
Format = Literal["html", "pdf"]

#: Group id of every report outside the partnership areas (other RegSO areas, or no area at all).
REST = "rest"
#: Weeks in each area's chart: half a year shows the season and the effect of recent measures.
CHART_WEEKS = 26
#: The emerging-hotspot patterns the meeting discusses, in the order the report lists them.
REPORTED_PATTERNS = ("new_hot", "intensifying_hot", "persistent_hot")
#: Places listed per pattern and area; the rest are summarised as "and N more".
MAX_PLACES = 4
#: Hotspot window: the statistics describe the reported week itself.
DEFAULT_WINDOW = "7d"
#: Priority window: the ranking uses the last four weeks (time-decayed), as the field teams' lists do, so
#: one quiet week does not drop a place that has been busy all month.
PRIORITY_WINDOW = "28d"
#: Places on the front page's priority list, and per area.
TOP_PLACES = 10
TOP_PLACES_PER_AREA = 3
#: How deep the overall ranking is read to find the rest of the municipality's top places.
_RANKING_DEPTH = 60

WEEK_PATTERN = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
TEMPLATES = Path(__file__).resolve().parent / "templates" / "report"

WORDS: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Lägesbild öppen narkotikahandel",
        "week": "vecka",
        "subtitle": "EST Örebro – gemensam lägesbild för kommunen och polisen",
        "period": "Period",
        "freshness": "Dataläge",
        "last_report": "Senaste rapport (händelsetid)",
        "last_import": "Senaste import",
        "dataset_version": "Dataversion",
        "reports_in_store": "Rapporter i databasen",
        "generated": "Genererad",
        "in_progress": "Veckan pågår: siffrorna för veckan är inte kompletta.",
        "late_data": "Rapporter kommer ofta in med några dagars fördröjning; veckans siffror kan öka.",
        "overview": "Översikt",
        "area": "Område",
        "this_week": "Denna vecka",
        "last_week": "Förra veckan",
        "mean4": "Medel 4 v.",
        "change_vs_mean": "Förändring mot medel",
        "hot_cells": "Hotspot-celler ≥\u00a095\u00a0%",
        "municipality": "Hela kommunen",
        "rest": "Övriga kommunen",
        "category": "Kategori",
        "total": "Totalt",
        "new_report": "ny",
        "map_caption": "Hotspots (Getis-Ord Gi*, FDR-korrigerat) för veckan; hexagoner i H3-upplösning {res}.",
        "chart_caption": "Rapporter per vecka, senaste {n} veckorna; rött = rapportveckan.",
        "hotspots": "Nya, intensifierande och ihållande hotspots",
        "hotspots_intro": "Framväxande hotspot-analys (Mann-Kendall på veckovisa Gi*) över {weeks} veckor. Angränsande celler med samma mönster räknas som en plats; platsen namnges efter närmaste namngivna plats.",
        "no_hotspots": "Inga nya, intensifierande eller ihållande hotspots.",
        "pattern": "Mönster",
        "headline": "{current} rapporter denna vecka (förra veckan {previous}, medel {baseline}: {change}). {hot} hotspot-celler på minst 95\u00a0% konfidensnivå.",
        "place": "Plats",
        "cells": "Celler",
        "reports_week": "Rapporter veckan",
        "reports_4w": "Rapporter 4 veckor",
        "hot_weeks": "Hot i rad (veckor)",
        "coordinates": "Koordinater",
        "more": "… och {n} till",
        "method": "Metod och parametrar",
        "baseline_note": "Medel 4 v. = medelvärdet av de fyra veckorna före rapportveckan (v. {first}–{last}).",
        "area_note": "Rapporter räknas till det område de registrerades i; övriga kommunen omfattar allt utanför partnerskapsområdena.",
        "window": "Hotspotfönster",
        "resolution": "H3-upplösning",
        "neighbourhood": "Grannskap (k-ring)",
        "permutations": "Permutationer",
        "fdr": "Multipeltestning",
        "fdr_value": "Benjamini-Hochberg (FDR)",
        "cube": "Vecko-kub för framväxande hotspots",
        "weeks_unit": "veckor",
        "days_unit": "dagar",
        "page": "Sida",
        "of": "av",
        "priority_window": "Prioriteringsfönster",
        "priorities": "Prioriterade platser",
        "priorities_area": "Prioriterade platser i området",
        "priorities_intro": "Rangordnade efter prioritetspoäng (tidsviktade rapporter, allvarlighet, hotspot och trend) under de {days} dagarna fram till veckans slut.",
        "no_priorities": "Inga platser med rapporter under perioden.",
        "rank": "Rang",
        "score": "Poäng",
        "reasons": "Skäl",
        "measures": "Pågående insatser och uppföljning",
        "measures_area": "Insatser i området",
        "measures_intro": "Lika långa perioder före och efter insatsens start jämförs i målområdet, en buffertzon runt det och resten av kommunen (kontroll), till och med veckans sista dag. WDQ (Weighted Displacement Quotient, Bowers & Johnson 2003): över 0 = spridning av positiva effekter, under 0 = förflyttning.",
        "no_measures": "Inga insatser registrerade under veckan.",
        "measure": "Insats",
        "since": "Period",
        "target": "Mål före → efter",
        "buffer": "Buffert före → efter",
        "reading": "Tolkning",
        "ongoing": "pågår",
    },
    "en": {
        "title": "Situation report: open drug trade",
        "week": "week",
        "subtitle": "EST Örebro – joint situation picture of the municipality and the police",
        "period": "Period",
        "freshness": "Data status",
        "last_report": "Latest report (time of event)",
        "last_import": "Latest import",
        "dataset_version": "Dataset version",
        "reports_in_store": "Reports in the store",
        "generated": "Generated",
        "in_progress": "The week is still in progress: its figures are incomplete.",
        "late_data": "Reports often arrive a few days late; this week's figures may still rise.",
        "overview": "Overview",
        "area": "Area",
        "this_week": "This week",
        "last_week": "Last week",
        "mean4": "4-wk mean",
        "change_vs_mean": "Change vs mean",
        "hot_cells": "Hot spot cells ≥\u00a095\u00a0%",
        "municipality": "Whole municipality",
        "rest": "Rest of the municipality",
        "category": "Category",
        "total": "Total",
        "new_report": "new",
        "map_caption": "Hot spots (Getis-Ord Gi*, FDR-corrected) for the week; hexagons at H3 resolution {res}.",
        "chart_caption": "Reports per week, last {n} weeks; red = the reported week.",
        "hotspots": "New, intensifying and persistent hot spots",
        "hotspots_intro": "Emerging hot spot analysis (Mann-Kendall on weekly Gi*) over {weeks} weeks. Adjacent cells with the same pattern count as one place, named after the nearest named place.",
        "no_hotspots": "No new, intensifying or persistent hot spots.",
        "pattern": "Pattern",
        "headline": "{current} reports this week (last week {previous}, mean {baseline}: {change}). {hot} hot spot cells at 95\u00a0% confidence or more.",
        "place": "Place",
        "cells": "Cells",
        "reports_week": "Reports this week",
        "reports_4w": "Reports 4 weeks",
        "hot_weeks": "Hot in a row (weeks)",
        "coordinates": "Coordinates",
        "more": "… and {n} more",
        "method": "Method and parameters",
        "baseline_note": "4-wk mean = the mean of the four weeks before the reported week (W{first}–W{last}).",
        "area_note": "Reports count in the area they were filed under; the rest of the municipality is everything outside the partnership areas.",
        "window": "Hot spot window",
        "resolution": "H3 resolution",
        "neighbourhood": "Neighbourhood (k-ring)",
        "permutations": "Permutations",
        "fdr": "Multiple testing",
        "fdr_value": "Benjamini-Hochberg (FDR)",
        "cube": "Weekly cube for emerging hot spots",
        "weeks_unit": "weeks",
        "days_unit": "days",
        "page": "Page",
        "of": "of",
        "priority_window": "Priority window",
        "priorities": "Priority places",
        "priorities_area": "Priority places in the area",
        "priorities_intro": "Ranked by priority score (time-decayed reports, severity, hot spot and trend) over the {days} days up to the end of the week.",
        "no_priorities": "No places with reports in the period.",
        "rank": "Rank",
        "score": "Score",
        "reasons": "Reasons",
        "measures": "Ongoing measures and follow-up",
        "measures_area": "Measures in the area",
        "measures_intro": "Equal periods before and after each measure's start are compared in the target, a buffer ring around it and the rest of the municipality (control), up to the week's last day. WDQ (Weighted Displacement Quotient, Bowers & Johnson 2003): above 0 = diffusion of benefit, below 0 = displacement.",
        "no_measures": "No measures recorded for the week.",
        "measure": "Measure",
        "since": "Period",
        "target": "Target before → after",
        "buffer": "Buffer before → after",
        "reading": "Reading",
        "ongoing": "ongoing",
    },
}


def parse_week(week: str) -> pd.Period:
    """An ISO week like '2026-W47' as a Monday-Sunday period; HotspotsError names the expected form."""
    match = WEEK_PATTERN.match(week)
    if match:
        year, number = int(match.group(1)), int(match.group(2))
        try:
            return pd.Period(date.fromisocalendar(year, number, 1), "W-SUN")
        except ValueError:
            pass
    raise HotspotsError(f"week must be an ISO week like '2026-W47', got {week!r}")


def week_name(period: pd.Period) -> str:
    """'2026-W47' for the week's period (ISO year, which differs from the calendar year around New Year)."""
    year, number, _ = period.start_time.isocalendar()
    return f"{year}-W{number:02d}"


def last_complete_week(timezone: str, now: datetime | None = None) -> str:
    """The ISO week before the current local one: the week an EST meeting usually reviews."""
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    return week_name(pd.Period(today, "W-SUN") - 1)


class Freshness(NamedTuple):
    """How current the store is: the meeting must know whether last night's import made it in."""

    last_report: datetime | None
    last_import: datetime | None
    dataset_version: int
    reports: int


def freshness(engine: Engine) -> Freshness:
    """Latest report time, latest import time, dataset version and total reports, in one connection."""
    with engine.connect() as conn:
        last_report, total = conn.execute(
            sa.select(sa.func.max(reports.c.occurred_at), sa.func.count())
        ).one()
        last_import = conn.execute(sa.select(sa.func.max(imports.c.created_at))).scalar()
        version = dataset_version(conn)
    return Freshness(last_report, last_import, version, int(total))


def area_groups(areas: Areas, area_id: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """The report group of each area id: the partnership area itself, or :data:`REST` for anything else."""
    ids = np.asarray(area_id, dtype=object)
    return np.where(np.isin(ids, areas.partnership_ids), ids, REST)


def weekly_counts(engine: Engine, settings: Settings, areas: Areas, weeks: pd.PeriodIndex) -> pd.DataFrame:
    """Reports per (group, category) and ISO week: every group and configured category, zeros included.

    Index: (group, category) with groups = partnership ids then :data:`REST`; columns: ``weeks``. Weeks
    are local (Europe/Stockholm by default), so a report at 00:30 on a Monday counts in the new week.
    """
    zone = ZoneInfo(settings.timezone)
    start = datetime.combine(weeks[0].start_time.date(), datetime.min.time(), zone)
    end = datetime.combine(weeks[-1].end_time.date() + timedelta(days=1), datetime.min.time(), zone)
    rows = read_reports(
        engine,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        columns=("occurred_at", "category", "area_id"),
    )
    steps, _ = iso_week_steps(rows["occurred_at"], tz=settings.timezone, first=weeks[0], last=weeks[-1])
    groups = [*areas.partnership_ids, REST]
    categories = [term.id for term in settings.taxonomy.categories]
    table = (
        pd.DataFrame(
            {"group": area_groups(areas, rows["area_id"]), "category": rows["category"], "step": steps}
        )
        .groupby(["group", "category", "step"])
        .size()
        .unstack("step", fill_value=0)
        .reindex(
            index=pd.MultiIndex.from_product([groups, categories], names=["group", "category"]),
            columns=range(len(weeks)),
            fill_value=0,
        )
    )
    table.columns = weeks
    return table


class Comparison(NamedTuple):
    """One row of a week comparison: this week, last week, the trailing mean and the change against it."""

    label: str
    current: int
    previous: int
    baseline: float
    relative: float  # NaN when the baseline is 0 and this week is not


def compare(labels: list[str], weekly: npt.ArrayLike) -> list[Comparison]:
    """This week (last column) against last week and the mean of the :data:`BASELINE_WEEKS` before it."""
    change = WeekOverWeek(np.asarray(weekly, dtype=np.float64), baseline_weeks=BASELINE_WEEKS)
    return [
        Comparison(label, int(current), int(previous), float(baseline), float(relative))
        for label, current, previous, baseline, relative in zip(
            labels, change.current, change.previous, change.baseline, change.relative_baseline, strict=True
        )
    ]


class HotspotPlace(NamedTuple):
    """Adjacent cells sharing an emerging-hotspot pattern, described as one place."""

    pattern: str
    label: str
    cells: int
    reports_week: int
    reports_4w: int
    hot_weeks: int
    lat: float
    lon: float


def hotspot_places(
    analysis: Analysis,
    mask: npt.NDArray[np.bool_],
    places: Places,
    lang: Language = "sv",
    near_m: float = 150.0,
) -> list[HotspotPlace]:
    """The places in ``mask`` with a :data:`REPORTED_PATTERNS` pattern: clusters of neighbouring cells.

    Neighbouring cells of the same pattern are one place on the ground, so they are merged (connected
    components of the lattice weights). A place is located and named at its busiest cell (reports in the
    last four weeks), by the named place within ``near_m`` or a distance and direction from the nearest one.
    Ordered by pattern, then by reports in the last four weeks, most first.
    """
    found: list[HotspotPlace] = []
    for pattern in REPORTED_PATTERNS:
        idx = np.flatnonzero(mask & (analysis.emerging.category == pattern))
        if idx.size == 0:
            continue
        n_places, place = connected_components(analysis.lattice.weights[idx][:, idx], directed=False)
        four_weeks = analysis.cube[idx, -BASELINE_WEEKS:].sum(axis=1)
        order = np.lexsort((four_weeks, place))  # by place, busiest cell last
        busiest = idx[order[np.r_[np.flatnonzero(np.diff(place[order])), order.size - 1]]]
        lat, lon = h3grid.cells_to_latlng(analysis.lattice.cells[busiest])
        labels = places.label(lat, lon, near_m=near_m, lang=lang)
        sizes = np.bincount(place, minlength=n_places)
        week_sum = np.bincount(place, weights=analysis.cube[idx, -1], minlength=n_places)
        four_sum = np.bincount(place, weights=four_weeks, minlength=n_places)
        hot_weeks = np.zeros(n_places, dtype=np.int64)
        np.maximum.at(hot_weeks, place, analysis.emerging.hot_weeks[idx])
        rows = [
            HotspotPlace(
                pattern,
                str(labels[i]),
                int(sizes[i]),
                int(week_sum[i]),
                int(four_sum[i]),
                int(hot_weeks[i]),
                float(lat[i]),
                float(lon[i]),
            )
            for i in range(n_places)
        ]
        found.extend(sorted(rows, key=lambda p: (-p.reports_4w, -p.cells)))
    return found


class MeasureFollowUp(NamedTuple):
    """A measure in force during the week, where it is, and its follow-up as of the week's last day."""

    measure: Measure
    place: str
    group: str
    result: dict[str, Any]  # hotspots.measures.follow_up(): counts before/after, WDQ, reading


def measures_in_week(
    engine: Engine, settings: Settings, areas: Areas, places: Places, first: date, last: date, lang: Language
) -> list[MeasureFollowUp]:
    """Measures in force at some time in [first, last], each followed up as of ``last``.

    Following up "as of the week's end" keeps a report for a past week reproducible: later reports do
    not change what it says.
    """
    in_force = list_measures(engine, active_between=(first, last))
    if not in_force:
        return []
    lat = [m.lat for m in in_force]
    lon = [m.lon for m in in_force]
    labels = places.label(lat, lon, near_m=settings.place_label_distance_m, lang=lang)
    groups = area_groups(areas, areas.assign(lat, lon))
    return [
        MeasureFollowUp(m, str(label), str(group), follow_up(engine, m, settings=settings, today=last))
        for m, label, group in zip(in_force, labels, groups, strict=True)
    ]


@dataclass
class AreaSection:
    """Everything the report shows for one partnership area or for the rest of the municipality."""

    group: str
    name: str
    total: Comparison
    by_category: list[Comparison]
    hot_cells: int
    places: list[HotspotPlace]
    priorities: list[PriorityEntry]
    measures: list[MeasureFollowUp]
    map_uri: str
    chart_uri: str

    def pattern_count(self, pattern: str) -> int:
        return sum(place.pattern == pattern for place in self.places)


@dataclass
class WeeklyReport:
    """The content of one weekly report, independent of its rendering."""

    week: pd.Period
    lang: Language
    generated_at: datetime
    freshness: Freshness
    analysis: Analysis
    municipality: Comparison
    sections: list[AreaSection]
    priorities: list[PriorityEntry]
    measures: list[MeasureFollowUp]
    baseline_weeks: pd.PeriodIndex
    in_progress: bool

    @property
    def name(self) -> str:
        return week_name(self.week)

    @property
    def parameters(self) -> list[tuple[str, str]]:
        """(label, value) of every parameter the figures depend on, for the method section."""
        words, params = WORDS[self.lang], self.analysis.params
        return [
            (words["window"], f"{params.window.removesuffix('d')} {words['days_unit']}"),
            (words["priority_window"], f"{PRIORITY_WINDOW.removesuffix('d')} {words['days_unit']}"),
            (words["resolution"], str(params.resolution)),
            (words["neighbourhood"], f"k = {params.k}"),
            (words["permutations"], str(params.permutations)),
            (words["fdr"], words["fdr_value"]),
            (words["cube"], f"{len(self.analysis.weeks)} {words['weeks_unit']}"),
            (words["dataset_version"], str(self.analysis.dataset_version)),
        ]


def build_weekly(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    week: str,
    *,
    lang: Language = "sv",
    window: str = DEFAULT_WINDOW,
    now: datetime | None = None,
) -> WeeklyReport:
    """Gather the week's figures, statistics and charts (the slow part; rendering is cheap)."""
    if lang not in WORDS:
        raise HotspotsError(f"language must be one of {sorted(WORDS)}, got {lang!r}")
    period = parse_week(week)
    first, last = period.start_time.date(), period.end_time.date()
    now = (now or datetime.now(UTC)).astimezone(ZoneInfo(settings.timezone))
    analysis = analyse(engine, settings, areas, AnalysisParams(window=window, end=last))
    weeks = pd.period_range(end=period, periods=CHART_WEEKS, freq="W-SUN")
    counts = weekly_counts(engine, settings, areas, weeks)
    group_totals = counts.groupby(level="group", sort=False).sum()
    places = load_places(settings)
    measures = measures_in_week(engine, settings, areas, places, first, last, lang)
    rank = _ranking(engine, settings, areas, places, last, measures, lang)
    overall = rank(area=None, top=_RANKING_DEPTH).entries
    cell_group = area_groups(areas, analysis.lattice.area_id)

    sections = []
    for group, comparison in zip(
        group_totals.index, compare(list(group_totals.index), group_totals.to_numpy()), strict=True
    ):
        in_group = cell_group == group
        if group == REST:
            outside = [e for e in overall if e.area_id not in areas.partnership_ids][:TOP_PLACES_PER_AREA]
            priorities = [replace(e, rank=rank_in_group) for rank_in_group, e in enumerate(outside, start=1)]
        else:
            priorities = rank(area=group, top=TOP_PLACES_PER_AREA).entries
        sections.append(
            AreaSection(
                group=group,
                name=WORDS[lang]["rest"] if group == REST else areas.name_of(group),
                total=comparison,
                by_category=compare(
                    [term.label(lang) for term in settings.taxonomy.categories], counts.loc[group].to_numpy()
                ),
                hot_cells=int((analysis.gi.gi_bin[in_group] >= 2).sum()),
                places=hotspot_places(analysis, in_group, places, lang, settings.place_label_distance_m),
                priorities=priorities,
                measures=[m for m in measures if m.group == group],
                map_uri=charts.data_uri(
                    charts.area_map_png(
                        analysis.lattice.cells[in_group],
                        analysis.gi.gi_bin[in_group],
                        analysis.count[in_group],
                        areas.frame,
                        focus=[group] if group != REST else areas.partnership_ids,
                        lang=lang,
                    )
                ),
                chart_uri=charts.data_uri(
                    charts.weekly_counts_png(weeks, group_totals.loc[group], lang=lang)
                ),
            )
        )
    (municipality,) = compare([WORDS[lang]["municipality"]], group_totals.sum().to_numpy()[None, :])
    return WeeklyReport(
        week=period,
        lang=lang,
        generated_at=now,
        freshness=freshness(engine),
        analysis=analysis,
        municipality=municipality,
        sections=sections,
        priorities=overall[:TOP_PLACES],
        measures=measures,
        baseline_weeks=weeks[-1 - BASELINE_WEEKS : -1],
        in_progress=now.date() <= last,
    )


def _ranking(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    places: Places,
    last: date,
    measures: list[MeasureFollowUp],
    lang: Language,
) -> Callable[..., PriorityList]:
    """``priority_list`` over the :data:`PRIORITY_WINDOW` ending ``last``, with everything but the area and
    length fixed: the previous window and the measures are read once for all of the report's lists."""
    analysis = analyse(engine, settings, areas, AnalysisParams(window=PRIORITY_WINDOW, end=last))
    return partial(
        priority_list,
        analysis,
        areas,
        places,
        taxonomy=settings.taxonomy,
        score_weights=ScoreWeights.from_settings(settings),
        lang=lang,
        previous=previous_window_counts(engine, analysis, settings.timezone),
        measures=[m.measure for m in measures],
        follow_ups={m.measure.id: m.result for m in measures},
        label_distance_m=settings.place_label_distance_m,
    )


def _number(value: float, lang: str, decimals: int = 0) -> str:
    """A number the way the reader writes it: decimal comma and a thin space for thousands in Swedish."""
    text = f"{value:,.{decimals}f}"
    if lang == "sv":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text.replace("-", "−")


def _percent(value: float, lang: str) -> str:
    """A relative change as a signed percentage; 'new' when there was nothing to compare with."""
    if np.isnan(value):
        return WORDS[lang]["new_report"]
    return ("+" if value > 0 else "") + _number(100 * value, lang) + "\u00a0%"


def _local(moment: datetime | None, zone: str) -> str:
    return "–" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _css_string(text: str) -> Markup:
    """Text as a quoted CSS string for the page margins (the stylesheet is not HTML-escaped)."""
    return Markup('"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ") + '"')


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
        t=WORDS[lang],
        lang=lang,
        patterns=REPORTED_PATTERNS,
        max_places=MAX_PLACES,
        chart_weeks=CHART_WEEKS,
        priority_days=parse_window(PRIORITY_WINDOW),
        stylesheet=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
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
    lang: Language = "sv",
    fmt: Format = "html",
) -> bytes:
    """The weekly report for ``week`` ('2026-W47') as HTML (UTF-8) or PDF bytes: what the API and CLI serve."""
    if fmt not in ("html", "pdf"):
        raise HotspotsError(f"format must be 'html' or 'pdf', got {fmt!r}")
    html = render_html(build_weekly(engine, settings, areas, week, lang=lang), settings)
    return render_pdf(html) if fmt == "pdf" else html.encode("utf-8")
