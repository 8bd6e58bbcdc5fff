"""Conditional requests: the one way the service names a derived response (a strong ETag) and compares
it with a client's ``If-None-Match``. Tiles, the map page and the API's derived responses all use it (the
API imports it from here: maps never imports api).

>>> etag = strong_etag(7, "summary")
>>> etag_matches(f'W/{etag}, "other"', etag), etag_matches(None, etag)
(True, False)
"""

from __future__ import annotations

import hashlib


def strong_etag(*parts: object) -> str:
    """A strong ETag naming everything a response depends on (dataset version, resolved parameters, the
    response variant): equal parts give equal tags, in every worker, as their ``repr`` is stable."""
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against ``etag``."""
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates
