"""When the demo's reports happen: the calendar of ISO weeks, each planted hotspot's weekly activity, the
weekday, hour and season rhythm, and local timestamps as import files carry them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.config import Settings, get_settings

#: Monday..Sunday, mean 1: Friday and Saturday are the busy days.
WEEKDAY_FACTOR = np.array([0.8, 0.8, 0.9, 1.0, 1.3, 1.4, 0.8])
#: Relative reports per hour of day 0..23: quiet mornings, peak 19-22.
HOUR_WEIGHT = np.array(
    [4, 3, 2, 1, 0.5, 0.5, 0.7, 1, 1.2, 1.5, 2, 2.5, 3, 3, 3.5, 4, 5, 6, 8, 9, 10, 10, 9, 7], dtype=float
)
#: Seasonal amplitude: +30 % in mid-July, -30 % in mid-January.
SEASON_AMPLITUDE = 0.3
SEASON_PEAK_DAY_OF_YEAR = 196


class Calendar(NamedTuple):
    """The local days of the window and, per day, its week index, weekday and relative intensity."""

    days: pd.DatetimeIndex
    week: npt.NDArray[np.int64]
    intensity: npt.NDArray[np.float64]
    week_labels: list[str]
    week_mondays: pd.DatetimeIndex


def calendar(weeks: int, end: date) -> Calendar:
    """``weeks`` ISO weeks ending with the week of ``end``; days after ``end`` are left out."""
    last_monday = end - timedelta(days=end.weekday())
    mondays = pd.date_range(last_monday - timedelta(weeks=weeks - 1), periods=weeks, freq="7D")
    days = pd.date_range(mondays[0], pd.Timestamp(end), freq="D")
    day_of_year = days.day_of_year.to_numpy()
    season = 1 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (day_of_year - SEASON_PEAK_DAY_OF_YEAR) / 365.25)
    iso = mondays.isocalendar()
    labels = [f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"], strict=True)]
    return Calendar(
        days=days,
        week=(np.arange(days.size) // 7).astype(np.int64),
        intensity=season * WEEKDAY_FACTOR[days.day_of_week.to_numpy()],
        week_labels=labels,
        week_mondays=mondays,
    )


def measure_week_index(weeks: int) -> int:
    """Week (0-based) the measure starts: a quarter of the window (26 of 104 weeks) before the end."""
    return max(1, weeks - max(2, weeks // 4))


def activity_profile(pattern: str, weeks: int, mondays: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """Relative activity (0..1) of a planted hotspot in each week of the window."""
    w = np.arange(weeks, dtype=np.float64)
    measure = measure_week_index(weeks)
    if pattern == "persistent":
        return np.ones(weeks)
    if pattern == "emerging":
        start = weeks - min(10, max(2, weeks // 3))
        return np.clip((w - start + 1) / (weeks - start), 0, 1)
    if pattern == "fading":
        top, gone = weeks // 3, max(weeks // 3 + 1, 2 * weeks // 3)
        return np.clip((gone - w) / (gone - top), 0, 1)
    if pattern == "seasonal":
        return np.isin(mondays.month.to_numpy(), (5, 6, 7, 8, 9)).astype(np.float64)
    if pattern == "moved_from":
        return (w < measure).astype(np.float64)
    if pattern == "moved_to":
        return np.clip((w - measure + 1) / 4, 0, 1)
    raise ValueError(f"unknown hotspot pattern {pattern!r}")


def iso_local(ts: pd.Series) -> npt.NDArray[np.str_]:
    """ISO 8601 local time with a colon in the UTC offset (2026-03-14T21:35:00+01:00), vectorised.

    pandas' tz-aware strftime goes row by row (~1.4 s per 100k); this formats the naive local time
    in C and appends one of the few distinct offsets.
    """
    local = ts.dt.tz_localize(None).to_numpy("datetime64[s]")
    utc = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]")
    offset_min = (local - utc).astype("timedelta64[m]").astype(np.int64)
    distinct, inverse = np.unique(offset_min, return_inverse=True)
    labels = np.array([f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in distinct])
    return np.char.add(np.datetime_as_string(local, unit="s"), labels[inverse])


def last_complete_day(settings: Settings | None = None) -> date:
    """Yesterday in the configured time zone: the default ``end``. Not today: reports timed later today
    would lie in the future, and the importer (rightly) refuses those."""
    return datetime.now(ZoneInfo((settings or get_settings()).timezone)).date() - timedelta(days=1)
