"""Liveness, readiness and metrics: what an orchestrator and Prometheus poll.

``/health`` and ``/ready`` are public (they say only "ok" and whether the store answers); ``/metrics`` is
admin-only: request counts per route reveal usage patterns, and Prometheus can send an ``X-API-Key``
header (``http_headers`` in its scrape config).
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ADMIN_ONLY, PUBLIC, EngineDep
from api.errors import responses

router = APIRouter(tags=["health"])


@router.get("/health", dependencies=[PUBLIC], summary="Processen lever / process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    dependencies=[PUBLIC],
    summary="Databasen svarar / the store is reachable",
    responses=responses(503),
)
def ready(engine: EngineDep) -> dict[str, str]:
    """503 (via the store-unavailable handler) when the database does not answer."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return {"status": "ready"}


@router.get(
    "/metrics",
    dependencies=[ADMIN_ONLY],
    summary="Prometheus-mått / Prometheus metrics (admin)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        **responses(401, 403),
    },
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
