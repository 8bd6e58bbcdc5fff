"""Week-over-week change: hand-computed cells and areas, zero denominators, cube edges."""

import numpy as np
import pytest

from hotspots.errors import EmptyData, StatisticsError
from hotspots.stats.change import WeekOverWeek, relative_change

COUNTS = np.array(
    [
        # t-5 t-4 t-3 t-2 t-1  t
        [9, 1, 2, 3, 2, 4],  # doubles vs last week; baseline (1+2+3+2)/4 = 2
        [0, 0, 0, 0, 0, 3],  # appears from nothing
        [5, 0, 0, 0, 0, 0],  # quiet for the whole comparison window
        [0, 4, 4, 4, 4, 2],  # halves
        [0, 2, 0, 0, 1, 1],  # outside every area
    ],
    dtype=float,
)
AREAS = np.array(["Vivalla", "Vivalla", "Oxhagen", "Oxhagen", None], dtype=object)


def test_cells_against_hand_computed_values() -> None:
    wow = WeekOverWeek(COUNTS, AREAS)
    np.testing.assert_array_equal(wow.current, [4, 3, 0, 2, 1])
    np.testing.assert_array_equal(wow.previous, [2, 0, 0, 4, 1])
    np.testing.assert_array_equal(wow.baseline, [2, 0, 0, 4, 0.75])
    np.testing.assert_array_equal(wow.change_previous, [2, 3, 0, -2, 0])
    np.testing.assert_array_equal(wow.relative_previous, [1.0, np.nan, 0.0, -0.5, 0.0])
    np.testing.assert_array_equal(wow.change_baseline, [2, 3, 0, -2, 0.25])
    np.testing.assert_allclose(wow.relative_baseline, [1.0, np.nan, 0.0, -0.5, 1 / 3])
    assert wow.baseline_weeks_used == 4


def test_areas_sum_cells_before_dividing() -> None:
    table = WeekOverWeek(COUNTS, AREAS).by_area
    assert table.index.tolist() == ["Oxhagen", "Vivalla"]  # sorted; the cell without an area is left out
    vivalla = table.loc["Vivalla"]
    assert (vivalla["cells"], vivalla["current"], vivalla["previous"], vivalla["baseline"]) == (2, 7, 2, 2)
    assert vivalla["change_previous"] == 5 and vivalla["relative_previous"] == 2.5
    assert vivalla["relative_baseline"] == 2.5
    oxhagen = table.loc["Oxhagen"]
    assert (oxhagen["current"], oxhagen["previous"], oxhagen["relative_previous"]) == (2, 4, -0.5)


def test_relative_change_zero_denominators() -> None:
    np.testing.assert_array_equal(relative_change([0, 5, 3, 0], [0, 0, 2, 4]), [0.0, np.nan, 0.5, -1.0])


def test_baseline_shrinks_near_cube_start_and_step_selects_week() -> None:
    wow = WeekOverWeek(COUNTS, step=2)
    assert wow.baseline_weeks_used == 2
    np.testing.assert_array_equal(wow.current, COUNTS[:, 2])
    np.testing.assert_array_equal(wow.baseline, COUNTS[:, :2].mean(axis=1))
    assert wow.by_area.empty


def test_refuses_what_it_cannot_compare() -> None:
    with pytest.raises(EmptyData):
        WeekOverWeek(COUNTS, step=0)
    with pytest.raises(StatisticsError):
        WeekOverWeek(COUNTS, step=6)
    with pytest.raises(StatisticsError):
        WeekOverWeek(COUNTS, AREAS[:3])
