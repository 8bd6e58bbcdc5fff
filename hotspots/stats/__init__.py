"""Lattice statistics: Getis-Ord Gi*, Local Moran, inference helpers, weights and kernel density.

The submodules are the API (``from hotspots.stats.gistar import GiStar``); the most used names are
re-exported here.
"""

from hotspots.stats.gistar import GiStar, gi_star_z
from hotspots.stats.kde import kernel_density
from hotspots.stats.moran import ChosenK, LocalMoran, choose_k, global_moran
from hotspots.stats.weights import h3_weights

__all__ = [
    "ChosenK",
    "GiStar",
    "LocalMoran",
    "choose_k",
    "gi_star_z",
    "global_moran",
    "h3_weights",
    "kernel_density",
]
