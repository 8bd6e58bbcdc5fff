"""Exact binning: every demo report is counted in the cell that contains its point, at each resolution the
analysis uses (independent reference: h3-py's ``latlng_to_cell``, one point at a time)."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from hotspots import h3grid
from hotspots.analysis import AnalysisParams, analyse
from hotspots.store import read_reports
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
