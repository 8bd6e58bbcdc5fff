"""What may be asked of an analysis: the one check of window, end day, category, source and ISO week
values, shared by the API, the map and the CLI so that each rejects the same inputs with the same words.

Problems name the parameter (``window``, ``week``…), not a transport: the API renders an
:class:`InvalidQuery` as its 422 body with ``query.<field>``, the CLI prints the message.

>>> parse_window("28d"), str(parse_week("2026-W47"))
(28, '2026-11-16/2026-11-22')
>>> parse_window("0d")
Traceback (most recent call last):
...
hotspots.analysis.query.InvalidQuery: window must look like '28d' (1-3660 days), got '0d'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

import pandas as pd

from hotspots.config import Settings
from hotspots.errors import HotspotsError

#: A window spec: days ending at the last day included ('28d').
WINDOW_PATTERN = re.compile(r"^\s*(\d{1,4})\s*d\s*$")
MAX_WINDOW_DAYS = 3660
#: An ISO week: '2026-W47' (also '2026W47', '2026-w7').
WEEK_PATTERN = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
#: The last days an analysis may end on (dates outside are typos, not questions).
MIN_END = date(2000, 1, 1)
MAX_END = date(2100, 12, 31)


class QueryProblem(NamedTuple):
    """One bad parameter value and why."""

    field: str
    value: str | None
    reason: str


class InvalidQuery(HotspotsError):
    """Parameters an analysis cannot be asked for; ``problems`` lists every bad value."""

    def __init__(self, problems: list[QueryProblem]) -> None:
        super().__init__("; ".join(p.reason for p in problems))
        self.problems = problems


def parse_window(window: str) -> int:
    """Days in a window spec like '28d'."""
    match = WINDOW_PATTERN.match(window)
    if not match or not 1 <= int(match.group(1)) <= MAX_WINDOW_DAYS:
        reason = f"window must look like '28d' (1-{MAX_WINDOW_DAYS} days), got {window!r}"
        raise InvalidQuery([QueryProblem("window", window, reason)])
    return int(match.group(1))


def parse_week(week: str) -> pd.Period:
    """An ISO week like '2026-W47' as a Monday-Sunday period."""
    match = WEEK_PATTERN.match(week)
    # Years outside the days an analysis may end on are typos; 9999-W52 would also overflow a date.
    if match and MIN_END.year <= int(match.group(1)) <= MAX_END.year:
        try:
            return pd.Period(date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1), "W-SUN")
        except ValueError:
            pass
    reason = f"week must be an ISO week like '2026-W47' ({MIN_END.year}-{MAX_END.year}), got {week!r}"
    raise InvalidQuery([QueryProblem("week", week, reason)])


def week_name(period: pd.Period) -> str:
    """'2026-W47' for a weekly period (the form :func:`parse_week` reads)."""
    iso = period.start_time.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def check_filters(
    settings: Settings,
    *,
    window: str | None = None,
    end: date | None = None,
    categories: Iterable[str] = (),
    sources: Iterable[str] = (),
) -> None:
    """Raise :class:`InvalidQuery` listing every bad value: a malformed window, an end day out of range,
    category or source ids the taxonomy does not know (rejected rather than matching nothing)."""
    problems: list[QueryProblem] = []
    if window is not None:
        try:
            parse_window(window)
        except InvalidQuery as exc:
            problems += exc.problems
    if end is not None and not MIN_END <= end <= MAX_END:
        problems.append(QueryProblem("end", str(end), f"must lie between {MIN_END} and {MAX_END}"))
    taxonomy = settings.taxonomy
    for name, given, known in (
        ("category", categories, {t.id for t in taxonomy.categories}),
        ("source", sources, {t.id for t in taxonomy.sources}),
    ):
        problems += [
            QueryProblem(name, value, f"unknown {name}; known: {', '.join(sorted(known))}")
            for value in given
            if value not in known
        ]
    if problems:
        raise InvalidQuery(problems)
