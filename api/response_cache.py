"""Finished derived responses, replayed before routing while the store has not changed.

A derived response (a priority list, a statistics call) is a function of its path and query, of the user
(role and areas) and of the store's data. Serving one through FastAPI costs about a millisecond of
routing, dependency resolution and parameter validation even when its body is cached (``api.cache``); on
a two-core machine that alone keeps the p99 of a cached list at 50 concurrent clients above 50 ms. This
middleware remembers each finished 200 response under (credential, path, query) with the store's
versions at the time, and replays it, or answers 304 to a matching If-None-Match, without entering the
app while nothing it depends on has changed.

Why a replay is the response the app would give:

- the same credential at the same **accounts version** is the same user with the same role and areas
  (creating, revoking or disabling anything bumps that version), so the access decision is the same; a
  session cookie is still checked for its signature and age on every request;
- the same path and query at the same **dataset version** and on the same local day (``end`` defaults to
  today) select the same analysis and the same rendering;
- the versions are read on every request (one primary-key read, shared with the app through
  ``request.state``), so a write or a revoked key in any worker or from the CLI is seen at once;
- entries are offered only by :meth:`api.deps.Derived.respond`, for responses it built itself; routes
  that must audit each read (planner exports) do not offer theirs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from api.security import API_KEY_HEADER, SESSION_COOKIE, Credential, presented_credential
from hotspots.config import Settings
from hotspots.lru import LRU
from hotspots.store.engine import Versions
from maps.http import etag_matches

#: What the middleware leaves for the app on ``request.state``: the cache key, the credential it keyed
#: by and the versions it read; the app leaves the credential it authenticated (``api.deps``).
KEY_STATE = "response_cache_key"
CACHE_CREDENTIAL_STATE = "response_cache_credential"
VERSIONS_STATE = "versions"
CREDENTIAL_STATE = "credential"
#: Larger bodies (whole-lattice GeoJSON) are not kept: their cost is the transfer, not the app, and 512
#: replays of at most this size bound the cache at 256 MB per worker. A priority list is ~15 kB.
MAX_REPLAY_BYTES = 512 * 1024


@dataclass(frozen=True)
class Replay:
    """One finished response and what it was valid for."""

    versions: Versions
    day: date
    etag: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    route: Any  # the matched route, so metrics label a replay like the original


class ResponseCache:
    """Replays by cache key; the middleware reads them, :meth:`offer` fills them."""

    def __init__(self, settings: Settings, size: int = 512) -> None:
        self.zone = ZoneInfo(settings.timezone)
        self.settings = settings
        self.replays: LRU[Replay] = LRU(size)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def credential(self, scope: Scope) -> Credential | None:
        """The request's credential, read with the accessors FastAPI's security schemes use."""
        conn = HTTPConnection(scope)
        return presented_credential(
            self.settings, conn.headers.get(API_KEY_HEADER), conn.cookies.get(SESSION_COOKIE)
        )

    @staticmethod
    def key(credential: Credential, scope: Scope) -> str:
        digest = hashlib.sha256(repr(credential).encode())
        digest.update(b"\0" + scope["path"].encode() + b"?" + scope["query_string"])
        return digest.hexdigest()

    def offer(self, request: Request, response: Response, etag: str) -> None:
        """Keep ``response`` (a 200 built by the app for this request) for replay: only when the app
        authenticated the very credential the middleware keyed the request by."""
        state = request.state
        key = getattr(state, KEY_STATE, None)
        versions = getattr(state, VERSIONS_STATE, None)
        seen_by_cache = getattr(state, CACHE_CREDENTIAL_STATE, None)
        if key is None or versions is None or response.status_code != 200:
            return
        if len(response.body) > MAX_REPLAY_BYTES:
            return
        if seen_by_cache is None or getattr(state, CREDENTIAL_STATE, None) != seen_by_cache:
            return
        route = request.scope.get("route")
        replay = Replay(versions, self.today(), etag, list(response.raw_headers), bytes(response.body), route)
        self.replays.put(key, replay)


class ResponseCacheMiddleware:
    """Serves replays (see the module docstring); everything else goes to the app with the request's
    versions already read."""

    def __init__(self, app: ASGIApp, cache: ResponseCache, read_versions: Callable[[Any], Versions]) -> None:
        self.app = app
        self.cache = cache
        self.read_versions = read_versions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        credential = self.cache.credential(scope)
        if credential is None:
            await self.app(scope, receive, send)
            return
        key = self.cache.key(credential, scope)
        try:
            versions = self.read_versions(scope["app"])
        except DBAPIError:  # the app reports it (503 when the store is unreachable) on its own read
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[VERSIONS_STATE] = versions
        state[KEY_STATE] = key
        state[CACHE_CREDENTIAL_STATE] = credential
        replay = self.cache.replays.get(key)
        if replay is None or replay.versions != versions or replay.day != self.cache.today():
            await self.app(scope, receive, send)
            return
        scope["route"] = replay.route
        # fresh header lists: outer middlewares add their headers to the list they are sent
        if etag_matches(Headers(scope=scope).get("if-none-match"), replay.etag):
            headers = [(n, v) for n, v in replay.headers if n not in (b"content-type", b"content-length")]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": list(replay.headers)})
        await send({"type": "http.response.body", "body": replay.body})
