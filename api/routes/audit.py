"""The audit log over HTTP (admin only): who read or changed report-level data, when, with which filter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import ADMIN_ONLY, EngineDep
from api.errors import responses
from hotspots.access import audit

router = APIRouter(
    prefix="/audit", tags=["audit"], dependencies=[ADMIN_ONLY], responses=responses(401, 403, 422)
)


#: No control characters (NUL made PostgreSQL fail the query with a 500): nothing logged holds them.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    resource: str
    detail: dict[str, Any]
    rows: int | None


@router.get("", summary="Granskningslogg / audit log (newest first)")
def audit_log(
    engine: EngineDep,
    since: Annotated[datetime | None, Query(description="Från och med / since (UTC if no offset)")] = None,
    actor: Annotated[str | None, Query(max_length=128, pattern=_PRINTABLE)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=_PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AuditOut]:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return [
        AuditOut(**e._asdict())
        for e in audit.query(engine, since=since, actor=actor, action=action, limit=limit)
    ]
