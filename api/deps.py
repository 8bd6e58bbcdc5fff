"""Dependencies every router shares, as typed aliases: settings, engine, areas, the current user, the
access rules, the analysis query and conditional-request (ETag) handling.

A handler's signature says everything it needs::

    @router.get("/summary", dependencies=[STATISTICS])
    async def summary(derived: DerivedDep) -> Response:
        return await derived.respond((), lambda a: (json.dumps(a.summary()), "application/json"))

The app's settings, store, areas and caches live on ``app.state`` (``create_app``, which owns them). The
path every derived
request takes (access rule, credential, query, ETag) is kept short on purpose, because a cached priority
list must cost far less than the 50 ms p99 a phone in the field is promised (``bench/api_load.py``):

- every dependency on it is ``async``: FastAPI runs a plain ``def`` dependency in the thread pool, and a
  thread hand-off costs ~0.3 ms on a two-core machine;
- it is shallow: FastAPI walks every dependency node on every request, cached or not, so the user and
  the derived context read the app's engine, settings and areas directly instead of injecting them;
- it makes one database round trip, a primary-key read of the store's versions (:func:`store_versions`)
  that the credential check and the response cache share. Blocking work (finding the analysis, a
  credential lookup) is handed to the thread pool explicitly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Query, Request, Response, Security
from fastapi.params import Depends as DependsParam
from fastapi.routing import RouteContext
from fastapi.security import APIKeyCookie, APIKeyHeader
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from api.cache import Body, CredentialCache
from api.errors import ApiError, ErrorDetail
from api.response_cache import CREDENTIAL_STATE, VERSIONS_STATE, ResponseCache
from api.security import API_KEY_HEADER, SESSION_COOKIE, Credential, presented_credential
from hotspots.access import accounts
from hotspots.access.accounts import Role, User
from hotspots.analysis.cache import HARD_BOUND, AnalysisCache
from hotspots.analysis.compute import Analysis, analyse
from hotspots.analysis.params import AnalysisParams
from hotspots.config import Settings
from hotspots.errors import UnknownArea
from hotspots.geo.areas import Areas, load_areas
from hotspots.lru import LRU
from hotspots.store.engine import LazyStore, VersionReader, Versions
from hotspots.words import both
from maps.http import etag_matches, strong_etag
from maps.query import FilterQuery

logger = logging.getLogger(__name__)


def app_engine(app: Starlette) -> Engine:
    """The app's store engine (opened and migrated on first use, see :class:`hotspots.store.engine.LazyStore`)."""
    store: LazyStore = app.state.store
    return store.engine()


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    """``async`` although it may block once (the first migration): a dictionary lookup is not worth a
    thread hand-off."""
    return app_engine(request.app)


async def get_areas(request: Request) -> Areas:
    """The configured areas (read once per process)."""
    return load_areas(request.app.state.settings)


async def get_analyses(request: Request) -> AnalysisCache:
    """The app's analysis cache (shared by every route and the map)."""
    analyses: AnalysisCache = request.app.state.analyses
    return analyses


SettingsDep = Annotated[Settings, Depends(app_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
AreasDep = Annotated[Areas, Depends(get_areas)]
AnalysesDep = Annotated[AnalysisCache, Depends(get_analyses)]

api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="API-nyckel från `hotspots keys create` / API key"
)
session_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Inloggningssession från /login / browser session"
)


def app_versions(app: Starlette) -> Versions:
    """The store's dataset and accounts versions, read on the event loop through the app's
    :class:`~hotspots.store.engine.VersionReader` (a connection of its own: no pool wait, no pre-ping): a
    primary-key read costs less than a thread hand-off."""
    reader: VersionReader | None = app.state.version_reader
    if reader is None:
        reader = app.state.version_reader = VersionReader(app_engine(app))
    versions = reader.read()
    analyses: AnalysisCache = app.state.analyses
    analyses.versions.observe(versions.dataset)  # the clock of stale reads, beside the version watcher
    return versions


