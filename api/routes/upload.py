"""The analysts' upload page: a file in, the import's summary and its rejects out, in the browser.

A plain HTML form (no script, no inline style: it passes the app's Content-Security-Policy as it is),
posted as multipart to the same path. It runs the import that ``POST /reports/import`` runs (same
validation, all-or-nothing unless the box is ticked, audited the same way) and answers with a page: rows
read, added, already stored and rejected, reports per area, the first errors, and the rejects file (row,
field, value, reason and the original row) to download.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from api.deps import REPORT_DATA, AreasDep, CurrentUser, EngineDep, SettingsDep
from api.errors import responses
from api.reselection import ReselectionDep
from api.routes.reports import import_uploaded_file, upload_name
from api.templating import templates
from hotspots.access import audit
from hotspots.errors import ImportRejected
from hotspots.ingest import pipeline as ingest

router = APIRouter(
    prefix="/reports", tags=["reports"], dependencies=[REPORT_DATA], responses=responses(401, 403)
)
#: Errors listed on the page; the rejects file has them all.
SHOWN_ERRORS = 50


def _page(request: Request, status: int = 200, **context: object) -> HTMLResponse:
    return templates.TemplateResponse(request, "upload.html", context, status_code=status)


def _download(data: bytes) -> str:
    """The rejects as a link the browser saves (a data: URL: nothing is kept on the server)."""
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode()


@router.get("/upload", response_class=HTMLResponse, summary="Uppladdningssida / upload page (analysts)")
def upload_page(request: Request, user: CurrentUser) -> HTMLResponse:
    return _page(request, user=user)


# A browser form answering HTML pages (also its 422): programs use POST /reports/import, which is in the schema.
@router.post("/upload", response_class=HTMLResponse, include_in_schema=False)
def upload(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    areas: AreasDep,
    user: CurrentUser,
    reselection: ReselectionDep,
    background: BackgroundTasks,
    file: Annotated[UploadFile, File(description="CSV, GeoJSON eller GeoPackage")],
    crs: Annotated[str, Form(max_length=64)] = "",
    source: Annotated[str, Form(max_length=64)] = "",
    skip_invalid: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    filename = upload_name(file)  # for the page when the import is refused
    try:
        filename, result = import_uploaded_file(
            file, engine=engine, settings=settings, areas=areas, user=user, crs=crs, source=source,
            skip_invalid=skip_invalid,
        )  # fmt: skip
    except ImportRejected as exc:
        rejected = ingest.ImportResult(0, 0, 0, 0, errors=exc.errors)
        return _page(
            request,
            422,
            user=user,
            filename=filename,
            message=str(exc),
            errors=exc.errors[:SHOWN_ERRORS],
            more=max(0, len(exc.errors) - SHOWN_ERRORS),
            rejects=_download(ingest.rejects_csv(rejected)) if exc.errors else None,
        )
    audit.record(
        engine,
        actor=user.name,
        action="reports.create",  # as POST /reports/import: the same write
        resource=f"/reports/upload ({filename})",
        rows=result.rows_added,
        detail={"import_id": result.import_id, "skip_invalid": skip_invalid},
    )
    reselection.after(result, background, engine, settings, areas)
    return _page(
        request,
        user=user,
        filename=filename,
        result=result,
        areas={areas.name_of(k) if k != "–" else "utanför områden": v for k, v in result.by_area.items()},
        errors=result.errors[:SHOWN_ERRORS],
        more=max(0, len(result.errors) - SHOWN_ERRORS),
        rejects=_download(ingest.rejects_csv(result)) if result.errors else None,
    )
