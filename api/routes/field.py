"""Field teams' submissions from the phone list: visits to priority places and observations.

Every POST carries an ``Idempotency-Key`` header: the phone queues submissions while offline and sends
them again until it hears an answer, so the same key returns the first answer (``Idempotent-Replayed:
true``) and never stores a second row. Field users log visits and observations only in their areas and
read the visits of their areas without free text; est and analysts read everything. Visits are
report-level data: every call is audited and answered with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.deps import PRIORITIES, PUBLIC, AreasDep, CurrentUser, EngineDep, SettingsDep
from api.errors import responses
from hotspots.access import audit
from hotspots.access.accounts import Role, User
from hotspots.field import observations, visits
from hotspots.field.visits import FIELD_SOURCE, MAX_MINUTES, Outcome, Place, VisitIn
from hotspots.ingest.pipeline import MAX_NOTE_CHARS
from maps.page import STATIC_DIR

router = APIRouter(prefix="/field", tags=["field"], responses=responses(400, 401, 403, 409, 422))

#: Roles that read a visit's free text (field users see what was done, not what was written).
NOTE_READERS = frozenset({Role.ADMIN, Role.ANALYST, Role.EST})
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        description="Unik per inskick; samma nyckel igen ger första svaret / unique per submission",
        examples=["3f0c2a4e-5b7d-4d7e-9c1a-0e6f2b9d8a11"],
    ),
]
NO_STORE = {"Cache-Control": "no-store"}


class PlaceIn(BaseModel):
    """The place as the list gave it: label, cells (hex H3 ids) and centroid."""

    label: str = Field(min_length=1, max_length=200, examples=["Vivalla centrum"])
    cells: list[str] = Field(min_length=1, max_length=visits.MAX_PLACE_CELLS, examples=[["891f2d4a5a7ffff"]])
    lat: float = Field(ge=-90, le=90, examples=[59.2712])
    lon: float = Field(ge=-180, le=180, examples=[15.1105])


class VisitBody(BaseModel):
    """A visit: start and end, or minutes (ending at ``ended_at`` or now), an outcome and optional text."""

    place: PlaceIn
    outcome: Outcome
    started_at: datetime | None = None
    ended_at: datetime | None = None
    minutes: int | None = Field(None, ge=1, le=MAX_MINUTES)
    note: str | None = Field(None, max_length=visits.MAX_NOTE_CHARS)
    organisation: str = Field(FIELD_SOURCE, max_length=64, description="Käll-id / source id of the team")

    def domain(self) -> VisitIn:
        place = Place(self.place.label, tuple(self.place.cells), self.place.lat, self.place.lon)
        return VisitIn(
            place, self.outcome, self.organisation, self.started_at, self.ended_at, self.minutes, self.note
        )


class ObservationBody(BaseModel):
    """An observation: category, the phone's position (or a tapped point), time and optional note."""

    category: str = Field(min_length=1, max_length=64, examples=["observed_dealing"])
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    occurred_at: datetime
    source: str = Field(FIELD_SOURCE, min_length=1, max_length=64)
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS)


def _answer(response: Response, created: bool) -> None:
    response.headers.update(NO_STORE)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"


@router.post("/visits", status_code=201, dependencies=[PRIORITIES], summary="Logga ett besök / log a visit")
def create_visit(
    body: VisitBody,
    key: IdempotencyKey,
    response: Response,
    engine: EngineDep,
    settings: SettingsDep,
    areas: AreasDep,
    user: CurrentUser,
) -> dict[str, object]:
    visit, created = visits.record_visit(
        engine, body.domain(), user=user, areas=areas, settings=settings, key=key
    )
    _answer(response, created)
    return visit.to_dict(with_note=user.role in NOTE_READERS)


@router.get("/visits", dependencies=[PRIORITIES], summary="Veckans besök / the week's visits")
def week_visits(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    response: Response,
    week: Annotated[
        str, Query(pattern=r"^\d{4}-W\d{2}$", description="ISO-vecka / ISO week", examples=["2026-W48"])
    ],
) -> list[dict[str, object]]:
    """Est and analysts see every visit with its text; field users the visits in their areas, no text."""
    start, end = visits.week_bounds(week, settings.timezone)
    found = visits.list_visits(engine, start=start, end=end, areas=user.areas if user.limited else ())
    _audit_read(engine, user, request, len(found))
    response.headers.update(NO_STORE)
    return [v.to_dict(with_note=user.role in NOTE_READERS) for v in found]


def _audit_read(engine: Engine, user: User, request: Request, rows: int) -> None:
    detail = {k: request.query_params.getlist(k) for k in request.query_params} | {"areas": list(user.areas)}
    audit.record(
        engine, actor=user.name, action="visits.list", resource=request.url.path, detail=detail, rows=rows
    )


@router.post(
    "/observations",
    status_code=201,
    dependencies=[PRIORITIES],
    summary="Rapportera en observation / file an observation",
)
def create_observation(
    body: ObservationBody,
    key: IdempotencyKey,
    response: Response,
    engine: EngineDep,
    settings: SettingsDep,
    areas: AreasDep,
    user: CurrentUser,
) -> dict[str, object]:
    """Stored as a report (source ``field_group`` unless another source is given) through the same
    validation as every report write; it counts in every statistic from the next read."""
    observation = observations.ObservationIn(**body.model_dump())
    stored, created = observations.record_observation(
        engine, observation, user=user, areas=areas, settings=settings, key=key
    )
    _answer(response, created)
    return stored


#: The phone list's service worker, served here so it may control the list pages (``/priorities``).
WORKER = STATIC_DIR / "field-sw.js"
WORKER_ASSETS = ("field-list.css", "field-list.js")


@router.get("/sw.js", dependencies=[PUBLIC], include_in_schema=False)
def service_worker() -> PlainTextResponse:
    """The worker with its cache named after the assets' contents, so a new release replaces the phone's
    copy of the script and styles (the browser reinstalls a worker whose bytes changed)."""
    digest = hashlib.sha256(b"".join((STATIC_DIR / name).read_bytes() for name in WORKER_ASSETS)).hexdigest()
    text = WORKER.read_text().replace("hotspots-field-v1", f"hotspots-field-{digest[:12]}")
    return PlainTextResponse(
        text,
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/priorities", "Cache-Control": "no-cache"},
    )
