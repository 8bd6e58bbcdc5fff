"""Access control: every route declares a rule, every role x route gets the expected 2xx/401/403, sessions,
the login rate limit, security headers and area-limited field users."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts

from api.deps import Allow, Public, rule_of
from api.security import SESSION_COOKIE
from hotspots.access import accounts, audit
from hotspots.access.accounts import Role
from hotspots.store.schema import api_keys, reports
from tests.api.conftest import END, FIELD_AREA, PASSWORD, Api, observation_json, report_json, visit_json

ALL = frozenset(r.value for r in Role)
STATS = frozenset({"admin", "analyst", "est"})
REPORTS = frozenset({"admin", "analyst"})
EXPORT = frozenset({"admin", "analyst", "est", "planner"})
ADMIN = frozenset({"admin"})
PRIORITY = frozenset({"admin", "analyst", "est", "field"})
PUBLIC = None
Q = {"end": END.isoformat()}
MEASURE = {
    "type": "patrull",
    "organisation": "Polisen",
    "start": "2026-11-01",
    "lat": 59.2985,
    "lon": 15.1875,
}


def _new_measure_id(api: Api) -> int:
    """A measure (recorded with the est key) for the measure routes to read or end."""
    created = api.client.post("/measures", headers=api.auth("est"), json=MEASURE)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _tile_over(api: Api, area_id: str, z: int = 13) -> str:
    import morecantile

    lat, lon = api.point(area_id)
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    return f"/tiles/hotspots/{tile.z}/{tile.x}/{tile.y}.mvt"


def _new_report_id(api: Api) -> int:
    """A fresh report (created with the analyst key) for a delete request to remove."""
    with api.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(reports)).scalar_one()
    created = api.client.post(
        "/reports", headers=api.auth("analyst"), json=report_json(api, f"delete-me-{n}")
    )
    assert created.status_code == 201, created.text
    with api.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(reports.c.id))).scalar_one())


Request = Callable[[Api], dict[str, Any]]
#: (method, path template) -> (roles allowed, or PUBLIC; how to build a valid request)
EXPECTED: dict[tuple[str, str], tuple[frozenset[str] | None, Request]] = {
    ("GET", "/health"): (PUBLIC, lambda a: {"url": "/health"}),
    ("GET", "/ready"): (PUBLIC, lambda a: {"url": "/ready"}),
    ("GET", "/login"): (PUBLIC, lambda a: {"url": "/login"}),
    ("POST", "/login"): (
        PUBLIC,
        lambda a: {"url": "/login", "data": {"name": "admin", "password": PASSWORD}},
    ),
    ("POST", "/logout"): (PUBLIC, lambda a: {"url": "/logout"}),
    ("GET", "/metrics"): (ADMIN, lambda a: {"url": "/metrics"}),
    ("GET", "/audit"): (ADMIN, lambda a: {"url": "/audit"}),
    ("GET", "/me"): (ALL, lambda a: {"url": "/me"}),
    ("GET", "/"): (ALL, lambda a: {"url": "/"}),
    ("GET", "/areas"): (ALL, lambda a: {"url": "/areas"}),
    ("GET", "/areas/{area_id}"): (ALL, lambda a: {"url": f"/areas/{FIELD_AREA}"}),
    ("POST", "/reports"): (REPORTS, lambda a: {"url": "/reports", "json": report_json(a, "one")}),
    ("POST", "/reports/batch"): (
        REPORTS,
        lambda a: {"url": "/reports/batch", "json": [report_json(a, "b1")]},
    ),
    ("POST", "/reports/import"): (
        REPORTS,
        lambda a: {
            "url": "/reports/import",
            "files": {
                "file": (
                    "r.csv",
                    b"source,source_id,occurred_at,category,lat,lon\n"
                    + f"police,f1,2026-11-10T20:00:00+01:00,arrest,{a.point(FIELD_AREA)[0]},{a.point(FIELD_AREA)[1]}\n".encode(),
                )
            },
        },
    ),
    ("GET", "/reports/upload"): (REPORTS, lambda a: {"url": "/reports/upload"}),
    ("POST", "/reports/upload"): (
        REPORTS,
        lambda a: {
            "url": "/reports/upload",
            "files": {
                "file": (
                    "u.csv",
                    b"source,source_id,occurred_at,category,lat,lon\n"
                    + f"police,u1,2026-11-10T20:00:00+01:00,arrest,{a.point(FIELD_AREA)[0]},{a.point(FIELD_AREA)[1]}\n".encode(),
                )
            },
        },
    ),
    ("GET", "/reports"): (REPORTS, lambda a: {"url": "/reports"}),
    ("GET", "/reports/{report_id}"): (REPORTS, lambda a: {"url": "/reports/1"}),
    ("DELETE", "/reports/{report_id}"): (REPORTS, lambda a: {"url": f"/reports/{_new_report_id(a)}"}),
    ("GET", "/statistics/summary"): (STATS, lambda a: {"url": "/statistics/summary", "params": Q}),
    ("GET", "/statistics/cells"): (STATS, lambda a: {"url": "/statistics/cells", "params": Q}),
    ("GET", "/statistics/hotspots"): (STATS, lambda a: {"url": "/statistics/hotspots", "params": Q}),
    ("GET", "/statistics/emerging"): (STATS, lambda a: {"url": "/statistics/emerging", "params": Q}),
    ("GET", "/statistics/change"): (STATS, lambda a: {"url": "/statistics/change", "params": Q}),
    ("GET", "/exports/cells.{fmt}"): (EXPORT, lambda a: {"url": "/exports/cells.csv"}),  # planners: no window
    ("GET", "/priorities"): (PRIORITY, lambda a: {"url": "/priorities", "params": Q}),
    ("GET", "/measures"): (STATS, lambda a: {"url": "/measures"}),
    ("POST", "/measures"): (STATS, lambda a: {"url": "/measures", "json": MEASURE}),
    ("GET", "/measures/{measure_id}"): (STATS, lambda a: {"url": f"/measures/{_new_measure_id(a)}"}),
    ("POST", "/measures/{measure_id}/end"): (
        STATS,
        lambda a: {"url": f"/measures/{_new_measure_id(a)}/end", "json": {"end": "2026-11-14"}},
    ),
    ("DELETE", "/measures/{measure_id}"): (STATS, lambda a: {"url": f"/measures/{_new_measure_id(a)}"}),
    ("GET", "/measures/{measure_id}/follow-up"): (
        STATS,
        lambda a: {"url": f"/measures/{_new_measure_id(a)}/follow-up", "params": {"days": 14}},
    ),
    ("GET", "/report/weekly"): (STATS, lambda a: {"url": "/report/weekly", "params": {"week": "2026-W46"}}),
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.mvt"): (
        STATS,
        lambda a: {"url": _tile_over(a, FIELD_AREA), "params": Q},
    ),
    ("GET", "/map"): (STATS, lambda a: {"url": "/map", "params": Q}),
    ("GET", "/static/{asset:path}"): (PUBLIC, lambda a: {"url": "/static/hotspots-map.css"}),
    ("POST", "/field/visits"): (
        PRIORITY,
        lambda a: {"url": "/field/visits", "json": visit_json(a), "headers": {"Idempotency-Key": _key()}},
    ),
    ("GET", "/field/sw.js"): (PUBLIC, lambda a: {"url": "/field/sw.js"}),
    ("GET", "/field/visits"): (PRIORITY, lambda a: {"url": "/field/visits", "params": {"week": "2026-W46"}}),
    ("POST", "/field/observations"): (
        PRIORITY,
        lambda a: {
            "url": "/field/observations",
            "json": observation_json(a),
            "headers": {"Idempotency-Key": _key()},
        },
    ),
    ("GET", "/favicon.ico"): (PUBLIC, lambda a: {"url": "/favicon.ico"}),
}
#: What a public route answers an anonymous caller: 200, but the login form's and logout's redirects.
PUBLIC_STATUS = {("POST", "/login"): 303, ("POST", "/logout"): 303}


def _key() -> str:
    return str(uuid.uuid4())


def _api_routes(api: Api) -> list[Any]:
    app: Any = api.client.app
    return [r for r in iter_route_contexts(app.routes) if r.path != "/openapi.json"]


def test_every_route_declares_an_access_rule(sqlite_api: Api) -> None:
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in _api_routes(sqlite_api) if rule_of(r) is None]
    assert not undeclared, f"routes without an access rule: {undeclared}"


def test_every_route_has_an_expected_outcome_and_its_rule_matches(sqlite_api: Api) -> None:
    for route in _api_routes(sqlite_api):
        for method in route.methods - {"HEAD"}:
            key = (method, route.path)
            assert key in EXPECTED, f"add {key} to EXPECTED in tests/api/test_access.py"
            allowed, _ = EXPECTED[key]
            rule = rule_of(route)
            if allowed is PUBLIC:
                assert isinstance(rule, Public), key
            else:
                assert isinstance(rule, Allow) and {r.value for r in rule.roles} | {"admin"} == allowed, key


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda k: f"{k[0]} {k[1]}")
def test_role_route_matrix(sqlite_api: Api, key: tuple[str, str]) -> None:
    """No credential -> 401, a role outside the rule -> 403, a role inside -> 2xx; a public route answers an
    anonymous caller 200 (303 where PUBLIC_STATUS says it redirects)."""
    allowed, build = EXPECTED[key]
    method = key[0]
    client = sqlite_api.client
    anonymous = client.request(method, follow_redirects=False, **build(sqlite_api))  # headers: its own only
    if allowed is PUBLIC:
        assert anonymous.status_code == PUBLIC_STATUS.get(key, 200), anonymous.text
        return
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"]["code"] == "unauthorized"
    for role in sorted(ALL):
        request = build(sqlite_api)
        headers = sqlite_api.auth(role) | request.pop("headers", {})
        response = client.request(method, headers=headers, follow_redirects=False, **request)
        expected = "2xx" if role in allowed else 403
        got = "2xx" if 200 <= response.status_code < 300 else response.status_code
        assert got == expected, f"{role} {method} {key[1]}: {response.status_code} {response.text[:300]}"
        if expected == 403:
            assert response.json()["error"]["code"] == "forbidden"


def test_a_wrong_or_revoked_key_is_401(sqlite_api: Api) -> None:
    client = sqlite_api.client
    assert client.get("/me", headers={"X-API-Key": "hs_not-a-key"}).status_code == 401
    accounts.revoke_keys(sqlite_api.engine, "est")
    assert client.get("/me", headers=sqlite_api.auth("est")).status_code == 401


def test_keys_are_stored_hashed(sqlite_api: Api) -> None:
    with sqlite_api.engine.connect() as conn:
        stored = [row.key_hash for row in conn.execute(sa.select(api_keys.c.key_hash))]
    assert stored and not set(stored) & set(sqlite_api.keys.values())


def test_field_user_sees_only_their_areas(sqlite_api: Api) -> None:
    client, auth = sqlite_api.client, sqlite_api.auth("field")
    assert [a["area_id"] for a in client.get("/areas", headers=auth).json()] == [FIELD_AREA]
    assert client.get("/areas/baronbackarna", headers=auth).status_code == 404
    assert client.get("/areas/baronbackarna", headers=sqlite_api.auth("est")).status_code == 200


def test_login_sets_a_signed_httponly_lax_cookie_and_logout_clears_it(sqlite_api: Api) -> None:
    client = sqlite_api.client
    page = client.get("/login")
    assert page.status_code == 200 and "Logga in" in page.text and "Lösenord" in page.text
    response = client.post(
        "/login",
        data={"name": "est", "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"  # no open redirect
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and SESSION_COOKIE in cookie
    assert client.get("/me").json()["role"] == "est"
    assert client.get("/reports").status_code == 403  # a session carries the role like a key does
    client.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE][:-2] + "xx")  # tampered signature
    assert client.get("/me").status_code == 401
    client.post("/login", data={"name": "est", "password": PASSWORD})
    assert client.post("/logout", follow_redirects=False).status_code == 303
    assert client.get("/me").status_code == 401


def test_failed_logins_are_rate_limited_per_user_and_audited(sqlite_api: Api) -> None:
    client = sqlite_api.client
    limit = sqlite_api.settings.login_rate_limit
    for _ in range(limit):
        assert client.post("/login", data={"name": "est", "password": "fel lösenord"}).status_code == 401
    blocked = client.post("/login", data={"name": "est", "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.headers["retry-after"] == "60"
    assert (
        client.post(
            "/login", data={"name": "admin", "password": PASSWORD}, follow_redirects=False
        ).status_code
        == 303
    )
    failures = audit.query(sqlite_api.engine, action=audit.LOGIN_FAILED)
    assert len(failures) == limit and all("fel" not in str(e) for e in failures)  # no passwords logged


def test_security_headers_and_no_store_on_report_data(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/reports", headers=sqlite_api.auth("analyst"))
    headers = response.headers
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    stats = sqlite_api.client.get("/statistics/summary", headers=sqlite_api.auth("est"), params=Q)
    assert stats.headers["cache-control"] == "private, no-cache" and stats.headers["etag"]


def test_unauthenticated_and_forbidden_use_one_error_shape(sqlite_api: Api) -> None:
    for response in (
        sqlite_api.client.get("/reports"),
        sqlite_api.client.get("/reports", headers=sqlite_api.auth("planner")),
        sqlite_api.client.get("/nowhere", headers=sqlite_api.auth("admin")),
    ):
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}


def test_login_lands_on_a_start_page_with_the_roles_own_links(sqlite_api: Api) -> None:
    client = sqlite_api.client
    assert (
        client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        .headers["location"]
        .startswith("/login")
    )
    for name, shown, hidden in (
        ("field", "/priorities?format=html", "/map"),
        ("planner", "/exports/cells.geojson", "/priorities?format=html"),
        ("est", "/map", "/audit"),
    ):
        page = client.post("/login", data={"name": name, "password": PASSWORD})
        assert page.status_code == 200 and page.url.path == "/", page.text
        assert f'href="{shown}"' in page.text and f'href="{hidden}"' not in page.text
        for link in re.findall(r'href="([^"]+)"', page.text):
            assert client.get(link).status_code == 200, (name, link)
        client.post("/logout")
