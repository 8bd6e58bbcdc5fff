"""The weekly situation report (lägesbild) for the EST meeting: the figures it is drawn from.

One ISO week (Monday-Sunday, Europe/Stockholm) per report. For each partnership area and for the rest of
the municipality: reports this week against last week and the trailing 4-week mean, by category; the new,
intensifying and persistent hotspots; a hotspot map and the last 26 weeks as a chart. Counts come straight
from the store by the area each report was filed under, so they add up to what the analysts imported; the
hotspot statistics come from :func:`hotspots.analysis.compute.analyse` for the week.

Drawing it (HTML, PDF, maps and charts) is :mod:`maps.report`.

Usage (needs a store, so not a doctest)::

    report = build_weekly(engine, settings, areas, "2026-W46", lang="sv")
    report.sections[0].total  # Comparison(label='Vivalla', current=..., previous=..., ...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse.csgraph import connected_components
from sqlalchemy.engine import Engine

from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.compute import Analysis, analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.analysis.query import parse_week, week_name
from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.field.dosage import PlaceVisits, visits_per_place
from hotspots.geo import h3grid
from hotspots.geo.areas import Areas
from hotspots.geo.places import Places, load_places
from hotspots.measures.follow_up import follow_up
from hotspots.measures.measure import Measure
from hotspots.measures.records import list_measures
from hotspots.ranking.priorities import (
    PriorityEntry,
    PriorityList,
    ScoreWeights,
    previous_window_counts,
    priority_list,
)
from hotspots.stats.change import BASELINE_WEEKS, WeekOverWeek
from hotspots.stats.emerging import iso_week_steps
from hotspots.store.engine import read_reports
from hotspots.store.freshness import Freshness, freshness
from hotspots.words import REPORT, Language

#: Group id of every report outside the partnership areas (other RegSO areas, or no area at all).
REST = "rest"
#: Weeks in each area's chart: half a year shows the season and the effect of recent measures.
CHART_WEEKS = 26
#: The emerging-hotspot patterns the meeting discusses, in the order the report lists them.
REPORTED_PATTERNS = ("new_hot", "intensifying_hot", "persistent_hot")
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


def last_complete_week(timezone: str, now: datetime | None = None) -> str:
    """The ISO week before the current local one: the week an EST meeting usually reviews."""
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    return week_name(pd.Period(today, "W-SUN") - 1)


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
    lang: Language = Language.sv,
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
    result: dict[str, Any]  # hotspots.measures.follow_up.follow_up(): counts before/after, WDQ, reading


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
    #: The section's cells in the report's analysis (its map shows them) and the areas drawn thick.
    cell_mask: npt.NDArray[np.bool_]
    focus: tuple[str, ...]
    #: Reports per ISO week over the last :data:`CHART_WEEKS` weeks (its chart), index = the weeks.
    weekly: pd.Series

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
    #: Field visits in the week at each of ``priorities`` (planned vs done), and how many were elsewhere.
    visits: list[PlaceVisits]
    visits_elsewhere: int
    baseline_weeks: pd.PeriodIndex
    in_progress: bool

    @property
    def name(self) -> str:
        return week_name(self.week)


def build_weekly(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    week: str,
    *,
    lang: Language = Language.sv,
    window: str = DEFAULT_WINDOW,
    now: datetime | None = None,
    cache: AnalysisCache | None = None,
) -> WeeklyReport:
    """Gather the week's figures and statistics: everything :mod:`maps.report` draws (the analyses
    through the caller's ``cache``)."""
    if lang not in REPORT:
        raise HotspotsError(f"language must be one of {sorted(REPORT)}, got {lang!r}")
    period = parse_week(week)
    first, last = period.start_time.date(), period.end_time.date()
    now = (now or datetime.now(UTC)).astimezone(ZoneInfo(settings.timezone))
    analysis = analyse(engine, settings, areas, AnalysisParams(window=window, end=last), cache=cache)
    weeks = pd.period_range(end=period, periods=CHART_WEEKS, freq="W-SUN")
    counts = weekly_counts(engine, settings, areas, weeks)
    group_totals = counts.groupby(level="group", sort=False).sum()
    places = load_places(settings)
    measures = measures_in_week(engine, settings, areas, places, first, last, lang)
    rank = _ranking(engine, settings, areas, places, last, measures, lang, cache)
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
                name=REPORT[lang]["rest"] if group == REST else areas.name_of(group),
                total=comparison,
                by_category=compare(
                    [term.label(lang) for term in settings.taxonomy.categories], counts.loc[group].to_numpy()
                ),
                hot_cells=int((analysis.gi.gi_bin[in_group] >= 2).sum()),
                places=hotspot_places(analysis, in_group, places, lang, settings.place_label_distance_m),
                priorities=priorities,
                measures=[m for m in measures if m.group == group],
                cell_mask=in_group,
                focus=(group,) if group != REST else tuple(areas.partnership_ids),
                weekly=group_totals.loc[group],
            )
        )
    (municipality,) = compare([REPORT[lang]["municipality"]], group_totals.sum().to_numpy()[None, :])
    zone = ZoneInfo(settings.timezone)
    week_start, week_end = (
        datetime.combine(day, time.min, zone) for day in (first, last + timedelta(days=1))
    )
    visits, elsewhere = visits_per_place(
        engine, [e.cells for e in overall[:TOP_PLACES]], week_start, week_end
    )
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
        visits=visits,
        visits_elsewhere=elsewhere,
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
    cache: AnalysisCache | None,
) -> Callable[..., PriorityList]:
    """``priority_list`` over the :data:`PRIORITY_WINDOW` ending ``last``, with everything but the area and
    length fixed: the previous window and the measures are read once for all of the report's lists."""
    analysis = analyse(engine, settings, areas, AnalysisParams(window=PRIORITY_WINDOW, end=last), cache=cache)
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
