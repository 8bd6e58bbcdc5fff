"""Planner exports: the aggregated cell layer as GeoJSON, GeoPackage or CSV (planner role and up).

Cells with fewer reports than ``suppression_threshold`` are removed; no points, times or notes leave.
Each file carries its metadata (period, resolution, threshold, boundary attribution, generated time).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.cache import Body
from api.deps import EXPORTS, CurrentUser, DerivedDep
from api.errors import responses
from hotspots import audit, exports
from hotspots.analysis import Analysis

router = APIRouter(
    prefix="/exports", tags=["exports"], dependencies=[EXPORTS], responses=responses(401, 403, 422)
)


class ExportFormat(StrEnum):
    GEOJSON = "geojson"
    GPKG = "gpkg"
    CSV = "csv"


MEDIA_TYPES = {
    ExportFormat.GEOJSON: "application/geo+json",
    ExportFormat.GPKG: "application/geopackage+sqlite3",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}


@router.get(
    "/cells.{fmt}",
    summary="Aggregerat cellager för planerare / aggregated cell layer for planners",
    response_class=Response,
    responses={
        200: {
            "description": "Fil med metadata / file with its metadata",
            "content": {
                "application/geo+json": {"schema": {"type": "object"}},
                "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        304: {"description": "Oförändrat / not modified"},
    },
)
async def cells_export(fmt: ExportFormat, derived: DerivedDep, user: CurrentUser) -> Response:
    """Celler med färre än tröskelvärdet (standard 5) rapporter tas bort. CSV: semikolon, decimalkomma,
    UTF-8 med BOM (Excel), metadata som `#`-rader först. GeoJSON enligt RFC 7946."""
    threshold = derived.settings.suppression_threshold
    params = derived.params

    def build(analysis: Analysis) -> Body:
        layer = exports.cell_layer(analysis, threshold)
        if fmt is ExportFormat.GEOJSON:
            return json.dumps(exports.to_geojson(layer), ensure_ascii=False).encode(), MEDIA_TYPES[fmt]
        if fmt is ExportFormat.GPKG:
            return exports.to_gpkg(layer), MEDIA_TYPES[fmt]
        return exports.to_csv(layer), MEDIA_TYPES[fmt]

    name = f"hotspots-celler-{params.end}-{params.window}-r{params.resolution}.{fmt.value}"
    response = await derived.respond(
        (fmt.value, threshold),
        build,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
        replayable=False,  # every export is audited: each one must reach this handler
    )
    await run_in_threadpool(
        audit.record,
        derived.engine,
        actor=user.name,
        action="exports.cells",
        resource=derived.request.url.path,
        detail={**asdict(params), "threshold": threshold},
    )
    return response
