"""Store summary: the figures ``hotspots status`` prints and the API's status endpoint returns."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.geo.areas import Areas
from hotspots.store.engine import dataset_version
from hotspots.store.schema import reports
from hotspots.words import OUTSIDE_AREAS, Language


def status(engine: Engine, areas: Areas, lang: Language = Language.sv) -> dict[str, Any]:
    """Totals by area and category, first and last report date, and the dataset version.

    Aggregated in SQL: the store may hold millions of rows and this is called on every ``make run``.
    """
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one()
        first, last = conn.execute(
            sa.select(sa.func.min(reports.c.occurred_at), sa.func.max(reports.c.occurred_at))
        ).one()
        by_area: dict[str | None, int] = dict(
            conn.execute(sa.select(reports.c.area_id, sa.func.count()).group_by(reports.c.area_id)).all()
        )
        by_category: dict[str, int] = dict(
            conn.execute(sa.select(reports.c.category, sa.func.count()).group_by(reports.c.category)).all()
        )
        version = dataset_version(conn)
    named = {
        areas.name_of(k) if k is not None else OUTSIDE_AREAS[lang]["name"]: int(v) for k, v in by_area.items()
    }
    return {
        "reports": int(total),
        "by_area": dict(sorted(named.items(), key=lambda kv: -kv[1])),
        "by_category": {str(k): int(v) for k, v in sorted(by_category.items(), key=lambda kv: -kv[1])},
        "first": first.isoformat() if first else None,
        "last": last.isoformat() if last else None,
        "dataset_version": version,
        "ranking": _ranking(engine),
    }


def _ranking(engine: Engine) -> dict[str, Any] | None:
    """The ranking the priority list uses and why (None before the first ``hotspots backtest --select``)."""
    from hotspots.ranking.choice import in_force

    choice = in_force(engine)
    return None if choice is None else choice.to_dict()
