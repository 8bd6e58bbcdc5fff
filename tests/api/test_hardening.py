"""Issue 15, tried as an attacker would: each test reproduces one finding and checks the attack now fails.

Forged sessions (the built-in key), measures that broke every list, sessions outliving logout, login
throttling (races, lockout of the real user, spraying), and hostile strings on the admin's terminal.
Restore epochs and storage-level findings are in ``tests/reliability/test_hardening_store.py``.
"""

from __future__ import annotations

import json
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import morecantile
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from typer.testing import CliRunner

from api.main import create_app
from api.security import DEV_SECRET, SESSION_COOKIE
from hotspots.access import accounts, audit, throttle
from hotspots.access.accounts import Role
from hotspots.cli import app as cli_app
from hotspots.cli.serve import write_secret_key
from hotspots.config import Settings
from hotspots.errors import ConfigError
from hotspots.store.schema import measures as measures_table
from tests.api.conftest import CLUSTER, END, PASSWORD, SPARSE, Api, report_json

runner = CliRunner()


# ----------------------------------------------------------------------------------- 1. session key


def test_a_session_signed_with_the_built_in_key_gives_nothing(sqlite_api: Api) -> None:
    forged = URLSafeTimedSerializer(DEV_SECRET, salt="hotspots.session.v1").dumps({"uid": 1, "gen": 0})
    client = sqlite_api.client
    client.cookies.set(SESSION_COOKIE, forged)
    assert client.get("/audit").status_code == 401
    assert client.get("/reports").status_code == 401


@pytest.mark.parametrize("key", [DEV_SECRET, "x", "k" * 31])
def test_the_app_factory_refuses_the_built_in_and_short_keys(sqlite_settings: Settings, key: str) -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        create_app(sqlite_settings.model_copy(update={"secret_key": key}))


