"""Field visits and observations through the API, as a phone with bad coverage sends them.

A retry with the same Idempotency-Key must answer with the first answer and never store a second row,
also when the first answer never reached the phone (the server committed, the connection dropped).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from api.main import create_app
from hotspots.access import audit
from hotspots.field.visits import record_visit
from hotspots.store import retention
from hotspots.store.engine import dataset_version
from hotspots.store.schema import reports, visits
from tests.api.conftest import FIELD_AREA, Api, observation_json, visit_json
from tests.api.conftest import VISIT_NOTE as NOTE


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def count(api: Api, table: sa.Table, *where: Any) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def test_same_key_twice_stores_one_visit_and_answers_the_same(api: Api) -> None:
    headers = api.auth("field") | key()
    first = api.client.post("/field/visits", json=visit_json(api), headers=headers)
    again = api.client.post("/field/visits", json=visit_json(api), headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert first.headers["cache-control"] == "no-store"
    assert count(api, visits) == 1
    body = first.json()
    assert body["minutes"] == 15 and body["area_id"] == FIELD_AREA and body["user"] == "field"
    assert "note" not in body  # a field user never reads visit text, not even their own
    start, end = (datetime.fromisoformat(body[k]) for k in ("started_at", "ended_at"))
    assert end - start == timedelta(minutes=15)
    assert abs(end - datetime.now(UTC)) < timedelta(minutes=1)  # minutes only: the visit ended now


class DropFirstAnswer:
    """The app behind a network that loses the first answer: the request runs to the end (committed),
    then the connection breaks before the phone hears anything."""

    def __init__(self, app: Any) -> None:
        self.app, self.dropped = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or self.dropped:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        self.dropped += 1
        raise ConnectionResetError("connection lost before the answer was sent")


@pytest.mark.parametrize("path", ["/field/visits", "/field/observations"])
def test_replay_after_commit_whose_answer_was_lost(api: Api, path: str) -> None:
    lossy = DropFirstAnswer(create_app(api.settings, api.engine))
    client = TestClient(lossy, raise_server_exceptions=True)
    body = visit_json(api) if path.endswith("visits") else observation_json(api)
    headers = api.auth("field") | key()
    table, where = (
        (visits, ()) if path.endswith("visits") else (reports, (reports.c.source == "field_group",))
    )
    with pytest.raises(ConnectionResetError):
        client.post(path, json=body, headers=headers)
    assert lossy.dropped == 1 and count(api, table, *where) == 1  # stored, but the phone heard nothing
    retried = client.post(path, json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    assert count(api, table, *where) == 1


def test_key_rules(api: Api) -> None:
    headers = api.auth("field") | key()
    assert api.client.post("/field/visits", json=visit_json(api), headers=headers).status_code == 201
    reused = api.client.post("/field/visits", json=visit_json(api, minutes=40), headers=headers)
    assert (
        reused.status_code == 422
        and reused.json()["error"]["details"][0]["field"] == "header.Idempotency-Key"
    )
    other_user = api.client.post("/field/visits", json=visit_json(api), headers=api.auth("est") | {
        "Idempotency-Key": headers["Idempotency-Key"]})  # fmt: skip
    assert other_user.status_code == 409
    missing = api.client.post("/field/visits", json=visit_json(api), headers=api.auth("field"))
    assert missing.status_code == 422 and "Idempotency-Key" in missing.text
    bad = api.client.post(
        "/field/visits", json=visit_json(api), headers=api.auth("field") | {"Idempotency-Key": "x y"}
    )
    assert bad.status_code == 400
    assert count(api, visits) == 1


def test_field_users_log_and_read_only_their_areas(api: Api) -> None:
    outside = api.client.post(
        "/field/visits", json=visit_json(api, "baronbackarna"), headers=api.auth("field") | key()
    )
    assert outside.status_code == 403
    assert count(api, visits) == 0
    for role, area in (("field", FIELD_AREA), ("est", "baronbackarna")):
        assert (
            api.client.post(
                "/field/visits", json=visit_json(api, area), headers=api.auth(role) | key()
            ).status_code
            == 201
        )
    week = datetime.now(UTC).strftime("%G-W%V")
    seen = {
        role: api.client.get(f"/field/visits?week={week}", headers=api.auth(role))
        for role in ("field", "est", "analyst")
    }
    assert [v["area_id"] for v in seen["field"].json()] == [FIELD_AREA]
    assert all("note" not in v for v in seen["field"].json())
    for role in ("est", "analyst"):
        assert sorted(v["area_id"] for v in seen[role].json()) == ["baronbackarna", FIELD_AREA]
        assert {v["note"] for v in seen[role].json()} == {NOTE}
    assert api.client.get(f"/field/visits?week={week}", headers=api.auth("planner")).status_code == 403
    for bad in ("2026-W54", "9999-W52", "0001-W01"):  # the last two overflowed a date: 500
        answer = api.client.get(f"/field/visits?week={bad}", headers=api.auth("est"))
        assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "query.week"
    assert api.client.get("/field/visits?week=2019-W10", headers=api.auth("est")).json() == []
    logged = [e.action for e in audit.query(api.engine)]
    assert logged.count("visits.create") == 2 and logged.count("visits.list") >= 3


def test_visit_times_are_checked(api: Api) -> None:
    start = datetime(2026, 11, 14, 20, 0, tzinfo=UTC)
    given = visit_json(
        api, minutes=None, started_at=start.isoformat(), ended_at=(start + timedelta(minutes=12)).isoformat()
    )
    ok = api.client.post("/field/visits", json=given, headers=api.auth("field") | key())
    assert ok.status_code == 201 and ok.json()["minutes"] == 12
    for bad, field in (
        (visit_json(api, minutes=None), "body.minutes"),
        (
            visit_json(
                api,
                minutes=None,
                started_at=start.isoformat(),
                ended_at=(start - timedelta(minutes=5)).isoformat(),
            ),
            "body.ended_at",
        ),
        (visit_json(api, ended_at=(datetime.now(UTC) + timedelta(days=1)).isoformat()), "body.ended_at"),
        (visit_json(api, outcome="slept"), "body.outcome"),
        (visit_json(api, organisation="nasa"), "body.organisation"),
        (
            visit_json(api, place={"label": "x", "cells": ["zz"], "lat": 59.27, "lon": 15.11}),
            "body.place.cells",
        ),
        # year 1 was stored; a NUL failed PostgreSQL with a 500; an escape sequence reached the terminal
        (
            visit_json(api, minutes=None, started_at="0001-01-01T10:00:00Z", ended_at="0001-01-01T11:00:00Z"),
            "body.started_at",
        ),
        (visit_json(api, note="a\x00b"), "body.note"),
        (visit_json(api, note="\x1b[2Jcleared"), "body.note"),
    ):
        answer = api.client.post("/field/visits", json=bad, headers=api.auth("field") | key())
        assert answer.status_code == 422, (bad, answer.text)
        assert field in [d["field"] for d in answer.json()["error"]["details"]], answer.text
    place = visit_json(api)["place"] | {"label": "Vivalla\x1b]0;title\x07"}
    answer = api.client.post(
        "/field/visits", json=visit_json(api, place=place), headers=api.auth("field") | key()
    )
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "body.place.label"
    assert count(api, visits) == 1


def test_field_users_cannot_speak_for_another_organisation(api: Api) -> None:
    """Accounts carry no organisation: a field user filing as "police" planted police reports (201)."""
    as_police = api.client.post(
        "/field/observations", json=observation_json(api, source="police"), headers=api.auth("field") | key()
    )
    assert as_police.status_code == 403 and as_police.json()["error"]["details"][0]["field"] == "body.source"
    patrol = api.client.post(
        "/field/visits", json=visit_json(api, organisation="police"), headers=api.auth("field") | key()
    )
    assert patrol.status_code == 403
    assert count(api, reports, reports.c.source == "police", reports.c.source_id.like("field:%")) == 0
    assert count(api, visits) == 0
    by_est = api.client.post(
        "/field/observations", json=observation_json(api, source="police"), headers=api.auth("est") | key()
    )
    assert by_est.status_code == 201, by_est.text


def test_observation_is_a_report_filed_once(api: Api) -> None:
    body = observation_json(api, note=NOTE)
    headers = api.auth("field") | key()
    first = api.client.post("/field/observations", json=body, headers=headers)
    again = api.client.post("/field/observations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert first.json()["source"] == "field_group" and first.json()["area_id"] == FIELD_AREA
    assert "note" not in first.json()
    assert count(api, reports, reports.c.source == "field_group") == 1
    listed = api.client.get("/reports?source=field_group", headers=api.auth("analyst")).json()
    assert (
        listed["total"] == 1
        and listed["items"][0]["note"] == NOTE
        and listed["items"][0]["created_by"] == "field"
    )
    summary = api.client.get("/statistics/summary?end=2026-11-15&source=field_group", headers=api.auth("est"))
    assert summary.status_code == 200, summary.text
    assert summary.json()["areas"][FIELD_AREA]["reports"] == 1  # counted like any report


def test_observation_is_validated_like_every_report(api: Api) -> None:
    unknown = api.client.post(
        "/field/observations", json=observation_json(api, category="ufo"), headers=api.auth("field") | key()
    )
    assert unknown.status_code == 422 and "category" in unknown.text
    other = api.client.post(
        "/field/observations",
        json=observation_json(api, "baronbackarna"),
        headers=api.auth("field") | key(),
    )
    assert other.status_code == 403
    assert count(api, reports, reports.c.source == "field_group") == 0


def test_visits_are_purged_with_the_reports(api: Api) -> None:
    old = datetime(2020, 1, 10, 12, tzinfo=UTC)
    given = visit_json(
        api, minutes=None, started_at=old.isoformat(), ended_at=(old + timedelta(minutes=10)).isoformat()
    )
    assert api.client.post("/field/visits", json=given, headers=api.auth("est") | key()).status_code == 201
    assert (
        api.client.post("/field/visits", json=visit_json(api), headers=api.auth("est") | key()).status_code
        == 201
    )
    retention.purge(api.engine, older_than="36m", actor="test")
    assert count(api, visits) == 1
    assert audit.query(api.engine, action=retention.PURGE_ACTION)[0].detail["visits"] == 1


def test_visit_and_observation_text_never_leave_est_and_analysts(api: Api) -> None:
    """Planner exports aggregate (an observation is one more report in a count); no text of a visit or an
    observation reaches a planner's export or a field user's list."""
    observation_note = "anteckning från fältet"
    assert (
        api.client.post("/field/visits", json=visit_json(api), headers=api.auth("field") | key()).status_code
        == 201
    )
    observed = observation_json(api, note=observation_note, occurred_at="2026-10-20T21:00:00+02:00")
    assert (
        api.client.post("/field/observations", json=observed, headers=api.auth("field") | key()).status_code
        == 201
    )
    for path in ("/exports/cells.geojson", "/exports/cells.csv", "/exports/cells.gpkg"):
        export = api.client.get(path, headers=api.auth("planner"))  # the latest published month
        assert export.status_code == 200, (path, export.text[:200])
        for text in (NOTE, observation_note, "Testplatsen", "dealing_observed"):
            assert text.encode() not in export.content, (path, text)
    field_list = api.client.get("/priorities?end=2026-11-15&format=html", headers=api.auth("field")).text
    assert NOTE not in field_list and observation_note not in field_list


def test_racing_retries_with_one_key_store_one_visit(api: Api) -> None:
    """Two sends of one submission at the same moment (a retry overtaking the first): one row, one answer."""
    from concurrent.futures import ThreadPoolExecutor

    from api.routes.field import VisitBody
    from hotspots.access.accounts import Role, User

    body = VisitBody.model_validate(visit_json(api)).domain()
    user = User(99, "field", Role.FIELD, (FIELD_AREA,))
    barrier = threading.Barrier(4)

    def send(_: int) -> tuple[int, bool]:
        barrier.wait()
        visit, created = record_visit(
            api.engine, body, user=user, areas=api.areas, settings=api.settings, key="race-key-0001"
        )
        return visit.id, created

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert len({visit_id for visit_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1
    assert count(api, visits) == 1


def test_a_visit_leaves_the_statistics_alone(api: Api) -> None:
    """A visit changes the dose on the lists, not the data: no statistic is recomputed because of it."""
    summary = "/statistics/summary?end=2026-11-15"
    before = api.client.get(summary, headers=api.auth("est"))
    version = dataset_version(api.engine)
    assert (
        api.client.post("/field/visits", json=visit_json(api), headers=api.auth("field") | key()).status_code
        == 201
    )
    assert dataset_version(api.engine) == version
    again = api.client.get(summary, headers=api.auth("est") | {"If-None-Match": before.headers["etag"]})
    assert again.status_code == 304
