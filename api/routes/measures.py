"""Measures (insatser) EST decided, and their follow-up with the Weighted Displacement Quotient.

EST and analysts record, end and delete measures; each change bumps the dataset version, so lists, tiles
and reports that show measures are recomputed. A measure is checked on the way in
(:mod:`hotspots.measures.checks`), and a stored row that fails the check degrades only its own entry.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, model_validator

from api.deps import STATISTICS, CurrentUser, EngineDep, SettingsDep
from api.errors import ApiError, ErrorDetail, responses
from hotspots.measures.follow_up import follow_up
from hotspots.measures.measure import Measure
from hotspots.measures.records import (
    MeasureError,
    UnknownMeasure,
    delete_measure,
    end_measure,
    get_measure,
    list_measures,
    record_measure,
)
from hotspots.words import both

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


#: Ids beyond 64 bits used to reach the database and fail there (500): 422 naming the path parameter.
MeasureId = Annotated[int, Path(ge=1, le=2**62, description="Insatsens id / measure id")]


def _measure_or_404(engine: Any, measure_id: int) -> Measure:
    try:
        return get_measure(engine, measure_id)
    except UnknownMeasure as exc:
        raise ApiError(404, both("no_measure", id=measure_id)) from exc


def _invalid(exc: MeasureError, prefix: str = "body") -> ApiError:
    """422 naming the field at fault."""
    field = f"{prefix}.{exc.field}" if exc.field else prefix
    return ApiError(422, str(exc), details=[ErrorDetail(field=field, reason=str(exc))])


@router.get("", summary="Insatser / measures")
def measures(
    engine: EngineDep,
    settings: SettingsDep,
    active_on: Annotated[
        date | None, Query(description="Bara de som gäller denna dag / in force that day")
    ] = None,
) -> list[dict[str, Any]]:
    """Unusable stored rows are listed too, with ``problem`` saying why, so they can be deleted."""
    return [m.to_dict() for m in list_measures(engine, active_on=active_on, settings=settings, invalid=True)]


@router.post("", status_code=201, summary="Registrera en insats / record a measure")
def create_measure(
    body: MeasureIn, engine: EngineDep, settings: SettingsDep, user: CurrentUser
) -> dict[str, Any]:
    try:
        measure = record_measure(engine, **body.model_dump(), created_by=user.name, settings=settings)
    except MeasureError as exc:
        raise _invalid(exc) from exc
    return measure.to_dict()


@router.get("/{measure_id}", summary="En insats / one measure")
def measure(measure_id: MeasureId, engine: EngineDep) -> dict[str, Any]:
    return _measure_or_404(engine, measure_id).to_dict()


@router.delete("/{measure_id}", summary="Ta bort en insats / delete a measure (audited)")
def remove_measure(measure_id: MeasureId, engine: EngineDep, user: CurrentUser) -> dict[str, Any]:
    """Also removes a stored row that is unusable; the audit log keeps who deleted what."""
    _measure_or_404(engine, measure_id)
    return {"deleted": delete_measure(engine, measure_id, actor=user.name).to_dict()}


class EndIn(BaseModel):
    end: date


@router.post("/{measure_id}/end", summary="Avsluta en insats / end a measure")
def finish_measure(measure_id: MeasureId, body: EndIn, engine: EngineDep) -> dict[str, Any]:
    _measure_or_404(engine, measure_id)
    try:
        return end_measure(engine, measure_id, body.end).to_dict()
    except MeasureError as exc:
        raise _invalid(exc) from exc


@router.get("/{measure_id}/follow-up", summary="Uppföljning med WDQ / follow-up with WDQ")
def measure_follow_up(
    measure_id: MeasureId,
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
        raise _invalid(exc, "measure") from exc
