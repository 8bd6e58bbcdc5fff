"""Exports of the aggregated cell layer as GeoJSON, GeoPackage or CSV (planner role and up), and the
metadata beside them (``cells.meta.json``, the CSV's sidecar).

Planners get fixed publications only (``period`` and ``group``; :mod:`hotspots.publish.publications`), so no two
answers can be differenced into a small count; analysts and EST may also ask for any analysis window.
No points, times or notes leave.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.cache import Body
from api.deps import EXPORTS, CurrentUser, Derived, DerivedDep
from api.errors import ApiError, ErrorDetail, responses
from hotspots.access import audit
from hotspots.access.accounts import Role
from hotspots.analysis.compute import Analysis
from hotspots.analysis.params import AnalysisParams
from hotspots.publish import exports, publications
from hotspots.publish.publications import Period, PublicationError
from hotspots.words import both

router = APIRouter(
    prefix="/exports", tags=["exports"], dependencies=[EXPORTS], responses=responses(401, 403, 422)
)

#: Query parameters of a free analysis, which planners may not use.
ANALYSIS_PARAMETERS = ("window", "end", "category", "source", "resolution", "area")


class ExportFormat(StrEnum):
    GEOJSON = "geojson"
    GPKG = "gpkg"
    CSV = "csv"
    METADATA = "meta.json"


MEDIA_TYPES = {
    ExportFormat.GEOJSON: "application/geo+json",
    ExportFormat.GPKG: "application/geopackage+sqlite3",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.METADATA: "application/json",
}

PeriodQuery = Annotated[
    str | None,
    Query(
        description="Kalenderperiod: år, kvartal eller månad (standard: senaste publicerade månaden) / "
        "calendar period: year, quarter or month (default: the latest published month)",
        examples=["2026-10", "2026-Q3", "2025"],
    ),
]
GroupQuery = Annotated[
    str | None,
    Query(description="Kategorigrupp (standard: den första) / category group (default: the first)"),
]
CrsQuery = Annotated[
    str,
    Query(description="EPSG:4326 (WGS84) eller EPSG:3006 (SWEREF 99 TM; GeoPackage och CSV)"),
]


def _invalid(field: str, value: str | None, reason: str) -> ApiError:
    return ApiError(
        422,
        both("invalid_request"),
        details=[ErrorDetail(field=field, value=value, reason=reason)],
    )


def _publication(
    derived: Derived, user: CurrentUser, period: str | None, group: str | None
) -> tuple[Derived, tuple[Period, str]]:
    """``derived`` narrowed to a fixed publication (and which), after refusing a planner's free-analysis
    parameters."""
    settings = derived.settings
    if user.role is Role.PLANNER:
        given = [name for name in ANALYSIS_PARAMETERS if name in derived.request.query_params]
        if given:
            reason = "planners get fixed publications: ask with period and group"
            raise ApiError(
                422,
                "Planerare får fasta publiceringar: använd period och group / "
                "planners get fixed publications: use period and group",
                details=[ErrorDetail(field=f"query.{name}", reason=reason) for name in given],
            )
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    try:
        chosen = Period.parse(period) if period else publications.latest_month(today)
    except PublicationError as exc:
        raise _invalid("query.period", period, str(exc)) from exc
    if not publications.allowed(chosen, today):
        raise _invalid("query.period", period, publications.not_yet(chosen))
    groups = publications.category_groups(settings)
    name = group or next(iter(groups))
    if name not in groups:
        raise _invalid("query.group", group, f"unknown; known: {', '.join(groups)}")
    params = AnalysisParams(
        window=f"{chosen.days}d",
        end=chosen.last_day,
        categories=groups[name],
        resolution=settings.analysis_resolution,
    ).resolved(settings)
    return replace(derived, params=params), (chosen, name)


@router.get(
    "/cells.{fmt}",
    summary="Aggregerat cellager / aggregated cell layer",
    response_class=Response,
    responses={
        200: {
            "description": "Fil; metadata i filen eller i cells.meta.json / file; metadata inside or beside",
            "content": {
                "application/geo+json": {"schema": {"type": "object"}},
                "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        304: {"description": "Oförändrat / not modified"},
    },
)
async def cells_export(
    fmt: ExportFormat,
    derived: DerivedDep,
    user: CurrentUser,
    period: PeriodQuery = None,
    group: GroupQuery = None,
    crs: CrsQuery = exports.WGS84,
) -> Response:
    """Planerare: fasta publiceringar per kalenderperiod och kategorigrupp (`period`, `group`), celler
    under tröskelvärdet (standard 5) undantagna så att inga två svar kan subtraheras till ett litet tal.
    Analytiker och EST kan också ange fritt fönster. GeoJSON är WGS84 (RFC 7946); GeoPackage och CSV även
    i SWEREF 99 TM (`crs=EPSG:3006`). CSV: semikolon, decimalkomma, UTF-8 med BOM, en rubrikrad;
    metadata i `cells.meta.json` med samma parametrar."""
    if crs not in exports.EXPORT_CRS:
        raise _invalid("query.crs", crs, f"must be one of {', '.join(exports.EXPORT_CRS)}")
    if crs != exports.WGS84 and fmt is ExportFormat.GEOJSON:
        raise _invalid("query.crs", crs, "GeoJSON is WGS84 only (RFC 7946): use gpkg or csv for EPSG:3006")
    chosen: tuple[Period, str] | None = None
    if user.role is Role.PLANNER or period is not None or group is not None:
        derived, chosen = _publication(derived, user, period, group)
    threshold = derived.settings.suppression_threshold
    params = derived.params

    def build(analysis: Analysis) -> Body:
        if chosen is None:
            layer = exports.cell_layer(analysis, threshold)
        else:
            published = publications.publish(derived.engine, derived.settings, *chosen)
            label = publications.group_label(derived.settings, chosen[1])
            layer = exports.publication_layer(published, analysis, label)
        layer = exports.in_crs(layer, crs)
        if fmt is ExportFormat.GEOJSON:
            return json.dumps(exports.to_geojson(layer), ensure_ascii=False).encode(), MEDIA_TYPES[fmt]
        if fmt is ExportFormat.GPKG:
            return exports.to_gpkg(layer), MEDIA_TYPES[fmt]
        if fmt is ExportFormat.METADATA:
            return exports.metadata_json(layer), MEDIA_TYPES[fmt]
        return exports.to_csv(layer), MEDIA_TYPES[fmt]

    what = f"{chosen[0]}-{chosen[1]}" if chosen else f"{params.end}-{params.window}"
    name = f"hotspots-celler-{what}-r{params.resolution}.{fmt.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt is ExportFormat.CSV:
        query = urlencode(list(derived.request.query_params.multi_items()))
        headers["Link"] = (
            f'<{router.prefix}/cells.meta.json{"?" + query if query else ""}>; rel="describedby"'
        )
    response = await derived.respond(
        (fmt.value, threshold, crs, str(chosen[0]) if chosen else None, chosen[1] if chosen else None),
        build,
        headers=headers,
        replayable=False,  # every export is audited: each one must reach this handler
    )
    detail = {**asdict(params), "threshold": threshold, "crs": crs}
    if chosen:
        detail |= {"period": str(chosen[0]), "group": chosen[1]}
    await run_in_threadpool(
        audit.record,
        derived.engine,
        actor=user.name,
        action="exports.cells",
        resource=derived.request.url.path,
        detail=detail,
    )
    return response
