"""Dependencies every router shares, as typed aliases: settings, engine, areas, the current user, the
access rules, the analysis query and conditional-request (ETag) handling.

A handler's signature says everything it needs::

    @router.get("/summary", dependencies=[STATISTICS])
    def summary(engine: EngineDep, settings: SettingsDep, query: AnalysisQueryDep) -> dict: ...

Settings come from the cached :func:`hotspots.config.get_settings`; tests replace it through
``app.dependency_overrides`` (``create_app(settings)`` does exactly that).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, Security
from fastapi.params import Depends as DependsParam
from fastapi.routing import RouteContext
from fastapi.security import APIKeyCookie, APIKeyHeader
from sqlalchemy.engine import Engine

from api.cache import Body, bodies
from api.errors import ApiError, ErrorDetail
from api.security import API_KEY_HEADER, SESSION_COOKIE, read_session
from hotspots import accounts
from hotspots.accounts import Role, User
from hotspots.analysis import Analysis, AnalysisParams, analyse, parse_window
from hotspots.areas import Areas, load_areas
from hotspots.config import Settings, get_settings
from hotspots.errors import HotspotsError, UnknownArea
from hotspots.store import dataset_version, open_store

SettingsDep = Annotated[Settings, Depends(get_settings)]

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


async def get_engine(settings: SettingsDep) -> Engine:
    """One pooled engine per database URL and process, migrated on first use.

    ``async`` although it may block once (the first migration): FastAPI would otherwise hop to the
    thread pool on every request for what is a dictionary lookup."""
    with _ENGINES_LOCK:
        if settings.database_url not in _ENGINES:
            _ENGINES[settings.database_url] = open_store(settings)
        return _ENGINES[settings.database_url]


async def get_areas(settings: SettingsDep) -> Areas:
    """The configured areas (read once per process; ``async`` to skip a thread-pool hop per request)."""
    return load_areas(settings)


EngineDep = Annotated[Engine, Depends(get_engine)]
AreasDep = Annotated[Areas, Depends(get_areas)]

api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="API-nyckel från `hotspots keys create` / API key"
)
session_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Inloggningssession från /login / browser session"
)


def current_user(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    key: Annotated[str | None, Security(api_key_scheme)] = None,
    session: Annotated[str | None, Security(session_scheme)] = None,
) -> User:
    """The user behind the API key header or the session cookie; 401 without a valid credential."""
    user: User | None = None
    if key:
        user = accounts.authenticate_key(engine, key)
    elif session and (uid := read_session(settings, session)) is not None:
        user = accounts.user_by_id(engine, uid)
    if user is None:
        raise ApiError(
            401,
            "Inloggning krävs / authentication required (X-API-Key header or session cookie)",
            headers={"WWW-Authenticate": "APIKey"},
        )
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(frozen=True)
class Allow:
    """Access rule: the roles a route admits (admin always). A route dependency, never code in a handler."""

    roles: frozenset[Role]

    async def __call__(self, user: CurrentUser) -> User:
        if user.role != Role.ADMIN and user.role not in self.roles:
            raise ApiError(
                403, f"Rollen {user.role.value} saknar behörighet / role {user.role.value} not allowed"
            )
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
        raise ApiError(404, "Okänt område / unknown area")
    return wanted


MIN_END = date(2000, 1, 1)
MAX_END = date(2100, 12, 31)


@dataclass
class AnalysisQuery:
    """Query parameters selecting an analysis (window, categories, sources, resolution, areas)."""

    window: Annotated[
        str,
        Query(
            pattern=r"^\d{1,4}d$",
            description="Fönster i dagar som slutar `end` / window in days ending at `end`",
            examples=["28d"],
        ),
    ] = "28d"
    end: Annotated[
        date | None,
        Query(description="Sista dag som ingår (standard: i dag) / last day included (default today)"),
    ] = None
    category: Annotated[
        list[str] | None, Query(description="Kategori-id (upprepas) / category id (repeatable)")
    ] = None
    source: Annotated[list[str] | None, Query(description="Käll-id (upprepas) / source id (repeatable)")] = (
        None
    )
    resolution: Annotated[
        int | None, Query(ge=6, le=11, description="H3-upplösning / H3 resolution (default from settings)")
    ] = None
    area: Annotated[
        list[str] | None, Query(description="Område, id eller namn (upprepas) / area id or name (repeatable)")
    ] = None

    def to_params(self, user: User, areas: Areas, settings: Settings) -> AnalysisParams:
        """Validated AnalysisParams; 422 names the offending parameter."""
        problems: list[ErrorDetail] = []
        if self.end is not None and not MIN_END <= self.end <= MAX_END:
            problems.append(
                ErrorDetail(field="query.end", reason=f"must lie between {MIN_END} and {MAX_END}")
            )
        try:
            parse_window(self.window)
        except HotspotsError as exc:
            problems.append(ErrorDetail(field="query.window", value=self.window, reason=str(exc)))
        taxonomy = settings.taxonomy
        for name, given, known in (
            ("category", self.category, {t.id for t in taxonomy.categories}),
            ("source", self.source, {t.id for t in taxonomy.sources}),
        ):
            problems += [
                ErrorDetail(
                    field=f"query.{name}", value=v, reason=f"unknown; known: {', '.join(sorted(known))}"
                )
                for v in given or ()
                if v not in known
            ]
        if problems:
            raise ApiError(422, "Ogiltig förfrågan / invalid request", details=problems)
        return AnalysisParams(
            window=self.window,
            end=self.end,
            categories=tuple(self.category or ()),
            sources=tuple(self.source or ()),
            resolution=self.resolution,
            areas=area_scope(user, areas, self.area),
        ).resolved(settings)


def analysis_params(
    query: Annotated[AnalysisQuery, Depends()], user: CurrentUser, areas: AreasDep, settings: SettingsDep
) -> AnalysisParams:
    return query.to_params(user, areas, settings)


AnalysisParamsDep = Annotated[AnalysisParams, Depends(analysis_params)]


class NotModified(Exception):
    """Raised by :func:`derived_response` when the client's copy is current (answered as 304)."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def derived_etag(version: int, params: AnalysisParams, *variant: Any) -> str:
    """Strong ETag of a derived response: dataset version, resolved parameters and the response variant."""
    key = repr((version, asdict(params), variant))
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def derived_response(
    request: Request,
    engine: Engine,
    settings: Settings,
    areas: Areas,
    params: AnalysisParams,
    variant: tuple[Any, ...],
    build: Callable[[Analysis], Body],
    headers: dict[str, str] | None = None,
) -> Response:
    """A conditional GET around one analysis: 304 when If-None-Match names the current ETag (before
    anything is computed), else ``build``'s body, built once per ETag and worker (:mod:`api.cache`)."""
    etag = derived_etag(dataset_version(engine), params, request.url.path, *variant)
    given = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in given.split(",")} or given.strip() == "*":
        raise NotModified(etag)
    body, media_type = bodies.get_or_build(etag, lambda: build(analyse(engine, settings, areas, params)))
    return Response(body, media_type=media_type, headers=cache_headers(etag) | (headers or {}))


def cache_headers(etag: str) -> dict[str, str]:
    """Derived data may be kept by the client but must be revalidated (it is still access-controlled)."""
    return {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "X-API-Key, Cookie"}
