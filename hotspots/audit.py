"""Audit log: who read or changed report-level data, when, and with which filter (never report contents).

The log is a table in the store, so every API worker and CLI run writes to the same place; failed logins
are logged too, which is also what the login rate limit counts (shared by all workers).

Usage (needs a store, so not a doctest)::

    record(engine, actor="anna", action="reports.list", resource="/reports", detail={"area": ["vivalla"]})
    [e.action for e in query(engine, since=yesterday)]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotspots.schema import audit_log

LOGIN_FAILED = "login.failed"


class AuditEntry(NamedTuple):
    """One logged event; ``detail`` is the filter or parameters used (JSON), ``rows`` how many were touched."""

    at: datetime
    actor: str
    action: str
    resource: str
    detail: dict[str, Any]
    rows: int | None


def record(
    target: Engine | Connection,
    *,
    actor: str,
    action: str,
    resource: str,
    detail: Mapping[str, Any] | None = None,
    rows: int | None = None,
) -> None:
    """Append one entry. Pass the writing transaction's connection so the entry commits with the change."""
    stmt = sa.insert(audit_log).values(
        at=datetime.now(UTC),
        actor=actor[:128],
        action=action[:64],
        resource=resource[:256],
        detail=json.dumps(dict(detail), ensure_ascii=False, default=str, sort_keys=True) if detail else None,
        rows=rows,
    )
    if isinstance(target, Engine):
        with target.begin() as conn:
            conn.execute(stmt)
    else:
        target.execute(stmt)


def query(
    engine: Engine,
    *,
    since: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Entries newest first, optionally since a time, by one actor or of one action."""
    stmt = sa.select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    if actor is not None:
        stmt = stmt.where(audit_log.c.actor == actor)
    if action is not None:
        stmt = stmt.where(audit_log.c.action == action)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        AuditEntry(r.at, r.actor, r.action, r.resource, json.loads(r.detail) if r.detail else {}, r.rows)
        for r in rows
    ]


def count_since(engine: Engine, *, action: str, actor: str, resource: str, since: datetime) -> int:
    """How many ``action`` entries by ``actor`` on ``resource`` since a time (the login rate limit's count)."""
    stmt = (
        sa.select(sa.func.count())
        .select_from(audit_log)
        .where(
            audit_log.c.at >= since,
            audit_log.c.action == action,
            audit_log.c.actor == actor[:128],
            audit_log.c.resource == resource[:256],
        )
    )
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())
