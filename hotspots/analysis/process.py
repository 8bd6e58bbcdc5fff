"""Analyses computed in a process of their own, so a computation never holds a serving worker's GIL.

A computation is ~0.3 s of Python, pandas and numpy on one core. Run in a thread of the worker that
serves requests, it holds the interpreter lock for most of that time, and every read in that worker waits
its turn: under a stream of writes, when a worker recomputes every second, reads queued for seconds
(``bench/soak.py``: read p99 3.2 s under writes against 80 ms without). :class:`AnalysisProcess` hands
each computation to one child process of the worker (spawned: it shares no threads or locks with the
server) and gets the finished analysis back as a snapshot payload (:mod:`hotspots.analysis.codec`), which
the worker stores for the deployment and decodes (~30 ms).

The child keeps the reports it read (:class:`~hotspots.analysis.windows.ReportWindows`), so a write of k
reports costs the next computation a read of k rows, not of the whole window, and the lattices it built
(half of a computation; a write changes one only when a report lands in a cell without reports).

Owned by whoever composes the server (``api.main.create_app``, through its
:class:`~hotspots.analysis.cache.AnalysisCache`), started on first use and shut down with the app; only
for a store other processes can open (an in-memory SQLite store is computed in the worker).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import cast

from sqlalchemy.engine import Engine

from hotspots.analysis import codec as analysis_codec
from hotspots.analysis.compute import compute
from hotspots.analysis.lattice import Lattice
from hotspots.analysis.params import AnalysisParams
from hotspots.analysis.snapshots import areas_fingerprint
from hotspots.analysis.windows import ReportWindows
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.lru import LRU
from hotspots.store.engine import create_store_engine

logger = logging.getLogger(__name__)
#: Lattices kept by the child: a few resolutions and filters.
LATTICES_KEPT = 8


class AnalysisProcess:
    """One child process that computes analyses for this worker, one at a time, over a pipe.

    A pipe and not a ``ProcessPoolExecutor``: the child holds only its own end, so it sees EOF and leaves
    when its worker dies, however it dies, and there is no manager thread whose wake-up can be lost."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._child: tuple[BaseProcess, Connection] | None = None
        self._lock = threading.Lock()  # one job on the pipe at a time

    def compute(self, engine: Engine, areas: Areas, params: AnalysisParams) -> bytes:
        """The analysis of ``params`` at the store's current version, encoded; a child that died is
        replaced and the computation tried once more. The child's errors are raised here."""
        url = engine.url.render_as_string(hide_password=False)
        job = (url, areas_fingerprint(areas), areas.frame, areas.path, params)
        with self._lock:
            for attempt in (1, 2):
                _, conn = self._started()
                try:
                    conn.send(job)
                    ok, value = conn.recv()
                except (EOFError, OSError):
                    logger.warning("the analysis process died (attempt %d); starting another", attempt)
                    self._stop()
                    if attempt == 2:
                        raise
                    continue
                if not ok:
                    raise value
                return cast(bytes, value)
        raise AssertionError("unreachable")

    def start(self) -> None:
        """Spawn the child now (it imports numpy, pandas and the statistics: ~2 s), not at the first write."""
        with self._lock:
            self._started()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _started(self) -> tuple[BaseProcess, Connection]:
        if self._child is None:
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs, self.settings), name="hotspots-analysis", daemon=True
            )
            process.start()
            theirs.close()  # the child's end: only the child holds it, so each side sees the other die
            self._child = (process, ours)
        return self._child

    def _stop(self) -> None:
        if self._child is not None:
            process, conn = self._child
            self._child = None
            conn.close()  # the child reads EOF and leaves
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


# --- in the child -------------------------------------------------------------------------------------


def _serve(conn: Connection, settings: Settings) -> None:
    """Compute each job received until the worker closes its end (or dies)."""
    engines: dict[str, Engine] = {}
    known_areas: dict[str, Areas] = {}
    windows, lattices = ReportWindows(), LRU[Lattice](LATTICES_KEPT)
    while True:
        try:
            url, fingerprint, frame, path, params = conn.recv()
        except EOFError:
            return
        try:
            if url not in engines:
                engines[url] = create_store_engine(settings.model_copy(update={"database_url": url}))
            areas = known_areas.setdefault(fingerprint, Areas(frame, path))
            result = compute(engines[url], settings, areas, params, windows=windows, lattices=lattices)
            reply: tuple[bool, object] = (True, analysis_codec.encode(result))
        except Exception as error:  # the worker raises it (EmptyData and the like are the user's answer)
            reply = (False, error)
        try:
            conn.send(reply)
        except (BrokenPipeError, EOFError):
            return
        except Exception:  # an error that does not pickle: its words still reach the worker
            conn.send((False, RuntimeError(repr(reply[1]))))