def test_serve_refuses_the_built_in_key_on_loopback_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("HOTSPOTS_SECRET_KEY", DEV_SECRET)
    from hotspots.config import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(cli_app, ["serve", "--host", "127.0.0.1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "HOTSPOTS_SECRET_KEY" in result.output


def test_the_key_file_is_made_once_owner_only_and_read_by_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    made = runner.invoke(cli_app, ["secret-key", str(path)])
    assert made.exit_code == 0 and "created" in made.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert not write_secret_key(path) and path.read_text() == first  # kept: sessions survive a restart
    settings = Settings(database_url="sqlite://", secret_key_file=path)
    assert settings.secret_key == first.strip() and len(settings.secret_key) >= 32
    create_app(settings)  # accepted


def test_serve_believes_x_forwarded_for_only_from_listed_proxies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from hotspots.config import get_settings

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    for proxies in ("", "10.0.0.5"):
        monkeypatch.setenv("HOTSPOTS_TRUSTED_PROXIES", proxies)
        get_settings.cache_clear()
        assert runner.invoke(cli_app, ["serve"]).exit_code == 0
    get_settings.cache_clear()
    assert calls[0]["proxy_headers"] is False
    assert calls[1]["proxy_headers"] is True and calls[1]["forwarded_allow_ips"] == "10.0.0.5"


# ------------------------------------------------------------------------------------- 2. measures


def _measure(api: Api, **place: Any) -> dict[str, Any]:
    lat, lon = api.point("vivalla")
    return {
        "type": "patrull",
        "organisation": "Polisen",
        "start": "2026-11-01",
        "lat": lat,
        "lon": lon,
    } | place


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": None, "lon": None, "polygon": {"type": "Polygon", "coordinates": [
            [[1500, 5900], [1501, 5900], [1501, 5901], [1500, 5900]]]}}, "body.polygon"),
        ({"start": "0001-01-01"}, "body.start"),
        ({"start": "2026-11-01", "end": "9999-12-31"}, "body.end"),
        ({"lat": None, "lon": None, "cells": ["8308b1fffffffff"]}, "body.cells"),  # resolution 3
        ({"lat": None, "lon": None, "cells": ["-1"]}, "body.cells"),
        ({"lat": 59.0, "lon": 18.0}, "body.lat"),  # Stockholm archipelago: outside Örebro's areas
        ({"radius_m": 5000}, "body.radius_m"),  # 78 km²
    ],
)  # fmt: skip
def test_implausible_measures_are_refused_naming_the_field(
    sqlite_api: Api, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in (_measure(sqlite_api) | change).items() if v is not None}
    response = sqlite_api.client.post("/measures", headers=sqlite_api.auth("est"), json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


def test_a_nan_polygon_is_refused(sqlite_api: Api) -> None:
    lat, lon = sqlite_api.point("vivalla")
    ring = [[lon, lat], [lon + 0.001, lat], [float("nan"), lat + 0.001], [lon, lat]]
    body = {"type": "x", "organisation": "y", "start": "2026-11-01", "polygon": {"type": "Polygon",
            "coordinates": [ring]}}  # fmt: skip
    response = sqlite_api.client.post(
        "/measures", headers={**sqlite_api.auth("est"), "content-type": "application/json"},
        content=json.dumps(body),  # json.dumps writes NaN, as a hostile client may
    )  # fmt: skip
    assert response.status_code == 422 and "polygon" in response.text


def _bad_rows(api: Api) -> list[int]:
    """Measures written straight into the store, as no API would accept them now."""
    lat, lon = api.point("vivalla")
    common = {"type": "x", "organisation": "y", "created_by": "db", "created_at": datetime.now(UTC),
              "radius_m": None, "cells": None, "polygon": None, "start_date": date(2026, 11, 1)}  # fmt: skip
    rows = [
        {"lat": 5900.0, "lon": 1500.0, "polygon": json.dumps({"type": "Polygon", "coordinates": [
            [[1500, 5900], [1501, 5900], [1501, 5901], [1500, 5900]]]})},
        {"lat": lat, "lon": lon, "radius_m": 100.0, "start_date": date(1, 1, 1)},
        {"lat": lat, "lon": lon, "cells": "8308b1fffffffff"},
        {"lat": lat, "lon": lon, "cells": "-1"},
        {"lat": lat, "lon": lon, "polygon": "{not json"},
    ]  # fmt: skip
    with api.engine.begin() as conn:
        return [int(conn.execute(sa.insert(measures_table).values(**(common | r))).inserted_primary_key[0])
                for r in rows]  # fmt: skip


def test_bad_stored_measures_degrade_only_themselves(api: Api) -> None:
    good = api.client.post("/measures", headers=api.auth("est"), json=_measure(api)).json()
    bad = _bad_rows(api)
    est, field = api.auth("est"), api.auth("field")
    params = {"end": END.isoformat()}
    for headers in (est, field):
        listed = api.client.get("/priorities", headers=headers, params=params)
        assert listed.status_code == 200, listed.text
    weekly = api.client.get("/report/weekly", headers=est, params={"week": "2026-W46"})
    assert weekly.status_code == 200 and "patrull" in weekly.text
    assert api.client.get("/map", headers=est, params=params).status_code == 200
    lat, lon = api.point("vivalla")
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 14)
    measure_tile = api.client.get(f"/tiles/measures/14/{tile.x}/{tile.y}.mvt", headers=est, params=params)
    assert measure_tile.status_code == 200 and measure_tile.content  # the good measure is drawn
    assert api.client.get(f"/measures/{good['id']}/follow-up", headers=est).status_code == 200
    follow = api.client.get(f"/measures/{bad[0]}/follow-up", headers=est)
    assert follow.status_code == 422 and follow.json()["error"]["details"][0]["field"] == "measure.polygon"
    listed = {m["id"]: m for m in api.client.get("/measures", headers=est).json()}
    assert "problem" not in listed[good["id"]] and all("problem" in listed[i] for i in bad)
    for measure_id in bad:
        assert api.client.delete(f"/measures/{measure_id}", headers=est).status_code == 200
    assert api.client.delete(f"/measures/{bad[0]}", headers=est).status_code == 404
    assert [m["id"] for m in api.client.get("/measures", headers=est).json()] == [good["id"]]
    deleted = audit.query(api.engine, action="measures.delete")
    assert sorted(int(e.resource.rsplit("/", 1)[1]) for e in deleted) == sorted(bad)
    assert {e.actor for e in deleted} == {"est"}


def test_measure_ids_beyond_64_bits_are_422_not_500(sqlite_api: Api) -> None:
    response = sqlite_api.client.get(f"/measures/{2**70}", headers=sqlite_api.auth("est"))
    assert response.status_code == 422 and "measure_id" in response.text


# ------------------------------------------------------------------------------------- 3. sessions


def _login(client: TestClient, name: str = "est", password: str = PASSWORD) -> str:
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(client.cookies[SESSION_COOKIE])


def _me(api: Api, cookie: str) -> int:
    fresh = TestClient(api.client.app)
    fresh.cookies.set(SESSION_COOKIE, cookie)
    return fresh.get("/me").status_code


def test_logout_ends_the_session_everywhere_not_only_in_this_browser(api: Api) -> None:
    saved = _login(api.client)
    assert _me(api, saved) == 200
    api.client.post("/logout", follow_redirects=False)
    assert _me(api, saved) == 401  # the copied cookie is dead too
    assert _me(api, _login(api.client)) == 200  # logging in again works


