"""Statistics for the EST situation picture: cells with counts, Gi*, local Moran and KDE; hotspots only;
emerging-hotspot categories; week-over-week change per area. Roles est, analyst and admin.

Every response is derived data: it carries an ETag from the dataset version and the parameters, and an
If-None-Match naming the current ETag is answered 304 before anything is computed.
"""

from __future__ import annotations

import json
from enum import IntEnum, StrEnum
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.cache import Body
from api.deps import STATISTICS, DerivedDep
from api.errors import responses
from hotspots.analysis.compute import Analysis
from hotspots.publish.exports import geojson_text
from hotspots.stats.emerging import CATEGORIES
from hotspots.words import Language, emerging_label

router = APIRouter(
    prefix="/statistics", tags=["statistics"], dependencies=[STATISTICS], responses=responses(401, 403, 422)
)

GEOJSON = "application/geo+json"


class Format(StrEnum):
    JSON = "json"
    GEOJSON = "geojson"


class Confidence(IntEnum):
    """Gi* confidence levels and their ArcGIS Gi_Bin."""

    C90 = 90
    C95 = 95
    C99 = 99

    @property
    def gi_bin(self) -> int:
        return {90: 1, 95: 2, 99: 3}[self.value]


FormatQuery = Annotated[Format, Query(description="json: {meta, cells}; geojson: FeatureCollection")]


class CellOut(BaseModel):
    """One lattice cell: counts and statistics (ArcGIS field names for Gi*)."""

    cell: str = Field(examples=["8a1f0a4b1a57fff"])
    area_id: str | None
    area: str | None
    count: float = Field(description="Rapporter i fönstret / reports in the window")
    weighted: float
    intensity: float = Field(description="Tidsviktad (halveringstid 14 d) / time-decayed")
    GiZScore: float | None
    GiPValue: float | None
    GiPSim: float | None
    Gi_Bin: int = Field(description="-3..3: kall/varm med 99/95/90 % konfidens")
    moran_I: float | None
    moran_q: str = Field(description="HH, LH, LL, HL eller tom (ej signifikant)")
    moran_p: float | None
    emerging: str = Field(description="Kategori för framväxande hotspot / emerging category code")
    hot_weeks: int
    density: float | None = Field(description="Kärntäthet (KDE) / kernel density")
    week_count: float
    last_week_count: float
    change: float


class CellsOut(BaseModel):
    meta: dict[str, Any]
    cells: list[CellOut]


class EmergingCategory(BaseModel):
    code: str
    sv: str
    en: str
    cells: int


class EmergingOut(BaseModel):
    meta: dict[str, Any]
    categories: list[EmergingCategory]
    cells: list[dict[str, Any]]


class AreaChange(BaseModel):
    area_id: str
    name: str
    cells: int
    current: float
    previous: float
    baseline: float
    change_previous: float
    relative_previous: float | None
    change_baseline: float
    relative_baseline: float | None


class ChangeOut(BaseModel):
    meta: dict[str, Any]
    week: str = Field(examples=["2026-W46"])
    previous_week: str
    areas: list[AreaChange]


def _meta(analysis: Analysis) -> dict[str, Any]:
    params = analysis.params
    return {
        "start": analysis.start.isoformat(),
        "end": analysis.end.isoformat(),
        "window": params.window,
        "resolution": params.resolution,
        "k": params.k,
        "categories": list(params.categories),
        "sources": list(params.sources),
        "areas": list(params.areas),
        "dataset_version": analysis.dataset_version,
    }


def _iso_week(week: pd.Period) -> str:
    year, number, _ = week.start_time.isocalendar()
    return f"{year}-W{number:02d}"


def _records(frame: pd.DataFrame) -> list[Any]:
    """Rows as JSON-ready dicts: NaN and infinities become null (JSON has neither)."""
    clean = frame.replace([np.inf, -np.inf], np.nan)
    return json.loads(clean.to_json(orient="records"))


