"""Emerging hot spot analysis: space-time Gi* against esda, the 17 patterns, ISO weeks."""

import warnings

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from hotspots.errors import StatisticsError
from hotspots.stats.emerging import (
    CATEGORIES,
    EmergingHotspots,
    classify_patterns,
    iso_week_steps,
    space_time_gi_star,
    trailing_run,
    weekly_cube,
)
from hotspots.stats.gistar import gi_star_z
from hotspots.stats.inference import benjamini_hochberg_adjust
from hotspots.words import CATEGORY_LABELS

N_CELLS, N_WEEKS = 40, 20
LINE = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(N_CELLS, N_CELLS), format="csr")
"""A line lattice: each cell's neighbours are the cells on either side (self included)."""


def _flags(pattern: str, mark: str) -> list[bool]:
    return [symbol == mark for symbol in pattern]


# Per-week state of one location (H hot bin, C cold bin, . neither; oldest week first), its z trend, and
# the category ESRI's definitions give it. Ten weeks, so "90 %" means at least nine.
PATTERNS = [
    ("..........", 0, "no_pattern"),
    (".........H", 0, "new_hot"),
    ("C........H", 0, "new_hot"),  # also oscillating by ESRI's words: "new" comes first in the table
    ("......HHHH", 1, "consecutive_hot"),
    ("HHHHHHHHHH", 1, "intensifying_hot"),
    (".HHHHHHHHH", 0, "persistent_hot"),
    ("HHHHHHHHHH", -1, "diminishing_hot"),
    ("..H..H.HHH", 0, "sporadic_hot"),  # a final run, but hot before it: not consecutive
    ("H.H.....HH", -1, "sporadic_hot"),
    ("..C..H...H", 0, "oscillating_hot"),
    ("HHHHHHHHH.", 0, "historical_hot"),
    ("HHHHHHHHHC", 0, "historical_hot"),  # a final cold week after 90 % hot: hot patterns come first
    (".........C", 0, "new_cold"),
    ("........CC", -1, "consecutive_cold"),
    ("CCCCCCCCCC", -1, "intensifying_cold"),
    ("CCCCCCCCCC", 0, "persistent_cold"),
    ("CCCCCCCCCC", 1, "diminishing_cold"),
    ("C..C.C...C", 0, "sporadic_cold"),
    ("..H.C....C", 0, "oscillating_cold"),
    ("CCCCCCCCC.", 0, "historical_cold"),
    ("HHHHH.....", 0, "no_pattern"),  # hot half the time, not in the final week
    ("HHHHHHHH..", 0, "no_pattern"),  # 80 %: not historical
]


def test_classifier_on_hand_made_patterns() -> None:
    hot = np.array([_flags(pattern, "H") for pattern, _, _ in PATTERNS])
    cold = np.array([_flags(pattern, "C") for pattern, _, _ in PATTERNS])
    trend = np.array([direction for _, direction, _ in PATTERNS])
    assert classify_patterns(hot, cold, trend).tolist() == [category for *_, category in PATTERNS]


def test_hand_made_patterns_cover_all_17_categories() -> None:
    assert {category for *_, category in PATTERNS} == set(CATEGORIES)
    assert len(CATEGORIES) == 17


def test_trailing_run_counts_final_weeks() -> None:
    flags = np.array([_flags(p, "H") for p in ["..HH.HHH", "HHHHHHHH", "HHHHHHH.", "........"]])
    np.testing.assert_array_equal(trailing_run(flags), [3, 8, 0, 0])


