"""Reports: create, import, list, read and delete report-level data (analyst and admin only).

Every request is audited (who, which filter or which ids, how many rows; never note text) and answered
with ``Cache-Control: no-store``. Creating and importing reuse :mod:`hotspots.ingest.pipeline`, so the API has the
same validation as ``hotspots import``: all-or-nothing by default, and a 422 listing every bad row.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, BackgroundTasks, Body, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as Path_
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.deps import REPORT_DATA, AreasDep, CurrentUser, EngineDep, SettingsDep, area_scope
from api.errors import responses
from api.reselection import ReselectionDep
from hotspots.access import audit
from hotspots.access.accounts import User
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.ingest.pipeline import MAX_NOTE_CHARS, MAX_WEIGHT, ImportResult
from hotspots.ingest.validation import API_OPTIONS
from hotspots.store import reports as reports_store
from hotspots.store.reports import ReportFilter

router = APIRouter(
    prefix="/reports", tags=["reports"], dependencies=[REPORT_DATA], responses=responses(401, 403, 422)
)

MAX_BATCH = 10_000
MAX_PAGE = 1000


class ReportIn(BaseModel):
    """One report. Times without an offset are local time (Europe/Stockholm)."""

    source: str = Field(
        min_length=1, max_length=64, description="Källa / source id or label", examples=["police"]
    )
    source_id: str = Field(min_length=1, max_length=128, description="Källans ärende-id / id at the source")
    occurred_at: datetime = Field(
        description="När det hände / when it happened", examples=["2026-11-14T21:30:00+01:00"]
    )
    reported_at: datetime | None = Field(None, description="När det rapporterades / when it was reported")
    category: str = Field(
        min_length=1,
        max_length=64,
        description="Kategori / category id or label",
        examples=["observed_dealing"],
    )
    lat: float = Field(ge=-90, le=90, examples=[59.2762])
    lon: float = Field(ge=-180, le=180, examples=[15.154])
    weight: float = Field(1.0, gt=0, le=MAX_WEIGHT, description="Vikt / weight (tips may weigh less)")
    note: str | None = Field(
        None, max_length=MAX_NOTE_CHARS, description="Fritext / free text (never exported)"
    )

    def as_row(self) -> dict[str, str]:
        """The row as the import pipeline reads a CSV line: strings, empty for missing."""
        values = self.model_dump()
        return {
            k: "" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v))
            for k, v in values.items()
        }


class RowErrorOut(BaseModel):
    row: int = Field(description="1-based data row / list position")
    field: str
    value: str
    reason: str


class ImportOut(BaseModel):
    """What a create or import did."""

    rows_read: int
    rows_added: int
    rows_present: int = Field(description="Fanns redan (samma källa + id) / already stored")
    rows_rejected: int
    import_id: int | None
    dataset_version: int | None
    by_area: dict[str, int]
    errors: list[RowErrorOut] = Field(description="Avvisade rader (skip_invalid) / rejected rows")

    @classmethod
    def of(cls, result: ImportResult) -> ImportOut:
        return cls(
            rows_read=result.rows_read,
            rows_added=result.rows_added,
            rows_present=result.rows_present,
            rows_rejected=result.rows_rejected,
            import_id=result.import_id,
            dataset_version=result.dataset_version,
            by_area=result.by_area,
            errors=[
                RowErrorOut(row=e.row, field=e.field, value=str(e.value)[:200], reason=e.reason)
                for e in result.errors
            ],
        )


class ReportOut(BaseModel):
    id: int
    source: str
    source_id: str
    occurred_at: datetime
    reported_at: datetime | None
    category: str
    lat: float
    lon: float
    cell: str = Field(description="H3-cell (lagrad upplösning) / H3 cell at the stored resolution")
    area_id: str | None
    weight: float
    note: str | None
    import_id: int | None
    created_by: str
    created_at: datetime


class ReportPage(BaseModel):
    items: list[ReportOut]
    total: int
    limit: int
    offset: int


def _audited(
    engine: Engine, user: User, filename: str, skip_invalid: bool, result: ImportResult
) -> ImportOut:
    audit.record(
        engine,
        actor=user.name,
        action="reports.create",
        resource=f"/reports ({filename})",
        detail={"import_id": result.import_id, "skip_invalid": skip_invalid},
        rows=result.rows_added,
    )
    return ImportOut.of(result)


@router.post("", status_code=201, summary="Skapa en rapport / create one report")
def create_report(
    report: ReportIn, engine: EngineDep, settings: SettingsDep, areas: AreasDep, user: CurrentUser
) -> ImportOut:
    raw = pd.DataFrame([report.as_row()])
    result = ingest.import_frame(
        engine, raw, settings=settings, areas=areas, filename="api", created_by=user.name
    )
    return _audited(engine, user, "api", False, result)


@router.post("/batch", status_code=201, summary="Skapa flera rapporter (JSON) / create a batch")
def create_batch(
    batch: Annotated[list[ReportIn], Body(min_length=1, max_length=MAX_BATCH)],
    engine: EngineDep,
    settings: SettingsDep,
    areas: AreasDep,
    user: CurrentUser,
    reselection: ReselectionDep,
    background: BackgroundTasks,
    skip_invalid: Annotated[bool, Query(description="Spara giltiga rader / store the valid rows")] = False,
) -> ImportOut:
    """All-or-nothing unless ``skip_invalid``; row numbers in errors are 1-based list positions."""
    raw = pd.DataFrame([r.as_row() for r in batch])
    result = ingest.import_frame(
        engine,
        raw,
        settings=settings,
        areas=areas,
        filename="api-batch",
        skip_invalid=skip_invalid,
        created_by=user.name,
    )
    reselection.after(result, background, engine, settings, areas)
    return _audited(engine, user, "api-batch", skip_invalid, result)


@router.post(
    "/import",
    status_code=201,
    summary="Importera en fil (CSV, GeoJSON, GeoPackage) / import a file",
    responses=responses(413),
)
def import_upload(
    file: Annotated[UploadFile, File(description="CSV, GeoJSON eller GeoPackage (format från filnamnet)")],
    engine: EngineDep,
    settings: SettingsDep,
    areas: AreasDep,
    user: CurrentUser,
    reselection: ReselectionDep,
    background: BackgroundTasks,
    crs: Annotated[str | None, Form(max_length=64, description="t.ex. EPSG:3006 / e.g. EPSG:3006")] = None,
    source: Annotated[
        str | None, Form(max_length=64, description="Källa för rader utan / default source")
    ] = None,
    skip_invalid: Annotated[bool, Form(description="Spara giltiga rader / store the valid rows")] = False,
) -> ImportOut:
    """The request size limit (setting ``max_upload_bytes``) answers 413 before the file is parsed."""
    filename, result = import_uploaded_file(
        file, engine=engine, settings=settings, areas=areas, user=user, crs=crs, source=source,
        skip_invalid=skip_invalid,
    )  # fmt: skip
    reselection.after(result, background, engine, settings, areas)  # after the answer, one at a time
    return _audited(engine, user, filename, skip_invalid, result)


def _report_out(frame: pd.DataFrame) -> list[ReportOut]:
    frame = frame.assign(cell=[f"{c:x}" for c in frame["cell"].tolist()])
    frame = frame.astype(object).where(frame.notna(), None)
    return [ReportOut.model_validate(row) for row in frame.to_dict(orient="records")]


@router.get("", summary="Lista rapporter med filter / list reports with filters")
def list_reports(
    request: Request,
    engine: EngineDep,
    areas: AreasDep,
    user: CurrentUser,
    since: Annotated[datetime | None, Query(description="Från och med / occurred at or after")] = None,
    until: Annotated[datetime | None, Query(description="Före / occurred before")] = None,
    category: Annotated[list[str] | None, Query(description="Kategori-id (upprepas)")] = None,
    source: Annotated[list[str] | None, Query(description="Käll-id (upprepas)")] = None,
    area: Annotated[list[str] | None, Query(description="Område, id eller namn (upprepas)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ReportPage:
    """Newest first. Times without an offset are read as UTC."""
    scope = area_scope(user, areas, area)
    which = ReportFilter(since, until, tuple(category or ()), tuple(source or ()), scope)
    page = reports_store.list_reports(engine, which, limit=limit, offset=offset)
    audit.record(
        engine,
        actor=user.name,
        action="reports.list",
        resource=request.url.path,
        detail={k: request.query_params.getlist(k) for k in request.query_params} | {"area": list(scope)},
        rows=len(page.frame),
    )
    return ReportPage(items=_report_out(page.frame), total=page.total, limit=limit, offset=offset)


ReportId = Annotated[int, Path_(ge=1, le=2**62, description="Rapportens id / report id")]


@router.get("/{report_id}", summary="En rapport / one report", responses=responses(404))
def get_report(report_id: ReportId, engine: EngineDep, user: CurrentUser) -> ReportOut:
    frame = reports_store.get_report(engine, report_id, areas=user.areas if user.limited else ())
    audit.record(engine, actor=user.name, action="reports.read", resource=f"/reports/{report_id}", rows=1)
    return _report_out(frame)[0]


@router.delete(
    "/{report_id}", status_code=204, summary="Radera en rapport / delete one report", responses=responses(404)
)
def delete_report(report_id: ReportId, engine: EngineDep, user: CurrentUser) -> Response:
    """Deleting bumps the dataset version, so every derived result (statistics, ETags) is recomputed."""
    reports_store.delete_report(
        engine,
        report_id,
        areas=user.areas if user.limited else (),
        on_delete=partial(
            audit.record, actor=user.name, action="reports.delete", resource=f"/reports/{report_id}", rows=1
        ),
    )
    return Response(status_code=204)


def upload_name(file: UploadFile) -> str:
    """The uploaded file's base name, bounded: it is shown and audited, never used as a path."""
    return Path(file.filename or "upload.csv").name[-200:] or "upload.csv"


def import_uploaded_file(
    file: UploadFile,
    *,
    engine: Engine,
    settings: Settings,
    areas: Areas,
    user: User,
    crs: str | None,
    source: str | None,
    skip_invalid: bool,
) -> tuple[str, ingest.ImportResult]:
    """An uploaded file imported as the API and the upload page both do: its name and the result; raises
    ImportRejected with nothing written."""
    filename = upload_name(file)
    return filename, ingest.import_bytes(
        engine,
        file.file.read(),
        filename,
        settings=settings,
        areas=areas,
        crs=crs or None,
        default_source=source or None,
        skip_invalid=skip_invalid,
        created_by=user.name,
        options=API_OPTIONS,
    )
