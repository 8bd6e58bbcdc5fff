"""The weekly situation report (lägesbild) as HTML or PDF (est, analyst, admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import (
    STATISTICS,
    AnalysesDep,
    AreasDep,
    EngineDep,
    SettingsDep,
    VersionsDep,
    cache_headers,
    cached_body,
    raise_if_not_modified,
)
from api.errors import responses
from hotspots.analysis.query import parse_week, week_name
from hotspots.weekly import last_complete_week
from hotspots.words import Language
from maps.report.weekly import page_policy, render_weekly

router = APIRouter(
    prefix="/report", tags=["report"], dependencies=[STATISTICS], responses=responses(401, 403, 422)
)

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@router.get(
    "/weekly",
    summary="Veckans lägesbild / weekly situation report",
    response_class=Response,
    responses={
        200: {"content": {media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()}},
        304: {"description": "Oförändrad / not modified"},
    },
)
async def weekly(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    areas: AreasDep,
    analyses: AnalysesDep,
    versions: VersionsDep,
    week: Annotated[
        str | None,
        Query(description="ISO-vecka (standard: senaste hela) / ISO week", examples=["2026-W46"]),
    ] = None,
    format: Annotated[Literal["html", "pdf"], Query(description="html eller pdf (A4)")] = "html",
    lang: Annotated[Language, Query(description="Språk / language")] = Language.sv,
) -> Response:
    """Per partnerskapsområde och övriga kommunen: veckans rapporter mot förra veckan och 4-veckorssnittet,
    topplatser med skäl, framväxande hotspots (new, intensifying, persistent), insatser med uppföljning,
    karta och diagram."""
    chosen = week_name(parse_week(week)) if week else last_complete_week(settings.timezone)  # 422: 2026-W60
    etag = f'"report-{versions.dataset}-{chosen}-{lang}-{format}"'
    raise_if_not_modified(request, etag)
    current = settings.model_copy(update={"max_staleness_s": 0.0})
    body, media = await cached_body(
        request,
        etag,
        lambda: (
            # keyed by the version read: rendered from that version, never from a stale analysis
            render_weekly(engine, current, areas, chosen, lang=lang, fmt=format, cache=analyses),
            MEDIA_TYPES[format],
        ),
    )
    headers = cache_headers(etag)
    if format == "pdf":
        headers["Content-Disposition"] = f'inline; filename="lagesbild-{chosen}.pdf"'
    else:
        headers["Content-Security-Policy"] = page_policy(body)
    return Response(body, media_type=media, headers=headers)
