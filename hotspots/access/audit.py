"""Audit log: who read or changed report-level data, when, and with which filter (never report contents).

The log is a table in the store, so every API worker and CLI run writes to the same place; failed logins
are logged too. Text written here is stripped of control characters (:func:`clean_text`): it is read on
an admin's terminal.

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

from hotspots.access.untrusted import clean_text
from hotspots.store.engine import transaction
from hotspots.store.schema import audit_log

LOGIN_FAILED = "login.failed"
#: The actor of entries written by someone not logged in (what they claimed to be goes into ``detail``).
ANONYMOUS = "anonymous"
ATTEMPTED_NAME_CHARS = 64


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
        actor=clean_text(actor, 128),
        action=clean_text(action, 64),
        resource=clean_text(resource, 256),
        detail=json.dumps(dict(detail), ensure_ascii=False, default=str, sort_keys=True) if detail else None,
        rows=rows,
    )
    if isinstance(target, Engine):
        with transaction(target) as conn:
            conn.execute(stmt)
    else:
        target.execute(stmt)


def record_login_failure(engine: Engine, attempted_name: str, client: str) -> None:
    """A failed login: by nobody known, so the actor is :data:`ANONYMOUS` and the name tried is kept,
    cleaned and cut short, in ``detail`` (a caller could otherwise write any actor name into the log)."""
    record(
        engine,
        actor=ANONYMOUS,
        action=LOGIN_FAILED,
        resource=f"login {client}",
        detail={"attempted_name": clean_text(attempted_name, ATTEMPTED_NAME_CHARS)},
    )


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
