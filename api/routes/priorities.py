"""Priority lists for the EST meeting and field teams: ranked places with reasons in words.

Field users limited to areas get their areas only (another area is a 404). The list is derived data: an
ETag from the dataset version (measures included: recording one bumps it) and the parameters; 304 on a
match, and the rendered body is cached per worker so a phone refreshing before a shift costs a lookup.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.cache import Body
from api.deps import PRIORITIES, AnalysisQuery, CurrentUser, Derived, derived
from api.errors import ApiError, responses
from hotspots.access.accounts import User
from hotspots.analysis.compute import Analysis
from hotspots.geo.areas import Areas, load_areas
from hotspots.ranking.priorities import PriorityList, build_priorities
from hotspots.store.freshness import freshness
from hotspots.words import PRIORITY_LIST, Language
from maps.priorities import AreaLink, PhonePage, not_your_area, render

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
    request: Request,
    query: Annotated[AnalysisQuery, Query()],
    user: CurrentUser,
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

    html = format is PriorityFormat.HTML
    try:
        context = await derived(request, query, user)
    except ApiError as exc:
        if html and exc.status == 404:  # a phone asking for an area that is not the user's
            page = _phone_page(request, user, context=None, lang=lang)
            return HTMLResponse(
                not_your_area(lang, page), status_code=404, headers={"Cache-Control": "no-store"}
            )
        raise

    def build(_analysis: Analysis) -> Body:
        scope = context.params.areas
        one = scope[0] if len(scope) == 1 else None
        plist = build_priorities(
            context.engine,
            context.settings,
            context.areas,
            replace(context.params, areas=()),
            area=one,
            top=top if len(scope) <= 1 else 10_000,
            lang=lang,
            cache=context.analyses,
        )
        if len(scope) > 1:
            plist = _limit_to(plist, scope, top)
        page = _phone_page(request, user, context=context, lang=lang) if html else None
        return render(plist, format.value, decimal_comma=decimal_comma, page=page), MEDIA_TYPES[format]

    # Visits change the dose on every entry without changing the dataset; the page names its user (the
    # phone's queue sends only theirs) and their area switcher.
    variant = (
        format.value,
        top,
        lang,
        decimal_comma,
        context.versions.visits,
        (user.id, user.areas) if html else (),
    )
    return await context.respond(variant, build)


def _area_links(request: Request, user: User, areas: Areas, current: tuple[str, ...]) -> tuple[AreaLink, ...]:
    """The area switcher of a user limited to several areas: the same list, one area at a time."""
    links = []
    for area_id in user.areas:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "area"] + [("area", area_id)]
        href = request.url.path + "?" + "&".join(f"{k}={quote(v)}" for k, v in params)
        links.append(AreaLink(areas.name_of(area_id), href, current == (area_id,)))
    return tuple(links)


def _phone_page(request: Request, user: User, *, context: Derived | None, lang: Language) -> PhonePage:
    """The phone page's surroundings: the "data as of" line (from the store) and the area switcher."""
    areas = load_areas(request.app.state.settings)
    nav = _area_links(request, user, areas, context.params.areas if context else ())
    if context is None:
        return PhonePage(nav=nav, user=str(user.id), timezone=request.app.state.settings.timezone)
    fresh = freshness(context.engine)
    t = PRIORITY_LIST[lang]
    zone = ZoneInfo(context.settings.timezone)
    as_of = (
        t["data_as_of"].format(
            last=f"{fresh.last_report.astimezone(zone):%Y-%m-%d %H:%M}",
            imported=f"{fresh.last_import.astimezone(zone):%Y-%m-%d %H:%M}",
        )
        if fresh.last_report and fresh.last_import
        else t["no_data"]
    )
    return PhonePage(data_as_of=as_of, nav=nav, timezone=context.settings.timezone, user=str(user.id))