async def store_versions(request: Request) -> Versions:
    """The versions, read once per request (often already by :mod:`api.response_cache`) and kept on
    ``request.state`` for whatever else asks: the credential check and the ETag share the read."""
    versions: Versions | None = getattr(request.state, VERSIONS_STATE, None)
    if versions is None:
        versions = app_versions(request.app)
        setattr(request.state, VERSIONS_STATE, versions)
    return versions


VersionsDep = Annotated[Versions, Depends(store_versions)]


def _lookup(engine: Engine, credential: Credential) -> Callable[[], User | None]:
    """How to find the user behind ``credential`` in the store."""
    _kind, value = credential
    if isinstance(value, str):
        return partial(accounts.authenticate_key, engine, value)
    return partial(accounts.user_by_session, engine, *value)


async def current_user(
    request: Request,
    key: Annotated[str | None, Security(api_key_scheme)] = None,
    session: Annotated[str | None, Security(session_scheme)] = None,
) -> User:
    """The user behind the API key header or the session cookie; 401 without a valid credential.

    Users found are remembered per credential and accounts version (:class:`api.cache.CredentialCache`):
    while no account changes, a known key costs a dictionary lookup instead of a query, and any change
    (a revoked key, a disabled user) is seen by the next request in every worker."""
    credentials: CredentialCache = request.app.state.credentials
    credential = presented_credential(request.app.state.settings, key, session)
    user: User | None = None
    if credential is not None:
        accounts_version = (await store_versions(request)).accounts
        user = credentials.get(credential, accounts_version)
        if user is None:
            user = await run_in_threadpool(_lookup(app_engine(request.app), credential))
            if user is not None:
                credentials.put(credential, accounts_version, user)
    if user is None:
        raise ApiError(
            401,
            both("auth_required"),
            headers={"WWW-Authenticate": "APIKey"},
        )
    request.state.user = user
    setattr(request.state, CREDENTIAL_STATE, credential)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(frozen=True)
class Allow:
    """Access rule: the roles a route admits (admin always). A route dependency, never code in a handler."""

    roles: frozenset[Role]

    async def __call__(self, user: CurrentUser) -> User:
        if user.role != Role.ADMIN and user.role not in self.roles:
            raise ApiError(403, both("role_not_allowed", role=user.role.value))
        return user


@dataclass(frozen=True)
class Public:
    """Access rule of routes anyone may call (health, readiness, login). Declared so nothing is public by
    omission: the route-rule test fails for a route with neither rule."""

    async def __call__(self) -> None:
        return None


def allow(*roles: Role) -> DependsParam:
    return Depends(Allow(frozenset(roles)))


PUBLIC = Depends(Public())
ANY_ROLE = allow(*Role)
ADMIN_ONLY = allow(Role.ADMIN)
REPORT_DATA = allow(Role.ANALYST)
STATISTICS = allow(Role.ANALYST, Role.EST)
EXPORTS = allow(Role.ANALYST, Role.EST, Role.PLANNER)
PRIORITIES = allow(Role.ANALYST, Role.EST, Role.FIELD)


def rule_of(route: RouteContext) -> Allow | Public | None:
    """The access rule a route declares (its own or its router's), None if it declares none.

    ``route`` comes from ``fastapi.routing.iter_route_contexts(app.routes)`` (routers included in the app
    are resolved there, with their router-level dependencies).
    """
    dependant = getattr(route, "dependant", None)
    for dep in dependant.dependencies if dependant else ():
        if isinstance(dep.call, Allow | Public):
            return dep.call
    return None


