"""Field visits (besök) and observations: what field teams did at a priority place, and the dose it got.

A **visit** is a stay at a place from the priority list (its cells and centroid), by one user of one
organisation, with a duration and an outcome. Patrol research measures exactly this: short, regular stays
of 10-15 minutes (Koper 1995) and the *dosage* per hot spot are what tell an effect from a list nobody
follows. An **observation** is a report like any other (it counts in every statistic), filed from the phone.

Both come from phones with bad coverage, so every submission carries an idempotency key: the same key
again returns the first answer and never writes a second row, also when the phone never heard the first
answer. A visit bumps only the store's visits counter (the dose on priority lists), never the dataset
version, so a visit does not make anyone's statistics recompute.

Visits are report-level data: audited, purged with the reports (:mod:`hotspots.store.retention`), never in
planner exports; their free text is for est and analysts only (the API enforces that).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import h3
import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotspots.access import audit
from hotspots.access.accounts import Role, User
from hotspots.analysis.query import InvalidQuery, parse_week
from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.geo import h3grid
from hotspots.geo.areas import Areas
from hotspots.store.engine import VISITS_VERSION, bump_version, transaction
from hotspots.store.schema import visits

#: The source an observation is filed under unless the user's organisation is another configured source.
FIELD_SOURCE = "field_group"
#: Longest visit one submission may log (a whole shift); longer is a typo, not a visit.
MAX_MINUTES = 12 * 60
MAX_NOTE_CHARS = 500
MAX_PLACE_CELLS = 500
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


class Outcome(StrEnum):
    """What the team saw or did at the place."""

    NOTHING_OBSERVED = "nothing_observed"
    DEALING_OBSERVED = "dealing_observed"
    DISPERSED = "dispersed"
    CONTACT_MADE = "contact_made"
    OTHER = "other"


#: Visits before this are typos (the reports' floor, :data:`hotspots.ingest.pipeline.EARLIEST_REPORT`).
EARLIEST_VISIT = datetime(1990, 1, 1, tzinfo=UTC)


class VisitError(HotspotsError):
    """A visit or observation that cannot be stored as given (bad place, times, area or key)."""

    def __init__(self, message: str, *, field: str = "body", status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Place:
    """A place from a priority list: the cells of the entry (hex ids) and its centroid."""

    label: str
    cells: tuple[str, ...]
    lat: float
    lon: float

    @property
    def key(self) -> str:
        """The cell that holds the centroid, at the cells' resolution: stable while the place is."""
        resolution = int(h3grid.cells_resolution(self.parsed_cells())[0])
        return f"{int(h3grid.latlng_to_cells([self.lat], [self.lon], resolution)[0]):x}"

    def parsed_cells(self) -> h3grid.CellArray:
        try:
            cells = h3grid.as_cells([int(c, 16) for c in self.cells])
        except ValueError as exc:
            raise VisitError(f"not H3 cell ids: {list(self.cells)[:5]}", field="body.place.cells") from exc
        if not cells.size or not all(h3.is_valid_cell(f"{c:x}") for c in cells.tolist()):
            raise VisitError("the place needs valid H3 cell ids", field="body.place.cells")
        return cells


