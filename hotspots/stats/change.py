"""Week-over-week change per cell and per area, for the "what changed since last week" part of the EST picture.

Two comparisons for one week t of a (n_cells, T) weekly count cube: against the previous week (t-1), and
against the trailing mean of the ``baseline_weeks`` weeks before it (t-1 ... t-4 by default), which is
steadier than a single week. Each comes as an absolute and a relative change.

Zero denominators have one fixed meaning (see :func:`relative_change`): 0 -> 0 is "no change" (0.0), while
0 -> something has no finite relative change and is NaN (the report shows it as "new" and relies on the
absolute change). Per area, counts are summed over the area's cells before dividing, so an area's
relative change is not an average of its cells' ratios.

>>> import numpy as np
>>> wow = WeekOverWeek(np.array([[1, 2, 3, 4, 6], [0, 0, 0, 0, 2]]), np.array(["Vivalla", "Vivalla"]))
>>> wow.change_previous.tolist(), wow.relative_previous.tolist()
([2.0, 2.0], [0.5, nan])
>>> wow.by_area.loc["Vivalla", ["current", "previous", "relative_previous"]].tolist()
[8.0, 4.0, 1.0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from hotspots.errors import EmptyData, StatisticsError

FloatArray = npt.NDArray[np.float64]

BASELINE_WEEKS = 4
"""Weeks averaged for the trailing baseline (t-1 ... t-4): about a month, as EST follows up monthly."""


def relative_change(current: npt.ArrayLike, reference: npt.ArrayLike) -> FloatArray:
    """(current - reference) / reference; 0.0 when both are 0, NaN when only the reference is 0."""
    current = np.asarray(current, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    difference = current - reference
    ratio = np.divide(difference, reference, out=np.full(difference.shape, np.nan), where=reference != 0)
    return np.where((reference == 0) & (difference == 0), 0.0, ratio)


class WeekOverWeek:
    """Change of week ``step`` against the previous week and against the trailing baseline mean.

    Parameters
    ----------
    counts : array (n_cells, T)
        Weekly counts (or weights) per cell, oldest week first.
    areas : array (n_cells,) of str or None, optional
        Area name per cell; None (or NaN) for cells outside every area. Without it ``by_area`` is empty.
    step : int
        The week to report, as an index into axis 1 (default -1, the latest week). Needs at least one
        earlier week.
    baseline_weeks : int
        Number of weeks before ``step`` averaged for the baseline. Near the start of the cube fewer weeks
        exist; the baseline then averages those available and ``baseline_weeks_used`` says how many.

    Attributes
    ----------
    current, previous, baseline : array (n_cells,)
        Count in week ``step``, in week ``step - 1``, and the mean over the baseline weeks.
    change_previous, change_baseline : array (n_cells,)
        ``current - previous`` and ``current - baseline``.
    relative_previous, relative_baseline : array (n_cells,)
        The same divided by the reference (:func:`relative_change`: 0.0 for 0 -> 0, NaN for 0 -> more).
    baseline_weeks_used : int
        How many weeks the baseline averages (``baseline_weeks`` unless the cube starts too late).
    by_area : pandas.DataFrame
        One row per area (index ``area``, sorted): ``cells``, ``current``, ``previous``, ``baseline``,
        ``change_previous``, ``relative_previous``, ``change_baseline``, ``relative_baseline``, computed
        from the area's summed counts. Cells without an area are left out.
    """

    def __init__(
        self,
        counts: npt.ArrayLike,
        areas: npt.ArrayLike | None = None,
        step: int = -1,
        baseline_weeks: int = BASELINE_WEEKS,
    ) -> None:
        cube = np.asarray(counts, dtype=np.float64)
        if cube.ndim != 2 or cube.shape[0] == 0:
            raise EmptyData(f"counts must be a non-empty (n_cells, T) array, got shape {cube.shape}")
        n_cells, n_steps = cube.shape
        if not -n_steps <= step < n_steps:
            raise StatisticsError(f"step {step} is outside a cube of {n_steps} weeks")
        step %= n_steps
        if step == 0:
            raise EmptyData("week-over-week change needs at least one week before the reported week")
        if baseline_weeks < 1:
            raise StatisticsError(f"baseline_weeks must be at least 1, got {baseline_weeks}")

        self.baseline_weeks_used = min(baseline_weeks, step)
        self.current = cube[:, step]
        self.previous = cube[:, step - 1]
        self.baseline = cube[:, step - self.baseline_weeks_used : step].mean(axis=1)
        self.change_previous = self.current - self.previous
        self.change_baseline = self.current - self.baseline
        self.relative_previous = relative_change(self.current, self.previous)
        self.relative_baseline = relative_change(self.current, self.baseline)
        self.by_area = self._by_area(areas, n_cells)

    def _by_area(self, areas: npt.ArrayLike | None, n_cells: int) -> pd.DataFrame:
        labels = pd.Series(np.asarray(areas, dtype=object) if areas is not None else np.full(n_cells, None))
        if labels.size != n_cells:
            raise StatisticsError(f"got {labels.size} area labels for {n_cells} cells")
        cells = pd.DataFrame(
            {
                "area": labels,
                "cells": 1,
                "current": self.current,
                "previous": self.previous,
                "baseline": self.baseline,
            }
        )
        table = cells.groupby("area", dropna=True, sort=True).sum()
        table["change_previous"] = table["current"] - table["previous"]
        table["relative_previous"] = relative_change(table["current"], table["previous"])
        table["change_baseline"] = table["current"] - table["baseline"]
        table["relative_baseline"] = relative_change(table["current"], table["baseline"])
        return table
