"""Exact binning: every demo report is counted in the cell that contains its point, at each resolution the
analysis uses (independent reference: h3-py's ``latlng_to_cell``, one point at a time)."""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import pytest

from hotspots.analysis.compute import analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.geo import h3grid
from hotspots.store.engine import read_reports
from maps.layers import Layer, hexagon_lattice
from tests.conftest import DemoStore

RESOLUTIONS = (9, 10, 11)


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_vectorised_binning_equals_h3_for_every_demo_report(demo_store: DemoStore, resolution: int) -> None:
    reports = read_reports(demo_store.engine, columns=("lat", "lon", "cell"))
    lat, lon = reports["lat"].to_numpy(), reports["lon"].to_numpy()
    ours = h3grid.latlng_to_cells(lat, lon, resolution)
    reference = np.array(
        [h3.str_to_int(h3.latlng_to_cell(a, b, resolution)) for a, b in zip(lat, lon, strict=True)]
    )
    assert np.array_equal(ours, reference.astype(np.uint64))
    # the stored res-12 cell's parent is not always the containing cell: why the points are re-binned
    parents = h3grid.cell_to_parent(reports["cell"].to_numpy(), resolution)
    assert (parents != ours).mean() > 0.005


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_analysis_counts_each_report_in_the_cell_containing_its_point(
    demo_store: DemoStore, resolution: int
) -> None:
    analysis = analyse(
        demo_store.engine,
        demo_store.settings,
        demo_store.areas,
        AnalysisParams(window="28d", end=demo_store.end, resolution=resolution, permutations=0),
    )
    window = read_reports(demo_store.engine, start=analysis.start, end=analysis.end, columns=("lat", "lon"))
    cells = np.array(
        [
            h3.str_to_int(h3.latlng_to_cell(a, b, resolution))
            for a, b in zip(window["lat"], window["lon"], strict=True)
        ],
        dtype=np.uint64,
    )
    idx = analysis.lattice.index_of(cells)
    expected = np.bincount(idx[idx >= 0], minlength=analysis.lattice.cells.size)
    assert np.array_equal(analysis.count, expected)


TILE_RESOLUTIONS = (7, 8, 9, 10)  # zooms 9-14: the tiles' coarser hexagons and the lattice's own


@pytest.fixture(scope="module")
def window(demo_store: DemoStore) -> tuple[Any, np.ndarray, np.ndarray]:
    """The 28-day analysis and its window's reports inside the lattice, as points."""
    analysis = analyse(
        demo_store.engine,
        demo_store.settings,
        demo_store.areas,
        AnalysisParams(window="28d", end=demo_store.end, permutations=0),
    )
    reports = read_reports(demo_store.engine, start=analysis.start, end=analysis.end, columns=("lat", "lon"))
    lat, lon = reports["lat"].to_numpy(), reports["lon"].to_numpy()
    res = analysis.params.resolution
    own = [h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in zip(lat, lon, strict=True)]
    inside = analysis.lattice.index_of(np.array(own, dtype=np.uint64)) >= 0
    return analysis, lat[inside], lon[inside]


def _reference(lat: np.ndarray, lon: np.ndarray, resolution: int) -> dict[int, int]:
    cells = [h3.str_to_int(h3.latlng_to_cell(a, b, resolution)) for a, b in zip(lat, lon, strict=True)]
    unique, counts = np.unique(np.array(cells, dtype=np.uint64), return_counts=True)
    return dict(zip(unique.tolist(), counts.tolist(), strict=True))


@pytest.mark.parametrize("resolution", TILE_RESOLUTIONS)
def test_tile_cells_count_each_report_in_the_hexagon_containing_it(
    window: tuple[Any, np.ndarray, np.ndarray], resolution: int
) -> None:
    analysis, lat, lon = window
    level = hexagon_lattice(analysis, Layer.cells).level(resolution)
    drawn = dict(zip(level.cells.tolist(), level.values["count"].tolist(), strict=True))
    assert drawn == _reference(lat, lon, resolution)
    assert sum(drawn.values()) == analysis.reports_in_window  # none lost, none counted twice


@pytest.mark.parametrize("resolution", TILE_RESOLUTIONS)
def test_tile_hotspots_count_the_reports_inside_each_hexagon(
    window: tuple[Any, np.ndarray, np.ndarray], resolution: int
) -> None:
    analysis, lat, lon = window
    level = hexagon_lattice(analysis, Layer.hotspots).level(resolution)
    significant = analysis.lattice.cells[analysis.gi.gi_bin != 0]
    expected = h3grid.cell_to_parent(significant, resolution) if resolution < 10 else significant
    assert level.cells.size and set(level.cells.tolist()) == set(expected.tolist())  # the hexagons drawn
    reference = _reference(lat, lon, resolution)
    assert level.values["count"].tolist() == [reference.get(c, 0) for c in level.cells.tolist()]
