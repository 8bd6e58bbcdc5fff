"""The analysis on the seeded demo: planted hotspots are found, quiet background is left alone, and the
orchestration behaves (cache, area filter, empty windows)."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.compute import analyse
from hotspots.analysis.lattice import build_lattice
from hotspots.analysis.params import AnalysisParams, window_bounds
from hotspots.errors import HotspotsError
from hotspots.geo import h3grid
from tests.conftest import DemoStore

TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)


def active_at(truth: pd.DataFrame, week: str) -> pd.DataFrame:
    """Planted hotspots whose activity covers ``week`` (ISO week strings compare in order)."""
    return truth[(truth["first_week"] <= week) & (truth["last_week"] >= week)]


@pytest.fixture(scope="module")
def cache() -> AnalysisCache:
    return AnalysisCache()


@pytest.fixture(scope="module")
def result(demo_store: DemoStore, cache: AnalysisCache):  # type: ignore[no-untyped-def]
    return analyse(
        demo_store.engine,
        demo_store.settings,
        demo_store.areas,
        AnalysisParams(window="28d", end=demo_store.end),
        cache=cache,
    )


def test_planted_hotspots_are_detected_at_95_percent_with_fdr(demo_store: DemoStore, result) -> None:  # type: ignore[no-untyped-def]
    week = f"{demo_store.end.isocalendar()[0]}-W{demo_store.end.isocalendar()[1]:02d}"
    planted = active_at(demo_store.truth, week)
    assert len(planted) >= 6  # persistent, emerging and moved-to hotspots are active in the last week
    centres = h3grid.latlng_to_cells(planted["lat"].to_numpy(), planted["lon"].to_numpy(), 10)
    pos = result.lattice.index_of(centres)
    assert (pos >= 0).all()
    detected = result.gi.gi_bin[pos] >= 2  # hot at 95 % or 99 %, FDR-corrected (the default)
    assert result.gi.fdr
    recall = detected.mean()
    assert recall >= 0.9, dict(zip(planted["place"], detected, strict=True))


def test_quiet_background_cells_are_rarely_flagged(demo_store: DemoStore, result) -> None:  # type: ignore[no-untyped-def]
    truth = demo_store.truth
    px, py = TO_METRIC.transform(truth["lon"].to_numpy(), truth["lat"].to_numpy())
    lat, lon = h3grid.cells_to_latlng(result.lattice.cells)
    cx, cy = TO_METRIC.transform(lon, lat)
    # Distance from every cell to its nearest planted hotspot (any time): background is > 800 m away.
    nearest = np.sqrt((cx[:, None] - px[None, :]) ** 2 + (cy[:, None] - py[None, :]) ** 2).min(axis=1)
    background = nearest > 800
    assert background.sum() > 1000
    flagged = (result.gi.gi_bin[background] >= 2).mean()
    assert flagged <= 0.05, f"{flagged:.1%} of background cells flagged hot at 95 %"


def test_zero_cells_are_part_of_the_lattice(result) -> None:  # type: ignore[no-untyped-def]
    assert (result.count == 0).mean() > 0.5
    assert result.count.sum() == result.reports_in_window


def test_area_filter_selects_cells_without_changing_their_statistics(
    demo_store: DemoStore,
    result,
    cache: AnalysisCache,  # type: ignore[no-untyped-def]
) -> None:
    vivalla = analyse(
        demo_store.engine,
        demo_store.settings,
        demo_store.areas,
        AnalysisParams(window="28d", end=demo_store.end, areas=("vivalla",)),
        cache=cache,
    )
    part = vivalla.frame().set_index("cell")
    whole = result.frame().set_index("cell")
    assert set(part["area_id"]) == {"vivalla"}
    assert np.allclose(whole.loc[part.index, "GiZScore"], part["GiZScore"])
    assert vivalla.summary()["reports"] == int(part["count"].sum())


def test_results_are_cached_until_the_data_changes(
    demo_store: DemoStore,
    result,
    cache: AnalysisCache,  # type: ignore[no-untyped-def]
) -> None:
    again = analyse(
        demo_store.engine,
        demo_store.settings,
        demo_store.areas,
        AnalysisParams(end=demo_store.end),
        cache=cache,
    )
    assert again is result
    assert again.etag == result.etag
    other = dataclasses.replace(AnalysisParams(end=demo_store.end), window="7d")
    assert analyse(demo_store.engine, demo_store.settings, demo_store.areas, other).etag != result.etag
    assert (
        analyse(  # another owner's cache (another app) never serves this one's entry
            demo_store.engine,
            demo_store.settings,
            demo_store.areas,
            AnalysisParams(end=demo_store.end),
            cache=AnalysisCache(),
        )
        is not result
    )


def test_window_is_whole_local_days() -> None:
    from hotspots.config import Settings

    params = AnalysisParams(window="7d").resolved(Settings())
    params = dataclasses.replace(params, end=date(2026, 3, 29))  # DST starts that Sunday in Sweden
    start, end = window_bounds(params, "Europe/Stockholm")
    assert start.isoformat() == "2026-03-22T23:00:00+00:00"  # Monday 00:00 CET
    assert end.isoformat() == "2026-03-29T22:00:00+00:00"  # Monday 00:00 CEST


def test_an_empty_window_is_no_hotspot_not_an_error(demo_store: DemoStore) -> None:
    empty = analyse(
        demo_store.engine,
        demo_store.settings,
        demo_store.areas,
        AnalysisParams(window="7d", end=date(2020, 1, 5)),
    )
    assert empty.reports_in_window == 0
    assert (empty.gi.gi_bin == 0).all()
    assert empty.summary()["hot_cells"] == {"99": 0, "95": 0, "90": 0}


def test_bad_window_is_a_clear_error(demo_store: DemoStore) -> None:
    with pytest.raises(HotspotsError, match="window"):
        analyse(demo_store.engine, demo_store.settings, demo_store.areas, AnalysisParams(window="four weeks"))


def test_lattice_covers_partnership_areas_whole(demo_store: DemoStore) -> None:
    lattice = build_lattice(demo_store.areas, 10, 1, np.empty(0, dtype=np.uint64), 500.0)
    assert set(demo_store.areas.partnership_ids) <= set(lattice.area_id[lattice.area_id != None])  # noqa: E711
