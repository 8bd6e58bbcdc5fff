"""Dosage: how many visits and minutes each place got, matched to places by their cells.

Tracked patrol dosage per hot spot is what separates an effect from a list nobody follows (Koper 1995:
short, regular stays of 10-15 minutes). A visit belongs to every place that one of its cells or its
centroid falls in, so a place whose outline changed since the visit (lists are recomputed every day) still
finds the visits made at it.

>>> dose = Dose.of(visits=[2, 0], minutes=[25, 0])
>>> dose[0].visits, dose[1].minutes
(2, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.geo import h3grid
from hotspots.store.schema import visits

#: The dose windows of a priority entry, in days before the list's end.
DOSE_DAYS = (7, 28)


class Dose(NamedTuple):
    """Visits to a place and their minutes in one window."""

    visits: int
    minutes: int

    @classmethod
    def of(cls, *, visits: Sequence[int], minutes: Sequence[int]) -> list[Dose]:
        return [cls(int(v), int(m)) for v, m in zip(visits, minutes, strict=True)]


def _visit_frame(engine: Engine, start: datetime, end: datetime) -> pd.DataFrame:
    stmt = sa.select(
        visits.c.id, visits.c.cells, visits.c.lat, visits.c.lon, visits.c.started_at, visits.c.minutes,
        visits.c.outcome,
    ).where(visits.c.started_at >= start, visits.c.started_at < end)  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame(rows, columns=["id", "cells", "lat", "lon", "started_at", "minutes", "outcome"])


def match_places(frame: pd.DataFrame, places: Sequence[Sequence[str]]) -> pd.DataFrame:
    """(visit row, place index) pairs: a visit belongs to every place one of its cells or its centroid
    falls in, compared at each place's resolution (lists of other resolutions still find their visits)."""
    pairs = [pd.DataFrame({"row": np.empty(0, np.int64), "place": np.empty(0, np.int64)})]
    if frame.empty:
        return pairs[0]
    cell_lists = [text.split() for text in frame["cells"].tolist()]
    lengths = np.array([len(cells) for cells in cell_lists])
    cells = h3grid.as_cells([int(c, 16) for c in np.concatenate(cell_lists).tolist()])
    rows = np.repeat(np.arange(len(frame)), lengths)
    place_cells = [h3grid.as_cells([int(c, 16) for c in p]) for p in places]
    owner = np.repeat(np.arange(len(places)), [c.size for c in place_cells])
    if not owner.size:
        return pairs[0]
    flat = np.concatenate(place_cells)
    for resolution in np.unique(h3grid.cells_resolution(flat)).tolist():
        at = np.flatnonzero(h3grid.cells_resolution(flat) == resolution)
        keys, first = np.unique(flat[at], return_index=True)  # a cell in two places counts for the first
        at = at[first]
        index = pd.Index(keys)
        finer = h3grid.cells_resolution(cells) >= resolution
        centre = h3grid.latlng_to_cells(frame["lat"].to_numpy(), frame["lon"].to_numpy(), resolution)
        probe = np.concatenate([h3grid.cell_to_parent(cells[finer], resolution), centre])
        probe_rows = np.concatenate([rows[finer], np.arange(len(frame))])
        hit = index.get_indexer(pd.Index(probe))
        found = hit >= 0
        pairs.append(pd.DataFrame({"row": probe_rows[found], "place": owner[at][hit[found]]}))
    return pd.concat(pairs).drop_duplicates()


def matched_visits(
    engine: Engine, places: Sequence[Sequence[str]], start: datetime, end: datetime
) -> pd.DataFrame:
    """One row per (visit, place) for visits that started in [start, end): place index, start, minutes,
    outcome."""
    frame = _visit_frame(engine, start, end)
    return _matched(frame, match_places(frame, places))


def _matched(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    rows = pairs["row"].to_numpy()
    return pd.DataFrame(
        {
            "place": pairs["place"].to_numpy(),
            "started_at": pd.to_datetime(frame["started_at"], utc=True).to_numpy(dtype="datetime64[us]")[
                rows
            ],
            "minutes": frame["minutes"].to_numpy(dtype=np.int64)[rows],
            "outcome": frame["outcome"].to_numpy(dtype=object)[rows],
        }
    )


def dosage(
    engine: Engine, places: Sequence[Sequence[str]], *, end: datetime, days: Sequence[int] = DOSE_DAYS
) -> list[dict[str, dict[str, int]]]:
    """Per place (its cells): visits and minutes in each of the last ``days`` before ``end``.

    ``{"7d": {"visits": 2, "minutes": 25}, "28d": {...}}`` per place, in the places' order.
    """
    matched = matched_visits(engine, places, end - timedelta(days=max(days)), end)
    place = matched["place"].to_numpy()
    minutes = matched["minutes"].to_numpy()
    started = matched["started_at"].to_numpy()
    out: list[dict[str, dict[str, int]]] = [{} for _ in places]
    for span in days:
        since = pd.Timestamp(end - timedelta(days=span)).tz_convert(None).to_datetime64()
        inside = started >= since
        count = np.bincount(place[inside], minlength=len(places))
        total = np.bincount(place[inside], weights=minutes[inside], minlength=len(places))
        for i, dose in enumerate(Dose.of(visits=count.tolist(), minutes=total.tolist())):
            out[i][f"{span}d"] = dose._asdict()
    return out


def dose_between(engine: Engine, cells: Sequence[str], start: datetime, end: datetime) -> Dose:
    """Visits and minutes at one place (its cells) that started in [start, end)."""
    matched = matched_visits(engine, [cells], start, end)
    return Dose(len(matched), int(matched["minutes"].sum()))


class PlaceVisits(NamedTuple):
    """The visits one planned place got in a period: how many, how long, and what the teams saw."""

    visits: int
    minutes: int
    outcomes: dict[str, int]


def visits_per_place(
    engine: Engine, places: Sequence[Sequence[str]], start: datetime, end: datetime
) -> tuple[list[PlaceVisits], int]:
    """Per place: its visits in [start, end); and how many visits of the period were at none of them."""
    frame = _visit_frame(engine, start, end)
    pairs = match_places(frame, places)
    matched = _matched(frame, pairs)
    out = []
    for i in range(len(places)):
        mine = matched[matched["place"] == i]
        outcomes = mine["outcome"].value_counts()
        out.append(
            PlaceVisits(len(mine), int(mine["minutes"].sum()), {str(k): int(v) for k, v in outcomes.items()})
        )
    elsewhere = len(frame) - pairs["row"].nunique()
    return out, elsewhere
