"""The FastAPI application: configures and mounts the routers; no endpoint logic lives here.

    uvicorn --factory api.main:create_app          # or: hotspots serve

Access: every route declares its rule (``api.deps``: PUBLIC, ANY_ROLE, REPORT_DATA, STATISTICS, EXPORTS,
ADMIN_ONLY); the API key header ``X-API-Key`` serves programs, the ``/login`` form a browser session.
Nothing that must be shared between workers lives in the process (sessions are signed cookies checked
against the user's session generation, login attempts are counted in the store). ``create_app`` composes
the app and owns its caches: the store engine, the analyses, bodies, credentials and replayed responses on
``app.state``, the tiles and layer lattices on the map factory it is handed to. They are per worker and
keyed by the store's versions; derived data may lag a write by at most ``max_staleness_s``
(``hotspots.analysis.cache``), and every analysis is computed once for the deployment
(``hotspots.analysis.snapshots``). The README's cache table lists every cache, its key and what invalidates it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import Engine

from api.cache import Body, CredentialCache
from api.deps import (
    PUBLIC,
    STATISTICS,
    NotModified,
    Served,
    app_engine,
    app_settings,
    app_versions,
    cache_headers,
    get_areas,
    get_engine,
)
from api.errors import install_error_handlers, responses
from api.metrics import Metrics, MetricsMiddleware
from api.reselection import Reselection
from api.response_cache import ResponseCache, ResponseCacheMiddleware
from api.routes import (
    areas,
    audit,
    auth,
    exports,
    field,
    health,
    measures,
    priorities,
    report,
    reports,
    statistics,
    upload,
)
from api.security import (
    BodyLimitMiddleware,
    NulQueryMiddleware,
    PasswordChecks,
    SecurityHeadersMiddleware,
    check_secret_key,
)
from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.process import AnalysisProcess
from hotspots.config import Settings, get_settings
from hotspots.lru import LRU
from hotspots.store.engine import LazyStore, shared_store
from hotspots.store.version_watch import VersionWatcher
from maps.routes import MapFactory

DESCRIPTION = """
**Hotspots – lägesbild för EST Örebro.** Rapporter, statistik (Gi\\*, lokal Moran, KDE, framväxande
hotspots) och aggregerade exporter för planerare.

**Hotspots – situation picture for EST Örebro.** Reports, statistics (Gi\\*, local Moran, KDE, emerging
hotspots) and aggregated exports for planners.

Authentication: `X-API-Key` header (`hotspots keys create NAME`) or the session cookie from `/login`.
Roles: admin, analyst (reports), est (statistics), field (priority lists, optionally limited to areas),
planner (exports). Errors: `{"error": {"code", "message", "details": [...]}}`.
"""

TAGS = [
    {"name": "reports", "description": "Rapporter (analytiker) / report-level data (analyst, admin)"},
    {"name": "areas", "description": "Områden / areas"},
    {"name": "statistics", "description": "Statistik (EST) / statistics (est, analyst, admin)"},
    {"name": "exports", "description": "Exporter för planerare / planner exports (small counts removed)"},
    {"name": "priorities", "description": "Prioriterade platser / priority lists (field, est, analyst)"},
    {"name": "field", "description": "Besök och observationer från fält / field visits and observations"},
    {"name": "measures", "description": "Insatser och uppföljning / measures and follow-up (est, analyst)"},
    {"name": "report", "description": "Veckans lägesbild / weekly report (est, analyst)"},
    {"name": "map", "description": "Karta och vektortiles / map page and vector tiles (est, analyst)"},
    {"name": "auth", "description": "Inloggning / login"},
    {"name": "audit", "description": "Granskningslogg / audit log (admin)"},
    {"name": "health", "description": "Drift / operations"},
]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the app's version watcher (new dataset versions pushed to the analysis cache's clock, so a
    stale analysis is never served longer than ``max_staleness_s`` after the write, and reads need not
    query the version) and its analysis process (:mod:`hotspots.analysis.process`), then freeze what
    start-up created (modules, classes, the app: ~250,000 objects that live as long as the process) out of
    the cyclic garbage collector's reach: a full collection then walks thousands of objects instead, and
    stops pausing a worker for ~150 ms, which showed as the p99 of cached lists."""
    analyses: AnalysisCache = app.state.analyses
    engine = app_engine(app)
    watcher = app.state.version_watcher = VersionWatcher(engine, analyses.versions.watched)
    watcher.start()
    if analyses.process is not None and shared_store(engine):  # spawned beside start-up, not at a write
        threading.Thread(target=analyses.process.start, name="analysis-process-start", daemon=True).start()
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        watcher.stop()
        if analyses.process is not None:
            analyses.process.close()


async def _not_modified(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers=cache_headers(exc.etag))


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app for ``settings`` (default: the environment's) on ``engine`` (default: one opened and
    migrated on first use). Tests pass their own settings and store."""
    effective = settings or get_settings()
    check_secret_key(effective)  # also when uvicorn runs the factory directly, without `hotspots serve`
    app = FastAPI(
        title="Hotspots EST Örebro",
        description=DESCRIPTION,
        version="0.1.0",
        openapi_tags=TAGS,
        lifespan=_lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN (broken offline, and a third party's code in
        # a page with the user's session): off. The schema stays at /openapi.json for tools.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = effective
    app.state.store = LazyStore(effective, engine)
    app.state.version_reader = None  # created on first use (api.deps.app_versions)
    app.state.version_watcher = None  # started by the lifespan (_lifespan)
    app.state.analyses = AnalysisCache(
        process=AnalysisProcess(effective) if effective.analysis_process else None
    )
    app.state.bodies = LRU[Body](64)
    app.state.building = {}  # body builds in progress, by ETag (api.deps.cached_body)
    app.state.latest_bodies = LRU[Served](64)  # the last body answered per request (api.deps.Derived)
    app.state.background = set()  # body builds nobody awaits, kept referenced until they finish
    app.state.credentials = CredentialCache()
    app.state.responses = ResponseCache(effective)
    app.state.password_checks = PasswordChecks(effective.password_workers)
    app.state.reselection = Reselection()
    install_error_handlers(app)
    app.add_exception_handler(NotModified, _not_modified)
    app.state.metrics = Metrics()
    app.add_middleware(ResponseCacheMiddleware, cache=app.state.responses, read_versions=app_versions)
    app.add_middleware(BodyLimitMiddleware, max_bytes=effective.max_upload_bytes)
    app.add_middleware(NulQueryMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # upload before reports: /reports/upload must not be read as /reports/{report_id}
    for module in (
        health,
        auth,
        areas,
        upload,
        reports,
        statistics,
        exports,
        priorities,
        field,
        measures,
        report,
        audit,
    ):
        app.include_router(module.router)
    maps = map_factory(app.state.analyses)
    app.include_router(maps.router, tags=["map"], responses=responses(401, 403, 404, 422))
    return app


def map_factory(analyses: AnalysisCache) -> MapFactory:
    """The map page and tiles with this app's store, settings, analysis cache and access rules (maps never
    imports api)."""
    return MapFactory(
        engine_dependency=get_engine,
        settings_dependency=app_settings,
        areas_dependency=get_areas,
        analyses=analyses,
        route_dependencies=[
            ([{"path": "/map"}, {"path": "/tiles/{layer}/{z}/{x}/{y}.mvt"}], [STATISTICS]),
            ([{"path": "/static/{asset:path}"}, {"path": "/favicon.ico"}], [PUBLIC]),
        ],
    )