@dataclass(frozen=True)
class VisitIn:
    """A visit as a phone submits it: started and ended, or only ended (or now) with the minutes."""

    place: Place
    outcome: Outcome
    organisation: str = FIELD_SOURCE
    started_at: datetime | None = None
    ended_at: datetime | None = None
    minutes: int | None = None
    note: str | None = None

    def fingerprint(self) -> str:
        """A hash of the request: a retry has the same one, a key reused for another visit does not."""
        text = json.dumps(asdict(self), default=str, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def times(self, now: datetime) -> tuple[datetime, datetime, int]:
        """(start, end, minutes) from whichever of the three were given; VisitError names what is wrong."""
        start, end, minutes = self.started_at, self.ended_at, self.minutes
        for name, value in (("started_at", start), ("ended_at", end)):
            if value is not None and value.tzinfo is None:
                raise VisitError(f"{name} needs a UTC offset", field=f"body.{name}")
        if start is not None and end is not None:
            if end <= start:
                raise VisitError("ended_at must be after started_at", field="body.ended_at")
            minutes = max(1, round((end - start).total_seconds() / 60))  # a stop of seconds still counts
        elif minutes is None:
            raise VisitError("give started_at and ended_at, or minutes", field="body.minutes")
        elif start is not None:
            end = start + timedelta(minutes=minutes)
        else:
            end = end or now
            start = end - timedelta(minutes=minutes)
        assert start is not None and end is not None
        if start < EARLIEST_VISIT:  # year 1 was stored, and dates that old break the week sums
            raise VisitError(f"the visit starts before {EARLIEST_VISIT:%Y-%m-%d}", field="body.started_at")
        if not 1 <= minutes <= MAX_MINUTES:
            raise VisitError(f"a visit lasts 1-{MAX_MINUTES} minutes, got {minutes}", field="body.minutes")
        if end > now + timedelta(minutes=10):
            raise VisitError("the visit ends in the future", field="body.ended_at")
        return start, end, minutes


@dataclass(frozen=True)
class Visit:
    """A stored visit."""

    id: int
    place_key: str
    label: str
    cells: tuple[str, ...]
    lat: float
    lon: float
    area_id: str | None
    user: str
    organisation: str
    started_at: datetime
    ended_at: datetime
    minutes: int
    outcome: Outcome
    note: str | None
    created_at: datetime

    def to_dict(self, *, with_note: bool) -> dict[str, Any]:
        """JSON-ready; the free text only when the reader may see it."""
        out = asdict(self)
        out.update(
            cells=list(self.cells),
            outcome=self.outcome.value,
            started_at=self.started_at.isoformat(),
            ended_at=self.ended_at.isoformat(),
            created_at=self.created_at.isoformat(),
        )
        if not with_note:
            out.pop("note")
        return out


def _visit(row: Any) -> Visit:
    return Visit(
        id=int(row.id),
        place_key=row.place_key,
        label=row.label,
        cells=tuple(row.cells.split()),
        lat=float(row.lat),
        lon=float(row.lon),
        area_id=row.area_id,
        user=row.user_name,
        organisation=row.organisation,
        started_at=row.started_at,
        ended_at=row.ended_at,
        minutes=int(row.minutes),
        outcome=Outcome(row.outcome),
        note=row.note,
        created_at=row.created_at,
    )


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise VisitError(
            "Idempotency-Key must be 8-64 characters of letters, digits and _ . : -",
            field="header.Idempotency-Key",
            status=400,
        )
    return key


def check_text(text: str, field: str, *, one_line: bool) -> None:
    """Refuse a NUL byte (PostgreSQL text cannot hold one: the write failed with a 500) and, in a one-line
    text such as a place's label, any control character (escape sequences reach the CLI and the PDF)."""
    allowed = "" if one_line else "\t\n\r"
    if any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in text):
        raise VisitError(
            "contains a control character" if "\x00" not in text else "contains a NUL byte", field=field
        )


def check_area(area_id: str | None, user: User, what: str) -> None:
    """Field users limited to areas may log only there (403: they know the place, it is not theirs)."""
    if user.limited and area_id not in user.areas:
        raise VisitError(f"{what} is outside your areas", field="body", status=403)


def _replayed(row: Any, user: User, fingerprint: str | None) -> None:
    """A stored row for the key: the same user's retry is answered with it; anything else is refused."""
    if row.user_name != user.name:
        raise VisitError("Idempotency-Key already used", field="header.Idempotency-Key", status=409)
    if fingerprint is not None and row.request_hash != fingerprint:
        raise VisitError(
            "Idempotency-Key already used for a different request", field="header.Idempotency-Key"
        )


