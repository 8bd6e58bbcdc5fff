"""The ranking re-chosen after imports through the API, as ``hotspots import`` does after a file.

New reports are new evidence (issue 13 item 2), but re-choosing takes seconds, so it runs as a background
task after the import's answer has been sent, and never twice at once: an import arriving during a run
asks for one more run after it (which sees both imports' reports), not a second one beside it. The app
composer owns the one :class:`Reselection` (``app.state.reselection``).
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.engine import Engine

from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import Areas
from hotspots.ingest.pipeline import ImportResult

log = logging.getLogger(__name__)


class Reselection:
    """One re-selection at a time; requests during a run coalesce into one more run after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self.runs = 0  # completed runs, for status and tests

    def run(self, engine: Engine, settings: Settings, areas: Areas) -> None:
        """Re-choose now, or leave it to the run in progress (which then runs once more)."""
        from hotspots.ranking.choice import reselect_after_import

        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        try:
            while True:
                try:
                    choice = reselect_after_import(engine, settings, areas)
                    if choice is not None:
                        log.info("ranking in force: %s", choice.why())
                except HotspotsError as exc:  # the import stands; the previous choice stays in force
                    log.warning("ranking not re-chosen: %s", exc)
                with self._lock:
                    self.runs += 1
                    if not self._again:
                        return
                    self._again = False
        finally:
            with self._lock:
                self._running = False

    def after(
        self,
        result: ImportResult,
        background: BackgroundTasks,
        engine: Engine,
        settings: Settings,
        areas: Areas,
    ) -> None:
        """Schedule a run after the answer when the import added reports."""
        if result.rows_added:
            background.add_task(self.run, engine, settings, areas)


def get_reselection(request: Request) -> Reselection:
    reselection: Reselection = request.app.state.reselection
    return reselection


ReselectionDep = Annotated[Reselection, Depends(get_reselection)]
