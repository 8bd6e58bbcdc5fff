"""The response cache replays a derived response only while it is the response the app would give.

What a user relies on: a phone refreshing its list gets the same list fast, but never one that a write,
a revoked key, a disabled account, an expired session, another user's areas or a new day has made wrong;
and a planner's export is audited every time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner

import api.deps
import api.response_cache
from api.security import SESSION_COOKIE, sign_session
from hotspots.access import accounts, audit
from hotspots.ingest import pipeline as ingest
from hotspots.lru import LRU
from hotspots.store.engine import VersionReader
from tests.api.conftest import END, FIELD_AREA, PASSWORD, Api, seed_rows

Q = {"end": END.isoformat(), "window": "28d"}


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Paths of the derived responses the app's handlers built (a replay never reaches a handler)."""
    calls: list[str] = []
    respond = api.deps.Derived.respond

    async def counting(self: api.deps.Derived, *args: object, **kwargs: object) -> object:
        calls.append(self.request.url.path)
        return await respond(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(api.deps.Derived, "respond", counting)
    yield calls


def test_a_repeated_list_is_replayed_with_its_etag_headers_and_metrics(
    sqlite_api: Api, handled: list[str]
) -> None:
    client, auth = sqlite_api.client, sqlite_api.auth("est")
    first = client.get("/priorities", headers=auth, params=Q)
    again = client.get("/priorities", headers=auth, params=Q)
    assert first.status_code == again.status_code == 200
    assert handled == ["/priorities"]  # the second answer did not enter the app
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    for header in ("content-type", "cache-control", "vary", "x-content-type-options", "x-frame-options"):
        assert again.headers[header] == first.headers[header]

    current = client.get("/priorities", headers=auth | {"If-None-Match": first.headers["etag"]}, params=Q)
    assert current.status_code == 304 and current.content == b""
    assert current.headers["etag"] == first.headers["etag"] and handled == ["/priorities"]

    metrics = client.get("/metrics", headers=sqlite_api.auth("admin")).text
    assert 'hotspots_http_requests_total{method="GET",route="/priorities",status="200"} 2.0' in metrics
    assert 'hotspots_http_requests_total{method="GET",route="/priorities",status="304"} 1.0' in metrics


def test_a_write_from_anywhere_is_seen_by_the_next_request(api: Api, handled: list[str]) -> None:
    """The write goes straight to the store, as from another worker or the CLI, not through this app."""
    client, auth = api.client, api.auth("est")
    before = client.get("/statistics/summary", headers=auth, params=Q)
    rows = seed_rows(api.areas).assign(source_id=lambda f: "new-" + f["source_id"])
    ingest.import_frame(api.engine, rows, settings=api.settings, areas=api.areas, created_by="other-worker")
    after = client.get("/statistics/summary", headers=auth, params=Q)
    assert handled == ["/statistics/summary", "/statistics/summary"]
    assert after.headers["etag"] != before.headers["etag"]
    reports = [r.json()["areas"][FIELD_AREA]["reports"] for r in (before, after)]
    assert reports[1] == 2 * reports[0] > 0


def test_a_revoked_key_is_refused_although_its_list_was_replayable(api: Api) -> None:
    client, auth = api.client, api.auth("est")
    assert client.get("/priorities", headers=auth, params=Q).status_code == 200
    accounts.revoke_keys(api.engine, "est")
    refused = client.get("/priorities", headers=auth, params=Q)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"


def test_a_disabled_user_loses_keys_and_sessions_at_once(sqlite_api: Api) -> None:
    client = sqlite_api.client
    assert client.post("/login", data={"name": "field", "password": PASSWORD}).status_code == 200
    assert client.get("/priorities", params=Q).status_code == 200
    assert client.get("/priorities", params=Q).status_code == 200  # replayed for the session
    accounts.set_disabled(sqlite_api.engine, "field", True)
    assert client.get("/priorities", params=Q).status_code == 401
    assert client.get("/priorities", headers=sqlite_api.auth("field"), params=Q).status_code == 401
    assert "field" not in {u.name for u in accounts.list_users(sqlite_api.engine)}


def test_an_expired_session_is_refused_even_where_a_replay_exists(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sqlite_api.client
    client.post("/login", data={"name": "est", "password": PASSWORD})
    assert client.get("/priorities", params=Q).status_code == 200
    est = accounts.get_user(sqlite_api.engine, "est")
    with monkeypatch.context() as patch:
        too_old = int(time.time()) - sqlite_api.settings.session_max_age - 60
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: too_old)
        expired = sign_session(sqlite_api.settings, est.id)
    client.cookies.set(SESSION_COOKIE, expired)
    assert client.get("/priorities", params=Q).status_code == 401


def test_a_replay_needs_the_credential_the_app_authenticated(sqlite_api: Api) -> None:
    """An empty API-key header next to a session authenticates the session; what was kept for it must not
    answer a request that has only the empty header."""
    client = sqlite_api.client
    client.post("/login", data={"name": "est", "password": PASSWORD})
    for _ in range(2):
        assert client.get("/priorities", headers={"X-API-Key": ""}, params=Q).status_code == 200
    client.cookies.clear()
    assert client.get("/priorities", headers={"X-API-Key": ""}, params=Q).status_code == 401


def test_replays_are_per_user_a_field_user_never_gets_anothers_list(
    sqlite_api: Api, handled: list[str]
) -> None:
    client = sqlite_api.client
    everyone = client.get("/priorities", headers=sqlite_api.auth("est"), params=Q).json()
    own = client.get("/priorities", headers=sqlite_api.auth("field"), params=Q).json()
    assert handled == ["/priorities", "/priorities"]
    assert {e["area_id"] for e in everyone["entries"]} > {FIELD_AREA}
    assert {e["area_id"] for e in own["entries"]} == {FIELD_AREA}


def test_every_export_is_audited_none_is_replayed(sqlite_api: Api, handled: list[str]) -> None:
    client, auth = sqlite_api.client, sqlite_api.auth("planner")
    for _ in range(2):
        assert client.get("/exports/cells.csv", headers=auth).status_code == 200
    assert handled == ["/exports/cells.csv", "/exports/cells.csv"]
    assert len(audit.query(sqlite_api.engine, action="exports.cells")) == 2


def test_large_bodies_are_not_kept(
    sqlite_api: Api, handled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache's memory is bounded by a per-body limit (here lowered below the body's size)."""
    client, auth = sqlite_api.client, sqlite_api.auth("est")
    monkeypatch.setattr(api.response_cache, "MAX_REPLAY_BYTES", 100)
    bodies = [client.get("/statistics/cells", headers=auth, params=Q).content for _ in range(2)]
    assert len(bodies[0]) > 100 and bodies[0] == bodies[1]
    assert handled == ["/statistics/cells", "/statistics/cells"]


def test_a_new_day_is_not_served_yesterdays_list(
    sqlite_api: Api, handled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``end`` a list is for today: after midnight the replay of yesterday's must not answer."""
    client, auth = sqlite_api.client, sqlite_api.auth("est")
    client.get("/priorities", headers=auth)
    client.get("/priorities", headers=auth)
    assert handled == ["/priorities"]
    responses = client.app.state.responses  # type: ignore[attr-defined]
    tomorrow = responses.today() + timedelta(days=1)
    monkeypatch.setattr(responses, "today", lambda: tomorrow)
    client.get("/priorities", headers=auth)
    assert handled == ["/priorities", "/priorities"]


def test_every_account_change_moves_the_accounts_version_and_only_it(sqlite_api: Api) -> None:
    engine = sqlite_api.engine
    reader = VersionReader(engine)
    seen = [reader.read()]
    for change in (
        lambda: accounts.add_user(engine, "ny", accounts.Role.EST),
        lambda: accounts.create_key(engine, "ny"),
        lambda: accounts.set_password(engine, "ny", "ett annat långt lösenord"),
        lambda: accounts.revoke_keys(engine, "ny"),
        lambda: accounts.set_disabled(engine, "ny", True),
        lambda: accounts.set_disabled(engine, "ny", False),
    ):
        change()
        seen.append(reader.read())
    assert [v.accounts for v in seen] == list(range(seen[0].accounts, seen[0].accounts + 7))
    assert {v.dataset for v in seen} == {seen[0].dataset}


def test_lru_keeps_the_most_recently_used() -> None:
    cache: LRU[int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
    with pytest.raises(ValueError):
        LRU(0)