def _stacked_reference(counts: np.ndarray, time_window: int) -> np.ndarray:
    """esda Gi* on the (week, cell) stacked vector: bins are neighbours when their cells are spatial
    neighbours and the other bin's week is this week or one of the time_window - 1 weeks before."""
    n_weeks = counts.shape[1]
    lags = [sp.eye(n_weeks, k=-back) for back in range(time_window)]
    time_neighbours = sp.csr_matrix(sum(lags[1:], start=lags[0]))
    w = libpysal.weights.WSP(sp.kron(time_neighbours, LINE[:12, :12], format="csr")).to_W(
        silence_warnings=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gi = esda.G_Local(counts.T.ravel(), w, star=True, transform="B", permutations=0)
    return gi.Zs.reshape(n_weeks, -1).T


@pytest.mark.parametrize("time_window", [1, 2, 3])
def test_space_time_gi_star_equals_esda_on_stacked_cube(time_window: int) -> None:
    counts = np.random.default_rng(time_window).poisson(1.5, size=(12, 6)).astype(float)
    z = space_time_gi_star(counts, LINE[:12, :12], time_window)
    np.testing.assert_allclose(z, _stacked_reference(counts, time_window), rtol=0, atol=1e-9)


def test_one_week_cube_is_plain_gi_star() -> None:
    y = np.random.default_rng(3).poisson(2.0, size=N_CELLS).astype(float)
    np.testing.assert_allclose(space_time_gi_star(y[:, None], LINE)[:, 0], gi_star_z(y, LINE), atol=1e-12)


def _cube(signal: np.ndarray, background: float = 0.0) -> np.ndarray:
    """Sparse deterministic background noise, plus ``signal`` (one value per week) on cells 19-21."""
    cells, weeks = np.meshgrid(np.arange(N_CELLS), np.arange(N_WEEKS), indexing="ij")
    counts = ((cells * 7 + weeks * 3) % 11 == 0) + background
    counts[19:22] = signal
    return counts.astype(float)


def _weeks(*active: int, value: float = 6.0, rest: float = 0.0) -> np.ndarray:
    series = np.full(N_WEEKS, rest)
    series[list(active)] = value
    return series


RAMP = np.linspace(3, 10, N_WEEKS)
END_TO_END = [
    ("rising counts", _cube(RAMP), 2, "intensifying_hot", 19),
    ("falling counts", _cube(RAMP[::-1]), 2, "diminishing_hot", 20),
    ("steady counts", _cube(np.full(N_WEEKS, 5.0)), 2, "persistent_hot", 20),
    ("first reports in the last week", _cube(_weeks(19)), 2, "new_hot", 1),
    ("reports in the last four weeks", _cube(_weeks(16, 17, 18, 19)), 2, "consecutive_hot", 4),
    ("quiet for the last two weeks", _cube(_weeks(*range(18))), 2, "historical_hot", 0),
    ("on and off", _cube(_weeks(2, 8, 14, 19)), 1, "sporadic_hot", 1),
    (
        "empty last week in a busy town",
        _cube(_weeks(19, value=0.0, rest=3.0), background=3.0),
        1,
        "new_cold",
        0,
    ),
]


@pytest.mark.parametrize(("counts", "time_window", "category", "hot_weeks"),
                         [case[1:] for case in END_TO_END], ids=[case[0] for case in END_TO_END])  # fmt: skip
def test_end_to_end_cubes(counts: np.ndarray, time_window: int, category: str, hot_weeks: int) -> None:
    result = EmergingHotspots(counts, LINE, time_window=time_window)
    assert result.category[20] == category
    assert result.hot_weeks[20] == hot_weeks
    # the background noise alone is never a pattern
    assert set(result.category[:15]) | set(result.category[26:]) == {"no_pattern"}


def test_location_without_data_has_no_pattern_even_when_cold() -> None:
    result = EmergingHotspots(_cube(np.zeros(N_WEEKS), background=3.0), LINE)
    assert result.cold[20].all() and result.cold_weeks[20] == N_WEEKS
    assert not result.has_data[20]
    assert result.category[20] == "no_pattern"
    assert result.labels("sv")[20] == "inget mönster"


def test_fdr_matches_full_benjamini_hochberg_and_is_stricter() -> None:
    counts = _cube(_weeks(2, 8, 14, 19, value=3.0))
    corrected = EmergingHotspots(counts, LINE, fdr=True)
    raw = EmergingHotspots(counts, LINE, fdr=False)
    full = benjamini_hochberg_adjust(corrected.p.ravel()).reshape(corrected.p.shape)
    small = full <= 0.10
    assert small.any() and (~small).any()
    np.testing.assert_allclose(corrected.p_fdr[small], full[small], rtol=1e-12)
    np.testing.assert_array_equal(corrected.p_fdr[~small], 1.0)
    np.testing.assert_array_equal(corrected.hot, (full <= 0.10) & (corrected.z > 0))
    assert corrected.hot.sum() < raw.hot.sum()
    assert not (corrected.hot & ~raw.hot).any()


def test_labels_exist_for_every_category_in_both_languages() -> None:
    for language in ("sv", "en"):
        assert set(CATEGORY_LABELS[language]) == set(CATEGORIES)
    assert CATEGORY_LABELS["sv"]["intensifying_hot"] == "intensifierande hotspot"
    assert CATEGORY_LABELS["sv"]["persistent_cold"] == "ihållande kall fläck"
    result = EmergingHotspots(_cube(RAMP), LINE)
    assert result.labels("en")[20] == "intensifying hot spot"


def test_rejects_bad_cubes() -> None:
    with pytest.raises(StatisticsError):
        EmergingHotspots(np.full((N_CELLS, 3), np.nan), LINE)
    with pytest.raises(StatisticsError):
        EmergingHotspots(np.zeros((N_CELLS - 1, 3)), LINE)
    with pytest.raises(StatisticsError):
        space_time_gi_star(np.zeros((N_CELLS, 3)), LINE, time_window=0)


def test_iso_weeks_follow_stockholm_time() -> None:
    stamps = pd.to_datetime(
        [
            "2024-03-31T21:59:00Z",  # Sunday 23:59 local (CEST from that morning): week 13
            "2024-03-31T22:00:00Z",  # Monday 00:00 local: week 14
            "2024-12-29T23:30:00Z",  # Monday 30 Dec 00:30 local: ISO week 2025-W01
        ]
    )
    steps, weeks = iso_week_steps(stamps, tz="Europe/Stockholm")
    assert [week.start_time.isocalendar()[:2] for week in weeks[steps]] == [(2024, 13), (2024, 14), (2025, 1)]
    assert steps[:2].tolist() == [0, 1] and len(weeks) == 41  # 2024 has 52 ISO weeks


def test_iso_week_span_and_cube() -> None:
    stamps = pd.to_datetime(["2024-01-03T12:00Z", "2024-01-04T12:00Z", "2024-01-20T12:00Z"])
    steps, weeks = iso_week_steps(stamps, tz="Europe/Stockholm", first="2024-01-08", last="2024-01-28")
    assert steps.tolist() == [-1, -1, 1] and len(weeks) == 3
    cube = weekly_cube([0, 2, 2], steps, n_cells=3, n_steps=len(weeks))
    np.testing.assert_array_equal(cube, [[0, 0, 0], [0, 0, 0], [0, 1, 0]])
    weighted = weekly_cube([0, 0, 2, -1], [1, 1, 0, 0], n_cells=3, n_steps=2, weight=[0.5, 2.0, 1.0, 9.0])
    np.testing.assert_array_equal(weighted, [[0, 2.5], [0, 0], [1, 0]])
    with pytest.raises(StatisticsError):
        iso_week_steps(pd.to_datetime(["2024-01-03T12:00"]), tz="Europe/Stockholm")
