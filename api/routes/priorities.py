"""Priority lists for the EST meeting and field teams: ranked places with reasons in words.

Field users limited to areas get their areas only (another area is a 404). The list is derived data: an
ETag from the dataset version (measures included: recording one bumps it) and the parameters; 304 on a
match, and the rendered body is cached per worker so a phone refreshing before a shift costs a lookup.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.cache import Body
from api.deps import PRIORITIES, DerivedDep
from api.errors import responses
from hotspots.analysis import Analysis
from hotspots.priorities import PriorityList, build_priorities
from hotspots.words import Language
from maps.priorities import render

router = APIRouter(
    prefix="/priorities",
    tags=["priorities"],
    dependencies=[PRIORITIES],
    responses=responses(401, 403, 404, 422),
)


class PriorityFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    GEOJSON = "geojson"
    HTML = "html"


MEDIA_TYPES = {
    PriorityFormat.JSON: "application/json",
    PriorityFormat.CSV: "text/csv; charset=utf-8",
    PriorityFormat.GEOJSON: "application/geo+json",
    PriorityFormat.HTML: "text/html; charset=utf-8",
}
JSON_FORMATS = {PriorityFormat.JSON, PriorityFormat.GEOJSON}


def _limit_to(plist: PriorityList, area_ids: tuple[str, ...], top: int) -> PriorityList:
    """The list restricted to several areas, re-ranked (the library ranks one area or all)."""
    kept = [e for e in plist.entries if e.area_id in area_ids][:top]
    return replace(plist, entries=[replace(e, rank=i) for i, e in enumerate(kept, start=1)])


@router.get(
    "",
    summary="Prioriterade platser med skäl / ranked places with reasons",
    response_class=Response,
    responses={
        200: {
            "description": "Listan / the list",
            "content": {
                MEDIA_TYPES[fmt]: {"schema": {"type": "object" if fmt in JSON_FORMATS else "string"}}
                for fmt in PriorityFormat
            },
        },
        304: {"description": "Oförändrad / not modified"},
    },
)
async def priorities(
    derived: DerivedDep,
    format: Annotated[PriorityFormat, Query(description="json, csv (Excel), geojson eller html (mobil)")] = (
        PriorityFormat.JSON
    ),
    top: Annotated[int, Query(ge=1, le=200, description="Antal platser / number of places")] = 20,
    lang: Annotated[Language, Query(description="Språk / language")] = Language.sv,
    decimal_comma: Annotated[
        bool | None, Query(description="CSV: decimalkomma (standard för svenska) / decimal comma")
    ] = None,
) -> Response:
    """Platser att prioritera i fönstret: poäng, område, platsnamn, koordinater (WGS84 och SWEREF 99 TM),
    antal per kategori, Gi_Bin, framväxande mönster, pågående insatser och skäl i ord. CSV öppnas i svensk
    Excel (semikolon, BOM); html är en mobilsida med länkar som öppnar telefonens kartapp."""

    def build(_analysis: Analysis) -> Body:
        scope = derived.params.areas
        one = scope[0] if len(scope) == 1 else None
        plist = build_priorities(
            derived.engine,
            derived.settings,
            derived.areas,
            replace(derived.params, areas=()),
            area=one,
            top=top if len(scope) <= 1 else 10_000,
            lang=lang,
            cache=derived.analyses,
        )
        if len(scope) > 1:
            plist = _limit_to(plist, scope, top)
        return render(plist, format.value, decimal_comma=decimal_comma), MEDIA_TYPES[format]

    return await derived.respond((format.value, top, lang, decimal_comma), build)
