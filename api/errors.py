"""One error shape for every failure: ``{"error": {"code", "message", "details": [...]}}``.

422 details name the field (``query.window``, ``body.0.lat``) or, for imports, the row. Domain errors map to
4xx here, so handlers never translate exceptions themselves. The catch-all logs the exception (type and
traceback, never request bodies) and answers a generic 500.

A browser (a GET that accepts ``text/html``) gets the same status as a page instead: 401 sends it to
``/login?next=…`` and back, every other error is ``templates/error.html`` in Swedish. Programs, which ask
for JSON or anything (``*/*``), keep the JSON shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.templating import templates
from hotspots.analysis.query import InvalidQuery
from hotspots.errors import (
    ConfigError,
    EmptyData,
    HotspotsError,
    ImportRejected,
    NotFound,
    StatisticsError,
    UnknownArea,
)
from hotspots.field.visits import VisitError
from hotspots.words import both

log = logging.getLogger("hotspots.api")

#: Headings of the HTML error page by status (others: ``PAGE_TITLE_DEFAULT``).
PAGE_TITLES = {
    400: "Felaktig förfrågan",
    403: "Ingen behörighet",
    404: "Sidan finns inte",
    405: "Otillåten metod",
    422: "Ogiltig förfrågan",
    429: "För många försök",
    500: "Något gick fel",
    503: "Tjänsten svarar inte just nu",
}
PAGE_TITLE_DEFAULT = "Fel"
#: What the page says when the error's message is HTTP's own English phrase ("Not Found").
PAGE_TEXTS = {
    404: "Adressen finns inte i tjänsten. Kontrollera länken eller börja om från startsidan.",
    405: "Sidan kan inte öppnas så här.",
}
INVALID_REQUEST = both("invalid_request")

#: Longest value echoed back in an import row error (the value may be a whole free-text note).
MAX_ECHOED_VALUE = 200
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    """One problem: a field (and for imports a 1-based row) with what is wrong."""

    field: str | None = Field(None, examples=["query.window"])
    row: int | None = Field(None, description="1-based data row of an import (imports only)")
    value: str | None = None
    reason: str = Field(examples=["String should match pattern '^\\d{1,4}d$'"])


class ErrorInfo(BaseModel):
    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["Ogiltig förfrågan / invalid request"])
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """Every error response has this body."""

    error: ErrorInfo


class ApiError(Exception):
    """An error with its status, stable code and message (and optional details and headers)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details or []
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=ErrorInfo(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error body for the given statuses.

    Errors are JSON even on routes whose success is an HTML page: FastAPI would otherwise document them
    in the route's own media type."""
    return {
        status: {
            "model": ErrorBody,
            "description": _CODES.get(status, "error"),
            "content": {"application/json": {}},
        }
        for status in statuses
    }


def wants_page(request: Request) -> bool:
    """A browser navigating (GET/HEAD accepting HTML), not a program asking for JSON or ``*/*``."""
    accept = request.headers.get("accept", "")
    return request.method in {"GET", "HEAD"} and "text/html" in accept and "application/json" not in accept


def _target(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The error as a browser sees it: 401 to the login page and back, any other status as a page."""
    if status == 401:
        return RedirectResponse(f"/login?next={quote(_target(request), safe='')}", status_code=303)
    page: HTMLResponse = templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "title": PAGE_TITLES.get(status, PAGE_TITLE_DEFAULT),
            "message": _page_text(status, message),
            "next": _target(request),
        },
        status_code=status,
        headers=headers,
    )
    return page


def _page_text(status: int, message: str) -> str:
    """The Swedish half of a "sv / en" message, or the page's own words for HTTP's English phrase."""
    if message == HTTPStatus(status).phrase:
        return PAGE_TEXTS.get(status, "")
    return message.split(" / ")[0]


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_page(request):
        return error_page(request, status, message, headers)
    return error_response(status, code, message, details, headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _respond(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    status = exc.status_code
    return _respond(request, status, _CODES.get(status, "error"), str(exc.detail), headers=headers)


def invalid_request(details: list[ErrorDetail]) -> JSONResponse:
    """The one 422 body of a bad parameter, whether FastAPI's types or the domain's checks caught it."""
    return error_response(422, "validation_error", INVALID_REQUEST, details)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        ErrorDetail(field=".".join(str(part) for part in err["loc"]), reason=str(err["msg"]))
        for err in exc.errors()
    ]
    return _respond(request, 422, "validation_error", INVALID_REQUEST, details)


async def _domain_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, InvalidQuery):
        details = [
            ErrorDetail(field=f"query.{p.field}", value=p.value, reason=p.reason) for p in exc.problems
        ]
        return _respond(request, 422, "validation_error", INVALID_REQUEST, details)
    if isinstance(exc, ImportRejected):
        details = [
            ErrorDetail(row=e.row, field=e.field, value=str(e.value)[:MAX_ECHOED_VALUE], reason=e.reason)
            for e in exc.errors
        ]
        return error_response(422, "import_rejected", str(exc), details)
    if isinstance(exc, UnknownArea | NotFound):
        return _respond(request, 404, "not_found", str(exc))
    if isinstance(exc, VisitError):
        details = [ErrorDetail(field=exc.field, reason=str(exc))]
        return error_response(exc.status, _CODES.get(exc.status, "error"), str(exc), details)
    if isinstance(exc, EmptyData | StatisticsError):
        return _respond(request, 422, "statistics_unavailable", str(exc))
    if isinstance(exc, ConfigError):
        log.error("configuration error: %s", exc)
        return _respond(request, 500, "configuration_error", both("misconfigured"))
    return _respond(request, 422, "invalid_request", str(exc))


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    log.error("store unavailable: %s", type(exc).__name__)
    return _respond(request, 503, "unavailable", both("store_unavailable"))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    return _respond(request, 500, "internal_error", both("internal_error"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HotspotsError, _domain_error)
    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)