def area_scope(
    user: User, areas: Areas, requested: list[str] | None, *, field: str = "query.area"
) -> tuple[str, ...]:
    """Area ids a request may see: the requested ones (ids or names) limited to the user's areas.

    A limited user asking for nothing gets their own areas; asking for another area is a 404, so other
    areas' existence is not confirmed either.
    """
    try:
        wanted = tuple(areas.resolve(requested) or ())
    except UnknownArea as exc:
        raise ApiError(422, str(exc), details=[ErrorDetail(field=field, reason="unknown area")]) from exc
    if not user.limited:
        return wanted
    if not wanted:
        return user.areas
    if set(wanted) - set(user.areas):
        raise ApiError(404, both("unknown_area"))
    return wanted


class AnalysisQuery(FilterQuery):
    """The map's filters (:class:`maps.query.FilterQuery`, validated the same way) plus the H3 resolution
    and the areas shown, which the user's access limits."""

    resolution: Annotated[
        int | None, Query(ge=6, le=11, description="H3-upplösning / H3 resolution (default from settings)")
    ] = None
    area: Annotated[
        list[str] | None, Query(description="Område, id eller namn (upprepas) / area id or name (repeatable)")
    ] = None

    def to_params(self, user: User, areas: Areas, settings: Settings) -> AnalysisParams:
        """Resolved AnalysisParams; a bad value is an :class:`~hotspots.analysis.query.InvalidQuery` (422)."""
        params = self.params(settings, resolution=self.resolution)
        return replace(params, areas=area_scope(user, areas, self.area)).resolved(settings)


class NotModified(Exception):
    """Raised by :meth:`Derived.respond` when the client's copy is current (answered as 304)."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def raise_if_not_modified(request: Request, etag: str) -> None:
    """304 (via :class:`NotModified`) when the request's If-None-Match names ``etag``."""
    if etag_matches(request.headers.get("if-none-match"), etag):
        raise NotModified(etag)


async def cached_body(request: Request, etag: str, build: Callable[[], Body]) -> Body:
    """The body for ``etag`` from the app's body cache, else built in the thread pool, once: requests
    arriving while it is built await the same build (after a new dataset version every client asks for
    the new list at once, and twenty copies of one build would starve the worker), then it is kept."""
    bodies: LRU[Body] = request.app.state.bodies
    body = bodies.get(etag)
    if body is not None:
        return body
    # a thread-safe future: awaitable from whichever event loop the other requests run on
    building: dict[str, concurrent.futures.Future[Body]] = request.app.state.building
    pending = building.get(etag)
    if pending is not None:
        return await asyncio.wrap_future(pending)
    pending = building[etag] = concurrent.futures.Future()
    try:
        body = await run_in_threadpool(build)
    except BaseException as exc:
        pending.set_exception(exc)
        raise
    finally:
        building.pop(etag, None)
    pending.set_result(body)
    bodies.put(etag, body)
    return body


def derived_etag(version: int, params: AnalysisParams, *variant: Any) -> str:
    """Strong ETag of a derived response: dataset version, resolved parameters (a frozen dataclass, whose
    repr names every field) and the response variant."""
    return strong_etag(version, params, variant)


