"""Per-worker cache of derived response bodies, keyed by ETag.

An ETag already names the dataset version and every parameter, so a cached body can never be stale: a write
changes the version, hence the ETag, and old entries just age out of the LRU. Serialising a lattice of
tens of thousands of cells costs far more than the cached analysis lookup; this makes repeated map and
list requests cost a dictionary lookup. Each worker keeps its own copy (nothing is shared or required).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

#: (body, media type) of one derived response.
Body = tuple[bytes | str, str]


class BodyCache:
    """A small thread-safe LRU: ``get_or_build(etag, build)``."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[str, Body] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, etag: str, build: Callable[[], Body]) -> Body:
        with self._lock:
            if etag in self._items:
                self._items.move_to_end(etag)
                return self._items[etag]
        body = build()  # outside the lock: concurrent different requests compute in parallel
        with self._lock:
            self._items[etag] = body
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return body


bodies = BodyCache()
