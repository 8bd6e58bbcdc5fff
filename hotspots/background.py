"""Jobs run in the background at most once per key at a time: a refresh of an analysis, a tile's build.

Whoever asks while the key's job is queued or running gets nothing new started; a job that fails is
logged and forgotten, so the next ask starts it again (the answer meanwhile is the older one).

>>> ran = []
>>> jobs = BackgroundOnce(start=lambda job: job(), what="an example")  # a synchronous start, for the doctest
>>> jobs.run("k", lambda: ran.append(1)); ran
[1]
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

logger = logging.getLogger(__name__)


class BackgroundOnce:
    """``run(key, job)`` hands ``job`` to ``start`` (a new thread, an executor's submit) unless the key's
    job is already queued or running."""

    def __init__(self, start: Callable[[Callable[[], None]], object], what: str) -> None:
        self.start = start
        self.what = what
        self._pending: set[Hashable] = set()
        self._lock = threading.Lock()

    def run(self, key: Hashable, job: Callable[[], object]) -> None:
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)

        def once() -> None:
            try:
                job()
            except Exception:  # the next ask starts it again; the older answer serves meanwhile
                logger.warning("%s in the background failed", self.what, exc_info=True)
            finally:
                with self._lock:
                    self._pending.discard(key)

        self.start(once)
