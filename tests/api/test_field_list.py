"""The phone list over HTTP: the dose of visits on every entry, a page that runs under the app's CSP, a
Swedish page for an area that is not the user's, and the service worker that keeps the list offline."""

from __future__ import annotations

import json
import re
import uuid

from hotspots.access import accounts
from hotspots.access.accounts import Role
from tests.api.conftest import END, FIELD_AREA, VISIT_NOTE, Api, visit_json

LIST = f"/priorities?end={END.isoformat()}"


def _entry_with(api: Api, cell: str, role: str = "est") -> dict:
    entries = api.client.get(LIST, headers=api.auth(role)).json()["entries"]
    return next(e for e in entries if cell in e["cells"])


def test_each_entry_carries_its_dose_and_a_visit_changes_the_list(sqlite_api: Api) -> None:
    api = sqlite_api
    cell = api.cell(FIELD_AREA)
    before = api.client.get(LIST, headers=api.auth("est"))
    assert _entry_with(api, cell)["dosage"] == {
        "7d": {"visits": 0, "minutes": 0},
        "28d": {"visits": 0, "minutes": 0},
    }
    # visits on the list's last days: one 3 days before its end, one 20 days before (only in the 28 days)
    for days_before, minutes in ((3, 12), (20, 30)):
        day = END.fromordinal(END.toordinal() - days_before).isoformat()
        body = visit_json(api, minutes=minutes, ended_at=f"{day}T12:00:00+00:00")
        assert (
            api.client.post(
                "/field/visits", json=body, headers=api.auth("field") | {"Idempotency-Key": str(uuid.uuid4())}
            ).status_code
            == 201
        )
    after = api.client.get(LIST, headers=api.auth("est") | {"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert _entry_with(api, cell)["dosage"] == {
        "7d": {"visits": 1, "minutes": 12},
        "28d": {"visits": 2, "minutes": 42},
    }
    other = [e for e in after.json()["entries"] if cell not in e["cells"]]
    assert other and all(e["dosage"]["28d"]["visits"] == 0 for e in other)
    assert "besökt" not in api.client.get(LIST, headers=api.auth("est")).text.lower()  # no free text in JSON


def test_phone_page_runs_under_the_csp_with_cards_and_a_decimal_comma(sqlite_api: Api) -> None:
    api = sqlite_api
    page = api.client.get(LIST + "&format=html", headers=api.auth("field"))
    assert page.status_code == 200
    html = page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r"<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=", html), (
        "inline code is blocked by the CSP"
    )
    assert 'src="/static/field-list.js"' in html and 'href="/static/field-list.css"' in html
    score = api.client.get(LIST, headers=api.auth("field")).json()["entries"][0]["score"]
    assert f"poäng {score:.1f}".replace(".", ",") in html
    assert html.count('class="card"') == len(
        api.client.get(LIST, headers=api.auth("field")).json()["entries"]
    )
    assert "Data t.o.m. 2026-11-" in html and "Inte besökt senaste 7 dagarna" in html
    assert 'data-apple="https://maps.apple.com/?ll=' in html and 'data-geo="geo:' in html
    for asset in ("field-list.js", "field-list.css"):
        assert api.client.get(f"/static/{asset}").status_code == 200
    worker = api.client.get("/field/sw.js")
    assert worker.headers["service-worker-allowed"] == "/priorities"
    assert (
        worker.headers["content-type"].startswith("text/javascript")
        and "hotspots-field-v1" not in worker.text
    )


def test_area_that_is_not_theirs_is_a_swedish_page_with_their_own_areas(sqlite_api: Api) -> None:
    api = sqlite_api
    accounts.add_user(api.engine, "tva-omraden", Role.FIELD, areas=("vivalla", "baronbackarna"))
    auth = {"X-API-Key": accounts.create_key(api.engine, "tva-omraden")}
    refused = api.client.get(LIST + "&format=html&area=oxhagen", headers=auth)
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("text/html")
    assert "Området finns inte i dina områden" in refused.text
    assert "area=vivalla" in refused.text and "area=baronbackarna" in refused.text
    own = api.client.get(LIST + "&format=html&area=vivalla", headers=auth)
    assert own.status_code == 200
    switcher = re.findall(
        r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>',
        own.text.split("<nav", 1)[1].split("</nav>")[0],
    )
    assert [(bool(current), name) for _, current, name in switcher] == [
        (True, "Vivalla"),
        (False, "Baronbackarna"),
    ]
    assert (
        api.client.get(LIST + "&area=oxhagen", headers=auth)
        .headers["content-type"]
        .startswith("application/json")
    )


def test_map_marks_priority_places_visited_this_week(sqlite_api: Api) -> None:
    api = sqlite_api
    body = visit_json(api, minutes=14, ended_at=f"{END.isoformat()}T09:00:00+00:00")
    headers = api.auth("field") | {"Idempotency-Key": str(uuid.uuid4())}
    assert api.client.post("/field/visits", json=body, headers=headers).status_code == 201
    page = api.client.get(f"/map?end={END.isoformat()}", headers=api.auth("est"))
    assert page.status_code == 200
    html = page.text
    entries = api.client.get(LIST, headers=api.auth("est")).json()["entries"][:10]
    visited = sum(e["dosage"]["7d"]["visits"] > 0 for e in entries)
    assert visited == 1 and json.dumps("Besök senaste 7 dagarna")[1:-1] in html  # the layer's name
    assert html.count("Besökt 1 gånger senaste 7 dagarna (14 min)") == 1
    assert html.count("Inte besökt senaste 7 dagarna") == len(entries) - 1
    assert VISIT_NOTE not in html  # counts and minutes only
