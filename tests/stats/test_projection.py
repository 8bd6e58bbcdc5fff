"""Distances in a projection that fits the data: a 250 m kernel is 250 m on the ground at Örebro and at
43.7° N (independent reference: geodesic distances on the WGS84 ellipsoid, pyproj.Geod)."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from hotspots.geo import h3grid
from hotspots.geo.projection import SWEREF99TM, crs_for
from hotspots.stats.kde import SQUARE_METRES_PER_KM2, kernel_density, quartic_kernel

PLACES = {"Örebro": (59.2741, 15.2066), "Toronto": (43.7, -79.4)}


@pytest.mark.parametrize("place", PLACES)
def test_250_m_kernel_is_250_m_on_the_ground(place: str) -> None:
    lat, lon = PLACES[place]
    cells = h3grid.grid_disk(h3grid.latlng_to_cells(np.array([lat]), np.array([lon]), 11), 12)
    density = kernel_density([lat], [lon], cells, bandwidth_m=250.0)
    cell_lat, cell_lon = h3grid.cells_to_latlng(cells)
    _, _, metres = Geod(ellps="WGS84").inv(
        np.full(cells.size, lon), np.full(cells.size, lat), cell_lon, cell_lat
    )
    expected = quartic_kernel(metres, 250.0) * SQUARE_METRES_PER_KM2
    assert density == pytest.approx(expected, rel=0.01, abs=1e-3 * expected.max())
    assert (density[metres < 245] > 0).all() and (density[metres > 255] == 0).all()


def test_projection_is_sweref_in_sweden_and_centred_elsewhere() -> None:
    assert crs_for([59.27], [15.21]) == SWEREF99TM
    toronto = crs_for([43.6, 43.85], [-79.6, -79.1])
    assert "+proj=aeqd" in toronto and "+lat_0=43.7250" in toronto
