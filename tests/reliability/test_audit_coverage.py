"""Audit coverage: every report-level read and write through the API leaves exactly one audit row naming
the actor, the action and the filter or resource, and no audit row ever holds note text.

The notes of every report written here carry a marker; the whole audit table is dumped at the end and
searched for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.store.schema import audit_log
from tests.api.conftest import FIELD_AREA, Api, api_settings, make_api

MARKER = "AUDIT-MARKÖR-5517 hemlig uppgift"


@pytest.fixture
def api(sqlite_settings: Settings, areas: Areas) -> Iterator[Api]:
    result = make_api(api_settings(sqlite_settings.database_url), areas)
    yield result
    result.engine.dispose()


def _rows_after(api: Api, last_id: int) -> list[dict[str, object]]:
    with api.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log).where(audit_log.c.id > last_id).order_by(audit_log.c.id)
        ).all()
    return [dict(row._mapping) | {"detail": json.loads(row.detail) if row.detail else {}} for row in rows]


def _last_id(api: Api) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0))).scalar_one())


def _report(lat: float, lon: float, source_id: str) -> dict[str, object]:
    return {
        "source": "police",
        "source_id": source_id,
        "occurred_at": "2026-11-12T20:15:00+01:00",
        "category": "observed_dealing",
        "lat": lat,
        "lon": lon,
        "note": f"{MARKER} {source_id}",
    }


def test_every_report_level_read_and_write_is_audited_without_notes(api: Api) -> None:
    analyst = api.auth("analyst")
    lat, lon = api.point(FIELD_AREA)
    csv_file = "source,source_id,occurred_at,category,lat,lon,note\n" + "".join(
        f"police,IMP-{i},2026-11-12T20:15:00+01:00,observed_dealing,{lat},{lon},{MARKER} IMP-{i}\n"
        for i in range(3)
    )
    calls: list[tuple[str, str, str, dict[str, Any], int]] = [
        ("create", "post", "/reports", {"json": _report(lat, lon, "ONE-1")}, 201),
        (
            "batch",
            "post",
            "/reports/batch",
            {"json": [_report(lat, lon, f"BATCH-{i}") for i in range(4)]},
            201,
        ),
        ("import", "post", "/reports/import", {"files": {"file": ("veckans.csv", csv_file.encode())}}, 201),
        (
            "list",
            "get",
            "/reports",
            {"params": {"area": FIELD_AREA, "category": "observed_dealing", "limit": 5}},
            200,
        ),
    ]
    audited: dict[str, dict[str, object]] = {}
    for name, method, path, kwargs, status in calls:
        before = _last_id(api)
        response = getattr(api.client, method)(path, headers=analyst, **kwargs)
        assert response.status_code == status, response.text
        new = _rows_after(api, before)
        assert len(new) == 1, (name, new)
        audited[name] = new[0]
        if name == "list":
            report_id = response.json()["items"][0]["id"]

    for name, method, status in (("get", "get", 200), ("delete", "delete", 204)):
        before = _last_id(api)
        response = getattr(api.client, method)(f"/reports/{report_id}", headers=analyst)
        assert response.status_code == status, response.text
        new = _rows_after(api, before)
        assert len(new) == 1, (name, new)
        audited[name] = new[0]

    assert {name: row["actor"] for name, row in audited.items()} == dict.fromkeys(audited, "analyst")
    assert {name: (row["action"], row["rows"]) for name, row in audited.items()} == {
        "create": ("reports.create", 1),
        "batch": ("reports.create", 4),
        "import": ("reports.create", 3),
        "list": ("reports.list", 5),
        "get": ("reports.read", 1),
        "delete": ("reports.delete", 1),
    }
    assert audited["import"]["resource"] == "/reports (veckans.csv)"
    assert audited["batch"]["resource"] == "/reports (api-batch)"
    assert audited["get"]["resource"] == audited["delete"]["resource"] == f"/reports/{report_id}"
    list_filter = audited["list"]["detail"]
    assert isinstance(list_filter, dict)
    assert list_filter["area"] == [FIELD_AREA] and list_filter["category"] == ["observed_dealing"]
    assert list_filter["limit"] == ["5"]

    with api.engine.connect() as conn:
        dumped = json.dumps([list(row) for row in conn.execute(sa.select(audit_log)).all()], default=str)
    assert "MARK" not in dumped and "hemlig" not in dumped  # neither these notes nor the seed's
