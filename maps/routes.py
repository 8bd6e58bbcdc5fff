"""Vector tiles, the EST map page and its vendored assets, as one router built by a small factory.

The app configures and mounts it; access rules come from outside as route dependencies::

    maps = MapFactory(
        engine_dependency=get_engine, settings_dependency=get_settings, areas_dependency=get_areas,
        route_dependencies=[([{"path": "/map", "method": "GET"}], [Depends(must_be_est)])],
    )
    app.include_router(maps.router)

Endpoints (``add_*`` flags switch the optional ones off):

- ``GET /tiles/{layer}/{z}/{x}/{y}.mvt?window=28d&category=…&source=…&end=…&week=2026-W45``: one MVT layer
  (cells, heat, hotspots, emerging, measures, areas). ETag from the analysis (dataset version and
  parameters), layer, tile and week; ``If-None-Match`` answers 304. A tile with no features answers
  **204 No Content** (with its ETag): no body to encode or parse, and vector-tile clients treat it as
  an empty tile. Encoded tiles are kept in the factory's ``tile_cache`` LRU.
- ``GET /map?window=…&category=…&source=…&end=…&lang=en``: the folium page (see ``maps.page``), with its
  own Content-Security-Policy carrying a per-response nonce for folium's inline script and style blocks.
- ``GET /static/{path}``: the vendored Leaflet, VectorGrid and fullscreen assets and the page's own JS/CSS.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the endpoints' closures (`Depends(self.…)`).

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

import morecantile
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.params import Depends as DependsParam
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.engine import Engine

from hotspots.analysis.cache import HARD_BOUND, AnalysisCache
from hotspots.analysis.compute import Analysis, analyse
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.lru import LRU
from hotspots.measures.follow_up import follow_up
from hotspots.measures.measure import Measure
from hotspots.measures.records import MeasureError, list_measures
from hotspots.ranking.priorities import build_priorities
from hotspots.words import Language
from maps import mvt
from maps.http import etag_matches, strong_etag
from maps.latest_tiles import LatestTiles, Served
from maps.layers import WEEKLY_LAYERS, Layer, LayerLattices, layer_tile, measures_key, week_index
from maps.markers import priority_places
from maps.page import (
    FAVICON,
    PRIORITY_MARKERS,
    STATIC_DIR,
    PageQuery,
    build_page,
    measure_popups,
)
from maps.query import FilterQuery

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
RouteScope = dict[str, str]
RouteDependencies = list[tuple[list[RouteScope], list[DependsParam]]]


def tile_etag(analysis: Analysis, layer: Layer, tile: morecantile.Tile, variant: str = "") -> str:
    """Strong ETag of one tile: the analysis's (dataset version + parameters), the layer, the tile and the
    layer's variant (the week, or the measures in force)."""
    return strong_etag(analysis.etag, layer.value, tile.z, tile.x, tile.y, variant)


def page_csp(nonce: str, basemap_url: str) -> str:
    """The map page's Content-Security-Policy: only this origin, the nonce for folium's inline blocks,
    and images from the basemap's host (``data:`` for the fullscreen and layer-control icons)."""
    basemap = urlsplit(basemap_url)
    hosts = basemap.netloc.replace("{s}", "*")  # Leaflet's subdomain placeholder: a.tile…, b.tile…
    basemap_origin = f" {basemap.scheme}://{hosts}" if hosts else ""
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        f"img-src 'self' data:{basemap_origin}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