def _cells_body(analysis: Analysis, frame: pd.DataFrame, fmt: Format) -> Body:
    if fmt is Format.GEOJSON:
        return geojson_text(frame), GEOJSON
    return json.dumps({"meta": _meta(analysis), "cells": _records(frame)}), "application/json"


_CELL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": CellsOut, "content": {GEOJSON: {}}, "description": "JSON eller GeoJSON"},
    304: {"description": "Oförändrat / not modified"},
}


@router.get(
    "/summary",
    summary="Sammanfattning per område / per-area summary",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}, 304: {}},
)
async def summary(derived: DerivedDep) -> Response:
    """Rapporter, heta celler (99/95/90 %) och framväxande kategorier per område."""
    return await derived.respond((), lambda a: (json.dumps(a.summary()), "application/json"))


@router.get(
    "/cells",
    summary="Celler med antal, Gi*, Moran och KDE / cells with statistics",
    responses=_CELL_RESPONSES,
)
async def cells(
    derived: DerivedDep,
    format: FormatQuery = Format.JSON,
    min_count: Annotated[int, Query(ge=0, le=1_000_000, description="Bara celler med minst / at least")] = 0,
) -> Response:
    def build(a: Analysis) -> Body:
        frame = a.frame()
        return _cells_body(a, frame[frame["count"] >= min_count], format)

    return await derived.respond((format.value, min_count), build)


@router.get("/hotspots", summary="Bara heta celler (Gi*) / hotspot cells only", responses=_CELL_RESPONSES)
async def hotspots(
    derived: DerivedDep,
    format: FormatQuery = Format.JSON,
    confidence: Annotated[
        Confidence, Query(description="Lägsta konfidens i procent / minimum confidence")
    ] = Confidence.C90,
) -> Response:
    """Celler med Gi_Bin ≥ 1/2/3 för 90/95/99 %, starkast först."""
    level = confidence.gi_bin

    def build(a: Analysis) -> Body:
        frame = a.frame()
        hot = frame[frame["Gi_Bin"] >= level].sort_values("GiZScore", ascending=False)
        return _cells_body(a, hot, format)

    return await derived.respond((format.value, level), build)


@router.get(
    "/emerging",
    summary="Framväxande hotspots per kategori / emerging hotspot categories",
    responses={200: {"model": EmergingOut}, 304: {}},
)
async def emerging(derived: DerivedDep) -> Response:
    """Antal celler per kategori (ny, sporadisk, intensifierad …) och cellerna med ett mönster."""

    def build(a: Analysis) -> Body:
        frame = a.frame()
        counts = frame["emerging"].value_counts()
        categories = [
            {
                "code": c,
                **{lang.value: emerging_label(c, lang) for lang in Language},
                "cells": int(counts.get(c, 0)),
            }
            for c in CATEGORIES
        ]
        patterned = frame.loc[
            frame["emerging"] != "no_pattern", ["cell", "area_id", "area", "emerging", "hot_weeks", "count"]
        ]
        patterned = patterned.assign(
            label=patterned["emerging"].map(lambda c: emerging_label(c, Language.sv))
        )
        body = {"meta": _meta(a), "categories": categories, "cells": _records(patterned)}
        return json.dumps(body), "application/json"

    return await derived.respond((), build)


@router.get(
    "/change",
    summary="Vecka mot vecka per område / week-over-week change per area",
    responses={200: {"model": ChangeOut}, 304: {}},
)
async def change(derived: DerivedDep) -> Response:
    """Senaste hela veckan (som slutar `end`) mot veckan före och mot ett rullande snitt."""

    def build(a: Analysis) -> Body:
        by_area = a.change.by_area.reset_index().rename(columns={"area": "area_id"})
        if derived.params.areas:
            by_area = by_area[by_area["area_id"].isin(derived.params.areas)]
        by_area.insert(1, "name", by_area["area_id"].map(a.areas.name_of))
        body = {
            "meta": _meta(a),
            "week": _iso_week(a.weeks[-1]),
            "previous_week": _iso_week(a.weeks[-2]),
            "areas": _records(by_area),
        }
        return json.dumps(body), "application/json"

    return await derived.respond((), build)
