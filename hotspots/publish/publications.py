"""Planner publications: cell counts for fixed calendar periods and fixed category groups, suppressed so
that no combination of publications reveals a count under the threshold.

Why not per-query suppression: with a free window, end, category and source filter, two answers that
each hide small cells differ by a small count (``window=28d`` minus ``27d`` is one day; "all" minus "all
but one" is one category). A publication is instead one node of a fixed tree per cell and group:

    year ⊃ quarters ⊃ months        (calendar, local time zone; only periods that ended ``lag`` days ago)

and the groups partition the categories (``[[groups]]`` in the taxonomy file, else one group "all").
Any two allowed publications are therefore nested or disjoint (a laminar family), and everything a
reader can derive from any set of them is a sum of *residuals*: a published node's count minus its
largest published sub-periods. A node is published only when its count reaches the threshold and its
residual is 0 or reaches it too, so every derivable count is 0 or at least the threshold. Leaving a
published node out (a cell outside the areas, a period not asked for) only merges residuals, which keeps
the property. docs/security.md argues the choice; tests/reliability/test_publications.py checks it.

>>> Period.parse("2026-Q3").months()[0]
Period(kind='month', year=2026, number=7)
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.engine import Engine

from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.geo import h3grid
from hotspots.store.engine import read_reports

#: Days after a period's last day before it is published: late reports land before the numbers do.
PUBLICATION_LAG_DAYS = 14
ALL_GROUP = "all"
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4])))?$")


class PublicationError(HotspotsError):
    """A period or group that is not one of the fixed publications."""


class Period(NamedTuple):
    """A calendar year, quarter or month: ``2026``, ``2026-Q3``, ``2026-07``."""

    kind: str  # "year" | "quarter" | "month"
    year: int
    number: int  # quarter 1-4, month 1-12, 0 for a year

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip())
        if not match:
            raise PublicationError(
                f"period must be a year, quarter or month (2026, 2026-Q3, 2026-07): {text!r}"
            )
        year = int(match["year"])
        if not 1990 <= year <= 2100:
            raise PublicationError(f"period must lie between 1990 and 2100: {text!r}")
        if match["month"]:
            return cls("month", year, int(match["month"]))
        if match["quarter"]:
            return cls("quarter", year, int(match["quarter"]))
        return cls("year", year, 0)

    def __str__(self) -> str:
        return {"year": f"{self.year}", "quarter": f"{self.year}-Q{self.number}"}.get(
            self.kind, f"{self.year}-{self.number:02d}"
        )

    def months(self) -> list[Period]:
        first = {"year": 1, "quarter": 3 * self.number - 2, "month": self.number}[self.kind]
        n = {"year": 12, "quarter": 3, "month": 1}[self.kind]
        return [Period("month", self.year, m) for m in range(first, first + n)]

    @property
    def first_day(self) -> date:
        return date(self.year, self.months()[0].number, 1)

    @property
    def last_day(self) -> date:
        last = self.months()[-1].number
        return (date(self.year + last // 12, last % 12 + 1, 1)) - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def contains(self, other: Period) -> bool:
        return set(other.months()) <= set(self.months())


def allowed(period: Period, today: date, lag_days: int = PUBLICATION_LAG_DAYS) -> bool:
    """Whether ``period`` ended at least ``lag_days`` before ``today``."""
    return period.last_day + timedelta(days=lag_days) < today


def latest_month(today: date, lag_days: int = PUBLICATION_LAG_DAYS) -> Period:
    """The newest month already published on ``today``."""
    last = today - timedelta(days=lag_days + 1)
    month = Period("month", last.year, last.month)
    return (
        month
        if allowed(month, today, lag_days)
        else Period.parse(f"{(last.replace(day=1) - timedelta(days=1)):%Y-%m}")
    )


def not_yet(period: Period, lag_days: int = PUBLICATION_LAG_DAYS) -> str:
    return (
        f"period {period} is published {lag_days} days after it ends "
        f"(from {period.last_day + timedelta(days=lag_days + 1)})"
    )


def periods_between(first: date, today: date, lag_days: int = PUBLICATION_LAG_DAYS) -> list[Period]:
    """Every allowed period from the one holding ``first`` on: months, quarters and years."""
    out: list[Period] = []
    for year in range(first.year, today.year + 1):
        candidates = [Period("year", year, 0)]
        candidates += [Period("quarter", year, q) for q in range(1, 5)]
        candidates += [Period("month", year, m) for m in range(1, 13)]
        out += [p for p in candidates if p.last_day >= first and allowed(p, today, lag_days)]
    return out


def category_groups(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Group id -> category ids: the taxonomy file's ``[[groups]]``, a partition of its categories (a
    category no group names is left out of every publication), or one group "all" when none are set."""
    categories = tuple(t.id for t in settings.taxonomy.categories)
    raw = tomllib.loads(settings.taxonomy_file.read_text(encoding="utf-8")).get("groups") or []
    if not raw:
        return {ALL_GROUP: categories}
    groups = {str(g["id"]): tuple(str(c) for c in g["categories"]) for g in raw}
    named = [c for members in groups.values() for c in members]
    if len(named) != len(set(named)) or set(named) - set(categories):
        raise PublicationError(
            f"the groups in {settings.taxonomy_file} must name each known category at most once"
        )
    return groups


