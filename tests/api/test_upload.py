"""The analysts' upload page: a form that needs no script or inline style (the app's CSP), the import's
summary, the errors with Excel's row numbers, and the rejects (with the original rows) to download."""

from __future__ import annotations

import base64
import io
import re

import pandas as pd

from tests.api.conftest import FIELD_AREA, Api


def _file(api: Api) -> bytes:
    lat, lon = api.point(FIELD_AREA)
    return (
        "källa;id;tidpunkt;kategori;lat;lon;anteckning\n"
        f"police;U1;2026-11-10 20:00;arrest;{lat};{lon};ok\n"
        f"police;U2;2026-11-10 20:00;fiske;{lat};{lon};fel kategori\n"
    ).encode("cp1252")  # as Swedish Excel saves it


def test_the_upload_page_is_a_plain_form_for_analysts_only(sqlite_api: Api) -> None:
    page = sqlite_api.client.get("/reports/upload", headers=sqlite_api.auth("analyst"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'enctype="multipart/form-data"' in page.text and 'name="file"' in page.text
    assert "<script" not in page.text and "style=" not in page.text and "<style" not in page.text
    for role in ("est", "planner", "field"):
        assert sqlite_api.client.get("/reports/upload", headers=sqlite_api.auth(role)).status_code == 403


def test_upload_shows_the_summary_and_offers_the_rejects_with_the_original_rows(sqlite_api: Api) -> None:
    post = lambda skip: sqlite_api.client.post(  # noqa: E731
        "/reports/upload",
        headers=sqlite_api.auth("analyst"),
        files={"file": ("excel.csv", _file(sqlite_api), "text/csv")},
        data={"skip_invalid": "true"} if skip else {},
    )
    refused = post(False)
    assert refused.status_code == 422 and "Ingenting importerades" in refused.text
    assert "<td>3</td><td>category</td><td>fiske</td>" in refused.text  # Excel's row 3
    page = post(True)
    assert page.status_code == 200, page.text
    numbers = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", page.text))
    assert (numbers["Rader lästa"], numbers["Tillagda"], numbers["Avvisade"]) == ("2", "1", "1")
    link = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)" download', page.text)
    assert link is not None
    rejects = pd.read_csv(
        io.BytesIO(base64.b64decode(link.group(1))), sep=";", encoding="utf-8-sig", dtype=str
    )
    assert rejects.loc[0, "row"] == "3" and rejects.loc[0, "original:anteckning"] == "fel kategori"
    again = post(True)
    assert dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", again.text))["Fanns redan"] == "1"