def record_visit(
    engine: Engine,
    visit: VisitIn,
    *,
    user: User,
    areas: Areas,
    settings: Settings,
    key: str,
    now: datetime | None = None,
) -> tuple[Visit, bool]:
    """Store a visit once per idempotency key; returns it and whether this call stored it.

    The lookup, the insert, the visits counter and the audit row are one transaction; a concurrent
    request with the same key that loses the race on the unique key gets the winner's row.
    """
    check_key(key)
    now = now or datetime.now(UTC)
    if visit.organisation not in {t.id for t in settings.taxonomy.sources}:
        raise VisitError(f"unknown organisation {visit.organisation!r}", field="body.organisation")
    if user.role is Role.FIELD and visit.organisation != FIELD_SOURCE:  # accounts carry no organisation
        raise VisitError(f"field users log visits as {FIELD_SOURCE}", field="body.organisation", status=403)
    if visit.note is not None and len(visit.note) > MAX_NOTE_CHARS:
        raise VisitError(f"note longer than {MAX_NOTE_CHARS} characters", field="body.note")
    check_text(visit.place.label, "body.place.label", one_line=True)
    check_text(visit.note or "", "body.note", one_line=False)
    cells = visit.place.parsed_cells()
    if cells.size > MAX_PLACE_CELLS:
        raise VisitError(f"a place has at most {MAX_PLACE_CELLS} cells", field="body.place.cells")
    start, end, minutes = visit.times(now)
    area_id = areas.assign([visit.place.lat], [visit.place.lon])[0]
    fingerprint = visit.fingerprint()
    stored = _by_key(engine, key)
    if stored is not None:
        _replayed(stored, user, fingerprint)
        return _visit(stored), False
    check_area(area_id, user, "the place")
    values = {
        "idempotency_key": key,
        "request_hash": fingerprint,
        "place_key": visit.place.key,
        "label": visit.place.label[:200],
        "cells": " ".join(f"{c:x}" for c in np.unique(cells).tolist()),
        "lat": visit.place.lat,
        "lon": visit.place.lon,
        "area_id": area_id,
        "user_name": user.name,
        "organisation": visit.organisation,
        "started_at": start,
        "ended_at": end,
        "minutes": minutes,
        "outcome": visit.outcome.value,
        "note": visit.note or None,
        "created_at": now,
    }
    try:
        with transaction(engine) as conn:
            if (stored := _by_key(conn, key)) is None:
                new_id = conn.execute(sa.insert(visits).values(**values)).inserted_primary_key[0]  # type: ignore[index]
                bump_version(conn, VISITS_VERSION)
                audit.record(
                    conn, actor=user.name, action="visits.create", resource=f"/field/visits/{new_id}", rows=1
                )
    except sa.exc.IntegrityError:  # the same key committed by a concurrent request first
        stored = _by_key(engine, key)
        if stored is None:
            raise
    if stored is not None:
        _replayed(stored, user, fingerprint)
        return _visit(stored), False
    return get_visit(engine, int(new_id)), True


def _by_key(target: Engine | Connection, key: str) -> Any:
    stmt = sa.select(visits).where(visits.c.idempotency_key == key)
    if isinstance(target, Engine):
        with target.connect() as conn:
            return conn.execute(stmt).first()
    return target.execute(stmt).first()


def get_visit(engine: Engine, visit_id: int) -> Visit:
    with engine.connect() as conn:
        row = conn.execute(sa.select(visits).where(visits.c.id == visit_id)).first()
    if row is None:
        raise VisitError(f"no visit {visit_id}", status=404)
    return _visit(row)


def list_visits(engine: Engine, *, start: datetime, end: datetime, areas: Sequence[str] = ()) -> list[Visit]:
    """Visits that started in [start, end), oldest first; only in ``areas`` when given."""
    stmt = (
        sa.select(visits)
        .where(visits.c.started_at >= start, visits.c.started_at < end)
        .order_by(visits.c.started_at, visits.c.id)
    )
    if areas:
        stmt = stmt.where(visits.c.area_id.in_(list(areas)))
    with engine.connect() as conn:
        return [_visit(row) for row in conn.execute(stmt)]


def week_bounds(week: str, timezone: str) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of an ISO week like '2026-W48' in ``timezone``, as UTC instants."""
    try:
        monday = parse_week(week).start_time.date()
    except InvalidQuery as exc:
        raise VisitError(str(exc), field="query.week") from exc
    zone = ZoneInfo(timezone)
    first = datetime.combine(monday, datetime.min.time(), zone)
    last = datetime.combine(monday + timedelta(days=7), datetime.min.time(), zone)
    return first.astimezone(UTC), last.astimezone(UTC)


def purge_before(conn: Connection, cutoff: datetime) -> int:
    """Delete visits that started before ``cutoff`` inside the caller's (retention) transaction."""
    deleted = max(conn.execute(sa.delete(visits).where(visits.c.started_at < cutoff)).rowcount, 0)
    if deleted:
        bump_version(conn, VISITS_VERSION)
    return deleted