@dataclass(kw_only=True)
class MapFactory:
    """Builds the map router. Fields are the dependencies the endpoints use; swap them in tests or apps.

    ``route_dependencies`` pairs route scopes (``{"path": "/map", "method": "GET"}``, paths as declared,
    without ``router_prefix``) with dependencies added to those routes, e.g. the access rules of the app.
    ``router_prefix`` must equal the prefix the router is included under: the page builds tile and
    asset URLs from it.

    The caches are fields too, so the app that composes the router owns them: ``analyses`` (pass the
    app's own, which its other routes share), ``lattices`` (what each layer's tiles are cut from) and
    ``tile_cache`` (encoded tiles by ETag). Errors are raised as the domain's (``hotspots.errors``; a bad query
    value is :class:`~hotspots.analysis.query.InvalidQuery`): the app's exception handlers give them its error body.
    """

    engine_dependency: Callable[..., Engine | Awaitable[Engine]]
    settings_dependency: Callable[..., Settings | Awaitable[Settings]]
    areas_dependency: Callable[..., Areas | Awaitable[Areas]]
    route_dependencies: RouteDependencies = field(default_factory=list)
    router_prefix: str = ""
    analyses: AnalysisCache = field(default_factory=AnalysisCache)
    lattices: LayerLattices = field(default_factory=LayerLattices)
    tile_cache: LRU[bytes] = field(default_factory=lambda: LRU(2048))
    latest_tiles: LatestTiles = field(default_factory=LatestTiles)
    add_page: bool = True
    add_static: bool = True
    router: APIRouter = field(init=False)

    def __post_init__(self) -> None:
        self.router = APIRouter()
        self.register_routes()

    def register_routes(self) -> None:
        self.tiles()
        if self.add_page:
            self.page()
        if self.add_static:
            self.static()

    def _dependencies(self, path: str, method: str = "GET") -> list[DependsParam]:
        """The route dependencies declared for ``path`` and ``method``."""
        return [
            dependency
            for scopes, dependencies in self.route_dependencies
            if any(scope.get("path") == path and scope.get("method", "GET") == method for scope in scopes)
            for dependency in dependencies
        ]

    def _analysis(self, query: FilterQuery, engine: Engine, settings: Settings, areas: Areas) -> Analysis:
        return analyse(engine, settings, areas, query.params(settings), cache=self.analyses)

    @staticmethod
    def _measures(engine: Engine, analysis: Analysis) -> list[Measure]:
        """Measures in force at some time in the analysis window."""
        assert analysis.params.end is not None  # resolved parameters
        return list_measures(engine, active_between=(analysis.start.date(), analysis.params.end))

    @classmethod
    def _measure_popups(
        cls, engine: Engine, settings: Settings, analysis: Analysis, lang: Language
    ) -> dict[str, dict[str, Any]]:
        """Popups of the measures drawn: type, organisation, dates and follow-up (None until there is an
        'after' period to compare)."""
        measures = cls._measures(engine, analysis)
        follow_ups: dict[int, dict[str, Any] | None] = {}
        for measure in measures:
            try:
                follow_ups[measure.id] = follow_up(engine, measure, settings=settings)
            except MeasureError:
                follow_ups[measure.id] = None
        return measure_popups(measures, follow_ups, lang)

    def tiles(self) -> None:
        path = "/tiles/{layer}/{z}/{x}/{y}.mvt"

        @self.router.get(
            path,
            name="map_tile",
            response_class=Response,
            dependencies=self._dependencies(path),
            responses={
                200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "One MVT 2.1 layer."},
                204: {"description": "No features in this tile."},
                304: {"description": "Unchanged since the ETag in If-None-Match."},
            },
            summary="Vector tile of one map layer",
        )
        def tile(
            request: Request,
            layer: Layer,
            z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
            x: Annotated[int, Path(ge=0)],
            y: Annotated[int, Path(ge=0)],
            query: Annotated[FilterQuery, Query()],
            engine: Annotated[Engine, Depends(self.engine_dependency)],
            settings: Annotated[Settings, Depends(self.settings_dependency)],
            areas: Annotated[Areas, Depends(self.areas_dependency)],
            week: Annotated[
                str | None,
                Query(description="ISO week (2026-W45): that week's counts and Gi*.", examples=["2026-W45"]),
            ] = None,
        ) -> Response:
            if x >= 2**z or y >= 2**z:
                raise HTTPException(404, f"no tile {z}/{x}/{y}")
            analysis = self._analysis(query, engine, settings, areas)
            week = week if layer in WEEKLY_LAYERS else None
            column = None if week is None else week_index(analysis, week)
            measures = self._measures(engine, analysis) if layer is Layer.measures else []
            xyz = morecantile.Tile(x, y, z)
            etag = tile_etag(analysis, layer, xyz, week or measures_key(measures))
            body, version = self.tile_cache.get(etag), analysis.dataset_version
            request_key = strong_etag(analysis.params, layer.value, z, x, y, week or "")
            if body is None:

                def build(fresh: str = etag) -> bytes:  # bound now: ``etag`` may become the older one's
                    built = layer_tile(analysis, layer, xyz, column, measures, lattices=self.lattices)
                    self.tile_cache.put(fresh, built)
                    return built

                older = self.latest_tiles.older(request_key, newer_than=analysis.dataset_version)
                older_body = None if older is None else self.tile_cache.get(older.etag)
                bound = settings.max_staleness_s
                if (
                    older is not None
                    and older_body is not None
                    and bound > 0
                    and self.analyses.versions.age(older.dataset_version) <= HARD_BOUND * bound
                ):  # the tile served last answers while the new one is built (maps.latest_tiles)
                    self.latest_tiles.build_later(etag, build)
                    etag, body, version = older.etag, older_body, older.dataset_version
            headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
            if etag_matches(request.headers.get("if-none-match"), etag):
                return Response(status_code=304, headers=headers)
            if body is None:
                body = build()
            self.latest_tiles.served(request_key, Served(etag, version))
            if body == mvt.EMPTY_TILE:
                return Response(status_code=204, headers=headers)
            return Response(body, media_type=MVT_MEDIA_TYPE, headers=headers)

    def page(self) -> None:
        path = "/map"

        @self.router.get(
            path,
            name="map_page",
            response_class=HTMLResponse,
            dependencies=self._dependencies(path),
            summary="Interactive EST map (HTML)",
            # The page is HTML, its errors are the service's JSON error body (not the route's media type).
            responses={
                status: {"description": "error", "content": {"application/json": {}}}
                for status in (401, 403, 422)
            },
        )
        def map_page(
            query: Annotated[FilterQuery, Query()],
            engine: Annotated[Engine, Depends(self.engine_dependency)],
            settings: Annotated[Settings, Depends(self.settings_dependency)],
            areas: Annotated[Areas, Depends(self.areas_dependency)],
            lang: Annotated[Language, Query(description="Language of labels and legend.")] = Language.sv,
        ) -> HTMLResponse:
            analysis = self._analysis(query, engine, settings, areas)
            priorities = build_priorities(
                engine,
                settings,
                areas,
                analysis.params,
                top=PRIORITY_MARKERS,
                lang=lang,
                with_follow_up=False,
                cache=self.analyses,
            )
            nonce = secrets.token_urlsafe(18)
            html = build_page(
                analysis,
                settings,
                PageQuery(filters=query.as_dict(), lang=lang),
                tiles_url=f"{self.router_prefix}/tiles",
                static_url=f"{self.router_prefix}/static",
                nonce=nonce,
                priorities=priority_places(priorities),
                measures=self._measure_popups(engine, settings, analysis, lang),
            )
            return HTMLResponse(
                html,
                headers={
                    "Content-Security-Policy": page_csp(nonce, settings.basemap_url),
                    "Cache-Control": "private, no-store",
                },
            )

    def static(self) -> None:
        path = "/static/{asset:path}"
        assets = {
            str(file.relative_to(STATIC_DIR)): file
            for file in STATIC_DIR.rglob("*")
            if file.is_file() and file.suffix in {".js", ".css", ".png", ".svg"}
        }

        @self.router.get(
            path, name="map_static", dependencies=self._dependencies(path), include_in_schema=False
        )
        def static_asset(asset: str) -> FileResponse:
            file = assets.get(asset)
            if file is None:
                raise HTTPException(404, f"no asset {asset!r}")
            return FileResponse(file, headers={"Cache-Control": "public, max-age=86400"})

        icon = "/favicon.ico"

        @self.router.get(icon, name="favicon", dependencies=self._dependencies(icon), include_in_schema=False)
        def favicon() -> FileResponse:
            """Where a browser looks for the icon of a page that names none (a JSON or CSV in a tab)."""
            return FileResponse(
                STATIC_DIR / FAVICON,
                media_type="image/svg+xml",
                headers={"Cache-Control": "public, max-age=86400"},
            )
