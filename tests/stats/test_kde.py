"""Kernel density: hand-computed quartic kernel values, the integral equals the total weight, and edge cases."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely
from pyproj import Geod

from hotspots.errors import StatisticsError
from hotspots.geo import h3grid
from hotspots.stats.kde import kernel_density

BANDWIDTH = 250.0


def quartic_per_km2(distance_m: np.ndarray) -> np.ndarray:
    """Silverman's quartic kernel written out: 3 / (pi h^2) (1 - (d/h)^2)^2, times 10^6 m² per km²."""
    return (
        np.where(
            distance_m < BANDWIDTH, 3 / (np.pi * BANDWIDTH**2) * (1 - (distance_m / BANDWIDTH) ** 2) ** 2, 0
        )
        * 1e6
    )


def test_density_at_cell_centres_matches_hand_computation() -> None:
    cells = h3grid.grid_disk(h3grid.latlng_to_cells(np.array([59.27]), np.array([15.2]), 10), 3)
    centre_lat, centre_lon = h3grid.cells_to_latlng(cells)
    points_lat, points_lon, weights = (
        np.array([59.2702, 59.2695]),
        np.array([15.2003, 15.1990]),
        np.array([1.0, 2.0]),
    )
    geod = Geod(ellps="GRS80")  # geodesic distances: independent of the SWEREF 99 TM projection used inside
    expected = sum(
        weight
        * quartic_per_km2(
            geod.inv(centre_lon, centre_lat, np.full(cells.size, lon), np.full(cells.size, lat))[2]
        )
        for lat, lon, weight in zip(points_lat, points_lon, weights, strict=True)
    )
    density = kernel_density(points_lat, points_lon, cells, weights=weights, bandwidth_m=BANDWIDTH)
    # SWEREF 99 TM shortens distances by ~0.04 % here (scale factor 0.9996), which matters most near the
    # kernel's edge where it is steep: allow 0.1 % of the peak.
    np.testing.assert_allclose(density, expected, rtol=2e-3, atol=1e-3 * expected.max())
    assert (density == 0).any() and (density > 0).any()  # the lattice reaches beyond the bandwidth


def test_point_on_a_cell_centre_gets_the_kernel_peak() -> None:
    cell = h3grid.latlng_to_cells(np.array([59.27]), np.array([15.2]), 10)
    lat, lon = h3grid.cells_to_latlng(cell)
    np.testing.assert_allclose(kernel_density(lat, lon, cell, bandwidth_m=BANDWIDTH), 3 / (np.pi * 0.25**2))


def test_surface_integrates_to_total_weight() -> None:
    cells = h3grid.polyfill([shapely.Point(15.2, 59.27).buffer(0.02)], 11)
    rng = np.random.default_rng(0)
    lat, lon = 59.27 + rng.normal(0, 0.002, 40), 15.2 + rng.normal(0, 0.004, 40)
    weights = rng.uniform(0.5, 2.0, 40)
    density = kernel_density(lat, lon, cells, weights=weights)
    area_km2 = np.array([h3.cell_area(h3.int_to_str(int(cell)), unit="km^2") for cell in cells])
    assert (density * area_km2).sum() == pytest.approx(weights.sum(), rel=0.01)


def test_no_points_give_zero_density_and_bad_arguments_raise() -> None:
    cells = h3grid.grid_disk(h3grid.latlng_to_cells(np.array([59.27]), np.array([15.2]), 10), 1)
    np.testing.assert_array_equal(kernel_density(np.array([]), np.array([]), cells), 0.0)
    with pytest.raises(StatisticsError, match="bandwidth"):
        kernel_density(np.array([59.27]), np.array([15.2]), cells, bandwidth_m=0)
    with pytest.raises(StatisticsError, match="weights"):
        kernel_density(np.array([59.27]), np.array([15.2]), cells, weights=[1.0, 2.0])
