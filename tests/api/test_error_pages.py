"""Errors as a browser and as a program see them: a page (or the login form) for a browser, the JSON
error body for everything else, with the same status."""

from __future__ import annotations

from tests.api.conftest import Api

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_without_a_session_is_sent_to_the_login_page_and_back(sqlite_api: Api) -> None:
    answer = sqlite_api.client.get("/map?window=7d", headers=BROWSER, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fmap%3Fwindow%3D7d"
    program = sqlite_api.client.get("/map?window=7d", follow_redirects=False)
    assert program.status_code == 401 and program.json()["error"]["code"] == "unauthorized"


def test_a_role_without_access_gets_a_swedish_page_in_a_browser_and_json_otherwise(sqlite_api: Api) -> None:
    headers = sqlite_api.auth("planner")
    page = sqlite_api.client.get("/map", headers=headers | BROWSER)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Ingen behörighet</h1>" in page.text and 'href="/static/hotspots-page.css"' in page.text
    assert "Rollen planner saknar behörighet" in page.text and "not allowed" not in page.text
    assert "<script" not in page.text and "style=" not in page.text
    program = sqlite_api.client.get("/map", headers=headers | {"Accept": "application/json"})
    assert program.status_code == 403 and program.json()["error"]["code"] == "forbidden"


def test_an_unknown_path_is_a_404_page_in_a_browser_and_json_otherwise(sqlite_api: Api) -> None:
    headers = sqlite_api.auth("est")
    page = sqlite_api.client.get("/no-such-page", headers=headers | BROWSER)
    assert page.status_code == 404 and "<h1>Sidan finns inte</h1>" in page.text
    assert "Adressen finns inte" in page.text and "Not Found" not in page.text
    program = sqlite_api.client.get("/no-such-page", headers=headers)
    assert program.status_code == 404 and program.json()["error"]["code"] == "not_found"


def test_a_post_from_a_browser_keeps_the_json_error(sqlite_api: Api) -> None:
    answer = sqlite_api.client.post("/reports", headers=sqlite_api.auth("planner") | BROWSER, json=[])
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


def test_the_icon_is_served_to_anyone(sqlite_api: Api) -> None:
    for path in ("/favicon.ico", "/static/favicon.svg"):
        answer = sqlite_api.client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
        assert answer.content.startswith(b"<svg")
