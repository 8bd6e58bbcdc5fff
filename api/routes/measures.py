"""Measures (insatser) EST decided, and their follow-up with the Weighted Displacement Quotient.

EST and analysts record and end measures; recording one bumps the dataset version, so lists, tiles and
reports that show measures are recomputed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from api.deps import STATISTICS, CurrentUser, EngineDep, SettingsDep
from api.errors import ApiError, ErrorDetail, responses
from hotspots.measures import (
    Measure,
    MeasureError,
    end_measure,
    follow_up,
    get_measure,
    list_measures,
    record_measure,
)

router = APIRouter(
    prefix="/measures", tags=["measures"], dependencies=[STATISTICS], responses=responses(401, 403, 404, 422)
)


class MeasureIn(BaseModel):
    """A measure: what, who, when, and where (a point with radius, H3 cells, or a GeoJSON polygon)."""

    type: str = Field(min_length=1, max_length=64, examples=["kamerabevakning"])
    organisation: str = Field(min_length=1, max_length=128, examples=["Polisen"])
    start: date
    end: date | None = None
    lat: float | None = Field(None, ge=-90, le=90, examples=[59.2712])
    lon: float | None = Field(None, ge=-180, le=180, examples=[15.2133])
    radius_m: float | None = Field(None, gt=0, le=5000, examples=[150])
    cells: list[str] | None = Field(None, max_length=5000)
    polygon: dict[str, Any] | None = None
    note: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _one_place(self) -> MeasureIn:
        given = [self.lat is not None and self.lon is not None, bool(self.cells), self.polygon is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one place: lat+lon (with radius_m), cells, or polygon")
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self


def _measure_or_404(engine: Any, measure_id: int) -> Measure:
    try:
        return get_measure(engine, measure_id)
    except MeasureError as exc:
        raise ApiError(404, f"Ingen insats {measure_id} / no measure {measure_id}") from exc


@router.get("", summary="Insatser / measures")
def measures(
    engine: EngineDep,
    active_on: Annotated[
        date | None, Query(description="Bara de som gäller denna dag / in force that day")
    ] = None,
) -> list[dict[str, Any]]:
    return [m.to_dict() for m in list_measures(engine, active_on=active_on)]


@router.post("", status_code=201, summary="Registrera en insats / record a measure")
def create_measure(body: MeasureIn, engine: EngineDep, user: CurrentUser) -> dict[str, Any]:
    try:
        measure = record_measure(engine, **body.model_dump(), created_by=user.name)
    except MeasureError as exc:
        raise ApiError(422, str(exc), details=[ErrorDetail(field="body", reason=str(exc))]) from exc
    return measure.to_dict()


@router.get("/{measure_id}", summary="En insats / one measure")
def measure(measure_id: int, engine: EngineDep) -> dict[str, Any]:
    return _measure_or_404(engine, measure_id).to_dict()


class EndIn(BaseModel):
    end: date


@router.post("/{measure_id}/end", summary="Avsluta en insats / end a measure")
def finish_measure(measure_id: int, body: EndIn, engine: EngineDep) -> dict[str, Any]:
    _measure_or_404(engine, measure_id)
    try:
        return end_measure(engine, measure_id, body.end).to_dict()
    except MeasureError as exc:
        raise ApiError(422, str(exc), details=[ErrorDetail(field="body.end", reason=str(exc))]) from exc


@router.get("/{measure_id}/follow-up", summary="Uppföljning med WDQ / follow-up with WDQ")
def measure_follow_up(
    measure_id: int,
    engine: EngineDep,
    settings: SettingsDep,
    days: Annotated[
        int | None, Query(ge=7, le=365, description="Dagar före och efter / days before and after")
    ] = None,
) -> dict[str, Any]:
    """Rapporter före och efter (lika långa perioder) i målområdet, en buffertring och kontrollområdet, samt
    Weighted Displacement Quotient (Bowers & Johnson 2003) med tolkning (förflyttning eller spridning av nytta)."""
    measure = _measure_or_404(engine, measure_id)
    try:
        return follow_up(engine, measure, settings=settings, days=days)
    except MeasureError as exc:
        raise ApiError(422, str(exc)) from exc