def test_password_role_and_disable_end_sessions_and_enable_does_not_revive_them(api: Api) -> None:
    saved = _login(api.client)
    accounts.set_password(api.engine, "est", "ett annat långt lösenord")
    assert _me(api, saved) == 401
    saved = _login(api.client, password="ett annat långt lösenord")
    accounts.set_role(api.engine, "est", Role.PLANNER)
    assert _me(api, saved) == 401
    saved = _login(api.client, password="ett annat långt lösenord")
    accounts.set_disabled(api.engine, "est", True)
    accounts.set_disabled(api.engine, "est", False)
    assert _me(api, saved) == 401
    assert api.client.get("/me", headers=api.auth("est")).json()["role"] == "planner"  # keys still work


# ------------------------------------------------------------------------------------- 4. throttle


def test_concurrent_guesses_cannot_race_past_the_limit(api: Api) -> None:
    counters = throttle.login_keys(api.settings, "est", "198.51.100.7")
    with ThreadPoolExecutor(16) as pool:
        waits = list(pool.map(lambda _: throttle.reserve(api.engine, counters), range(60)))
    assert sum(w == 0 for w in waits) == api.settings.login_rate_limit
    assert all(0 < w <= 60 for w in waits if w)


def test_a_guesser_cannot_lock_the_real_user_out(sqlite_api: Api) -> None:
    app = sqlite_api.client.app
    attacker = TestClient(app, client=("203.0.113.9", 4000))
    for _ in range(sqlite_api.settings.login_rate_limit):
        assert attacker.post("/login", data={"name": "est", "password": "gissning"}).status_code == 401
    blocked = attacker.post("/login", data={"name": "est", "password": PASSWORD})
    assert blocked.status_code == 429 and 55 <= int(blocked.headers["retry-after"]) <= 60
    user = TestClient(app, client=("192.0.2.20", 5000))
    assert _login(user)  # the real user, elsewhere, is let in


def test_spraying_many_names_from_one_client_is_throttled(sqlite_api: Api) -> None:
    sprayer = TestClient(sqlite_api.client.app, client=("203.0.113.50", 4000))
    answers = [
        sprayer.post("/login", data={"name": f"user{i}", "password": "Sommar2026"}).status_code
        for i in range(sqlite_api.settings.login_client_limit + 2)
    ]
    assert answers.count(401) == sqlite_api.settings.login_client_limit and answers[-1] == 429


def test_many_clients_guessing_one_name_meet_a_doubling_delay(api: Api) -> None:
    free = api.settings.login_account_free
    for i in range(free + 4):  # each from its own address, each waiting out the delay before
        counters = throttle.login_keys(api.settings, "est", f"198.51.100.{i}")
        assert throttle.reserve(api.engine, counters) == 0.0
        with api.engine.begin() as conn:
            conn.execute(sa.text("UPDATE login_throttle SET next_us = 0 WHERE key LIKE 'name%'"))
    counters = throttle.login_keys(api.settings, "est", "198.51.100.250")
    assert throttle.reserve(api.engine, counters) == 0.0  # failure free + 5: the next try waits 2**5 s
    assert 31 <= throttle.reserve(api.engine, counters) <= 32


