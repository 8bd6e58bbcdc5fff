"""Places: which lattice cells a field team visits as one stop.

A *place* is one lattice cell with reports in the window, or a cluster of adjacent significant hot cells
(Gi* significant at 95 % after FDR, z > 0, touching by an H3 edge) merged into one place, so a hotspot that
spans five hexagons is one stop on a patrol, not five rows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hotspots.geo import h3grid
from hotspots.ranking.priorities.scoring import FloatArray

#: Significant hot cells (Gi_Bin >= this, i.e. 95 % after FDR) are merged with adjacent ones into a place.
CLUSTER_MIN_BIN = 2


def group_places(
    cells: h3grid.CellArray, count: FloatArray, gi_bin: npt.NDArray[np.integer], score: FloatArray
) -> npt.NDArray[np.int64]:
    """Place id per lattice position (-1: not a place).

    Significant hot cells are joined with adjacent significant hot cells, but a contiguous hot region is
    split at its score peaks: each hot cell climbs to its highest-scoring hot neighbour until it reaches a
    local peak, and the cells that reach the same peak are one place. (In a dense partnership area a whole
    neighbourhood can be one contiguous Gi* region; a field team needs the two or three spots in it.)
    Every other cell with reports is a place of its own.
    """
    place = np.full(cells.size, -1, dtype=np.int64)
    hot = np.flatnonzero(gi_bin >= CLUSTER_MIN_BIN)
    if hot.size:
        adjacency = h3grid.kring_weights(cells[hot], 1, self_weight=True)  # cells[hot] stays sorted
        # +1 keeps every stored entry above the implicit zeros, so argmax picks a real neighbour (or self)
        uphill = np.asarray(adjacency.multiply(score[hot] + 1.0).tocsr().argmax(axis=1)).ravel()
        while True:  # pointer jumping: O(log path length) rounds
            jumped = uphill[uphill]
            if np.array_equal(jumped, uphill):
                break
            uphill = jumped
        _, place[hot] = np.unique(uphill, return_inverse=True)
    single = np.flatnonzero((count > 0) & (place < 0))
    place[single] = place.max() + 1 + np.arange(single.size)
    return place
