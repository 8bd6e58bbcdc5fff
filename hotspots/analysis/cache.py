"""The analysis cache: finished analyses kept in memory by (store, areas, parameters, dataset version).

An object, not module state: whoever composes the program creates one and passes it in (``api.main``
keeps one on ``app.state.analyses`` and hands it to the map factory; a CLI command creates one for its
run), so two apps, or two tests, never share an entry and each cache's size and lifetime is its owner's.

>>> cache = AnalysisCache(size=4)
>>> len(cache)  # filled by analyse(engine, settings, areas, AnalysisParams(window="28d"), cache=cache)
0

Keys and invalidation:

- ``slot`` names what is analysed apart from the data: the store's URL, the areas object (by identity; the
  cache holds it, so an id is never reused) and the resolved parameters;
- the dataset version completes the key. Every write bumps it, so a write anywhere (another worker, the
  CLI) makes the next lookup miss; the oldest entries age out beyond ``size``;
- every hit checks a checksum taken when the entry was stored: an entry changed in place is dropped and
  recomputed instead of served.

One computation per slot at a time: concurrent misses wait for the running computation instead of
starting their own, and take its result if it includes every write they saw; otherwise the next one
computes the newest version, so under a stream of writes a worker computes one version after another,
never one per waiter or per version. With a staleness bound, a waiter also takes any result newer than
the entry it found too stale: it waits for at most the computation in progress.

Bounded staleness (``max_staleness_s`` > 0, the server's default): a lookup that finds only an older
entry serves it at once and computes the newest version in a background thread, starting a third of the
bound after the entry's data were read (:func:`settle_s`), so under a stream of writes a slot is computed
about once per third of the bound, not back to back. An answer then lags the newest write by at most
the settle time plus one computation, within the bound while a computation takes under two thirds of
it. Reads never wait for that computation; only when an entry was superseded (a newer version first seen
by :class:`VersionClock`) more than :data:`HARD_BOUND` bounds ago -- computations failing, or far slower
than the bound allows -- do they wait for the next one, as with 0.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hotspots.background import BackgroundOnce

if TYPE_CHECKING:
    from hotspots.analysis.compute import Analysis
    from hotspots.analysis.process import AnalysisProcess

#: How a cache miss is computed: ``compute(version, held)`` returns the analysis at ``version`` or newer;
#: ``held`` is the older version the cache serves meanwhile (None when reads wait for the result).
Compute = Callable[[int, "int | None"], "Analysis"]
#: Analyses kept per cache: a few windows and filters of the current and previous versions.
CACHE_SIZE = 16
#: Reads wait for a computation only when the newest analysis was superseded this many bounds ago:
#: computations failing, or far slower than the bound allows (see the module docstring).
HARD_BOUND = 2
logger = logging.getLogger(__name__)


def settle_s(max_staleness_s: float) -> float:
    """How long a finished analysis stands before the next computation of its slot may start: a third of
    the staleness bound.

    Under a stream of writes (field visits from phones) every analysis is out of date the moment it is
    finished; computing again at once would keep a core busy for answers nobody can tell apart. Waiting
    a third of the bound keeps an answer within settle + one computation + the time to notice a write
    (``VersionWatcher``: < 0.1 s) of the newest data: inside the bound while a computation takes under
    two thirds of it. Deployment-wide: workers holding the same snapshot wake together, one computes and
    the others take its result (:meth:`hotspots.analysis.snapshots.SnapshotSlot.obtain`)."""
    return max_staleness_s / 3


def digest(result: Analysis) -> int:
    """Checksum (CRC-32) of what a cached analysis serves: version, parameters and per-cell arrays.

    Under 1 ms for 13,000 cells; the space-time cube is left out."""
    value = zlib.crc32(repr((result.dataset_version, result.params)).encode())
    for values in (
        result.lattice.cells, result.count, result.weighted, result.intensity, result.density,
        result.gi.z, result.gi.p_norm, result.gi.gi_bin, result.moran.Is,
    ):  # fmt: skip
        value = zlib.crc32(np.ascontiguousarray(values).data, value)
    return value


class VersionClock:
    """When this process first saw each dataset version: how long an analysis has been superseded.

    Fed by every versions read and by the app's :class:`~hotspots.store.version_watch.VersionWatcher`, which
    sees a write within a fraction of a second, so an age is measured from the write, not from the next
    request after a quiet hour."""

    def __init__(self, keep: int = 4096) -> None:
        self._versions: list[int] = []  # ascending
        self._times: list[float] = []
        self._forgotten = -1  # newest version dropped from the record (older ages are unknown)
        self._keep = keep
        self._confirmed = -math.inf  # when a watcher last reported the newest version
        self._lock = threading.Lock()

    def watched(self, version: int) -> None:
        """The version a :class:`~hotspots.store.version_watch.VersionWatcher` just read: recorded, and confirmed
        current (the watcher hears of every write, so until it says otherwise, this is the newest)."""
        with self._lock:
            self._confirmed = time.monotonic()
        self.observe(version)

    def observe(self, version: int, at: float | None = None) -> None:
        """Record a version read from the store."""
        with self._lock:
            if self._versions and version <= self._versions[-1]:
                return
            self._versions.append(version)
            self._times.append(time.monotonic() if at is None else at)
            if len(self._versions) > self._keep:
                self._forgotten = self._versions.pop(0)
                self._times.pop(0)

    def newest(self, within_s: float) -> int | None:
        """The newest version, if a watcher confirmed it within the last ``within_s`` seconds: what a read
        under bounded staleness uses instead of a query of its own."""
        with self._lock:
            if self._versions and time.monotonic() - self._confirmed <= within_s:
                return self._versions[-1]
            return None

    def age(self, version: int) -> float:
        """Seconds since a version newer than ``version`` was first seen (0 while it is the newest)."""
        with self._lock:
            if version < self._forgotten:
                return math.inf
            newer = bisect.bisect_right(self._versions, version)
            if newer == len(self._versions):
                return 0.0
            return time.monotonic() - self._times[newer]


@dataclass
class _Slot:
    """The lock of one slot and how many requests hold or wait for it (dropped when none do, so arbitrary
    parameters do not accumulate locks)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class AnalysisCache:
    """Analyses by ``(*slot, dataset version)``, at most ``size`` of them, least recently used out first."""

    def __init__(self, size: int = CACHE_SIZE, process: AnalysisProcess | None = None) -> None:
        if size < 1:
            raise ValueError("an analysis cache needs room for at least one entry")
        self.size = size
        #: where this cache's misses are computed on a shared store (None: in the calling thread)
        self.process = process
        self._entries: OrderedDict[tuple[Hashable, ...], tuple[Analysis, int]] = OrderedDict()
        self._computing: dict[tuple[Hashable, ...], _Slot] = {}
        #: a thread per refresh (they wait out their settle time), one at a time per slot
        self._refreshes = BackgroundOnce(
            lambda job: threading.Thread(target=job, name="analysis-refresh", daemon=True).start(),
            what="refreshing an analysis",
        )
        self._lock = threading.Lock()
        self.versions = VersionClock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get_or_compute(
        self,
        slot: tuple[Hashable, ...],
        version: Callable[[], int],
        compute: Compute,
        *,
        max_staleness_s: float = 0.0,
    ) -> Analysis:
        """The analysis of ``slot`` at the store's current ``version()``, computed by ``compute(version,
        held)`` on a miss (``held``: the stale version this cache serves meanwhile, if any); with ``max_staleness_s`` > 0 an older entry superseded for at most that long is served
        at once while the newest version is computed in the background (see the module docstring)."""
        current = version()
        self.versions.observe(current)
        newest = self._newest(slot)
        if newest is not None and newest.dataset_version >= current:
            return newest
        fresh_enough = (
            newest is not None and self.versions.age(newest.dataset_version) <= HARD_BOUND * max_staleness_s
        )
        if newest is not None and max_staleness_s > 0 and fresh_enough:
            not_before = newest.computed_at.timestamp() + settle_s(max_staleness_s)
            self._refresh(slot, version, compute, newest.dataset_version, not_before)
            return newest
        rejected = None if newest is None or max_staleness_s <= 0 else newest.dataset_version
        return self._compute(slot, current, version, compute, rejected)

    def _compute(
        self,
        slot: tuple[Hashable, ...],
        wanted: int,
        version: Callable[[], int],
        compute: Compute,
        rejected: int | None = None,
    ) -> Analysis:
        with self._lock:
            computing = self._computing.setdefault(slot, _Slot())
            computing.users += 1
        try:
            with computing.lock:
                # What the computation waited for produced is enough if it includes every write this
                # request saw; computing again for writes that landed while it waited would queue one
                # computation per waiter under a stream of writes.
                # With a staleness bound, ``rejected`` is the entry found too stale: whatever the
                # computation in progress produced is newer, and waiting for yet another would make a
                # read wait two computations under a stream of writes.
                newest = self._newest(slot)
                if newest is not None and (
                    newest.dataset_version >= wanted
                    or (rejected is not None and newest.dataset_version > rejected)
                ):
                    return newest
                result = compute(version(), rejected)  # the newest version: the next waiters find it enough
                with self._lock:
                    self._entries[(*slot, result.dataset_version)] = (result, digest(result))
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
                return result
        finally:
            with self._lock:
                computing.users -= 1
                if not computing.users:
                    del self._computing[slot]

    def _refresh(
        self,
        slot: tuple[Hashable, ...],
        version: Callable[[], int],
        compute: Compute,
        held: int,
        not_before: float,
    ) -> None:
        """Compute the newest version of ``slot`` in a thread of its own, unless one already does, but not
        before the wall-clock time ``not_before`` (see :func:`settle_s`)."""

        def refresh() -> None:
            time.sleep(max(0.0, not_before - time.time()))
            self._compute(slot, version(), version, compute, rejected=held)

        self._refreshes.run(slot, refresh)

    def _newest(self, slot: tuple[Hashable, ...]) -> Analysis | None:
        """The newest entry of ``slot`` whose checksum holds; a tampered entry is dropped (and logged)."""
        with self._lock:
            keys = [key for key in self._entries if key[:-1] == slot]
        for key in sorted(keys, key=lambda k: int(k[-1]), reverse=True):  # type: ignore[call-overload]
            if (hit := self._get(key)) is not None:
                return hit
        return None

    def _get(self, key: tuple[Hashable, ...]) -> Analysis | None:
        """The entry for ``key`` if its checksum holds; a tampered entry is dropped (and logged). The
        checksum is taken outside the cache's lock: every read checks one, and under load a CRC of a
        megabyte held the lock every other read of the worker needed."""
        with self._lock:
            cached = self._entries.get(key)
        if cached is None:
            return None
        if digest(cached[0]) == cached[1]:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
            return cached[0]
        with self._lock:
            if self._entries.get(key) is cached:
                del self._entries[key]
        logger.warning("cached analysis for dataset version %s failed its checksum; recomputing", key[-1])
        return None