@dataclass(frozen=True)
class Derived:
    """What a response derived from one analysis needs, injected as one dependency (``DerivedDep``)."""

    request: Request
    engine: Engine
    settings: Settings
    areas: Areas
    params: AnalysisParams
    versions: Versions
    analyses: AnalysisCache

    async def respond(
        self,
        variant: tuple[Any, ...],
        build: Callable[[Analysis], Body],
        headers: dict[str, str] | None = None,
        *,
        replayable: bool = True,
    ) -> Response:
        """A conditional GET around the analysis served now (the newest one, or one superseded for at most
        ``max_staleness_s``): 304 when If-None-Match names its ETag, else ``build``'s body, built in the
        thread pool once per ETag and kept in the app's body cache (:mod:`api.cache`). A ``replayable``
        response is offered to the response cache (:mod:`api.response_cache`); a route that must audit
        every read says ``replayable=False``.

        Under bounded staleness a body is never waited for when an older one of the same request is at
        hand: after each new analysis every client asks for the new list at once, and the list takes
        ~0.1 s to build, which was most of the read p99 under writes. The older body is answered (with its
        own ETag and version) while the new one is built in the background."""
        analysis = await run_in_threadpool(
            analyse, self.engine, self.settings, self.areas, self.params, cache=self.analyses
        )
        path = self.request.scope["path"]
        etag = derived_etag(analysis.dataset_version, self.params, path, *variant)
        served = Served(etag, analysis.dataset_version, analysis.computed_at)
        older = self._older(served, variant)
        if older is not None:
            rebuild = cached_body(self.request, served.etag, lambda: build(analysis))
            _in_background(self.request.app.state.background, rebuild)
            served = older[0]
        raise_if_not_modified(self.request, served.etag)
        if older is not None:
            body, media_type = older[1]  # taken from the cache with its ETag: never rebuilt under it
        else:
            body, media_type = await cached_body(self.request, served.etag, lambda: build(analysis))
        self.request.app.state.latest_bodies.put(self._request_key(variant), served)
        headers = cache_headers(served.etag) | data_as_of(served) | (headers or {})
        response = Response(body, media_type=media_type, headers=headers)
        # A stale answer is not replayed: the replay is keyed by the versions read, and would outlive the
        # background refresh until the next write.
        if replayable and served.dataset_version >= self.versions.dataset:
            responses: ResponseCache = self.request.app.state.responses
            responses.offer(self.request, response, served.etag)
        return response

    def _request_key(self, variant: tuple[Any, ...]) -> str:
        return strong_etag(self.request.scope["path"], self.params, variant)

    def _older(self, served: Served, variant: tuple[Any, ...]) -> tuple[Served, Body] | None:
        """The body last answered for this request (and what it was), if ``served``'s is not built yet and
        the older one may still be served (its analysis superseded within the hard staleness bound)."""
        bound = self.settings.max_staleness_s
        bodies: LRU[Body] = self.request.app.state.bodies
        if bound <= 0 or bodies.get(served.etag) is not None:
            return None
        older: Served | None = self.request.app.state.latest_bodies.get(self._request_key(variant))
        if (
            older is None
            or older.dataset_version >= served.dataset_version
            or self.analyses.versions.age(older.dataset_version) > HARD_BOUND * bound
            or (body := bodies.get(older.etag)) is None
        ):
            return None
        return older, body


def _in_background(tasks: set[asyncio.Future[Any]], work: Coroutine[Any, Any, Any]) -> None:
    """Run ``work`` on the event loop without awaiting it: kept referenced until done, its error logged
    (the next request builds again), never raised into nobody's hands."""

    def done(task: asyncio.Future[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("a body built in the background failed", exc_info=task.exception())

    tasks.add(task := asyncio.ensure_future(work))
    task.add_done_callback(done)


class Served(NamedTuple):
    """A derived response's ETag and what it was computed from (not the analysis: an entry must not keep
    a superseded analysis alive)."""

    etag: str
    dataset_version: int
    computed_at: datetime


async def derived(request: Request, query: Annotated[AnalysisQuery, Query()], user: CurrentUser) -> Derived:
    settings: Settings = request.app.state.settings
    areas = load_areas(settings)
    params = query.to_params(user, areas, settings)
    engine, analyses = app_engine(request.app), request.app.state.analyses
    return Derived(request, engine, settings, areas, params, await store_versions(request), analyses)


DerivedDep = Annotated[Derived, Depends(derived)]


def data_as_of(served: Served) -> dict[str, str]:
    """What a derived response was computed from: the dataset version and how old its data read is."""
    age = max(0, int((datetime.now(UTC) - served.computed_at).total_seconds()))
    return {
        "X-Dataset-Version": str(served.dataset_version),
        "X-Data-As-Of": served.computed_at.isoformat(timespec="seconds"),
        "Age": str(age),
    }


def cache_headers(etag: str) -> dict[str, str]:
    """Derived data may be kept by the client but must be revalidated (it is still access-controlled)."""
    return {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "X-API-Key, Cookie"}