def group_label(settings: Settings, group: str, lang: str = "sv") -> str:
    raw = tomllib.loads(settings.taxonomy_file.read_text(encoding="utf-8")).get("groups") or []
    labels = {str(g["id"]): str(g.get(lang, g["id"])) for g in raw}
    return labels.get(group, {"sv": "alla", "en": "all"}.get(lang, group))


def month_counts(
    engine: Engine, settings: Settings, year: int, categories: tuple[str, ...], resolution: int
) -> tuple[h3grid.CellArray, npt.NDArray[np.int64]]:
    """Reports of ``categories`` per cell (binned from the coordinates at ``resolution``) and local month
    of ``year``: (cells, counts of shape cells x 12)."""
    zone = ZoneInfo(settings.timezone)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    reports = read_reports(
        engine, start=start, end=end, categories=categories, columns=("occurred_at", "lat", "lon")
    )
    cells = h3grid.latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), resolution)
    month = reports["occurred_at"].dt.tz_convert(zone).dt.month.to_numpy(dtype=np.int64) - 1
    unique, index = np.unique(cells, return_inverse=True)
    counts = np.zeros((unique.size, 12), dtype=np.int64)
    np.add.at(counts, (index, month), 1)
    return h3grid.as_cells(unique), counts


def suppress(counts: npt.NDArray[np.int64], threshold: int) -> dict[str, npt.NDArray[np.bool_]]:
    """Which nodes of each cell's year tree are published (cells x 12 months -> masks per level).

    Bottom-up: a month when it reaches ``threshold``; a quarter when it does and its count minus its
    published months is 0 or reaches it; the year likewise against its largest published sub-periods.
    """
    n = counts.shape[0]
    month = counts >= threshold
    by_quarter = counts.reshape(n, 4, 3)
    quarter_count = by_quarter.sum(axis=2)
    months_shown = np.where(month, counts, 0).reshape(n, 4, 3).sum(axis=2)
    quarter = _publishable(quarter_count, quarter_count - months_shown, threshold)
    covered = np.where(quarter, quarter_count, months_shown).sum(axis=1)
    year_count = quarter_count.sum(axis=1)
    year = _publishable(year_count, year_count - covered, threshold)
    return {"month": month, "quarter": quarter, "year": year}


def _publishable(
    count: npt.NDArray[np.int64], residual: npt.NDArray[np.int64], threshold: int
) -> npt.NDArray[np.bool_]:
    return (count >= threshold) & ((residual == 0) | (residual >= threshold))


class Publication(NamedTuple):
    """The published cells of one period and group, and how many cells with reports were withheld."""

    period: Period
    group: str
    categories: tuple[str, ...]
    resolution: int
    threshold: int
    cells: h3grid.CellArray
    counts: npt.NDArray[np.int64]
    withheld: int


def publish(
    engine: Engine,
    settings: Settings,
    period: Period,
    group: str,
    *,
    today: date | None = None,
    lag_days: int = PUBLICATION_LAG_DAYS,
) -> Publication:
    """The cells of ``period`` and ``group`` that may be published at the analysis resolution."""
    today = today or datetime.now(ZoneInfo(settings.timezone)).date()
    if not allowed(period, today, lag_days):
        raise PublicationError(not_yet(period, lag_days))
    groups = category_groups(settings)
    if group not in groups:
        raise PublicationError(f"unknown group {group!r}; known: {', '.join(groups)}")
    resolution = settings.analysis_resolution
    threshold = settings.suppression_threshold
    cells, counts = month_counts(engine, settings, period.year, groups[group], resolution)
    shown = suppress(counts, threshold)
    if period.kind == "month":
        count, keep = counts[:, period.number - 1], shown["month"][:, period.number - 1]
    elif period.kind == "quarter":
        count = counts[:, 3 * period.number - 3 : 3 * period.number].sum(axis=1)
        keep = shown["quarter"][:, period.number - 1]
    else:
        count, keep = counts.sum(axis=1), shown["year"]
    return Publication(
        period, group, groups[group], resolution, threshold, cells[keep], count[keep],
        int(((count > 0) & ~keep).sum()),
    )  # fmt: skip


def as_frame(publication: Publication) -> pd.DataFrame:
    """Published cells as rows: hex ``cell`` and ``count``."""
    return pd.DataFrame(
        {"cell": [f"{int(c):x}" for c in publication.cells], "count": publication.counts.astype(np.int64)}
    )