def test_passwords_are_checked_on_the_apps_own_threads(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scrypt runs on a few threads of its own: a burst of logins leaves the shared pool to other requests."""
    threads: list[str] = []
    check = accounts.authenticate_password

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return check(*args)

    monkeypatch.setattr(accounts, "authenticate_password", recording)
    _login(sqlite_api.client)
    assert len(threads) == 1 and threads[0].startswith("password-check")


# ------------------------------------------------------------------------------- 6. hostile strings

HOSTILE = "[link=https://evil.example/]reset password here[/link]\x1b]0;pwned\x07\x1b[2J\x9b31m" + "A" * 300


def test_failed_logins_record_the_tried_name_cleaned_and_short(sqlite_api: Api) -> None:
    sqlite_api.client.post("/login", data={"name": HOSTILE[:128], "password": "whatever1"})
    (entry,) = audit.query(sqlite_api.engine, action=audit.LOGIN_FAILED)
    assert entry.actor == audit.ANONYMOUS
    tried = entry.detail["attempted_name"]
    assert tried.startswith("[link=https://evil.example/]") and len(tried) <= audit.ATTEMPTED_NAME_CHARS
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in tried)


def test_the_audit_command_shows_hostile_text_literally(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotspots.config import get_settings

    audit.record(sqlite_api.engine, actor=HOSTILE, action="reports.list", resource=HOSTILE)
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", sqlite_api.settings.database_url)
    from hotspots.cli.app import console

    monkeypatch.setattr(console, "width", 400)  # the console was made at import: COLUMNS is read then
    get_settings.cache_clear()
    try:
        shown = runner.invoke(cli_app, ["audit"], color=True).output
        as_json = runner.invoke(cli_app, ["audit", "--json"]).output
    finally:
        get_settings.cache_clear()
    assert "[link=https://evil.example/]" in shown  # shown as text, not turned into a link
    assert "\x1b]" not in shown and "\x07" not in shown and "\x9b" not in shown and "\x1b[2J" not in shown
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in as_json)


def test_user_names_with_control_characters_are_refused(sqlite_api: Api) -> None:
    with pytest.raises(accounts.AccountError, match="control"):
        accounts.add_user(sqlite_api.engine, "eve\x1b[2J", Role.EST)


def test_a_nul_byte_in_the_login_name_is_a_plain_failure(api: Api) -> None:
    response = api.client.post("/login", data={"name": "est\x00", "password": PASSWORD})
    assert response.status_code == 401


def test_store_files_are_created_owner_only(tmp_path: Path) -> None:
    from hotspots.store.engine import open_store

    engine = open_store(Settings(database_url=f"sqlite:///{tmp_path / 'hs.db'}"))
    accounts.add_user(engine, "a", Role.EST)  # a write: WAL and shared-memory files exist now
    files = [tmp_path / n for n in ("hs.db", "hs.db-wal", "hs.db-shm") if (tmp_path / n).exists()]
    assert len(files) == 3
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o600)}
    engine.dispose()


# ----------------------------------------------------------------------------------- 7. low findings


def test_nul_bytes_in_text_fields_are_422_naming_the_field(api: Api) -> None:
    est, analyst = api.auth("est"), api.auth("analyst")
    measure = api.client.post("/measures", headers=est, json=_measure(api, type="pat\x00rull"))
    assert measure.status_code == 422 and measure.json()["error"]["details"][0]["field"] == "body.type"
    batch = [report_json(api, "nul1", note="ett\x00två"), report_json(api, "nul\x002")]
    rejected = api.client.post("/reports/batch", headers=analyst, json=batch)
    assert rejected.status_code == 422
    assert {(d["row"], d["field"]) for d in rejected.json()["error"]["details"]} == {
        (1, "note"),
        (2, "source_id"),
    }
    assert api.client.get("/audit", headers=api.auth("admin"), params={"actor": "a\x00"}).status_code == 422
    listed = api.client.get("/reports", headers=analyst, params={"category": "x\x00", "limit": 5})
    assert listed.status_code == 422
    assert [d["field"] for d in listed.json()["error"]["details"]] == ["query.category"]


def test_reports_before_1990_are_refused(api: Api) -> None:
    response = api.client.post(
        "/reports",
        headers=api.auth("analyst"),
        json=report_json(api, "old", occurred_at="0001-01-01T00:00:00Z"),
    )
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["occurred_at"]


def test_a_very_wide_file_is_refused_before_it_is_parsed(sqlite_api: Api) -> None:
    header = ",".join(f"c{i}" for i in range(20_000))
    wide = f"{header}\n{','.join('1' for _ in range(20_000))}\n".encode()
    response = sqlite_api.client.post(
        "/reports/import", headers=sqlite_api.auth("analyst"), files={"file": ("wide.csv", wide, "text/csv")}
    )
    assert response.status_code == 422 and "20000 columns" in response.text
    assert len(response.content) < 2_000  # not a 789 KB list of every column name


def test_no_docs_page_loads_scripts_from_a_cdn(sqlite_api: Api) -> None:
    assert sqlite_api.client.get("/docs").status_code == 404
    assert sqlite_api.client.get("/redoc").status_code == 404
    assert sqlite_api.client.get("/openapi.json").status_code == 200


def test_a_changed_row_under_a_stored_source_id_is_a_conflict_not_silently_kept(api: Api) -> None:
    analyst = api.auth("analyst")
    first = report_json(api, "same-id")
    assert api.client.post("/reports/batch", headers=analyst, json=[first]).status_code == 201
    again = api.client.post("/reports/batch", headers=analyst, json=[first])  # identical: a no-op
    assert again.status_code == 201 and again.json()["rows_present"] == 1
    changed = [report_json(api, "new-one"), first | {"category": "arrest"}]
    refused = api.client.post("/reports/batch", headers=analyst, json=changed)
    assert refused.status_code == 422, refused.text
    (detail,) = refused.json()["error"]["details"]
    assert (detail["row"], detail["field"], detail["value"]) == (2, "source_id", "same-id")
    assert "category" in detail["reason"]
    total = api.client.get("/reports", headers=analyst).json()["total"]
    assert total == CLUSTER + SPARSE + 1  # nothing of the refused batch was written
