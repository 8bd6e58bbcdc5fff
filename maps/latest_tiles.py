"""The tile last served for each tile request, so a new analysis's tiles are built in the background.

After each new analysis every map on screen asks for its tiles again, and each tile of the new analysis
must be cut and encoded (tens of ms; the first of a zoom level builds its lattice too). Built in the
request, that was the read p99 under a stream of writes (``bench/soak.py``: 380 ms against a 53 ms
baseline). Under bounded staleness the tile last served for the same request answers, with its own ETag,
while one background thread builds the new one, once; the next request gets it.

>>> latest = LatestTiles()  # owned by the map factory (maps.routes.MapFactory.latest_tiles)
>>> latest.older("request", newer_than=7) is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from hotspots.background import BackgroundOnce
from hotspots.lru import LRU


class Served(NamedTuple):
    """A tile answered: its ETag and the dataset version of its analysis."""

    etag: str
    dataset_version: int


class LatestTiles:
    """Per tile request (parameters, layer, tile, week), the tile last served; builds in the background."""

    def __init__(self, size: int = 2048) -> None:
        self._served: LRU[Served] = LRU(size)
        builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tile-build")
        self._builds = BackgroundOnce(builder.submit, what="building a tile")

    def served(self, request: str, tile: Served) -> None:
        self._served.put(request, tile)

    def older(self, request: str, newer_than: int) -> Served | None:
        """The tile last served for ``request`` if it comes from an analysis older than ``newer_than``."""
        last = self._served.get(request)
        return last if last is not None and last.dataset_version < newer_than else None

    def build_later(self, etag: str, build: Callable[[], object]) -> None:
        """Run ``build`` (which caches the tile of ``etag``) on the background thread, unless it is queued."""
        self._builds.run(etag, build)
