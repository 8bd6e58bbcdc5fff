"""API fixtures: an app on a seeded store (SQLite and PostgreSQL), one user and API key per role.

The seed is small and planted: a cluster of ``CLUSTER`` reports in one Vivalla cell (a hotspot, over the
export threshold) and ``SPARSE`` reports in one Baronbackarna cell (under the threshold), all inside the
28 days ending ``END``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.main import create_app
from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.geo.h3grid import latlng_to_cells
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import open_store

END = date(2026, 11, 15)
CLUSTER = 12
SPARSE = 3
#: The limited field user sees only this area.
FIELD_AREA = "vivalla"
PASSWORD = "ett långt lösenord"
#: Free text of a test visit: only est and analysts may ever read it.
VISIT_NOTE = "såg två personer vid busshållplatsen"


def api_settings(database_url: str) -> Settings:
    """Fewer permutations (speed) and a small upload limit (the 413 tests send just over it)."""
    return Settings(database_url=database_url, permutations=99, max_upload_bytes=200_000)


@dataclass
class Api:
    """A test client on a seeded store, with an API key per role (user names equal role names)."""

    client: TestClient
    engine: Engine
    settings: Settings
    areas: Areas
    keys: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def point(self, area_id: str) -> tuple[float, float]:
        """(lat, lon) of a point inside an area."""
        geometry = self.areas.frame.set_index("area_id").geometry[area_id].representative_point()
        return geometry.y, geometry.x

    def cell(self, area_id: str) -> str:
        """Hex id (analysis resolution) of the seeded cell in an area."""
        lat, lon = self.point(area_id)
        return f"{int(latlng_to_cells([lat], [lon], self.settings.analysis_resolution)[0]):x}"


def report_json(api: Api, source_id: str, area_id: str = FIELD_AREA, **changes: Any) -> dict[str, Any]:
    """A valid POST /reports body inside ``area_id``; ``changes`` override or break fields."""
    lat, lon = api.point(area_id)
    return {
        "source": "police",
        "source_id": source_id,
        "occurred_at": "2026-11-10T20:00:00+01:00",
        "category": "observed_dealing",
        "lat": lat,
        "lon": lon,
        "note": "anteckning som inte får loggas",
    } | changes


def visit_json(api: Api, area_id: str = FIELD_AREA, **changes: Any) -> dict[str, Any]:
    """A valid POST /field/visits body at the seeded cell of ``area_id``: 15 minutes ending now."""
    lat, lon = api.point(area_id)
    return {
        "place": {"label": "Testplatsen", "cells": [api.cell(area_id)], "lat": lat, "lon": lon},
        "outcome": "dealing_observed",
        "minutes": 15,
        "note": VISIT_NOTE,
    } | changes


def observation_json(api: Api, area_id: str = FIELD_AREA, **changes: Any) -> dict[str, Any]:
    """A valid POST /field/observations body inside ``area_id``."""
    lat, lon = api.point(area_id)
    body = {
        "category": "observed_dealing",
        "lat": lat,
        "lon": lon,
        "occurred_at": "2026-11-14T21:00:00+01:00",
    }
    return body | changes


def seed_rows(areas: Areas) -> pd.DataFrame:
    rows = []
    for area_id, n, prefix in (("vivalla", CLUSTER, "V"), ("baronbackarna", SPARSE, "B")):
        point = areas.frame.set_index("area_id").geometry[area_id].representative_point()
        for i in range(n):
            rows.append(
                {
                    "source": "police",
                    "source_id": f"{prefix}{i}",
                    "occurred_at": f"{END.isoformat()[:8]}{1 + i % 14:02d}T21:30:00+01:00",
                    "category": "observed_dealing",
                    "lat": str(point.y),
                    "lon": str(point.x),
                    "note": f"hemlig anteckning {prefix}{i}",
                }
            )
    return pd.DataFrame(rows)


def make_api(settings: Settings, areas: Areas) -> Api:
    engine = open_store(settings)
    ingest.import_frame(engine, seed_rows(areas), settings=settings, areas=areas, created_by="seed")
    keys = {}
    for role in Role:
        limited = (FIELD_AREA,) if role is Role.FIELD else ()
        accounts.add_user(engine, role.value, role, areas=limited, password=PASSWORD)
        keys[role.value] = accounts.create_key(engine, role.value)
    return Api(TestClient(create_app(settings, engine)), engine, settings, areas, keys)


@pytest.fixture
def api(store_url: str, areas: Areas) -> Iterator[Api]:
    """The seeded app on each back end (SQLite file, throwaway PostgreSQL database)."""
    result = make_api(api_settings(store_url), areas)
    yield result
    result.engine.dispose()


@pytest.fixture
def sqlite_api(sqlite_settings: Settings, areas: Areas) -> Iterator[Api]:
    """The seeded app on SQLite only (role matrix, fuzzing: back-end independent, kept fast)."""
    result = make_api(api_settings(sqlite_settings.database_url), areas)
    yield result
    result.engine.dispose()
